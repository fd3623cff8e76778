"""What institutions receive: one folder each, holding only their own teachers.

Per institution: the summaries and the ledger as Parquet, CSV and one XLSX workbook (Summary,
Teachers, Ledger, Method), a readable HTML report with a chart of hours by category and of
progress to the requirement, and a statement of participation per teacher (printable HTML,
modelled on an annual statement of participation: totals by bucket against the requirement,
line items, footnotes on caps and rounding, and a verification hash).
"""

from __future__ import annotations

import hashlib
import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from transforms.credit.policy import Policy


def _naive(frame: pd.DataFrame) -> pd.DataFrame:
    """Excel has no time zones: datetimes are written as UTC wall time."""
    frame = frame.copy()
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.DatetimeTZDtype):
            frame[column] = frame[column].dt.tz_convert("UTC").dt.tz_localize(None)
    return frame


def method_text(policy: Policy) -> pd.DataFrame:
    """The policy in plain language, one line per rule, with its version and hash."""
    rows = [("policy", f"{policy.policy.id} version {policy.policy.version} (sha256 {policy.sha256})"),
            ("unit", f"{policy.units.name}: {policy.units.minutes_per_unit} minutes; each activity floored to "
                     f"{policy.units.rounding.step} h; under {policy.units.min_credit_per_activity} h earns nothing")]
    for name, category in policy.categories.items():
        rows.append((f"category {name}", f"hours by {category.hours.method}"
                     + (f" from registry {category.hours.source}" if category.hours.source else "")
                     + (f" x {category.hours.multiplier}" if category.hours.multiplier != 1 else "")
                     + f"; bucket {category.bucket}; counted {category.repeat.replace('_', ' ')}"))
    for name, bucket in policy.buckets.items():
        caps = {key: value for key, value in bucket.cap.model_dump().items() if value is not None}
        rows.append((f"bucket {name}", f"caps {caps}, applied in activity-date order" if caps else "no cap"))
    rows.append(("overlap", "a minute counts once; precedence " + " > ".join(policy.dedup.overlap_precedence)))
    rows.append(("requirement", f"{policy.requirement.pd_cycle_hours} h per {policy.periods.pd_cycle_years}-year PD cycle "
                                f"(academic years pro rata)"))
    rows.append(("continuity", f"flag when no credited learning for more than {policy.continuity.max_gap_days} days"))
    return pd.DataFrame(rows, columns=["rule", "text"])


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """CSV through Arrow's writer: a ledger of a few hundred thousand rows in a second, not ten."""
    pacsv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), path)


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


_STYLE = """<style>body{font-family:sans-serif;margin:2em;max-width:1100px}table.t{border-collapse:collapse;font-size:13px}
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
{_STYLE}</head><body>
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


XLSX_LEDGER_MAX_ROWS = 20_000  # beyond this the ledger is for tools, not people: ledger.csv / ledger.parquet
_XLSX_TEACHER_COLUMNS = ["teacher_id", "display_name", "period_kind", "period_id", "status", "credited_total",
                         "requirement_hours", "remaining_to_requirement", "requirement_met", "capped_hours",
                         "pending_items", "last_credited_activity", "longest_gap_days", "continuity_flag",
                         "summary_version", "supersedes_summary_id"]
_XLSX_LEDGER_COLUMNS = ["activity_end", "teacher_id", "activity_title", "category", "bucket", "registry_tier",
                        "hours_credited", "hours_capped", "status", "explanation", "primary_statement_id", "ledger_id"]


def write_workbook(path: Path, institution_rows: pd.DataFrame, teachers: pd.DataFrame, ledger: pd.DataFrame,
                   policy: Policy) -> None:
    """Summary, Teachers, Ledger and Method sheets, with the columns a person reads (all columns are in the CSVs)."""
    if len(ledger) <= XLSX_LEDGER_MAX_ROWS:
        ledger_sheet = _naive(ledger[_XLSX_LEDGER_COLUMNS])
    else:
        ledger_sheet = pd.DataFrame({"note": [f"{len(ledger):,} ledger rows: too many for a spreadsheet; "
                                              "see ledger.csv or ledger.parquet in this folder"]})
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        _naive(institution_rows).to_excel(writer, sheet_name="Summary", index=False)
        _naive(teachers[_XLSX_TEACHER_COLUMNS]).to_excel(writer, sheet_name="Teachers", index=False)
        ledger_sheet.to_excel(writer, sheet_name="Ledger", index=False)
        method_text(policy).to_excel(writer, sheet_name="Method", index=False)


def _cells(frame: pd.DataFrame, tag: str = "td") -> pd.Series:
    """One ``<tr>`` per row, built column by column (a page per teacher must not cost a pandas to_html call)."""
    row = pd.Series("<tr>", index=frame.index)
    for column in frame.columns:
        values = frame[column]
        text = values.map(lambda v: f"{v:,.2f}", na_action="ignore") if values.dtype.kind == "f" else values
        row = row + f"<{tag}>" + text.astype(str).fillna("").map(html.escape) + f"</{tag}>"
    return row + "</tr>"


def _header(columns) -> str:
    return "<tr>" + "".join(f"<th>{html.escape(str(column))}</th>" for column in columns) + "</tr>"


_STATEMENT_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Statement of participation</title>{style}</head>
<body><h1>Statement of participation</h1>
<p><b>{name}</b> ({teacher}), {institution}. Policy {policy_version}, summary version {version}.</p>
<h2>Totals</h2><table class="t">{totals}</table><h2>Activities</h2><table class="t">{items}</table>
<p><small>Hours are clock hours ({minutes} min), floored to {step} h per activity. Caps apply per bucket in date
order; hours over a cap are shown as capped and do not carry over. Evidence ids are the first characters of the xAPI
statement ids kept by the cluster. Verification hash (sha256 of the two tables): {digest}</small></p></body></html>"""


def write_statements(folder: Path, teachers: pd.DataFrame, ledger: pd.DataFrame, policy: Policy, version: int) -> int:
    """A printable statement of participation per teacher: totals per period against the requirement,
    line items with status and evidence, footnotes on caps and rounding, and a verification hash."""
    folder.mkdir(parents=True, exist_ok=True)
    total_columns = ["period_kind", "period_id", "credited_total", *(f"credited_{b}" for b in policy.buckets),
                     "requirement_hours", "remaining_to_requirement", "longest_gap_days"]
    items = ledger.sort_values("activity_end")[["teacher_id", "activity_end", "activity_title", "provider_name", "category",
                                                "registry_tier", "hours_credited", "hours_capped", "status",
                                                "primary_statement_id"]].copy()
    items["activity_end"] = pd.to_datetime(items["activity_end"]).dt.strftime("%Y-%m-%d")
    items["primary_statement_id"] = items["primary_statement_id"].str[:8]
    item_header = _header(["date", "title", "provider", "category", "tier", "hours credited", "hours capped", "status",
                           "evidence"])
    item_rows = _cells(items.drop(columns="teacher_id")).groupby(items["teacher_id"]).agg("".join)
    total_rows = _cells(teachers[total_columns]).groupby(teachers["teacher_id"]).agg("".join)
    people = teachers.drop_duplicates("teacher_id").set_index("teacher_id")
    for teacher_id, totals in total_rows.items():
        totals_html = _header(total_columns) + totals
        items_html = item_header + item_rows.get(teacher_id, "")
        person = people.loc[teacher_id]
        page = _STATEMENT_PAGE.format(
            style=_STYLE, name=html.escape(str(person["display_name"])), teacher=html.escape(str(teacher_id)),
            institution=html.escape(str(person["institution_id"])), policy_version=html.escape(policy.policy.version),
            version=version, totals=totals_html, items=items_html, minutes=policy.units.minutes_per_unit,
            step=policy.units.rounding.step,
            digest=hashlib.sha256((totals_html + items_html).encode()).hexdigest())
        (folder / f"{teacher_id}.html").write_text(page, encoding="utf-8")
    return len(total_rows)
