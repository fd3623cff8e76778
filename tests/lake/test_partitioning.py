"""Partitioning by source and month: a backfill spread over many days writes few files, and a
lake created with the former daily partitions evolves without losing or rewriting a row."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
from pyiceberg.transforms import IdentityTransform, MonthTransform

from xapi_ingest.lake.ingest import Ingestor
from xapi_ingest.lake.maintenance import compact
from xapi_ingest.lake.schema import TABLES
from xapi_ingest.lake.store import _TABLE_PROPERTIES, Lake
from xapi_ingest.xapi.reader import RawRecord
from xapi_ingest.xapi.samples import realistic_statements


def spread_over_days(count: int, days: int, offset: int = 0) -> list[tuple[str, RawRecord]]:
    """Statements whose ``stored`` walks one day per statement from 2025-09-01 (a year's export)."""
    records = []
    for index, statement in enumerate(realistic_statements(count + offset)):
        if index < offset:
            continue
        stored = datetime(2025, 9, 1, 12, tzinfo=UTC) + timedelta(days=index % days)
        statement["stored"] = stored.isoformat().replace("+00:00", "Z")
        records.append(("export.ndjson", RawRecord(index, index + 1, json.dumps(statement), statement)))
    return records


def data_files(lake: Lake, table: str = "statements") -> list[str]:
    return [task.file.file_path for task in lake.table(table).scan().plan_files()]


def test_a_batch_spread_over_a_year_writes_one_file_per_month(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    counts = Ingestor(lake, "moodle-a").ingest(spread_over_days(730, days=365))
    assert counts.valid == 730
    rows = lake.dataset("statements").to_table()
    months = {(day.year, day.month) for day in rows["stored_date"].to_pylist()}
    assert rows.num_rows == 730 and len(set(rows["stored_date"].to_pylist())) == 365
    assert len(data_files(lake)) == len(months) == 12  # Sep 2025 .. Aug 2026


def test_a_lake_with_daily_partitions_evolves_and_keeps_every_row(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    spec = TABLES["statements"]
    lake.catalog.create_namespace("xapi")
    with (lake.catalog.create_table_transaction("xapi.statements", schema=spec.iceberg_arrow_schema(),
                                                properties=_TABLE_PROPERTIES) as transaction,
          transaction.update_spec() as partitioning):  # how the previous version created it
        for column in spec.partition_by:
            partitioning.add_identity(column)
    old_rows = spread_over_days(40, days=20)
    batch = Ingestor(lake, "moodle-a").new_batch("old")
    for origin, record in old_rows:
        Ingestor(lake, "moodle-a").add(batch, origin, record)
    daily = lake.catalog.load_table("xapi.statements")
    daily.append(spec.with_partitions(batch.columns.to_table(), "moodle-a", "stored"))
    assert len(data_files(lake)) == 20
    assert lake.dataset("statements").count_rows() == 40
    reader_view = {field.name: field.transform for field in Lake(tmp_path / "lake").table("statements").spec().fields}
    assert reader_view["stored_date"] == IdentityTransform()  # readers leave the catalog as it is

    counts = Ingestor(lake, "moodle-a").ingest(spread_over_days(60, days=60, offset=40))
    assert counts.valid == 60
    transforms = {field.name: field.transform for field in lake.table("statements").spec().fields}
    assert transforms == {"source": IdentityTransform(), "stored_date_month": MonthTransform()}

    def ids() -> list[str]:
        return sorted(lake.dataset("statements").to_table()["statement_id"].to_pylist())

    all_records = [json.loads(record.raw) for _, record in [*old_rows, *spread_over_days(60, 60, 40)]]
    expected = sorted(statement["id"] for statement in all_records)
    from_11th = sum(statement["stored"] >= "2025-09-11" for statement in all_records)
    assert ids() == expected
    compact(lake)
    assert ids() == expected
    con = duckdb.connect()
    con.register("statements", lake.dataset("statements"))
    assert con.execute("SELECT count(*) FROM statements WHERE stored_date >= DATE '2025-09-11'").fetchone() == (from_11th,)
    assert lake.dataset("statements").schema.field("stored_date").type == pa.date32()
