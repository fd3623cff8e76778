"""Keeping the lake's tables fast: compaction, snapshot expiry and removal of unreferenced files.

Every commit adds at least one file per partition it touches, and an hourly pull commits often,
so small files pile up and every query opens more of them. :func:`compact` rewrites each
partition's small files into files of about the target size, in one commit per partition that
removes exactly the files it read and adds their replacement. Rows are neither lost nor doubled
for any reader: a reader pinned to an older snapshot still reads the old files (they are kept
until that snapshot expires and a grace period has passed), and a writer appending to the same
partition meanwhile keeps its new file, because the commit names the files it replaces rather
than a partition filter.

Then snapshots older than the retention are expired (tagged ones, such as those a credit
version read, are kept), and files no live snapshot references are deleted once they are older
than the grace period, which also covers files of commits that failed or are still in flight.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pyarrow.dataset as pads
import pyarrow.fs as pafs

from xapi_ingest.common.defaults import DEFAULT_GRACE, DEFAULT_RETENTION, DEFAULT_TARGET_FILE_BYTES
from xapi_ingest.lake.location import strip_scheme
from xapi_ingest.lake.schema import TABLES
from xapi_ingest.lake.store import Lake

if TYPE_CHECKING:
    from pyiceberg.manifest import DataFile
    from pyiceberg.table import Table



@dataclass
class TableMaintenance:
    table: str
    files_before: int = 0
    files_after: int = 0
    partitions_compacted: int = 0
    rows_rewritten: int = 0
    snapshots_expired: int = 0
    files_deleted: int = 0
    skipped: list[str] = field(default_factory=list)  # partitions left for the next run, with why


def compact(lake: Lake, *, target_file_bytes: int = DEFAULT_TARGET_FILE_BYTES, retention: timedelta = DEFAULT_RETENTION,
            grace: timedelta = DEFAULT_GRACE, now: datetime | None = None) -> list[TableMaintenance]:
    """Compact, expire and clean every table of the lake; safe to run beside ingests and readers."""
    now = now or datetime.now(UTC)
    results = []
    for name in TABLES:
        result = TableMaintenance(name)
        table = lake.table(name)
        result.files_before = len(_live_files(table))
        _compact_table(lake, name, target_file_bytes, result)
        result.snapshots_expired = _expire(lake, name, now - retention)
        result.files_deleted = _delete_unreferenced(lake, lake.table(name), now - grace)
        result.files_after = len(_live_files(lake.table(name)))
        results.append(result)
    return results


def _live_files(table: Table) -> list[DataFile]:
    return [task.file for task in table.scan().plan_files()]


def _compact_table(lake: Lake, name: str, target_file_bytes: int, result: TableMaintenance) -> None:
    """Rewrite each partition's small files; one commit per partition, naming the files it replaces."""
    from pyiceberg.exceptions import CommitFailedException, ValidationException

    table = lake.table(name)
    by_partition: dict[str, list[DataFile]] = defaultdict(list)
    for data_file in _live_files(table):
        if data_file.file_size_in_bytes < target_file_bytes * 3 // 4:
            by_partition[f"{data_file.spec_id}:{data_file.partition!r}"].append(data_file)  # specs evolve
    for partition, small in sorted(by_partition.items()):
        if len(small) < 2:
            continue
        for group in _bins(small, target_file_bytes):
            if len(group) < 2:
                continue
            try:
                rows = _rewrite(lake, name, group)
            except (CommitFailedException, ValidationException) as exc:  # a concurrent change: next run
                result.skipped.append(f"{partition}: {exc}")
                continue
            result.partitions_compacted += 1
            result.rows_rewritten += rows


def _bins(files: list[DataFile], target_file_bytes: int) -> list[list[DataFile]]:
    """Groups of files whose sizes add up to about the target (first fit, largest first)."""
    groups: list[list[DataFile]] = []
    sizes: list[int] = []
    for data_file in sorted(files, key=lambda f: -f.file_size_in_bytes):
        for index, size in enumerate(sizes):
            if size + data_file.file_size_in_bytes <= target_file_bytes:
                groups[index].append(data_file)
                sizes[index] += data_file.file_size_in_bytes
                break
        else:
            groups.append([data_file])
            sizes.append(data_file.file_size_in_bytes)
    return groups


def _rewrite(lake: Lake, name: str, files: list[DataFile]) -> int:
    """Replace ``files`` by new files holding exactly their rows, in one snapshot."""
    from pyiceberg.io.pyarrow import _dataframe_to_data_files

    table = lake.table(name)
    rows = pads.dataset([strip_scheme(f.file_path) for f in files], schema=TABLES[name].schema, format="parquet",
                        filesystem=lake.location.filesystem()).to_table()
    with table.transaction() as transaction, transaction.update_snapshot().overwrite() as rewrite:
        for data_file in _dataframe_to_data_files(transaction.table_metadata, rows, table.io):
            rewrite.append_data_file(data_file)
        for data_file in files:
            rewrite.delete_data_file(data_file)
    return rows.num_rows


def _expire(lake: Lake, name: str, older_than: datetime) -> int:
    table = lake.table(name)
    current = table.current_snapshot()
    candidates = [s for s in table.metadata.snapshots if s.timestamp_ms < older_than.timestamp() * 1000
                  and (current is None or s.snapshot_id != current.snapshot_id)]
    if not candidates:
        return 0
    before = len(table.metadata.snapshots)
    table.maintenance.expire_snapshots().older_than(older_than).commit()
    return before - len(lake.table(name).metadata.snapshots)


def referenced_files(table: Table) -> set[str]:
    """Every data file, manifest and manifest list some live snapshot needs (paths without scheme)."""
    referenced: set[str] = set()
    manifests = {}  # snapshots share most manifests: each is read once
    for snapshot in table.metadata.snapshots:
        referenced.add(strip_scheme(snapshot.manifest_list))
        manifests.update({manifest.manifest_path: manifest for manifest in snapshot.manifests(table.io)})
    for path, manifest in manifests.items():
        referenced.add(strip_scheme(path))
        for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):  # live rows only
            referenced.add(strip_scheme(entry.data_file.file_path))
    return referenced


def _delete_unreferenced(lake: Lake, table: Table, older_than: datetime) -> int:
    """Delete data files and manifests under the table that no snapshot references and that are old
    enough not to belong to a commit still in flight. Metadata JSON files are pruned by Iceberg itself."""
    filesystem = lake.location.filesystem()
    location = strip_scheme(table.location())
    referenced = referenced_files(table)
    deleted = 0
    for folder in ("data", "metadata"):
        selector = pafs.FileSelector(f"{location}/{folder}", recursive=True, allow_not_found=True)
        for info in filesystem.get_file_info(selector):
            if info.type != pafs.FileType.File or info.path in referenced or info.path.endswith(".metadata.json"):
                continue
            if info.mtime is not None and info.mtime.replace(tzinfo=info.mtime.tzinfo or UTC) >= older_than:
                continue
            filesystem.delete_file(info.path)
            deleted += 1
    return deleted
