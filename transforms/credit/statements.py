"""A printable statement of participation per teacher."""

from __future__ import annotations

import hashlib
import html
from pathlib import Path

import pandas as pd

from transforms.credit.policy import Policy
from transforms.credit.report import STYLE


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
            style=STYLE, name=html.escape(str(person["display_name"])), teacher=html.escape(str(teacher_id)),
            institution=html.escape(str(person["institution_id"])), policy_version=html.escape(policy.policy.version),
            version=version, totals=totals_html, items=items_html, minutes=policy.units.minutes_per_unit,
            step=policy.units.rounding.step,
            digest=hashlib.sha256((totals_html + items_html).encode()).hexdigest())
        (folder / f"{teacher_id}.html").write_text(page, encoding="utf-8")
    return len(total_rows)
