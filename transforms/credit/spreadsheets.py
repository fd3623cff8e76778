"""The workbook institutions open in a spreadsheet program (the CSV files are in csv_tables)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from transforms.credit.method import method_text
from transforms.credit.policy import Policy


def _naive(frame: pd.DataFrame) -> pd.DataFrame:
    """Excel has no time zones: datetimes are written as UTC wall time."""
    frame = frame.copy()
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.DatetimeTZDtype):
            frame[column] = frame[column].dt.tz_convert("UTC").dt.tz_localize(None)
    return frame


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
