"""The order-dependent stages: repeat de-duplication, interval overlap, and caps.

Each works on whole columns: a sort plus grouped cumulative sums, and one DuckDB query for the
overlap sweep, never a Python loop over rows.
"""

from __future__ import annotations

from typing import Literal

import duckdb
import numpy as np
import pandas as pd

from transforms.credit.decide import ELIGIBLE, floor_step
from transforms.credit.policy import Policy

# (period kind as the policy names it, ledger column holding the period id)
_CAP_PERIODS: tuple[tuple[Literal["academic_year", "pd_cycle"], str], ...] = (
    ("academic_year", "academic_year"), ("pd_cycle", "pd_cycle_id"))


def mark_repeats(ledger: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """A credit unit counts once per period (PD cycle by default); later repeats are duplicates."""
    repeat = ledger["category"].map({name: c.repeat for name, c in policy.categories.items()})
    repeat = repeat.where(ledger["repeatable"] != "per_academic_year", "once_per_academic_year")
    period = np.select(
        [repeat == "once_per_academic_year", repeat == "once_per_pd_cycle"],
        [ledger["academic_year"], ledger["pd_cycle_id"]], default="all",
    )
    eligible = ledger["status"] == ELIGIBLE
    candidates = ledger.loc[eligible].assign(_period=period[eligible.to_numpy()])
    candidates = candidates.sort_values(["activity_end", "ledger_id"])
    keys = [candidates["teacher_id"], candidates["credit_unit_id"], candidates["_period"]]
    first = candidates.groupby(keys, sort=False)["ledger_id"].transform("first")
    repeats = first[first != candidates["ledger_id"]]
    ledger["duplicate_of"] = pd.Series(repeats, index=ledger.index, dtype="object")
    ledger.loc[repeats.index, ["status", "reason"]] = ["duplicate", "credit_unit_already_credited"]
    return ledger


_OVERLAP_SQL = """
WITH segs AS (SELECT w.ledger_id, r.teacher_id, r.precedence, w.start_ms, w.end_ms
              FROM wall w JOIN claimants r USING (ledger_id)),
points AS (SELECT teacher_id, start_ms AS t FROM segs UNION SELECT teacher_id, end_ms FROM segs),
pieces AS (SELECT teacher_id, t AS s, lead(t) OVER (PARTITION BY teacher_id ORDER BY t) AS e FROM points),
owned AS (
    SELECT p.teacher_id, p.s, p.e, arg_min(g.ledger_id, g.precedence) AS owner
    FROM pieces p JOIN segs g ON g.teacher_id = p.teacher_id AND g.start_ms <= p.s AND g.end_ms >= p.e
    WHERE p.e IS NOT NULL GROUP BY p.teacher_id, p.s, p.e
)
SELECT owner AS ledger_id, sum(e - s) AS kept_ms FROM owned GROUP BY owner
"""


def remove_overlap(ledger: pd.DataFrame, wall: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """A minute counts once: each elementary piece of a teacher's timeline goes to the covering row
    with the highest bucket precedence (then the earliest start); the rest is recorded as overlap.

    Designated-hours rows have no observable intervals and are exempt, as the reference says.
    """
    precedence = {bucket: rank for rank, bucket in enumerate(policy.dedup.overlap_precedence)}
    claims = ledger.loc[(ledger["status"] == ELIGIBLE) & (ledger["method"] != "designated")]
    order = claims.assign(_p=claims["bucket"].map(precedence)).sort_values(["_p", "activity_start", "ledger_id"])
    claimants = pd.DataFrame({"ledger_id": order["ledger_id"], "teacher_id": order["teacher_id"],
                              "precedence": np.arange(len(order), dtype="int64")})
    con = duckdb.connect()
    con.register("wall", wall)
    con.register("claimants", claimants)
    kept = con.execute(_OVERLAP_SQL).df().set_index("ledger_id")["kept_ms"]
    con.close()
    own = ledger["wall_union_ms"].astype("int64")
    kept_ms = ledger["ledger_id"].map(kept).fillna(0).astype("int64")
    claimed = ledger.index.isin(claims.index)
    overlap_ms = np.where(claimed, np.maximum(own - kept_ms, 0), 0)
    ledger["hours_overlap_ms"] = overlap_ms
    weighted = ledger["hours_weighted_ms"].to_numpy()
    ledger["hours_after_overlap_ms"] = np.where(
        overlap_ms > 0, floor_step(np.maximum(weighted - overlap_ms, 0), policy.step_ms), weighted)
    lost = claimed & (overlap_ms > 0) & (ledger["hours_after_overlap_ms"].to_numpy() == 0)
    ledger.loc[lost, ["status", "reason"]] = ["overlap", "time_already_credited"]
    ledger.loc[claimed & (overlap_ms > 0) & ~lost, "reason"] = "partial_overlap"
    return ledger


def _capped_cumulative(hours: pd.Series, keys: list[pd.Series], cap_ms: int) -> pd.Series:
    """Chronological cap: credited = min(cap, running total) minus the same before this row."""
    running = hours.groupby(keys, sort=False).cumsum()
    credited_running = running.clip(upper=cap_ms)
    return credited_running - credited_running.groupby(keys, sort=False).shift(fill_value=0)


def apply_caps(ledger: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Per bucket: the academic-year cap, then the PD-cycle cap, in activity-time order."""
    eligible = ledger["status"] == ELIGIBLE
    rows = ledger.loc[eligible].sort_values(["activity_end", "ledger_id"])
    credited = rows["hours_after_overlap_ms"].astype("int64")
    for bucket in policy.buckets:
        in_bucket = rows["bucket"] == bucket
        for period, column in _CAP_PERIODS:
            cap = policy.cap_ms(bucket, period)
            if cap is None or not in_bucket.any():
                continue
            subset = rows.loc[in_bucket]
            credited.loc[subset.index] = _capped_cumulative(
                credited.loc[subset.index], [subset["teacher_id"], subset[column]], cap).to_numpy()
    ledger["hours_credited_ms"] = 0
    ledger.loc[credited.index, "hours_credited_ms"] = credited
    ledger["hours_capped_ms"] = np.where(eligible, ledger["hours_after_overlap_ms"] - ledger["hours_credited_ms"], 0)
    capped, credited_any = ledger["hours_capped_ms"] > 0, ledger["hours_credited_ms"] > 0
    ledger.loc[eligible, "status"] = "credited"
    ledger.loc[eligible & capped & credited_any, ["status", "reason"]] = ["partially_capped", "bucket_cap_reached"]
    ledger.loc[eligible & capped & ~credited_any, ["status", "reason"]] = ["capped", "bucket_cap_reached"]
    return ledger
