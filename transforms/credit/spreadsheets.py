"""The workbook a director or a methodologist opens: ``credit_summary.xlsx``, in the institution's language.

Sheets: the institution's summary per period; one sheet of teachers per period (academic years,
then PD cycles, latest first), so that a teacher appears once on a sheet and a column's sum or
filter means something; the activities (ledger rows, with the reason in plain words); the credit
rules. Headers and the values people read (status, period type, category, bucket) are labels in
the report language; numbers stay numbers and dates stay dates, with formats, so that sorting,
filters and sums work in Excel and LibreOffice. Every sheet has its header row frozen, a filter,
and columns as wide as their content. The CSV files next to it keep the code names (csv_tables).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from transforms.credit.csv_tables import is_hours, step_decimals
from transforms.credit.labels import PERIOD_KINDS, STATUSES, column_label
from transforms.credit.method import method_text
from transforms.credit.policy import Policy
from transforms.credit.reasons import explain
from transforms.reporting.i18n import N_, Translator, translator

SUMMARY_SHEET = N_("Institution summary")
PERIOD_SHEETS = {"academic_year": N_("Year {period}"),  # sheet names: at most 31 characters with the period id
                 "pd_cycle": N_("Cycle {period}")}
METHOD_SHEET = N_("Credit rules")
METHOD_COLUMNS = {"rule": N_("Credit rule"), "text": N_("What it means")}
TOO_MANY_ACTIVITIES = N_("Too many activities for a spreadsheet ({count}): see ledger.csv or ledger.parquet in this "
                         "folder.")

XLSX_LEDGER_MAX_ROWS = 20_000  # beyond this the ledger is for tools, not people: ledger.csv / ledger.parquet
_SUMMARY = ["period_kind", "period_id", "period_start", "period_end", "teachers_in_scope", "teachers_with_credit",
            "teachers_requirement_met", "pct_requirement_met", "teachers_flagged_gap", "hours_total", "{buckets}",
            "median_hours", "p10_hours", "p90_hours", "capped_hours", "pending_hours", "pending_items",
            "quality_rejected_items", "tier_C_uses", "voided_statements", "late_rows", "data_cutoff_stored",
            "summary_version"]
_TEACHERS = ["teacher_id", "display_name", "status", "credited_total", "{buckets}", "requirement_hours",
             "remaining_to_requirement", "requirement_met", "minimums_met", "capped_hours", "pending_hours",
             "pending_items", "rejected_items", "share_tier_A", "first_activity", "last_credited_activity",
             "longest_gap_days", "continuity_flag", "summary_version", "supersedes_summary_id"]
_ACTIVITIES = ["activity_end", "teacher_id", "display_name", "activity_title", "provider_name", "category", "bucket",
               "registry_tier", "hours_credited", "hours_capped", "status", "explanation", "primary_statement_id",
               "ledger_id"]
_PERCENT_POINTS = {"pct_requirement_met"}  # stored as 42.5, shown as 42.5 %
_FRACTIONS = {"share_tier_A"}              # stored as 0.425, shown as 42.5 %
_DAY_FORMAT = {"kk": "dd.mm.yyyy", "ru": "dd.mm.yyyy", "en": "yyyy-mm-dd"}
_MAX_WIDTH, _MAX_HEADER_WIDTH = 60, 28  # longer headers wrap rather than widen a column of short numbers
_HEADER_FILL = PatternFill("solid", fgColor="DDE6EE")
_FORBIDDEN_IN_SHEET_NAMES = str.maketrans({character: "-" for character in "[]:*?/\\"})


@dataclass(frozen=True)
class _Look:
    """How one column is written: its cell values and Excel number format."""

    values: Sequence[object]
    number_format: str | None
    width_text: Callable[[Any], str]  # a value as wide as it shows, for the column's width


def _columns(template: list[str], policy: Policy, prefix: str) -> list[str]:
    buckets = [f"{prefix}{name}" for name in policy.buckets]
    return [name for entry in template for name in (buckets if entry == "{buckets}" else [entry])]


def _look(name: str, series: pd.Series, t: Translator, policy: Policy) -> _Look:
    """Numbers as numbers, dates as dates, code names as the labels people read."""
    language = t.language
    if name in _PERCENT_POINTS or name in _FRACTIONS:
        scale = 100.0 if name in _PERCENT_POINTS else 1.0
        values = [None if pd.isna(v) else float(v) / scale for v in series]
        return _Look(values, "0.0%", lambda v: f"{v * 100:.1f} %")
    if pd.api.types.is_datetime64_any_dtype(series):
        moments = isinstance(series.dtype, pd.DatetimeTZDtype)
        plain = series.dt.tz_convert("UTC").dt.tz_localize(None) if moments else series
        values = [None if pd.isna(v) else (v.to_pydatetime() if moments else v.date()) for v in plain]
        day = _DAY_FORMAT[language]
        return _Look(values, f"{day} hh:mm" if moments else day, lambda v: "00.00.0000 00:00" if moments else day)
    if pd.api.types.is_bool_dtype(series):
        return _Look([bool(v) for v in series], None, lambda v: "FALSE")
    if pd.api.types.is_numeric_dtype(series):
        integer = pd.api.types.is_integer_dtype(series)
        places = 0 if integer else step_decimals(policy.units.rounding.step) if is_hours(name) else 2
        values = [None if pd.isna(v) else (int(v) if integer else float(v)) for v in series]
        pattern = "#,##0" + ("." + "0" * places if places else "")
        return _Look(values, pattern, lambda v: f"{v:,.{places}f}")
    labels: dict[str, Callable[[str], str]] = {
        "status": lambda code: t(STATUSES[code]) if code in STATUSES else code,
        "period_kind": lambda code: t(PERIOD_KINDS[code]) if code in PERIOD_KINDS else code,
        "category": lambda code: policy.label("category", code, language),
        "bucket": lambda code: policy.label("bucket", code, language),
    }
    label = labels.get(name, str)
    return _Look([None if pd.isna(v) else label(str(v)) for v in series], None, str)


def _write_sheet(workbook: Workbook, title: str, frame: pd.DataFrame, t: Translator, policy: Policy,
                 frozen: str = "A2") -> Worksheet:
    sheet = workbook.create_sheet(_sheet_name(title, workbook.sheetnames))
    bucket_label = lambda name: policy.label("bucket", name, t.language)  # noqa: E731
    headers = [column_label(name, t, bucket_label) for name in frame.columns]
    looks = [_look(name, frame[name], t, policy) for name in frame.columns]
    sheet.append(headers)
    for row in zip(*(look.values for look in looks), strict=True):
        sheet.append(list(row))
    for index, (header, look) in enumerate(zip(headers, looks, strict=True), start=1):
        letter = get_column_letter(index)
        if look.number_format:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = look.number_format
        content = max((len(look.width_text(value)) for value in look.values if value is not None), default=0)
        sheet.column_dimensions[letter].width = min(max(min(len(header), _MAX_HEADER_WIDTH), content) + 2, _MAX_WIDTH)
        if content > _MAX_WIDTH:  # long sentences (reasons, rules) wrap inside the widest column
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = frozen
    sheet.auto_filter.ref = f"A1:{get_column_letter(max(1, len(headers)))}{max(1, sheet.max_row)}"
    return sheet


def _sheet_name(title: str, taken: list[str]) -> str:
    """Excel allows 31 characters and none of ``[]:*?/\\``; names are unique within a workbook."""
    name = title.translate(_FORBIDDEN_IN_SHEET_NAMES)[:31]
    number = 2
    while name in taken:
        suffix = f" ({number})"
        name, number = title.translate(_FORBIDDEN_IN_SHEET_NAMES)[:31 - len(suffix)] + suffix, number + 1
    return name


def _period_sheets(teachers: pd.DataFrame) -> list[tuple[str, str, pd.DataFrame]]:
    """(kind, period, rows): academic years then PD cycles, the latest period first."""
    out = []
    for kind in PERIOD_KINDS:
        rows = teachers[teachers["period_kind"] == kind]
        for period in sorted(rows["period_id"].unique(), reverse=True):
            own = rows[rows["period_id"] == period].sort_values(["display_name", "teacher_id"])
            out.append((kind, str(period), own))
    return out


def _activities(ledger: pd.DataFrame, teachers: pd.DataFrame, policy: Policy, t: Translator) -> pd.DataFrame:
    names = teachers.drop_duplicates("teacher_id").set_index("teacher_id")["display_name"]
    rows = ledger.sort_values(["activity_end", "teacher_id"]).assign(
        display_name=lambda frame: frame["teacher_id"].map(names))
    return rows.assign(explanation=explain(rows, policy, t))[_ACTIVITIES]


def write_workbook(path: Path, institution_id: str, institution_rows: pd.DataFrame, teachers: pd.DataFrame,
                   ledger: pd.DataFrame, policy: Policy) -> None:
    """The institution's workbook in its report language (all columns, by code name, are in the CSVs)."""
    t = translator(policy.reports.language_of(institution_id))
    workbook = Workbook()
    workbook.remove(workbook.active)
    _write_sheet(workbook, t(SUMMARY_SHEET), institution_rows[_columns(_SUMMARY, policy, "hours_")], t, policy, "C2")
    teacher_columns = _columns(_TEACHERS, policy, "credited_")
    for kind, period, rows in _period_sheets(teachers):
        _write_sheet(workbook, t(PERIOD_SHEETS[kind], period=period), rows[teacher_columns], t, policy, "C2")
    if len(ledger) <= XLSX_LEDGER_MAX_ROWS:
        _write_sheet(workbook, t("Activities"), _activities(ledger, teachers, policy, t), t, policy)
    else:
        note = workbook.create_sheet(t("Activities"))
        note.append([t(TOO_MANY_ACTIVITIES, count=t.integer(len(ledger)))])
    rules = method_text(policy, t)
    rules.columns = [t(METHOD_COLUMNS[name]) for name in rules.columns]
    _write_sheet(workbook, t(METHOD_SHEET), rules, t, policy)
    workbook.save(path)
