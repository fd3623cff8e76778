"""Every CSV a credit run writes reads back typed: UTC moments with Z, days, rounded hours, integer counts, JSON lists."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from hypothesis import given
from hypothesis import strategies as st

from transforms.credit.csv_tables import is_hours, step_decimals, write_csv

MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
LOOKS_LIKE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]")
NUMBER = re.compile(r"^-?\d+(\.(\d+))?$")
COUNTS = {"pending_items", "rejected_items", "duplicate_items", "ledger_rows", "teachers_in_scope", "teachers_with_credit",
          "teachers_requirement_met", "teachers_flagged_gap", "quality_rejected_items", "tier_C_uses",
          "voided_statements", "late_rows", "longest_gap_days", "summary_version", "statements", "teachers",
          "interactions"}
LISTS = {"evidence_statement_ids", "lrs_sources", "authorities", "reason_codes"}


def _files(credit_run):
    files = sorted(credit_run.output_dir.rglob("*.csv"))
    names = {path.name for path in files}
    assert {"teacher_summary.csv", "institution_summary.csv", "review_queue.csv", "unmatched_actors.csv",
            "continuity_changes.csv", "ledger.csv", "teachers.csv"} <= names
    return files


def _text_cells(path) -> pd.DataFrame:
    return duckdb.sql(f"SELECT * FROM read_csv('{path}', all_varchar = true, header = true)").df()


def test_every_moment_is_utc_with_z_and_every_day_is_a_date(credit_run):
    seen = 0
    for path in _files(credit_run):
        for name, values in _text_cells(path).items():
            for value in values.dropna():
                if LOOKS_LIKE_TIME.match(value):
                    seen += 1
                    assert MOMENT.match(value) or DAY.match(value), f"{path.name}:{name}: {value!r}"
    assert seen > 100


def test_no_float_noise_and_hours_rounded_to_the_step(credit_run):
    step_places = step_decimals(Decimal("0.25"))
    for path in _files(credit_run):
        for name, values in _text_cells(path).items():
            for value in values.dropna():
                number = NUMBER.match(value)
                if number and number.group(2):
                    limit = step_places if is_hours(name) else 6
                    assert len(number.group(2)) <= limit, f"{path.name}:{name}: {value!r}"


def test_counts_are_integers_and_lists_are_json_for_every_reader(credit_run):
    checked = 0
    for path in _files(credit_run):
        typed = {row[0]: row[1] for row in duckdb.sql(f"DESCRIBE SELECT * FROM read_csv('{path}')").fetchall()}
        frame = pd.read_csv(path, dtype_backend="pyarrow")
        table = pacsv.read_csv(path)
        if frame.empty:
            continue
        for name in COUNTS & set(frame.columns):
            checked += 1
            assert typed[name] == "BIGINT", (path.name, name, typed[name])
            assert pa.types.is_integer(table.schema.field(name).type), (path.name, name)
            assert str(frame[name].dtype) == "int64[pyarrow]", (path.name, name, frame[name].dtype)
        for name in LISTS & set(frame.columns):
            assert all(isinstance(json.loads(cell), list) for cell in frame[name].dropna()), (path.name, name)
        for name, kind in zip(table.schema.names, table.schema.types, strict=True):
            if pa.types.is_timestamp(kind):
                assert kind.tz == "UTC", (path.name, name, kind)  # never a naive moment
    assert checked > 20


def test_a_ledger_in_the_csv_names_its_evidence_as_json(credit_run):
    ledger = pd.read_csv(credit_run.output_dir / "institutions" / "S-42" / "ledger.csv")
    ids = ledger["evidence_statement_ids"].map(json.loads)
    assert ids.map(len).min() >= 1 and ids.map(lambda items: all(isinstance(i, str) for i in items)).all()


@pytest.mark.parametrize(("step", "places"), [("0.25", 2), ("0.5", 1), ("1", 0), ("0.1", 1), ("2", 0)])
def test_step_decimals(step, places):
    assert step_decimals(Decimal(step)) == places


@given(st.lists(st.one_of(st.none(), st.floats(min_value=0, max_value=10_000, allow_nan=False)), max_size=20),
       st.lists(st.one_of(st.none(), st.integers(min_value=0, max_value=2**40)), max_size=20))
def test_written_cells_round_trip_without_noise(tmp_path_factory, hours, counts):
    size = max(len(hours), len(counts))
    frame = pd.DataFrame({"hours_credited": pd.array(hours + [None] * (size - len(hours)), dtype="Float64"),
                          "pending_items": pd.array(counts + [None] * (size - len(counts)), dtype="Int64")})
    path = tmp_path_factory.mktemp("cells") / "cells.csv"
    write_csv(frame, path, Decimal("0.25"))
    back = pd.read_csv(path, dtype=str, keep_default_na=False)
    for written, value in zip(back["hours_credited"], frame["hours_credited"], strict=True):
        assert written == "" if pd.isna(value) else float(written) == round(float(value), 2)
        assert "." not in written or len(written.split(".")[1]) <= 2
    for written, value in zip(back["pending_items"], frame["pending_items"], strict=True):
        assert written == ("" if pd.isna(value) else str(int(value)))
