"""The credit ledger: one row per decision, with its evidence, arithmetic and explanation.

Stages, in the reference's order: evidence (DuckDB over statements) → rules and hours →
periods and institution as of the activity date → repeat de-duplication → overlap → caps.
The ledger is the audit backbone; summaries are only sums over it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads

from transforms.credit.decide import apply_rules
from transforms.credit.evidence import Evidence, gather_evidence
from transforms.credit.ordering import apply_caps, mark_repeats, remove_overlap
from transforms.credit.periods import academic_year_label, academic_year_start_year, cycle_label, cycle_start_year
from transforms.credit.policy import Policy
from transforms.credit.reasons import explain

LIST_COLUMNS = ("evidence_statement_ids", "lrs_sources", "authorities", "reason_codes")  # space-separated in frames
HOUR_COLUMNS = ("hours_measured", "hours_designated", "hours_computed", "hours_rounded", "hours_weighted",
                "hours_overlap", "hours_after_overlap", "hours_credited", "hours_capped")


@dataclass
class Provenance:
    run_id: str
    computed_at: datetime
    policy: Policy
    registry_snapshot_id: str


def _with_periods_and_institution(ledger: pd.DataFrame, memberships: pa.Table, policy: Policy) -> pd.DataFrame:
    """Academic year and PD cycle of each row, and the teacher's institution on the activity date."""
    members = memberships.to_pandas()
    members["member_from"] = pd.to_datetime(members["member_from"])
    members["member_to"] = pd.to_datetime(members["member_to"])
    end = pd.to_datetime(ledger["activity_end"]).dt.tz_convert("UTC").dt.tz_localize(None)
    ledger["academic_year_start"] = academic_year_start_year(end, policy)
    ledger["academic_year"] = academic_year_label(ledger["academic_year_start"]).to_numpy()
    anchors = members.groupby("teacher_id")["pd_cycle_start"].first()
    anchor_year = academic_year_start_year(pd.to_datetime(ledger["teacher_id"].map(anchors)), policy)
    ledger["pd_cycle_start_year"] = cycle_start_year(ledger["academic_year_start"], anchor_year, policy)
    ledger["pd_cycle_id"] = cycle_label(ledger["pd_cycle_start_year"], policy).to_numpy()
    keyed = ledger[["ledger_id", "teacher_id"]].assign(_day=end.dt.normalize())
    joined = keyed.merge(members[["teacher_id", "institution_id", "member_from", "member_to"]], on="teacher_id")
    joined = joined[(joined["_day"] >= joined["member_from"]) & (joined["_day"] < joined["member_to"])]
    institution = joined.drop_duplicates("ledger_id").set_index("ledger_id")["institution_id"]
    ledger["institution_id"] = ledger["ledger_id"].map(institution).fillna("unassigned")
    return ledger


LEDGER_COLUMNS = [
    "ledger_id", "run_id", "computed_at", "policy_id", "policy_version", "policy_sha256", "registry_snapshot_id",
    "statement_watermark_stored", "teacher_id", "institution_id", "evidence_level", "credit_unit_id", "activity_iri",
    "activity_title", "provider_name", "kind", "category", "method", "bucket", "registry_tier", "registry_rating",
    "approval_ref", "tier_flag", "activity_start", "activity_end", "academic_year", "pd_cycle_id", "evidence_statement_ids",
    "primary_statement_id", "statements", "lrs_sources", "authorities", "score_scaled", "mastery_scaled",
    "attendance_ratio", "interactions", "interactions_needed", "unique_watch_s", *HOUR_COLUMNS, "weight", "status",
    "reason_codes", "explanation", "duplicate_of", "late_arrival",
]


def build_ledger(statements: pads.Dataset, policy: Policy, registry: pa.Table, identities: pa.Table,
                 memberships: pa.Table, provenance: Provenance) -> tuple[pd.DataFrame, Evidence]:
    """The ledger from the statements of one pinned snapshot (``Lake.dataset("statements", snapshot_id)``)."""
    evidence = gather_evidence(statements, policy, registry, identities, memberships)
    ledger = apply_rules(evidence.groups, policy)
    ledger = _with_periods_and_institution(ledger, memberships, policy)
    ledger = mark_repeats(ledger, policy)
    ledger = remove_overlap(ledger, evidence.wall_segments, policy)
    ledger = apply_caps(ledger, policy)
    late = ledger["late_arrival"].fillna(False).to_numpy(bool)
    ledger["reason_codes"] = (ledger["reason"] + np.where(late, " late_arrival", "")).str.strip()
    for column in HOUR_COLUMNS:  # exact: every value is a multiple of the step, or a measured figure
        values = np.nan_to_num(ledger[f"{column}_ms"].astype("float64").to_numpy(), nan=np.nan)
        ledger[column] = np.round(values / policy.unit_ms, 6)
    ledger["explanation"] = explain(ledger, policy)
    ledger = ledger.rename(columns={"statement_ids": "evidence_statement_ids"})
    ledger = ledger.assign(
        run_id=provenance.run_id, computed_at=provenance.computed_at, policy_id=policy.policy.id,
        policy_version=policy.policy.version, policy_sha256=policy.sha256,
        registry_snapshot_id=provenance.registry_snapshot_id, statement_watermark_stored=evidence.statement_watermark,
    )
    ledger = ledger[LEDGER_COLUMNS].sort_values(["institution_id", "teacher_id", "activity_end", "ledger_id"])
    return ledger.reset_index(drop=True), evidence


def ledger_table(ledger: pd.DataFrame) -> pa.Table:
    """The ledger as Arrow, with the space-separated id columns as real lists (as the reference's schema has them)."""
    table = pa.Table.from_pandas(ledger, preserve_index=False)
    for name in LIST_COLUMNS:
        position = table.schema.get_field_index(name)
        column = table[name].cast(pa.string())
        text = pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column)
        lists = pc.if_else(pc.is_null(text), pa.scalar([], pa.list_(pa.string())), pc.utf8_split_whitespace(text))
        table = table.set_column(position, name, lists)
    return table.replace_schema_metadata(None)  # pandas' metadata still describes the text columns


def new_run_id() -> tuple[str, datetime]:
    now = datetime.now(UTC)
    return f"credit-{now:%Y%m%dT%H%M%S%f}", now
