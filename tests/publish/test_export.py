"""The analyst zone as plain Parquet: only live rows, and pyarrow, pandas, polars and DuckDB read
every column alike (``stored_date`` a date, ``source`` text), read back with each real reader."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from xapi_ingest.app.cli.main import main
from xapi_ingest.lake.ingest import Ingestor
from xapi_ingest.lake.schema import ANALYST_TABLE, TABLES
from xapi_ingest.lake.store import Lake
from xapi_ingest.publish.export import ExportError, export_analyst_zone
from xapi_ingest.publish.privacy import Pseudonymizer, publish
from xapi_ingest.xapi.reader import read_records

KEY = b"export-test-key-0123456789"
SINCE = datetime.date(2026, 10, 1)


def _statements(source_number: int) -> list[dict]:
    """Six statements stored over September and October."""
    return [{"id": f"00000000-0000-4000-8000-{source_number:06d}{index:06d}",
             "actor": {"mbox": f"mailto:t{index}@school.example.kz"},
             "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
             "object": {"id": "https://mooc.example.org/course/pd-101"},
             "timestamp": f"2026-{9 + index % 2:02d}-{10 + index}T09:30:00Z",
             "stored": f"2026-{9 + index % 2:02d}-{10 + index}T09:31:00Z"} for index in range(6)]


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Lake:
    folder = tmp_path_factory.mktemp("export")
    lake = Lake(folder / "lake")
    for number, source in enumerate(("moodle-a", "edx-b")):
        path = folder / f"{source}.ndjson"
        path.write_text("".join(json.dumps(s) + "\n" for s in _statements(number)))
        Ingestor(lake, source).ingest((str(path), r) for r in read_records(path))
    publish(lake, Pseudonymizer(KEY), include_unchecked=True)
    publish(lake, Pseudonymizer(KEY), rebuild=True, include_unchecked=True)  # the first files stay, no longer live
    return lake


def test_the_export_holds_the_live_rows_one_file_per_source_and_month(lake: Lake, tmp_path: Path) -> None:
    warehouse = lake.layout.warehouse / "xapi" / ANALYST_TABLE / "data"
    assert sum(pq.read_metadata(p).num_rows for p in warehouse.rglob("*.parquet")) == 24  # why not to read it
    export = export_analyst_zone(lake, tmp_path / "out")
    assert (export.rows, export.files, export.snapshot_id) == (12, 4, lake.snapshot_id(ANALYST_TABLE))
    assert sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*.parquet")) == [
        "edx-b/2026-09.parquet", "edx-b/2026-10.parquet", "moodle-a/2026-09.parquet", "moodle-a/2026-10.parquet"]
    assert json.loads((tmp_path / "out" / "_export.json").read_text())["rows"] == 12
    schema = pq.read_schema(tmp_path / "out" / "_common_metadata")
    assert schema.names == TABLES[ANALYST_TABLE].schema.names and b"partition" in schema.field("stored_date").metadata[
        b"description"]


def test_pyarrow_pandas_polars_and_duckdb_read_the_same_types(lake: Lake, tmp_path: Path) -> None:
    out = tmp_path / "out"
    export_analyst_zone(lake, out)
    arrow = pq.read_table(out)
    frame = pd.read_parquet(out)
    polars = pl.read_parquet(f"{out}/**/*.parquet")
    duck = duckdb.sql(f"SELECT * FROM read_parquet('{out}/**/*.parquet')")

    assert arrow.schema.field("stored_date").type == pa.date32() and arrow.schema.field("source").type == pa.string()
    assert {type(value) for value in frame["stored_date"]} == {datetime.date} and frame["source"].dtype != "category"
    assert polars.schema["stored_date"] == pl.Date and polars.schema["source"] == pl.String
    types = dict(zip(duck.columns, map(str, duck.types), strict=True))
    assert (types["stored_date"], types["source"]) == ("DATE", "VARCHAR")
    since = [arrow.filter(pc.field("stored_date") >= SINCE).num_rows, int((frame["stored_date"] >= SINCE).sum()),
             polars.filter(pl.col("stored_date") >= SINCE).height,
             duck.filter(f"stored_date >= DATE '{SINCE}'").count("*").fetchall()[0][0]]
    assert since == [6, 6, 6, 6]
    assert arrow.column_names == frame.columns.tolist() == polars.columns == duck.columns  # no folder-name columns


def test_export_replaces_an_export_and_refuses_any_other_folder(lake: Lake, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    (out / "stale-source").mkdir(parents=True)
    (out / "notes.txt").write_text("an analyst's own file")
    with pytest.raises(ExportError, match="not empty"):
        export_analyst_zone(lake, out)
    assert (out / "notes.txt").exists()

    out = tmp_path / "exports" / "analyst"
    assert main(["export", "--lake", str(lake.root), str(out), "--snapshot", "123"]) == 2
    assert "no snapshot 123" in capsys.readouterr().err and not out.exists()
    assert main(["export", "--lake", str(lake.root), str(out)]) == 0
    assert "12 row(s) in 4 file(s)" in capsys.readouterr().out
    (out / "gone-source").mkdir()
    (out / "gone-source" / "2026-01.parquet").write_bytes(b"")
    assert main(["export", "--lake", str(lake.root), str(out)]) == 0
    assert not (out / "gone-source").exists() and pq.read_table(out).num_rows == 12
    assert not [p for p in out.parent.iterdir() if p.name != "analyst"]  # no staging folder left behind
