"""DuckDB over the lake: the views ``statements`` and ``quarantine`` that analysts query."""

from __future__ import annotations

from typing import Literal

import duckdb
import pyarrow as pa

from xapi_ingest.lake import Lake
from xapi_ingest.schema import ANALYST_DROPPED, QUARANTINE, STATEMENTS

Zone = Literal["restricted", "analyst"]


def _view(
    con: duckdb.DuckDBPyConnection, name: str, files: list[str], empty: pa.Schema, date_partition: str
) -> None:
    if files:
        con.execute(
            f"CREATE VIEW {name} AS SELECT * FROM read_parquet({files!r}, hive_partitioning = true, union_by_name = true)"
        )
    else:  # an empty lake still answers queries, with the documented columns
        schema = empty.append(pa.field("source", pa.string())).append(pa.field(date_partition, pa.date32()))
        con.register(f"_{name}_empty", schema.empty_table())
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM _{name}_empty")


def connect(lake: Lake, zone: Zone = "restricted") -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the lake's tables as views.

    The restricted zone shows raw JSON, real IFIs and the quarantine; the analyst zone only
    its pseudonymized statements.
    """
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if zone == "analyst":
        analyst = pa.schema([f for f in STATEMENTS if f.name not in ANALYST_DROPPED])
        _view(con, "statements", [str(p) for p in lake.files(lake.analyst_dir)], analyst, "stored_date")
    else:
        _view(con, "statements", [str(p) for p in lake.files(lake.statements_dir)], STATEMENTS, "stored_date")
        _view(con, "quarantine", [str(p) for p in lake.files(lake.quarantine_dir)], QUARANTINE, "ingest_date")
    return con
