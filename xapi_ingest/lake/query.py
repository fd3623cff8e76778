"""DuckDB over the lake: the views ``statements`` and ``quarantine`` that analysts query."""

from __future__ import annotations

from typing import Literal

import duckdb
import pyarrow as pa

from xapi_ingest.lake.schema import ANALYST_DROPPED, QUARANTINE, STATEMENTS
from xapi_ingest.lake.store import Lake
from xapi_ingest.xapi.vocabulary import VOIDED_VERB

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
    _effective_view(con, lake)
    return con


def _effective_view(con: duckdb.DuckDBPyConnection, lake: Lake) -> None:
    """``effective_statements``: what analyses should count, i.e. no voiding and no voided statements.

    The void ledger is written by ``xapi_ingest.lake.voids.apply_voids`` (the analytics DAG's first
    task); before it exists only the voiding statements themselves are left out.
    """
    voided = (f"SELECT target_id FROM read_parquet('{lake.void_ledger}') WHERE NOT target_is_a_void"
              if lake.void_ledger.exists()
              else "SELECT NULL::VARCHAR AS target_id WHERE false")
    con.execute(f"CREATE VIEW voided_ids AS {voided}")
    con.execute(
        "CREATE VIEW effective_statements AS SELECT * FROM statements "
        f"WHERE verb_id IS DISTINCT FROM '{VOIDED_VERB}' AND statement_id NOT IN (SELECT target_id FROM voided_ids)"
    )
