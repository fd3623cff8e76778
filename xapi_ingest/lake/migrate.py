"""Converting a lake from the hive-partitioned Parquet layout into the Iceberg lake, in place.

Before the lake moved to Apache Iceberg it was plain files under the lake folder (and, for a
lake on S3, the same files mirrored under ``s3://bucket/prefix/`` by the old ``sync --push``),
and this module is now the one place that knows that layout::

    statements/source=<id>/stored_date=<YYYY-MM-DD>/part-<batch>.parquet   restricted zone
    quarantine/source=<id>/ingest_date=<YYYY-MM-DD>/part-<batch>.parquet   restricted zone
    analyst/statements/source=<id>/stored_date=<...>/part-<batch>.parquet  pseudonymized twins
    derived/voids/voids.parquet                                            the void ledger
    _state/pull/<source>.json                                              pull state
    _quality/held/<batch>.json                                             holds
    _quality/checked/<batch>.json                                          files the gate checked

The old files are read through the lake's pyarrow filesystem from its base path (the folder,
or ``bucket/prefix``), so one code path serves both; the Iceberg tables go where every command
puts them (``<lake>/warehouse/`` with ``catalog.sqlite``, or ``<prefix>/xapi/<table>/`` with the
catalog of ``--catalog``/``XAPI_LAKE_CATALOG``), beside the old folders and never among them.

The rows go in through the writers ingest and publish use (id registry, quarantine keys, batch
inventory), so the migrated lake is one those commands could have written. The unit of a
commit is whole batches, grouped per source up to :data:`ROWS_PER_COMMIT` rows: a batch often
spans several date partitions, and its inventory row, check mark and published key are per
batch, so splitting it over two commits would leave a half-migrated batch; grouping bounds the
memory and keeps the number of snapshots small.

A re-run resumes and adds nothing twice: migrated files are recorded in ``xapi_lake_settings``
(``hive-migration:<folder>`` -> the names of its files) and skipped; the record of analyst
rows commits with them, and for the rest the id registry and quarantine keys drop repeats
anyway. Analyst batches already published are skipped, holds and pull state are upserted.
The old folders (on S3 every object under them) stay until every count matches and deletion
is asked for. The migration must come before the pipeline writes Iceberg tables into the lake,
or the counts could never match: a lake whose tables hold rows written without it is refused.

The old layout recorded checks and publications per file, the new one per batch: a batch the
gate checked in part stays unchecked (the next check covers it), and the twins of a batch
published in part are left out (it stays unpublished, and the next publish makes it whole).
"""

from __future__ import annotations

import json
import re
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from typing import Any, TypeVar

import duckdb
import msgspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from sqlalchemy import Connection, delete, insert, select

from xapi_ingest.lake import ledger
from xapi_ingest.lake.holds import BatchHolds, BatchInventory, check_batch_id
from xapi_ingest.lake.ingest import Quarantine
from xapi_ingest.lake.location import safe_location, strip_scheme
from xapi_ingest.lake.schema import ANALYST_TABLE, QUARANTINE, STATEMENTS, TABLES
from xapi_ingest.lake.store import Lake, check_source_id

MARKER = "hive-migration:"  # xapi_lake_settings names: "hive-migration:<folder>" -> JSON list of migrated file names
STARTED = MARKER + "started"
CONFLICTS_BATCH = "migrate-id-conflicts"  # batch id of later copies with other content, quarantined by the migration
ROWS_PER_COMMIT = 50_000  # an ingest batch: a commit takes about the memory an ingest commit takes
T = TypeVar("T")


@dataclass(frozen=True)
class Zone:
    """One hive-partitioned folder of the old layout and the Iceberg table it goes to."""

    folder: str
    date: str  # its date partition column
    table: str


STATEMENTS_ZONE = Zone("statements", "stored_date", "statements")
QUARANTINE_ZONE = Zone("quarantine", "ingest_date", "quarantine")
ANALYST_ZONE = Zone("analyst/statements", "stored_date", ANALYST_TABLE)
VOIDS = "derived/voids/voids.parquet"
PULL_STATE = "_state/pull"
HOLDS = "_quality/held"
CHECKED = "_quality/checked"
OLD_FOLDERS = (STATEMENTS_ZONE.folder, QUARANTINE_ZONE.folder, ANALYST_ZONE.folder, "derived/voids", PULL_STATE,
               HOLDS, CHECKED)
_EMPTIED_PARENTS = ("analyst", "derived", "_state", "_quality")  # removed with the old folders when left empty
_WRITE_LOCK = ".write.lock"
_PART = re.compile(r"part-(?P<batch>.+)\.parquet\Z")
_READERS = 16  # part-file footers read at once (on S3 each is a request or two)


class MigrationError(ValueError):
    """A place that is not a lake in the hive layout, or a file in it that does not fit (said in one line)."""


@dataclass(frozen=True)
class OldFile:
    zone: str
    relative: str  # within the zone folder: source=<id>/<date column>=<day>/part-<batch>.parquet
    source: str
    batch_id: str
    rows: int
    key_id: str | None  # of the pseudonym key, in an analyst twin's schema metadata

    @property
    def name(self) -> str:
        """The path relative to the lake's base (what the migration record lists)."""
        return f"{self.zone}/{self.relative}"


@dataclass(frozen=True)
class Tree:
    """Where the old layout's files are: a pyarrow filesystem and the lake's base path in it, so one
    code path reads a folder on local disk and the ``s3://bucket/prefix`` the old remote mirrored it to."""

    fs: pafs.FileSystem
    base: str  # the lake folder, or bucket/prefix
    shown: str  # the base as messages name it (no endpoint, no credentials)

    @classmethod
    def of(cls, lake: Lake) -> Tree:
        if lake.root is not None:
            return cls(lake.location.filesystem(), str(lake.root), str(lake.root))
        warehouse = lake.location.warehouse  # s3://bucket/prefix: the Iceberg tables go under <prefix>/xapi/
        return cls(lake.location.filesystem(), strip_scheme(warehouse), safe_location(warehouse))

    def path(self, name: str) -> str:
        return f"{self.base}/{name}"

    def show(self, path: str) -> str:
        return self.shown + path.removeprefix(self.base)

    def type(self, name: str) -> pafs.FileType:
        return self.fs.get_file_info(self.path(name)).type

    def types(self, names: tuple[str, ...]) -> dict[str, pafs.FileType]:
        return {name: info.type for name, info in zip(names, self.fs.get_file_info([self.path(n) for n in names]),
                                                      strict=True)}

    def listing(self, folder: str, *, recursive: bool) -> list[tuple[list[str], pafs.FileInfo]]:
        """Entries under ``folder`` (none when it is no folder) as (path parts within it, info), sorted,
        without hidden ones: temporary files of writes that never finished. A recursive listing is
        one paginated request on S3, where listing each partition folder would be one request each."""
        if self.type(folder) != pafs.FileType.Directory:
            return []
        prefix = self.path(folder) + "/"
        entries = []
        for info in self.fs.get_file_info(pafs.FileSelector(self.path(folder), recursive=recursive)):
            parts = info.path.removeprefix(prefix).split("/")
            if not any(part.startswith(".") for part in parts):
                entries.append((parts, info))
        return sorted(entries, key=lambda entry: entry[0])

    def read_bytes(self, path: str) -> bytes:
        with self.fs.open_input_stream(path) as stream:
            return stream.read()


@dataclass
class OldLake:
    """What a lake in the hive layout holds, read without loading any rows."""

    tree: Tree
    statements: list[OldFile]
    quarantine: list[OldFile]
    analyst: list[OldFile]
    voids: bool
    pull_states: dict[str, str]  # source -> its state as compact JSON
    holds: dict[str, dict[str, Any]]  # batch id -> reason
    checked: dict[str, tuple[str, set[str]]]  # file batch -> (checked_at, files relative to statements/)

    @classmethod
    def open(cls, tree: Tree) -> OldLake:
        types = tree.types((*OLD_FOLDERS, VOIDS))
        if all(types[folder] == pafs.FileType.NotFound for folder in OLD_FOLDERS):
            raise MigrationError(f"{tree.shown} is not a lake in the hive layout "
                                 f"(it has none of {', '.join(OLD_FOLDERS)})")
        old = cls(tree, _scan_zone(tree, STATEMENTS_ZONE), _scan_zone(tree, QUARANTINE_ZONE),
                  _scan_zone(tree, ANALYST_ZONE), types[VOIDS] == pafs.FileType.File,
                  _json_files(tree, PULL_STATE, _pull_state), _json_files(tree, HOLDS, _hold),
                  _json_files(tree, CHECKED, _checked))
        sources: dict[str, set[str]] = defaultdict(set)
        for file in old.statements:
            sources[file.batch_id].add(file.source)
        shared = sorted(batch for batch, names in sources.items() if len(names) > 1)
        if shared:  # the batch inventory is keyed by batch id alone
            raise MigrationError(f"batch {shared[0]} is in the statements of sources {', '.join(sorted(sources[shared[0]]))}"
                                 "; a batch id must belong to one source")
        return old

    @cached_property
    def batch_files(self) -> dict[str, set[str]]:
        """Restricted batch -> its statements files (relative to ``statements/``)."""
        files: dict[str, set[str]] = defaultdict(set)
        for file in self.statements:
            files[file.batch_id].add(file.relative)
        return files

    def path(self, file: OldFile) -> str:
        return self.tree.path(file.name)


def _scan_zone(tree: Tree, zone: Zone) -> list[OldFile]:
    """The zone's part files, each named and placed as the hive layout has it, with its footer's row count and key id."""
    found: list[tuple[str, str, str, str]] = []  # (path, relative, source, batch id)
    for parts, info in tree.listing(zone.folder, recursive=True):
        is_file = info.type == pafs.FileType.File
        if is_file and len(parts) < 3:
            raise MigrationError(f"{tree.show(info.path)} does not fit the hive layout "
                                 f"(a folder {('source', zone.date)[len(parts) - 1]}=<value> was expected)")
        match = _PART.match(parts[-1]) if is_file and len(parts) == 3 else None
        if len(parts) >= 3 and not match:
            raise MigrationError(f"{tree.show(info.path)} does not fit the hive layout (part-<batch>.parquet)")
        source = _partition_values(tree, zone, parts[:2])[0]
        if match:
            found.append((info.path, "/".join(parts), source, _batch_id(tree.show(info.path), match["batch"])))
    with ThreadPoolExecutor(_READERS) as pool:  # on S3 each footer is a request or two: many in flight
        footers = list(pool.map(lambda entry: _footer(tree, entry[0]), found))
    return [OldFile(zone.folder, relative, source, batch_id, rows, key_id)
            for (_, relative, source, batch_id), (rows, key_id) in zip(found, footers, strict=True)]


def _partition_values(tree: Tree, zone: Zone, folders: list[str]) -> list[str]:
    """The values of ``source=<id>`` and then ``<date column>=<YYYY-MM-DD>`` folder names, checked."""
    values = []
    for depth, (name, column) in enumerate(zip(folders, ("source", zone.date), strict=False)):
        shown = tree.show(tree.path("/".join([zone.folder, *folders[:depth + 1]])))
        if not name.startswith(f"{column}="):
            raise MigrationError(f"{shown} does not fit the hive layout (a folder {column}=<value> was expected)")
        value = name.split("=", 1)[1]
        try:
            if depth:
                date.fromisoformat(value)
            else:
                check_source_id(value)
        except ValueError as exc:
            raise MigrationError(f"{shown} does not fit the hive layout: {exc}") from exc
        values.append(value)
    return values


def _batch_id(shown: str, batch_id: str) -> str:
    try:
        return check_batch_id(batch_id)
    except ValueError as exc:
        raise MigrationError(f"{shown}: {exc}") from exc


def _footer(tree: Tree, path: str) -> tuple[int, str | None]:
    """A part file's row count and pseudonym key id, from its footer alone."""
    try:
        metadata = pq.read_metadata(path, filesystem=tree.fs)
    except (OSError, pa.ArrowException) as exc:
        raise MigrationError(f"cannot read {tree.show(path)}: {exc}") from exc
    key_id = (metadata.metadata or {}).get(b"pseudonym_key_id")
    return metadata.num_rows, key_id.decode() if key_id else None


def _json_files(tree: Tree, folder: str, parse: Callable[[str, Any], T]) -> dict[str, T]:
    """``name -> parse(name, value)`` of every ``<name>.json`` in the folder; an unreadable one is a MigrationError."""
    parsed = {}
    for _, info in tree.listing(folder, recursive=False):
        if info.type != pafs.FileType.File or info.extension != "json":
            raise MigrationError(f"{tree.show(info.path)} does not fit the hive layout (<name>.json)")
        name = info.base_name.removesuffix(".json")
        try:
            parsed[name] = parse(name, msgspec.json.decode(tree.read_bytes(info.path)))
        except (OSError, msgspec.DecodeError, ValueError, KeyError, TypeError) as exc:
            raise MigrationError(f"cannot read {tree.show(info.path)}: {exc}") from exc
    return parsed


def _pull_state(source: str, state: Any) -> str:
    if type(state) is not dict or state.get("source") != check_source_id(source):
        raise ValueError(f"not the pull state of source {source}")
    return msgspec.json.encode(state).decode()  # the same PullState fields, compact


def _hold(batch_id: str, reason: Any) -> dict[str, Any]:
    if type(reason) is not dict:
        raise ValueError("a hold is a JSON object")
    check_batch_id(batch_id)
    return {key: value for key, value in reason.items() if key != "batch_id"}


def _checked(_: str, record: Any) -> tuple[str, set[str]]:
    files = record["files"]
    if not isinstance(record["checked_at"], str) or type(files) is not list or not all(type(f) is str for f in files):
        raise ValueError("a checked record has checked_at and a list of files")
    return record["checked_at"], set(files)


# -- the migration record ------------------------------------------------------------------------------


class Progress:
    """Which old files are migrated: ``hive-migration:<folder>`` settings, each a JSON list of file names."""

    def __init__(self, lake: Lake) -> None:
        table = ledger.SETTINGS
        with lake.engine.connect() as connection:
            rows = connection.execute(select(table.c.name, table.c.value).where(table.c.name.startswith(MARKER)))
            markers = {name: value for name, value in rows}
        self.started = STARTED in markers
        self.done = {f"{name.removeprefix(MARKER)}/{file}" for name, value in markers.items() if name != STARTED
                     for file in json.loads(value)}

    @staticmethod
    def record(names: list[str]) -> ledger.Write:
        """A ledger write adding ``names`` (paths relative to the lake folder) to the record."""
        by_folder: dict[str, set[str]] = defaultdict(set)
        for name in names:
            folder, _, file = name.rpartition("/")
            by_folder[folder].add(file)

        def write(connection: Connection) -> None:
            table = ledger.SETTINGS
            for folder, files in by_folder.items():
                key = MARKER + folder
                current = connection.execute(select(table.c.value).where(table.c.name == key)).scalar()
                merged = sorted(files | set(json.loads(current) if current else []))
                connection.execute(delete(table).where(table.c.name == key))
                connection.execute(insert(table).values(name=key, value=json.dumps(merged)))
        return write

    def save(self, lake: Lake, names: list[str]) -> None:
        with lake.engine.begin() as connection:
            self.record(names)(connection)
        self.done.update(names)


# -- the migration ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Count:
    table: str
    hive: int
    iceberg: int

    @property
    def matches(self) -> bool:
        return self.hive == self.iceberg


@dataclass
class MigrationReport:
    counts: list[Count] = field(default_factory=list)
    added: dict[str, int] = field(default_factory=lambda: {"statements": 0, "quarantine": 0, ANALYST_TABLE: 0})
    notes: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    @property
    def matches(self) -> bool:
        return all(count.matches for count in self.counts)


def migrate(lake: Lake, *, delete_old: bool = False, rows_per_commit: int = ROWS_PER_COMMIT) -> MigrationReport:
    """Copy a lake in the hive layout (a folder, or its copy on S3) into the lake's Iceberg tables and ledger.

    Every count is compared afterwards; the old folders are deleted only when ``delete_old`` is
    set and every count matched. A commit holds whole batches of one source, about
    ``rows_per_commit`` rows (more when one batch alone is larger).
    """
    tree = Tree.of(lake)
    old = OldLake.open(tree)  # before the catalog is opened: a wrong place gets no catalog.sqlite or ledger
    progress = Progress(lake)
    if not progress.started:
        if any(lake.snapshot_ids().values()):
            raise MigrationError(f"the Iceberg tables in {tree.shown} already hold data written without migrate; "
                                 "migrate runs before the pipeline writes to the lake")
        with lake.engine.begin() as connection:
            connection.execute(insert(ledger.SETTINGS).values(name=STARTED, value=datetime.now(UTC).isoformat()))
    report = MigrationReport()
    _migrate_statements(lake, old, progress, report, rows_per_commit)
    _migrate_quarantine(lake, old, progress, report, rows_per_commit)
    carried = _migrate_analyst(lake, old, progress, report, rows_per_commit)
    _migrate_ledger(lake, old, progress, report)
    if old.voids and VOIDS not in progress.done:
        lake.replace("void_ledger", _read_file(tree, VOIDS))
        progress.save(lake, [VOIDS])
    report.counts = _counts(lake, old, carried)
    conflicts = lake.dataset("quarantine").count_rows(filter=pc.field("batch_id") == CONFLICTS_BATCH)
    if conflicts:
        report.notes.append(f"{conflicts:,} later cop(ies) of a statement id with other content are in the quarantine "
                            f"(rule lake.id-conflict, batch {CONFLICTS_BATCH}), where settling would have put them")
    if delete_old and report.matches:
        report.deleted = _delete_old(tree)
    return report


def _groups(files: list[OldFile], done: set[str], rows_per_commit: int) -> Iterator[tuple[str, list[OldFile]]]:
    """Files not migrated yet, per source, in groups of whole batches of about ``rows_per_commit`` rows."""
    batches: dict[tuple[str, str], list[OldFile]] = defaultdict(list)
    for file in files:
        if file.name not in done:
            batches[file.source, file.batch_id].append(file)
    group: list[OldFile] = []
    rows, current = 0, ""
    for (source, _), batch in sorted(batches.items()):  # batch ids start with their time: oldest first
        batch_rows = sum(file.rows for file in batch)
        if group and (source != current or rows + batch_rows > rows_per_commit):
            yield current, group
            group, rows = [], 0
        group += batch
        rows += batch_rows
        current = source
    if group:
        yield current, group


def _read(old: OldLake, zone: Zone, files: list[OldFile]) -> pa.Table:
    """The files' rows in the table's typed schema, ``source`` and the date column taken from their paths."""
    spec = TABLES[zone.table]
    partitioning = pads.partitioning(pa.schema([spec.schema.field("source"), spec.schema.field(zone.date)]),
                                     flavor="hive")
    try:
        rows = pads.dataset([old.path(file) for file in files], schema=spec.schema, format="parquet",
                            partitioning=partitioning, partition_base_dir=old.tree.path(zone.folder),
                            filesystem=old.tree.fs).to_table()
    except pa.ArrowException as exc:
        raise MigrationError(f"cannot read {files[0].name} and the rest of its group as {zone.table}: {exc}") from exc
    strays = sorted(map(str, set(pc.unique(rows["batch_id"]).to_pylist()) - {file.batch_id for file in files}))
    if strays:  # a batch whose rows hide in files named for another could be split over two commits
        raise MigrationError(f"rows of batch {strays[0]} are in {zone.folder} files named for other batches")
    return rows


def _read_file(tree: Tree, name: str) -> pa.Table:
    try:
        return pq.read_table(tree.path(name), filesystem=tree.fs)
    except (OSError, pa.ArrowException) as exc:
        raise MigrationError(f"cannot read {tree.show(tree.path(name))}: {exc}") from exc


def _migrate_statements(lake: Lake, old: OldLake, progress: Progress, report: MigrationReport, bound: int) -> None:
    """Statements through the upsert, keeping of each id its earliest copy, as the old lake's settling did
    (copies stay in the old lake where it had not run yet): first copies go in, then later ones are
    checked against them, and those with other content go to the quarantine."""
    later = _later_copies(old)
    for source, group in _groups(old.statements, progress.done, bound):
        rows = _read(old, STATEMENTS_ZONE, group).select(STATEMENTS.names)
        _write_statements(lake, rows.filter(pc.invert(_is_later(rows, later))), source, report)
        progress.save(lake, [file.name for file in group])
    for source, group in _groups([file for file in old.statements if file.batch_id in later], set(), bound):
        rows = _read(old, STATEMENTS_ZONE, group).select(STATEMENTS.names)
        _write_statements(lake, rows.filter(_is_later(rows, later)), source, report)


def _later_copies(old: OldLake) -> dict[str, set[str]]:
    """Batch -> ids it holds a later copy of (earliest ingested first; ties by batch, as settling ordered them)."""
    with _duckdb(old) as con:
        rows = con.execute(
            "WITH copies AS (SELECT statement_id, batch_id, row_number() OVER (PARTITION BY statement_id "
            "ORDER BY ingested_at, batch_id) AS copy FROM old WHERE statement_id IN "
            "(SELECT statement_id FROM old GROUP BY statement_id HAVING count(*) > 1)) "
            "SELECT batch_id, statement_id FROM copies WHERE copy > 1").fetchall()
    later: dict[str, set[str]] = defaultdict(set)
    for batch_id, statement_id in rows:
        later[batch_id].add(statement_id)
    return later


def _is_later(rows: pa.Table, later: dict[str, set[str]]) -> pa.ChunkedArray:
    keys = pc.binary_join_element_wise(rows["batch_id"], rows["statement_id"], "\n")
    batch_ids = set(rows["batch_id"].unique().to_pylist())
    value_set = pa.array([f"{b}\n{i}" for b in batch_ids & later.keys() for i in later[b]], pa.string())
    return pc.is_in(keys, value_set=value_set)


def _write_statements(lake: Lake, rows: pa.Table, source: str, report: MigrationReport) -> None:
    result = lake.write_statements(rows, source)
    report.added["statements"] += result.written
    if result.conflicts:
        conflicts = Quarantine(source, CONFLICTS_BATCH, datetime.now(UTC))
        conflicts.add_conflicts(result.conflicts)
        report.added["quarantine"] += len(lake.write_quarantine(conflicts.table(), source))


@contextmanager
def _duckdb(old: OldLake) -> Iterator[duckdb.DuckDBPyConnection]:
    """DuckDB over the old statements files as the table ``old`` (the columns that tell copies apart),
    read through the lake's filesystem; it spills into a private folder (not ``.tmp`` in the working
    directory)."""
    schema = TABLES["statements"].schema
    files = pads.dataset([old.path(file) for file in old.statements], format="parquet", filesystem=old.tree.fs,
                         schema=pa.schema([schema.field(name) for name in ("statement_id", "batch_id", "ingested_at")]))
    with tempfile.TemporaryDirectory(prefix="xapi-migrate-") as spill, \
            duckdb.connect(":memory:", config={"temp_directory": spill}) as con:
        con.register("old", files)
        yield con


def _migrate_quarantine(lake: Lake, old: OldLake, progress: Progress, report: MigrationReport, bound: int) -> None:
    for source, group in _groups(old.quarantine, progress.done, bound):
        rows = _read(old, QUARANTINE_ZONE, group).select(QUARANTINE.names)
        report.added["quarantine"] += len(lake.write_quarantine(rows, source))
        progress.save(lake, [file.name for file in group])


def _migrate_analyst(lake: Lake, old: OldLake, progress: Progress, report: MigrationReport,
                     bound: int) -> list[OldFile]:
    """Twins of every batch the old lake published whole, each commit with its batches' published key;
    returns the twins carried (by this run or an earlier one)."""
    restricted = old.batch_files
    twins: dict[str, list[OldFile]] = defaultdict(list)
    for file in old.analyst:
        twins[file.batch_id].append(file)
    keys: dict[str, str] = {}
    for batch_id, files in twins.items():
        key_ids = {file.key_id for file in files}
        whole = batch_id in restricted and restricted[batch_id] <= {file.relative for file in files}
        key_id = key_ids.pop() if len(key_ids) == 1 else None
        if whole and key_id:
            keys[batch_id] = key_id
    carried = [file for file in old.analyst if file.batch_id in keys]
    left = sum(file.rows for file in old.analyst if file.batch_id not in keys)
    if left:
        report.notes.append(f"{left:,} analyst row(s) of batches published in part or with no key id were not "
                            "carried: those batches stay unpublished, and the next publish after the gate makes them whole")
    published = {batch.batch_id for batch in BatchInventory(lake).all() if batch.published_key}
    waiting = [file for file in carried if file.batch_id not in published]
    for _, group in _groups(waiting, progress.done, bound):
        rows = _read(old, ANALYST_ZONE, group)
        by_key: dict[str, list[str]] = defaultdict(list)
        for batch_id in sorted({file.batch_id for file in group}):
            by_key[keys[batch_id]].append(batch_id)
        names = [file.name for file in group]
        lake.append(ANALYST_TABLE, rows, [*(BatchInventory.set_published(ids, key) for key, ids in by_key.items()),
                                          Progress.record(names)])
        progress.done.update(names)
        report.added[ANALYST_TABLE] += rows.num_rows
    return carried


def _migrate_ledger(lake: Lake, old: OldLake, progress: Progress, report: MigrationReport) -> None:
    """Holds, pull state and check marks (a batch counts as checked when the gate saw all its files)."""
    holds = {batch_id: reason for batch_id, reason in old.holds.items() if f"{HOLDS}/{batch_id}.json" not in progress.done}
    batch_holds = BatchHolds(lake)
    for batch_id, reason in holds.items():
        batch_holds.hold(batch_id, reason)
    progress.save(lake, [f"{HOLDS}/{batch_id}.json" for batch_id in holds])

    states = {source: state for source, state in old.pull_states.items()
              if f"{PULL_STATE}/{source}.json" not in progress.done}
    with lake.engine.begin() as connection:  # pull.watermark is a layer above the lake: its table is written here
        for source, state in states.items():
            connection.execute(delete(ledger.PULL_STATE).where(ledger.PULL_STATE.c.source == source))
            connection.execute(insert(ledger.PULL_STATE).values(source=source, state=state))
        Progress.record([f"{PULL_STATE}/{source}.json" for source in states])(connection)

    restricted = old.batch_files
    checked: dict[str, list[str]] = defaultdict(list)
    in_part = 0
    for batch_id, (checked_at, files) in old.checked.items():
        if f"{CHECKED}/{batch_id}.json" in progress.done or batch_id not in restricted:
            continue
        if restricted[batch_id] <= files:
            checked[checked_at].append(batch_id)
        else:
            in_part += 1
    for checked_at, batch_ids in checked.items():
        BatchInventory(lake).mark_checked(batch_ids, checked_at)
    progress.save(lake, [f"{CHECKED}/{batch_id}.json" for batch_ids in checked.values() for batch_id in batch_ids])
    if in_part:
        report.notes.append(f"{in_part} batch(es) the gate checked in part stay unchecked: the next check covers them")


def _counts(lake: Lake, old: OldLake, carried: list[OldFile]) -> list[Count]:
    """Each table's rows in the hive layout and in Iceberg (distinct statement ids: repeats kept one row)."""
    with _duckdb(old) as con:
        con.register("iceberg", lake.dataset("statements"))
        distinct, found = con.execute(
            "WITH ids AS (SELECT DISTINCT statement_id FROM old) "
            "SELECT count(*), count(*) FILTER (WHERE statement_id IN (SELECT statement_id FROM iceberg)) FROM ids",
        ).fetchall()[0]
    with lake.engine.connect() as connection:
        holds = ledger.lookup(connection, ledger.HOLDS, "batch_id", old.holds)
        states = ledger.lookup(connection, ledger.PULL_STATE, "source", old.pull_states)
    quarantine = lake.dataset("quarantine").count_rows(filter=pc.field("batch_id") != CONFLICTS_BATCH)
    return [
        Count("statements", distinct, lake.dataset("statements").count_rows()),
        Count("statement ids found", distinct, found),
        Count("quarantine", sum(file.rows for file in old.quarantine), quarantine),
        Count(ANALYST_TABLE, sum(file.rows for file in carried), lake.dataset(ANALYST_TABLE).count_rows()),
        Count("void_ledger", _footer(old.tree, old.tree.path(VOIDS))[0] if old.voids else 0,
              lake.dataset("void_ledger").count_rows()),
        Count("holds", len(old.holds), len(holds)),
        Count("pull state", len(old.pull_states), len(states)),
    ]


def _delete_old(tree: Tree) -> list[str]:
    """Delete the old folders (on S3: every object under them, and the folder markers the old push made)."""
    deleted = [folder for folder, kind in tree.types(OLD_FOLDERS).items() if kind != pafs.FileType.NotFound]
    for folder in deleted:
        tree.fs.delete_dir(tree.path(folder))
    if tree.type(_WRITE_LOCK) == pafs.FileType.File:
        tree.fs.delete_file(tree.path(_WRITE_LOCK))
    for parent in _EMPTIED_PARENTS:
        if tree.type(parent) == pafs.FileType.Directory and not tree.listing(parent, recursive=False):
            tree.fs.delete_dir(tree.path(parent))
    return deleted
