"""Reading a lake back the way an analyst would (DuckDB over the table's data files), for assertions."""

from __future__ import annotations

import duckdb

from xapi_ingest.lake.store import Lake


def lake_ids(lake: Lake, table: str = "statements") -> list[str]:
    data = lake.dataset(table)  # noqa: F841  (DuckDB reads the Python variable by name)
    return [row[0] for row in duckdb.sql("SELECT statement_id FROM data").fetchall()]
