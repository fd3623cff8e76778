"""Continuity of learning: the gap the cluster exists to close.

Teachers often upgrade once every five years and then learn nothing recorded until the next
course. Per teacher and period this finds the last credited activity and the longest stretch
without credited learning (from the period start, between activities, and up to the data
cutoff or the period end), and flags stretches longer than the policy allows.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from transforms.credit.policy import Policy


def continuity(ledger: pd.DataFrame, scope: pd.DataFrame, policy: Policy, as_of: pd.Timestamp | None) -> pd.DataFrame:
    """teacher_id, period_kind, period_id, last_credited_activity, longest_gap_days, continuity_flag."""
    windows = scope[["teacher_id", "period_kind", "period_id", "period_start", "period_end"]].drop_duplicates(
        ["teacher_id", "period_kind", "period_id"])
    cutoff = None if as_of is None else as_of.tz_convert("UTC").tz_localize(None).normalize()
    windows = windows.assign(window_end=windows["period_end"] if cutoff is None
                             else windows["period_end"].where(windows["period_end"] < cutoff, cutoff))
    credited = ledger.loc[ledger["hours_credited"] > 0, ["teacher_id", "academic_year", "pd_cycle_id", "activity_end"]]
    credited = credited.assign(day=pd.to_datetime(credited["activity_end"]).dt.tz_convert("UTC").dt.tz_localize(None)
                               .dt.normalize())
    con = duckdb.connect()
    con.register("windows", windows)
    con.register("credited", credited)
    result = con.execute("""
        WITH days AS (
            SELECT teacher_id, 'academic_year' AS period_kind, academic_year AS period_id, day FROM credited
            UNION ALL SELECT teacher_id, 'pd_cycle', pd_cycle_id, day FROM credited
        ), marks AS (
            SELECT w.teacher_id, w.period_kind, w.period_id, d.day AS mark, true AS credited
            FROM windows w JOIN days d USING (teacher_id, period_kind, period_id)
            WHERE d.day >= w.period_start AND d.day <= w.window_end
            UNION ALL SELECT teacher_id, period_kind, period_id, period_start, false FROM windows
            UNION ALL SELECT teacher_id, period_kind, period_id, greatest(window_end, period_start), false FROM windows
        ), gaps AS (
            SELECT *, date_diff('day', lag(mark) OVER (PARTITION BY teacher_id, period_kind, period_id ORDER BY mark), mark)
                      AS gap
            FROM marks
        )
        SELECT teacher_id, period_kind, period_id, max(mark) FILTER (WHERE credited) AS last_credited_activity,
               coalesce(max(gap), 0) AS longest_gap_days
        FROM gaps GROUP BY ALL
    """).df()
    con.close()
    result["continuity_flag"] = result["longest_gap_days"] > policy.continuity.max_gap_days
    return result
