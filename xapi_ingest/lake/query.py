"""DuckDB over the lake: the views ``statements``, ``quarantine``, ``voided_ids`` and ``effective_statements``.

Two kinds of connection share one way of building the views. Internal callers (credit,
sequences, the gate's inspection hints) get a plain connection whose views read the Parquet
files. The analysts' SQL shell gets a *sealed* one (``sealed=True``): the views scan pyarrow
datasets of exactly the zone's files, handed over from Python, and DuckDB itself is started
with file access off and its configuration then locked. A query can then read those views and
nothing else: no ``read_parquet``/``read_csv``/``glob`` of any path, no ``COPY … TO``,
``ATTACH``, ``EXPORT DATABASE``, ``INSTALL``/``LOAD`` or ``SET``. The zone boundary is which
files Python hands over, not DuckDB path rules (its ``allowed_directories`` also allow writes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import duckdb
import pyarrow as pa
import pyarrow.dataset as pads

from xapi_ingest.lake.schema import ANALYST_DROPPED, QUARANTINE, STATEMENTS
from xapi_ingest.lake.store import Lake
from xapi_ingest.xapi.vocabulary import VOIDED_VERB

Zone = Literal["restricted", "analyst"]

# DuckDB settings of a sealed connection, fixed before any user SQL runs (then locked).
_SEALED_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "enable_external_access": False,       # no file, URL, extension or secret access from SQL
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "python_enable_replacements": False,   # no Python variables as tables
    "temp_directory": "",                  # no spill folder: DuckDB would allow writes into it
}


def _zone_schema(columns: pa.Schema, date_partition: str) -> pa.Schema:
    return columns.append(pa.field("source", pa.string())).append(pa.field(date_partition, pa.date32()))


def _view(con: duckdb.DuckDBPyConnection, name: str, directory: Path, files: list[Path],
          columns: pa.Schema, date_partition: str, *, sealed: bool) -> None:
    schema = _zone_schema(columns, date_partition)
    if files and not sealed:
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet("
                    f"{[str(f) for f in files]!r}, hive_partitioning = true, union_by_name = true)")
        return
    if files:  # the files of this zone only, read by pyarrow on DuckDB's behalf
        partitioning = pads.partitioning(pa.schema([schema.field("source"), schema.field(date_partition)]),
                                         flavor="hive")
        data: object = pads.dataset([str(f) for f in files], schema=schema, format="parquet",
                                    partitioning=partitioning, partition_base_dir=str(directory))
    else:  # an empty lake still answers queries, with the documented columns
        data = schema.empty_table()
    con.register(f"_{name}_data", data)
    con.execute(f"CREATE VIEW {name} AS SELECT * FROM _{name}_data")


def connect(lake: Lake, zone: Zone = "restricted", *, sealed: bool = False) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the lake's tables as views.

    The restricted zone shows raw JSON, real IFIs and the quarantine; the analyst zone only
    its pseudonymized statements. ``sealed``: the connection can read these views and nothing
    else, for SQL typed by people (see the module docstring).
    """
    con = duckdb.connect(":memory:", config=_SEALED_CONFIG if sealed else {})
    con.execute("SET TimeZone = 'UTC'")
    if zone == "analyst":
        analyst = pa.schema([f for f in STATEMENTS if f.name not in ANALYST_DROPPED])
        _view(con, "statements", lake.analyst_dir, lake.files(lake.analyst_dir), analyst, "stored_date",
              sealed=sealed)
    else:
        _view(con, "statements", lake.statements_dir, lake.files(lake.statements_dir), STATEMENTS, "stored_date",
              sealed=sealed)
        _view(con, "quarantine", lake.quarantine_dir, lake.files(lake.quarantine_dir), QUARANTINE, "ingest_date",
              sealed=sealed)
    _effective_view(con, lake, sealed=sealed)
    if sealed:
        con.execute("SET lock_configuration = true")
    return con


def _effective_view(con: duckdb.DuckDBPyConnection, lake: Lake, *, sealed: bool) -> None:
    """``effective_statements``: what analyses should count, i.e. no voiding and no voided statements.

    The void ledger is written by ``xapi_ingest.lake.voids.apply_voids`` (the analytics DAG's first
    task); before it exists only the voiding statements themselves are left out.
    """
    if not lake.void_ledger.exists():
        voided = "SELECT NULL::VARCHAR AS target_id WHERE false"
    elif sealed:
        con.register("_void_ledger", pads.dataset(str(lake.void_ledger), format="parquet"))
        voided = "SELECT target_id FROM _void_ledger WHERE NOT target_is_a_void"
    else:
        voided = f"SELECT target_id FROM read_parquet('{lake.void_ledger}') WHERE NOT target_is_a_void"
    con.execute(f"CREATE VIEW voided_ids AS {voided}")
    con.execute(
        "CREATE VIEW effective_statements AS SELECT * FROM statements "
        f"WHERE verb_id IS DISTINCT FROM '{VOIDED_VERB}' AND statement_id NOT IN (SELECT target_id FROM voided_ids)"
    )
