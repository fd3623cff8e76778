"""What institutions receive: one folder each, holding only their own teachers.

Per institution: the summaries and the ledger as Parquet, CSV and one XLSX workbook (Summary,
Teachers, Ledger, Method), a readable HTML report with a chart of hours by category and of
progress to the requirement, and a statement of participation per teacher (printable HTML,
modelled on an annual statement of participation: totals by bucket against the requirement,
line items, footnotes on caps and rounding, and a verification hash).
"""

from __future__ import annotations

import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from transforms.credit.method import method_text
from transforms.credit.policy import Policy


def write_chart(path: Path, ledger: pd.DataFrame, teachers: pd.DataFrame, title: str) -> None:
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    by_category = ledger.groupby("category")[["hours_credited", "hours_capped"]].sum().sort_values("hours_credited")
    left.barh(by_category.index, by_category["hours_credited"], label="credited", color="#2f6f9f")
    left.barh(by_category.index, by_category["hours_capped"], left=by_category["hours_credited"], label="capped",
              color="#c9a227")
    left.set_xlabel("hours")
    left.set_title("Hours by category")
    left.legend(loc="lower right")
    progress = teachers.sort_values("credited_total")
    requirement = progress["requirement_hours"].max() if len(progress) else 0
    # one filled step curve rather than a bar per teacher: thousands of bars take matplotlib seconds to draw
    right.fill_between(range(len(progress)), progress["credited_total"].to_numpy(), step="mid", color="#2f6f9f")
    right.axhline(requirement, color="#b03a2e", linestyle="--", label=f"requirement {requirement:g} h")
    right.set_xlabel("teachers (sorted)")
    right.set_ylabel("credited hours in the PD cycle")
    right.set_title("Progress to the requirement")
    right.legend(loc="upper left")
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, border=0, classes="t", na_rep="", float_format=lambda value: f"{value:,.2f}")


STYLE = """<style>body{font-family:sans-serif;margin:2em;max-width:1100px}table.t{border-collapse:collapse;font-size:13px}
table.t td,table.t th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:left}small{color:#555}</style>"""


def write_institution_report(folder: Path, institution_id: str, institution_rows: pd.DataFrame,
                             teachers: pd.DataFrame, ledger: pd.DataFrame, policy: Policy, version: int) -> None:
    latest_year = sorted(teachers.loc[teachers["period_kind"] == "academic_year", "period_id"].unique())[-1:]
    year_ledger = ledger[ledger["academic_year"].isin(latest_year)]
    cycles = teachers[teachers["period_kind"] == "pd_cycle"].sort_values("period_id").drop_duplicates("teacher_id", keep="last")
    write_chart(folder / "hours_by_category.png", year_ledger, cycles,
                f"{institution_id}, academic year {', '.join(latest_year)}")
    flagged = teachers[(teachers["period_kind"] == "academic_year") & teachers["period_id"].isin(latest_year)
                       & teachers["continuity_flag"].fillna(False).astype(bool)]
    summary_columns = ["period_kind", "period_id", "teachers_in_scope", "teachers_with_credit", "teachers_requirement_met",
                       "pct_requirement_met", "hours_total", *(f"hours_{b}" for b in policy.buckets), "capped_hours",
                       "pending_items", "quality_rejected_items", "tier_C_uses", "teachers_flagged_gap"]
    top = (year_ledger[year_ledger["hours_credited"] > 0].groupby(["credit_unit_id", "activity_title"])
           .agg(teachers=("teacher_id", "nunique"), hours=("hours_credited", "sum"))
           .sort_values("teachers", ascending=False).head(10).reset_index())
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>Credit report {html.escape(institution_id)}</title>
{STYLE}</head><body>
<h1>Informal-learning credit: {html.escape(institution_id)}</h1>
<p><small>Summary version {version}; policy {html.escape(policy.policy.id)} {html.escape(policy.policy.version)}
(sha256 {policy.sha256[:16]}…). Every figure is a sum of ledger rows in <code>ledger.csv</code>.</small></p>
<img src="hours_by_category.png" alt="hours by category and progress to the requirement" width="100%">
<h2>Summary by period</h2>{_table(institution_rows[summary_columns])}
<h2>Continuity: teachers with a gap over {policy.continuity.max_gap_days} days ({len(flagged)})</h2>
{_table(flagged[["teacher_id", "display_name", "last_credited_activity", "longest_gap_days"]])}
<h2>Most used credited resources</h2>{_table(top)}
<h2>How credit is computed</h2>{_table(method_text(policy))}
</body></html>"""
    (folder / "report.html").write_text(page, encoding="utf-8")


