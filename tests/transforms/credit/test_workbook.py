"""The workbook read back with openpyxl, as Excel would: labels in the institution's language, a sheet per period,
frozen headers, filters, widths, number formats, and numbers and dates as typed cells."""

from __future__ import annotations

import re
from datetime import datetime

import openpyxl
import pandas as pd
import pytest

from tests.transforms.credit.conftest import LANGUAGES
from transforms.credit.labels import COLUMNS, PERIOD_KINDS, STATUSES, column_label
from transforms.credit.policy import load_policy
from transforms.credit.spreadsheets import METHOD_SHEET, PERIOD_SHEETS, SUMMARY_SHEET
from transforms.reporting.i18n import translator

CYRILLIC = re.compile("[а-яёәғқңөұүһі]", re.IGNORECASE)


def _open(credit_run, institution):
    return openpyxl.load_workbook(credit_run.output_dir / "institutions" / institution / "credit_summary.xlsx")


def _rows(sheet) -> pd.DataFrame:
    values = list(sheet.values)
    return pd.DataFrame(values[1:], columns=values[0])


@pytest.fixture(scope="module")
def policy(credit_run):
    return load_policy(credit_run.output_dir.parents[2] / "policy.yaml")


@pytest.mark.parametrize(("institution", "language"), LANGUAGES.items())
def test_one_sheet_per_period_with_each_teacher_once(credit_run, policy, institution, language):
    t = translator(language)
    teachers = pd.read_parquet(credit_run.output_dir / "teacher_summary.parquet")
    own = teachers[teachers["institution_id"] == institution]
    book = _open(credit_run, institution)
    expected = [t(PERIOD_SHEETS[kind], period=period)
                for kind in PERIOD_KINDS for period in sorted(own.loc[own["period_kind"] == kind, "period_id"].unique(),
                                                             reverse=True)]
    assert book.sheetnames == [t(SUMMARY_SHEET), *expected, t("Activities"), t(METHOD_SHEET)]
    assert all(len(name) <= 31 for name in book.sheetnames)
    teacher_label = column_label("teacher_id", t)
    for (kind, period), rows in own.groupby(["period_kind", "period_id"]):
        name = t(PERIOD_SHEETS[kind], period=period)
        sheet = _rows(book[name])
        assert sheet[teacher_label].is_unique
        assert sorted(sheet[teacher_label]) == sorted(rows["teacher_id"])
        credited = sheet[column_label("credited_total", t)].tolist()
        assert sorted(credited) == sorted(rows["credited_total"].tolist())
    assert not t.missing


@pytest.mark.parametrize(("institution", "language"), LANGUAGES.items())
def test_headers_and_values_people_read_are_labels_in_the_language(credit_run, policy, institution, language):
    t = translator(language)
    book = _open(credit_run, institution)
    english = set(COLUMNS.values())
    statuses = {t(label) for label in STATUSES.values()}
    for sheet in book.worksheets:
        headers = [cell.value for cell in sheet[1]]
        assert all(isinstance(header, str) and header for header in headers), sheet.title
        assert not any("_" in header for header in headers), (sheet.title, headers)  # no code names
        if language != "en":
            assert not english & set(headers), (sheet.title, english & set(headers))
            assert all(CYRILLIC.search(header) or header.isupper() for header in headers), (sheet.title, headers)
        status = column_label("status", t)
        if status in headers:
            assert set(_rows(sheet)[status].dropna()) <= statuses, sheet.title
    activities = _rows(book[t("Activities")])
    kinds = {policy.label("category", name, language) for name in policy.categories}
    assert set(activities[column_label("category", t)]) <= kinds
    why = activities[column_label("explanation", t)]
    assert why.map(bool).all()
    if language != "en":
        assert why.map(lambda text: bool(CYRILLIC.search(text))).all()
    summary = _rows(book[t(SUMMARY_SHEET)])
    assert set(summary[column_label("period_kind", t)]) <= {t(label) for label in PERIOD_KINDS.values()}
    assert not t.missing


@pytest.mark.parametrize(("institution", "language"), LANGUAGES.items())
def test_every_sheet_is_frozen_filtered_sized_and_typed(credit_run, policy, institution, language):
    t = translator(language)
    book = _open(credit_run, institution)
    formats = {column_label("credited_total", t): "0.00", column_label("hours_total", t): "0.00",
               column_label("hours_credited", t): "0.00", column_label("pending_items", t): "#,##0",
               column_label("longest_gap_days", t): "#,##0", column_label("teachers_in_scope", t): "#,##0",
               column_label("pct_requirement_met", t): "%", column_label("share_tier_A", t): "%"}
    dates = {column_label(name, t) for name in ("period_start", "period_end", "last_credited_activity",
                                               "data_cutoff_stored", "activity_end")}
    seen_formats, seen_dates = set(), 0
    for sheet in book.worksheets:
        assert sheet.freeze_panes in ("A2", "C2"), sheet.title
        assert sheet.auto_filter.ref == sheet.dimensions, sheet.title
        for column in sheet.iter_cols():
            header, cells = column[0].value, [cell for cell in column[1:] if cell.value is not None]
            width = sheet.column_dimensions[column[0].column_letter].width
            longest = max((len(str(cell.value)) for cell in cells if isinstance(cell.value, str)), default=0)
            assert width >= min(len(header), 28) and width >= min(longest, 58), (sheet.title, header, width)
            if header in formats:
                seen_formats.add(header)
                for cell in cells:
                    assert isinstance(cell.value, int | float) and not isinstance(cell.value, bool), (header, cell.value)
                    assert formats[header] in cell.number_format, (header, cell.number_format)
            if header in dates:
                for cell in cells:
                    seen_dates += 1
                    assert isinstance(cell.value, datetime) and cell.is_date, (sheet.title, header, cell.value)
    assert seen_formats == set(formats) and seen_dates > 10


def test_a_teacher_sheet_holds_the_summary_figures(credit_run):
    """S-42 (Russian): T5's 12 credited hours in 2024-25 are a number formatted as hours, not text."""
    t = translator("ru")
    sheet = _open(credit_run, "S-42")[t(PERIOD_SHEETS["academic_year"], period="2024-25")]
    rows = _rows(sheet).set_index(column_label("teacher_id", t))
    assert rows.loc["T5", column_label("credited_total", t)] == 12
    assert rows.loc["T5", column_label("status", t)] == t(STATUSES["provisional"])
