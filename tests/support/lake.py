"""Reading a lake back the way an analyst would (DuckDB over its Parquet files), for assertions."""

from __future__ import annotations

import duckdb

from xapi_ingest.lake.store import Lake


def lake_ids(lake: Lake) -> list[str]:
    files = [str(p) for p in lake.files(lake.statements_dir)]
    if not files:
        return []
    return [row[0] for row in duckdb.sql(f"SELECT statement_id FROM read_parquet({files!r})").fetchall()]
