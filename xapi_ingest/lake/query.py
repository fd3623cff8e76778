"""DuckDB over the lake: the views ``statements``, ``quarantine``, ``voided_ids`` and ``effective_statements``.

Every view scans a pyarrow dataset of exactly the live data files of one Iceberg snapshot,
handed over from Python (:meth:`~xapi_ingest.lake.store.Lake.dataset`). Internal callers
(credit, sequences, voids) get a plain connection. The analysts' SQL shell gets a *sealed* one
(``sealed=True``): DuckDB itself is started with file access off and its configuration then
locked. A query can then read those views and
nothing else: no ``read_parquet``/``read_csv``/``glob`` of any path, no ``COPY … TO``,
``ATTACH``, ``EXPORT DATABASE``, ``INSTALL``/``LOAD`` or ``SET``. The zone boundary is which
files Python hands over, not DuckDB path rules (its ``allowed_directories`` also allow writes).
"""

from __future__ import annotations

from typing import Literal

import duckdb

from xapi_ingest.lake.store import Lake
from xapi_ingest.xapi.vocabulary import VOIDED_VERB

Zone = Literal["restricted", "analyst"]
Snapshots = dict[str, int | None]  # table name -> snapshot id to read (None: empty or current)

# DuckDB settings of a sealed connection, fixed before any user SQL runs (then locked).
_SEALED_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "enable_external_access": False,       # no file, URL, extension or secret access from SQL
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "python_enable_replacements": False,   # no Python variables as tables
    "temp_directory": "",                  # no spill folder: DuckDB would allow writes into it
}
_ZONE_VIEWS: dict[str, dict[str, str]] = {  # view name -> lake table
    "analyst": {"statements": "analyst_statements"},
    "restricted": {"statements": "statements", "quarantine": "quarantine"},
}


def connect(lake: Lake, zone: Zone = "restricted", *, sealed: bool = False,
            snapshots: Snapshots | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the lake's tables as views.

    The restricted zone shows raw JSON, real IFIs and the quarantine; the analyst zone only
    its pseudonymized statements. ``sealed``: the connection can read these views and nothing
    else, for SQL typed by people (see the module docstring). ``snapshots`` pins each table to a
    snapshot (from :meth:`Lake.snapshot_ids`), so a run that records them can be reproduced.
    """
    snapshots = snapshots if snapshots is not None else lake.snapshot_ids()
    con = duckdb.connect(":memory:", config=_SEALED_CONFIG if sealed else {"temp_directory": ""})
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")  # it prints to stdout, into CSV or JSON output
    for view, table in {**_ZONE_VIEWS[zone], "_void_ledger": "void_ledger"}.items():
        con.register(f"_{view}_data", lake.dataset(table, snapshots.get(table)))
        con.execute(f"CREATE VIEW {view} AS SELECT * FROM _{view}_data")
    con.execute("CREATE VIEW voided_ids AS SELECT target_id FROM _void_ledger WHERE NOT target_is_a_void")
    con.execute(
        "CREATE VIEW effective_statements AS SELECT * FROM statements "
        f"WHERE verb_id IS DISTINCT FROM '{VOIDED_VERB}' AND statement_id NOT IN (SELECT target_id FROM voided_ids)"
    )
    if sealed:
        con.execute("SET lock_configuration = true")
    return con
