"""The analyst zone as a folder of plain Parquet, for readers without an Iceberg client.

Reading the table's own warehouse folder as Parquet goes wrong: it holds files that are no longer
live (replaced by compaction, a delete or ``publish --rebuild``, kept until snapshot expiry), so
rows count twice; and its ``source=…/stored_date_month=…`` folder names make pyarrow and pandas
add partition columns that clash with the same columns in the files (pyarrow refuses to read,
pandas reads a category, DuckDB a date). The export holds one snapshot's live rows, one file per
source and month (``OUT/<source>/<YYYY-MM>.parquet``, sorted by ``stored_date``), every column
inside the files, typed by the lake schema, and no ``key=value`` folder names: pyarrow, pandas,
polars and DuckDB all read ``stored_date`` as a date and ``source`` as text. ``_common_metadata``
holds the schema with each column's description, ``_export.json`` the snapshot and row count
(readers skip files whose names start with ``_``).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.parquet as pq

from xapi_ingest.lake.schema import ANALYST_TABLE, TABLES
from xapi_ingest.lake.store import Lake

if TYPE_CHECKING:
    from pyiceberg.manifest import DataFile
    from pyiceberg.table import Table

MANIFEST = "_export.json"


class ExportError(ValueError):
    pass


@dataclass(frozen=True)
class Export:
    table: str
    snapshot_id: int | None
    rows: int
    files: int
    exported_at: str


def export_analyst_zone(lake: Lake, out: Path, snapshot_id: int | None = None) -> Export:
    """Write the analyst zone at ``snapshot_id`` (default the current one) to ``out``, replacing an
    earlier export there; a folder that holds anything else is refused, never overwritten."""
    if out.exists() and any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise ExportError(f"{out} is not empty and holds no earlier export ({MANIFEST}): name a new or empty folder")
    spec, table = TABLES[ANALYST_TABLE], lake.table(ANALYST_TABLE)
    if snapshot_id is not None and table.snapshot_by_id(snapshot_id) is None:
        raise ExportError(f"{ANALYST_TABLE} has no snapshot {snapshot_id} (expired, or of another table)")
    snapshot_id = snapshot_id if snapshot_id is not None else lake.snapshot_id(ANALYST_TABLE)
    groups: dict[tuple[str, str], list[DataFile]] = defaultdict(list)
    if snapshot_id is not None:
        for file in lake.data_files(ANALYST_TABLE, snapshot_id):
            groups[_source_and_month(table, file)].append(file)
    staging = out.with_name(f".{out.name}.{secrets.token_hex(4)}.tmp")
    try:
        rows = 0
        for (source, month), files in sorted(groups.items()):
            part = lake.files_dataset(ANALYST_TABLE, files).to_table()
            path = staging / source / f"{month}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(part.sort_by([(spec.partition_by[1], "ascending"), ("statement_id", "ascending")]), path,
                           compression="zstd")
            rows += part.num_rows
        staging.mkdir(parents=True, exist_ok=True)
        pq.write_metadata(spec.schema, staging / "_common_metadata")
        export = Export(ANALYST_TABLE, snapshot_id, rows, len(groups), datetime.now(UTC).isoformat())
        (staging / MANIFEST).write_text(json.dumps(asdict(export), indent=2) + "\n")
        _replace(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return export


def _source_and_month(table: Table, file: DataFile) -> tuple[str, str]:
    """A data file's source and month, from its partition under the spec it was written with
    (monthly, or daily for files written before the move to months: ``2026-09-15`` → ``2026-09``)."""
    spec, schema = table.specs()[file.spec_id], table.schema()
    human = [field.transform.to_human_string(schema.find_field(field.source_id).field_type, file.partition[index])
             for index, field in enumerate(spec.fields)]
    return human[0], human[1][:7]


def _replace(staging: Path, out: Path) -> None:
    """Swap the new export in: a reader that opens the folder meanwhile may find it missing for an
    instant, never half written."""
    if not out.exists() or not any(out.iterdir()):
        out.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging, out)
        return
    old = out.with_name(f".{out.name}.{secrets.token_hex(4)}.old")
    os.replace(out, old)
    os.replace(staging, out)
    shutil.rmtree(old)
