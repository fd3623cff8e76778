"""The lake as analysts' tools read it: pyiceberg's own catalog, pandas, polars and DuckDB, with typed
partition columns and reads as of an earlier snapshot (what the README's one-liners promise)."""

from __future__ import annotations

import datetime
import json

import duckdb
import polars as pl
import pytest
from pyiceberg.catalog.sql import SqlCatalog

from xapi_ingest.lake.ingest import Ingestor
from xapi_ingest.lake.store import Lake
from xapi_ingest.publish.privacy import Pseudonymizer, publish
from xapi_ingest.xapi.reader import RawRecord
from xapi_ingest.xapi.samples import realistic_statements


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Lake:
    lake = Lake(tmp_path_factory.mktemp("readers") / "lake")
    statements = list(realistic_statements(300))
    for start in (0, 200):  # two commits: the first snapshot holds 200 statements
        part = statements[start:start + 200]
        Ingestor(lake, "moodle-a").ingest(("gen", RawRecord(i, i + 1, json.dumps(s), s)) for i, s in enumerate(part))
    publish(lake, Pseudonymizer(b"readers-test-key-0123456789"), include_unchecked=True)
    return lake


def _catalog(lake: Lake) -> SqlCatalog:
    """What an analyst types: only the catalog file and the warehouse folder, none of our code."""
    assert lake.root is not None
    return SqlCatalog("xapi_lake", uri=f"sqlite:///{lake.root}/catalog.sqlite", warehouse=f"file://{lake.root}/warehouse")


def test_pyiceberg_and_pandas_read_typed_columns(lake: Lake) -> None:
    table = _catalog(lake).load_table("xapi.analyst_statements")
    frame = table.scan(row_filter="stored_date >= '2026-09-01'", selected_fields=("statement_id", "stored_date",
                                                                                  "actor_ifi")).to_pandas()
    assert len(frame) == 300 and frame["statement_id"].is_unique
    assert isinstance(frame["stored_date"].iloc[0], datetime.date)
    assert frame["actor_ifi"].str.startswith("p_").all()


def test_polars_scans_the_table(lake: Lake, monkeypatch) -> None:
    monkeypatch.setenv("POLARS_ICEBERG_PLANNER", "pyiceberg")  # the polars_iceberg plugin is optional
    table = _catalog(lake).load_table("xapi.analyst_statements")
    counts = pl.scan_iceberg(table).group_by("stored_date").agg(pl.len()).collect()
    assert counts.schema["stored_date"] == pl.Date and counts["len"].sum() == 300


def test_duckdb_reads_through_the_lake_and_time_travels(lake: Lake) -> None:
    history = _catalog(lake).load_table("xapi.statements").history()
    first, latest = history[0].snapshot_id, history[-1].snapshot_id
    assert first != latest
    earlier, current = lake.dataset("statements", first), lake.dataset("statements", latest)  # noqa: F841
    assert duckdb.sql("SELECT count(*) FROM earlier").fetchall() == [(200,)]
    assert duckdb.sql("SELECT count(*), count(DISTINCT statement_id) FROM current").fetchall() == [(300, 300)]
    assert duckdb.sql("SELECT typeof(stored_date) FROM current LIMIT 1").fetchall() == [("DATE",)]
