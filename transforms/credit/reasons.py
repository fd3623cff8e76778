"""Why a ledger row earned what it did, in plain words: the catalogue of reason codes.

One template per reason code, written for a teacher or a director rather than for an auditor:
the ledger's ``explanation`` column (English), the institutions' reports (in their language,
through the message catalogues) and the policy reference page (docs/policy.md) all read this
table, so a reason is worded once. Templates take preformatted fields, so numbers follow the
reader's conventions (``1,5 ч`` in Russian).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from transforms.credit.policy import Policy
from transforms.reporting.i18n import N_, Translator, format_each


@dataclass(frozen=True)
class Reason:
    status: str  # the status a row with this reason gets (the reference page groups reasons by it)
    text: str    # English template; fields are filled with formatted values


REASONS: dict[str, Reason] = {
    "statement_voided": Reason("voided", N_("The platform withdrew (voided) this record later, so it earns no credit.")),
    "authority_not_allowed": Reason("untrusted_source", N_(
        "The record came from a system the cluster does not accept as evidence, so it earns no credit.")),
    "unlisted_resource": Reason("pending_review", N_(
        "This resource is not yet in the cluster's registry: 0 hours until the quality monitor reviews it.")),
    "approval_pending": Reason("pending_review", N_("The resource is waiting for approval: 0 hours for now.")),
    "registry_tier_weight_zero": Reason("quality_rejected", N_(
        "The resource is in quality tier {tier} (rating {rating}), which earns no credit; the quality monitor has been "
        "told.")),
    "clock_skew": Reason("pending_review", N_(
        "The record's time is later than the moment the platform received it; it is held until someone checks it.")),
    "self_declared_requires_approval": Reason("pending_review", N_(
        "The teacher declared this activity; it counts once a methodologist approves it.")),
    "not_passed": Reason("below_threshold", N_("The assessment was not passed: score {score}, {mastery} needed.")),
    "move_on_not_met": Reason("below_threshold", N_(
        "The activity was not completed or passed, which this kind of activity requires.")),
    "attendance_below_ratio": Reason("below_threshold", N_(
        "Attended {ratio} of the scheduled time, less than the share required.")),
    "unique_watch_below_ratio": Reason("below_threshold", N_(
        "Watched {watched} seconds of the video, less than the share required.")),
    "below_minimum_increment": Reason("below_threshold", N_(
        "{computed} h of learning, less than the smallest amount that is credited.")),
    "insufficient_engagement": Reason("below_threshold", N_(
        "{interactions} interactions during the event; {needed} were needed for this many hours.")),
    "implausibly_fast": Reason("pending_review", N_(
        "Finished in {measured} h where {designated} h are planned; held until someone checks it.")),
    "credit_unit_already_credited": Reason("duplicate", N_(
        "The same activity was already credited in this period; it counts once.")),
    "time_already_credited": Reason("overlap", N_(
        "This time was already credited to another activity ({overlap} h overlap); a minute counts once.")),
    "bucket_cap_reached": Reason("capped", N_(
        "{after} h earned, {credited} h credited: {capped} h are over the limit for {bucket}.")),
    "partial_overlap": Reason("credited", N_(
        "{credited} h credited after removing {overlap} h that overlapped other credited activities.")),
    "": Reason("credited", N_("{credited} h credited to {bucket}.")),
}
LATE_ARRIVAL = "late_arrival"  # a flag added to reason_codes, not a decision: the row is credited as usual
LATE_ARRIVAL_TEXT = N_("The record reached the cluster more than {days} days after the activity.")


class PlainNumbers:
    """Python's own number formats, for the ledger's English explanation column (fast over millions of rows)."""

    def number(self, value: float, digits: int = 2) -> str:
        return f"{value:,.{digits}f}"


def _fields(ledger: pd.DataFrame, policy: Policy, numbers: PlainNumbers | Translator,
            bucket_name: Callable[[str], str]) -> pd.DataFrame:
    """Every template field of every row, formatted once per distinct value."""

    def formatted(column: str, digits: int, scale: float = 1.0, suffix: str = "") -> pd.Series:
        return format_each(ledger[column].astype("float64") * scale,
                           lambda value: numbers.number(value, digits) + suffix, missing="?")

    return pd.DataFrame({
        "tier": ledger["registry_tier"].fillna("?").astype(str),
        "rating": formatted("registry_rating", 1), "score": formatted("score_scaled", 2),
        "mastery": formatted("mastery_scaled", 2), "ratio": formatted("attendance_ratio", 0, 100, "\u00a0%"),
        "watched": formatted("unique_watch_s", 0), "computed": formatted("hours_computed", 2),
        "interactions": formatted("interactions", 0), "needed": formatted("interactions_needed", 0),
        "measured": formatted("hours_measured", 2), "designated": formatted("hours_designated", 2),
        "overlap": formatted("hours_overlap", 2), "after": formatted("hours_after_overlap", 2),
        "credited": formatted("hours_credited", 2), "capped": formatted("hours_capped", 2),
        "bucket": ledger["bucket"].map({name: bucket_name(name) for name in ledger["bucket"].dropna().unique()}),
    }, index=ledger.index)


def explain(ledger: pd.DataFrame, policy: Policy, t: Translator | None = None) -> pd.Series:
    """The plain-language reason of each ledger row; in ``t``'s language, else English with Python's formats.

    ``ledger`` is the ledger as built or as written (``reason`` or else the first of
    ``reason_codes`` decides); rows are grouped by reason, so the cost is one ``str.format`` per row.
    """
    numbers: PlainNumbers | Translator = t if t is not None else PlainNumbers()
    language = t.language if t is not None else "en"
    fields = _fields(ledger, policy, numbers, lambda name: policy.label("bucket", name, language))
    out = pd.Series("", index=ledger.index, dtype=object)
    reasons = ledger["reason"] if "reason" in ledger else first_reason(ledger["reason_codes"])
    for reason, rows in ledger.groupby(reasons, sort=False).groups.items():
        template = REASONS[str(reason)].text
        template = t(template) if t is not None else template
        out.loc[rows] = [template.format(**values) for values in fields.loc[rows].to_dict("records")]
    return out


def first_reason(reason_codes: pd.Series) -> pd.Series:
    """The deciding reason of ledger rows as written to files (``reason_codes``: the reason, then any flags)."""
    text = reason_codes.map(lambda codes: " ".join(codes) if isinstance(codes, list | tuple | np.ndarray) else codes)
    first = text.fillna("").str.split().str[0].fillna("")
    return first.where(first != LATE_ARRIVAL, "")
