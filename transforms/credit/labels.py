"""The names people read for the credit outputs' code names: columns, statuses, periods, tiers.

Files for tools (Parquet and every CSV) keep the code names, so a query written against one
version works on the next; what a director or a teacher reads (HTML, PDF, the workbook) shows
these labels, translated through the message catalogues
(``transforms/reporting/locales/*/LC_MESSAGES/credit_labels.po``).
"""

from __future__ import annotations

from transforms.reporting.i18n import N_, Translator

COLUMNS: dict[str, str] = {
    "teacher_id": N_("Teacher ID"),
    "display_name": N_("Teacher"),
    "institution_id": N_("Institution"),
    "period_kind": N_("Period type"),
    "period_id": N_("Period"),
    "period_start": N_("Period start"),
    "period_end": N_("Period end"),
    "credited_total": N_("Credited hours"),
    "capped_hours": N_("Hours over a limit"),
    "overlap_hours": N_("Overlapping hours"),
    "pending_hours": N_("Hours awaiting review"),
    "pending_items": N_("Activities awaiting review"),
    "rejected_items": N_("Activities not credited"),
    "duplicate_items": N_("Repeated activities"),
    "first_activity": N_("First credited activity"),
    "last_activity": N_("Last credited activity"),
    "ledger_rows": N_("Activities"),
    "requirement_hours": N_("Required hours"),
    "remaining_to_requirement": N_("Hours still needed"),
    "requirement_met": N_("Requirement met"),
    "minimums_met": N_("Minimums met"),
    "share_tier_A": N_("Share from tier A resources"),
    "last_credited_activity": N_("Last credited learning"),
    "longest_gap_days": N_("Longest gap (days)"),
    "continuity_flag": N_("Gap over the limit"),
    "status": N_("Status"),
    "summary_version": N_("Report version"),
    "supersedes_summary_id": N_("Replaces figures"),
    "teachers_in_scope": N_("Teachers"),
    "teachers_with_credit": N_("Teachers with credit"),
    "teachers_requirement_met": N_("Teachers meeting the requirement"),
    "teachers_flagged_gap": N_("Teachers with a long gap"),
    "hours_total": N_("Credited hours, total"),
    "median_hours": N_("Median hours per teacher"),
    "p10_hours": N_("Hours, lowest 10 %"),
    "p90_hours": N_("Hours, highest 10 %"),
    "pct_requirement_met": N_("Share meeting the requirement, %"),
    "quality_rejected_items": N_("Activities on rejected resources"),
    "tier_C_uses": N_("Uses of tier C resources"),
    "voided_statements": N_("Withdrawn records"),
    "late_rows": N_("Late records"),
    "data_cutoff_stored": N_("Data received up to"),
    "activity_start": N_("Started"),
    "activity_end": N_("Date"),
    "activity_title": N_("Activity"),
    "provider_name": N_("Provider"),
    "category": N_("Kind of activity"),
    "bucket": N_("Type of learning"),
    "registry_tier": N_("Quality tier"),
    "hours_credited": N_("Hours credited"),
    "hours_capped": N_("Hours over the limit"),
    "reason": N_("Why"),
    "explanation": N_("Why"),
    "primary_statement_id": N_("Evidence"),
    "ledger_id": N_("Ledger row"),
}
BUCKET_HOURS = N_("Hours: {bucket}")  # the credited_<bucket> and hours_<bucket> columns

STATUSES: dict[str, str] = {
    "credited": N_("credited"),
    "partially_capped": N_("partly credited (limit reached)"),
    "capped": N_("not credited (limit reached)"),
    "below_threshold": N_("not credited (conditions not met)"),
    "quality_rejected": N_("not credited (resource rejected)"),
    "pending_review": N_("awaiting review"),
    "voided": N_("withdrawn"),
    "untrusted_source": N_("not accepted (source)"),
    "duplicate": N_("counted once (repeat)"),
    "overlap": N_("counted once (overlapping time)"),
    "provisional": N_("provisional"),
    "final": N_("final"),
}

PERIOD_KINDS: dict[str, str] = {
    "academic_year": N_("Academic year"),
    "pd_cycle": N_("Professional development cycle"),
}


def column_label(name: str, t: Translator, bucket_label=None) -> str:
    """A column's label; ``credited_<bucket>``/``hours_<bucket>`` name the bucket by its council label."""
    if name in COLUMNS:
        return t(COLUMNS[name])
    for prefix in ("credited_", "hours_"):
        if name.startswith(prefix) and bucket_label is not None:
            return t(BUCKET_HOURS, bucket=bucket_label(name[len(prefix):]))
    return name
