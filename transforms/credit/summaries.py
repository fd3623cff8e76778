"""Teacher × period and institution × period summaries: sums over the ledger, nothing else.

Every teacher on the roster during a period is in scope, including those with no credit at
all: they are the ones continuity monitoring exists for. Totals are computed by DuckDB from the
ledger rows, and each teacher row carries a checksum of the rows it sums, so the invariant
``credited_total = Σ ledger.hours_credited`` can be checked by anyone.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from transforms.credit.continuity import continuity
from transforms.credit.periods import academic_year_label, cycle_label, cycle_start_year, period_bounds
from transforms.credit.policy import Policy

PENDING, REJECTED = ("pending_review",), ("below_threshold", "quality_rejected")


def _scope(ledger: pd.DataFrame, members: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """(teacher, institution, period) rows: every membership overlapping an observed academic year,
    and the PD cycles that hold those years."""
    columns = ["teacher_id", "display_name", "institution_id", "period_kind", "period_id", "period_start", "period_end"]
    years = sorted({int(label[:4]) for label in ledger["academic_year"].unique()})
    frame = members.merge(pd.DataFrame({"ay": years}), how="cross")
    ay_start, ay_end = period_bounds(frame["ay"], 1, policy)
    frame = frame[(pd.to_datetime(frame["member_from"]) < ay_end) & (pd.to_datetime(frame["member_to"]) > ay_start)]
    if frame.empty:  # no statement yet, or no membership overlaps the years observed (everyone left before)
        return pd.DataFrame(columns=columns)
    anchor = pd.to_datetime(frame["pd_cycle_start"])
    anchor_year = anchor.dt.year - ((anchor.dt.strftime("%m-%d") < policy.periods.academic_year_start).astype(int))
    frame = frame.assign(cycle=cycle_start_year(frame["ay"], anchor_year, policy))
    years_rows = frame.assign(period_kind="academic_year", period_id=academic_year_label(frame["ay"]).to_numpy(),
                              start_year=frame["ay"], length=1)
    cycle_rows = frame.assign(period_kind="pd_cycle", period_id=cycle_label(frame["cycle"], policy).to_numpy(),
                              start_year=frame["cycle"], length=policy.periods.pd_cycle_years)
    scope = pd.concat([years_rows, cycle_rows]).drop_duplicates(["teacher_id", "institution_id", "period_kind", "period_id"])
    scope = scope.reset_index(drop=True)
    starts, ends = [], []
    for length, part in scope.groupby("length"):
        start, end = period_bounds(part["start_year"], int(length), policy)
        starts.append(start)
        ends.append(end)
    scope["period_start"] = pd.concat(starts)
    scope["period_end"] = pd.concat(ends)
    return scope[columns]


def _bucket_columns(policy: Policy) -> str:
    return ", ".join(f"sum(hours_credited) FILTER (WHERE bucket = '{name}') AS credited_{name}" for name in policy.buckets)


def teacher_summaries(ledger: pd.DataFrame, memberships: pd.DataFrame, policy: Policy,
                      as_of: pd.Timestamp | None) -> pd.DataFrame:
    con = duckdb.connect()
    con.register("ledger", ledger[["ledger_id", "teacher_id", "institution_id", "academic_year", "pd_cycle_id", "bucket",
                                   "status", "registry_tier", "hours_credited", "hours_capped", "hours_overlap",
                                   "hours_rounded", "activity_start", "activity_end"]])
    totals = con.execute(f"""
        WITH periods AS (
            SELECT *, 'academic_year' AS period_kind, academic_year AS period_id FROM ledger
            UNION ALL SELECT *, 'pd_cycle', pd_cycle_id FROM ledger
        )
        SELECT teacher_id, institution_id, period_kind, period_id,
               coalesce(sum(hours_credited), 0) AS credited_total, {_bucket_columns(policy)},
               sum(hours_capped) AS capped_hours, sum(hours_overlap) AS overlap_hours,
               coalesce(sum(hours_rounded) FILTER (WHERE status IN {PENDING}), 0) AS pending_hours,
               count(*) FILTER (WHERE status IN {PENDING}) AS pending_items,
               count(*) FILTER (WHERE status IN {REJECTED}) AS rejected_items,
               count(*) FILTER (WHERE status = 'duplicate') AS duplicate_items,
               coalesce(sum(hours_credited) FILTER (WHERE registry_tier = 'A'), 0) AS credited_tier_a,
               min(activity_start) FILTER (WHERE hours_credited > 0) AS first_activity,
               max(activity_end) FILTER (WHERE hours_credited > 0) AS last_activity,
               count(*) AS ledger_rows,
               sha256(string_agg(ledger_id || ':' || CAST(hours_credited AS VARCHAR), ',' ORDER BY ledger_id))
                   AS ledger_checksum
        FROM periods GROUP BY ALL
    """).df()
    con.close()
    members = memberships.copy()
    scope = _scope(ledger, members, policy)
    names = members.drop_duplicates("teacher_id").set_index("teacher_id")["display_name"]
    keys = ["teacher_id", "institution_id", "period_kind", "period_id"]
    # an empty side (no actor on the roster, an empty lake) comes back untyped: align the keys' types
    scope[keys], totals[keys] = scope[keys].astype(object), totals[keys].astype(object)
    summary = scope.merge(totals, how="outer", on=keys, suffixes=("", "_ledger"))
    summary["display_name"] = summary["teacher_id"].map(names)
    hours = ["credited_total", *(f"credited_{name}" for name in policy.buckets), "capped_hours", "overlap_hours",
             "pending_hours"]
    counts = ["pending_items", "rejected_items", "duplicate_items", "ledger_rows"]
    summary[hours] = summary[hours].astype("float64").fillna(0.0).round(6)
    summary[counts] = summary[counts].fillna(0).astype("int64")
    summary["ledger_checksum"] = summary["ledger_checksum"].fillna("")
    years = policy.periods.pd_cycle_years
    cycle_hours = float(policy.requirement.pd_cycle_hours)
    share = (summary["period_kind"] == "pd_cycle").map({True: 1.0, False: 1.0 / years})
    summary["requirement_hours"] = (cycle_hours * share).round(2)
    summary["remaining_to_requirement"] = (summary["requirement_hours"] - summary["credited_total"]).clip(lower=0).round(6)
    summary["requirement_met"] = summary["credited_total"] >= summary["requirement_hours"]
    minimums_met = pd.Series(True, index=summary.index)
    for minimum in policy.requirement.minimums:
        reached = sum(summary[f"credited_{name}"] for name in minimum.buckets)
        minimums_met &= reached >= float(minimum.hours) * share
    summary["minimums_met"] = minimums_met
    summary["share_tier_A"] = (summary.pop("credited_tier_a").fillna(0) / summary["credited_total"].where(
        summary["credited_total"] > 0)).round(4)
    summary = summary.merge(continuity(ledger, summary, policy, as_of), how="left",
                            on=["teacher_id", "period_kind", "period_id"])
    summary["status"] = "provisional"
    if as_of is not None:
        closed = pd.to_datetime(summary["period_end"]).dt.tz_localize("UTC") <= as_of
        summary.loc[closed.fillna(False), "status"] = "final"
    return summary.sort_values(["institution_id", "period_kind", "period_id", "teacher_id"]).reset_index(drop=True)


def institution_summaries(teachers: pd.DataFrame, ledger: pd.DataFrame, policy: Policy,
                          as_of: pd.Timestamp | None) -> pd.DataFrame:
    con = duckdb.connect()
    con.register("teachers", teachers)
    con.register("ledger", ledger[["institution_id", "academic_year", "pd_cycle_id", "status", "registry_tier",
                                   "statements", "late_arrival", "lrs_sources"]])
    buckets = ", ".join(f"sum(credited_{name}) AS hours_{name}" for name in policy.buckets)
    summary = con.execute(f"""
        WITH rows AS (
            SELECT *, 'academic_year' AS period_kind, academic_year AS period_id FROM ledger
            UNION ALL SELECT *, 'pd_cycle', pd_cycle_id FROM ledger
        ), items AS (
            SELECT institution_id, period_kind, period_id,
                   count(*) FILTER (WHERE status = 'quality_rejected') AS quality_rejected_items,
                   count(*) FILTER (WHERE registry_tier = 'C' AND status NOT IN ('voided', 'untrusted_source')) AS tier_C_uses,
                   CAST(coalesce(sum(statements) FILTER (WHERE status = 'voided'), 0) AS BIGINT) AS voided_statements,
                   count(*) FILTER (WHERE late_arrival) AS late_rows
            FROM rows GROUP BY ALL
        ), people AS (
            SELECT institution_id, period_kind, period_id, any_value(period_start) AS period_start,
                   any_value(period_end) AS period_end,
                   count(DISTINCT teacher_id) AS teachers_in_scope,
                   count(DISTINCT teacher_id) FILTER (WHERE credited_total > 0) AS teachers_with_credit,
                   count(DISTINCT teacher_id) FILTER (WHERE requirement_met) AS teachers_requirement_met,
                   count(DISTINCT teacher_id) FILTER (WHERE continuity_flag) AS teachers_flagged_gap,
                   sum(credited_total) AS hours_total, {buckets},
                   median(credited_total) AS median_hours, quantile_cont(credited_total, 0.1) AS p10_hours,
                   quantile_cont(credited_total, 0.9) AS p90_hours,
                   sum(capped_hours) AS capped_hours, sum(pending_hours) AS pending_hours,
                   CAST(sum(pending_items) AS BIGINT) AS pending_items
            FROM teachers GROUP BY ALL
        )
        SELECT p.*, round(100.0 * p.teachers_requirement_met / nullif(p.teachers_in_scope, 0), 1) AS pct_requirement_met,
               coalesce(i.quality_rejected_items, 0) AS quality_rejected_items, coalesce(i.tier_C_uses, 0) AS tier_C_uses,
               coalesce(i.voided_statements, 0) AS voided_statements, coalesce(i.late_rows, 0) AS late_rows
        FROM people p LEFT JOIN items i USING (institution_id, period_kind, period_id)
        ORDER BY institution_id, period_kind, period_id
    """).df()
    con.close()
    summary["data_cutoff_stored"] = as_of
    return summary
