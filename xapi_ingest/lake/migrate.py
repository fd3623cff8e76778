"""Converting a lake folder from the hive-partitioned Parquet layout into the Iceberg lake, in place.

Before the lake moved to Apache Iceberg it was plain files under the lake folder, and this
module is now the one place that knows that layout::

    statements/source=<id>/stored_date=<YYYY-MM-DD>/part-<batch>.parquet   restricted zone
    quarantine/source=<id>/ingest_date=<YYYY-MM-DD>/part-<batch>.parquet   restricted zone
    analyst/statements/source=<id>/stored_date=<...>/part-<batch>.parquet  pseudonymized twins
    derived/voids/voids.parquet                                            the void ledger
    _state/pull/<source>.json                                              pull state
    _quality/held/<batch>.json                                             holds
    _quality/checked/<batch>.json                                          files the gate checked

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
The old folders stay until every count matches and deletion is asked for. The migration
must come before the pipeline writes Iceberg tables into the folder, or the counts could
never match: a folder whose tables hold rows written without it is refused.

The old layout recorded checks and publications per file, the new one per batch: a batch the
gate checked in part stays unchecked (the next check covers it), and the twins of a batch
published in part are left out (it stays unpublished, and the next publish makes it whole).
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import msgspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq
from sqlalchemy import Connection, delete, insert, select

from xapi_ingest.lake import ledger
from xapi_ingest.lake.holds import BatchHolds, BatchInventory, check_batch_id
from xapi_ingest.lake.ingest import Quarantine
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


class MigrationError(ValueError):
    """A folder that is not a lake in the hive layout, or a file in it that does not fit (said in one line)."""


@dataclass(frozen=True)
class OldFile:
    zone: str
    relative: str  # within the zone folder: source=<id>/<date column>=<day>/part-<batch>.parquet
    source: str
    batch_id: str
    rows: int

    @property
    def name(self) -> str:
        """The path relative to the lake folder (what the migration record lists)."""
        return f"{self.zone}/{self.relative}"


@dataclass
class OldLake:
    """What a lake folder in the hive layout holds, read without loading any rows."""

    root: Path
    statements: list[OldFile]
    quarantine: list[OldFile]
    analyst: list[OldFile]
    voids: bool
    pull_states: dict[str, str]  # source -> its state as compact JSON
    holds: dict[str, dict[str, Any]]  # batch id -> reason
    checked: dict[str, tuple[str, set[str]]]  # file batch -> (checked_at, files relative to statements/)

    @classmethod
    def open(cls, root: Path) -> OldLake:
        if not root.is_dir() or not any((root / folder).exists() for folder in OLD_FOLDERS):
            raise MigrationError(f"{root} is not a lake in the hive layout (it has none of {', '.join(OLD_FOLDERS)})")
        old = cls(root, _scan_zone(root, STATEMENTS_ZONE), _scan_zone(root, QUARANTINE_ZONE),
                  _scan_zone(root, ANALYST_ZONE), (root / VOIDS).is_file(),
                  _json_files(root, PULL_STATE, _pull_state), _json_files(root, HOLDS, _hold),
                  _json_files(root, CHECKED, _checked))
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


def _scan_zone(root: Path, zone: Zone) -> list[OldFile]:
    files = []
    for source_dir in _entries(root / zone.folder):
        source = _partition_value(source_dir, "source")
        try:
            check_source_id(source)
        except ValueError as exc:
            raise MigrationError(f"{source_dir}: {exc}") from exc
        for date_dir in _entries(source_dir):
            try:
                date.fromisoformat(_partition_value(date_dir, zone.date))
            except ValueError as exc:
                raise MigrationError(f"{date_dir} does not fit the hive layout ({zone.date}=YYYY-MM-DD)") from exc
            for path in _entries(date_dir):
                match = _PART.match(path.name)
                if not match or not path.is_file():
                    raise MigrationError(f"{path} does not fit the hive layout (part-<batch>.parquet)")
                files.append(OldFile(zone.folder, path.relative_to(root / zone.folder).as_posix(), source,
                                     _batch_id(path, match["batch"]), _rows(path)))
    return files


def _entries(folder: Path) -> list[Path]:
    """A folder's entries, without the hidden temporary files of writes that never finished."""
    return sorted(path for path in folder.iterdir() if not path.name.startswith(".")) if folder.is_dir() else []


def _partition_value(path: Path, column: str) -> str:
    if not path.is_dir() or not path.name.startswith(f"{column}="):
        raise MigrationError(f"{path} does not fit the hive layout (a folder {column}=<value> was expected)")
    return path.name.split("=", 1)[1]


def _batch_id(path: Path, batch_id: str) -> str:
    try:
        return check_batch_id(batch_id)
    except ValueError as exc:
        raise MigrationError(f"{path}: {exc}") from exc


def _rows(path: Path) -> int:
    try:
        return pq.read_metadata(path).num_rows
    except (OSError, pa.ArrowException) as exc:
        raise MigrationError(f"cannot read {path}: {exc}") from exc


def _json_files(root: Path, folder: str, parse: Callable[[str, Any], T]) -> dict[str, T]:
    """``name -> parse(name, value)`` of every ``<name>.json`` in the folder; an unreadable one is a MigrationError."""
    parsed = {}
    for path in _entries(root / folder):
        if path.suffix != ".json":
            raise MigrationError(f"{path} does not fit the hive layout (<name>.json)")
        try:
            parsed[path.stem] = parse(path.stem, msgspec.json.decode(path.read_bytes()))
        except (msgspec.DecodeError, ValueError, KeyError, TypeError) as exc:
            raise MigrationError(f"cannot read {path}: {exc}") from exc
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
    """Copy a lake folder in the hive layout into the Iceberg tables and ledger in the same folder.

    Every count is compared afterwards; the old folders are deleted only when ``delete_old`` is
    set and every count matched. A commit holds whole batches of one source, about
    ``rows_per_commit`` rows (more when one batch alone is larger).
    """
    if lake.root is None:
        raise MigrationError(f"migrate converts a lake folder on local disk; {lake.name} is on object storage")
    old = OldLake.open(lake.root)  # before the catalog is opened: a wrong folder gets no catalog.sqlite
    progress = Progress(lake)
    if not progress.started:
        if any(lake.snapshot_ids().values()):
            raise MigrationError(f"the Iceberg tables in {lake.root} already hold data written without migrate; "
                                 "migrate runs before the pipeline writes to the folder")
        with lake.engine.begin() as connection:
            connection.execute(insert(ledger.SETTINGS).values(name=STARTED, value=datetime.now(UTC).isoformat()))
    report = MigrationReport()
    _migrate_statements(lake, old, progress, report, rows_per_commit)
    _migrate_quarantine(lake, old, progress, report, rows_per_commit)
    carried = _migrate_analyst(lake, old, progress, report, rows_per_commit)
    _migrate_ledger(lake, old, progress, report)
    if old.voids and VOIDS not in progress.done:
        lake.replace("void_ledger", _read_file(lake.root / VOIDS))
        progress.save(lake, [VOIDS])
    report.counts = _counts(lake, old, carried)
    conflicts = lake.dataset("quarantine").count_rows(filter=pc.field("batch_id") == CONFLICTS_BATCH)
    if conflicts:
        report.notes.append(f"{conflicts:,} later cop(ies) of a statement id with other content are in the quarantine "
                            f"(rule lake.id-conflict, batch {CONFLICTS_BATCH}), where settling would have put them")
    if delete_old and report.matches:
        report.deleted = _delete_old(lake.root)
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


def _read(root: Path, zone: Zone, files: list[OldFile]) -> pa.Table:
    """The files' rows in the table's typed schema, ``source`` and the date column taken from their paths."""
    spec = TABLES[zone.table]
    partitioning = pads.partitioning(pa.schema([spec.schema.field("source"), spec.schema.field(zone.date)]),
                                     flavor="hive")
    try:
        rows = pads.dataset([str(root / file.name) for file in files], schema=spec.schema, format="parquet",
                            partitioning=partitioning, partition_base_dir=str(root / zone.folder)).to_table()
    except pa.ArrowException as exc:
        raise MigrationError(f"cannot read {files[0].name} and the rest of its group as {zone.table}: {exc}") from exc
    strays = sorted(map(str, set(pc.unique(rows["batch_id"]).to_pylist()) - {file.batch_id for file in files}))
    if strays:  # a batch whose rows hide in files named for another could be split over two commits
        raise MigrationError(f"rows of batch {strays[0]} are in {zone.folder} files named for other batches")
    return rows


def _read_file(path: Path) -> pa.Table:
    try:
        return pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise MigrationError(f"cannot read {path}: {exc}") from exc


def _migrate_statements(lake: Lake, old: OldLake, progress: Progress, report: MigrationReport, bound: int) -> None:
    """Statements through the upsert, keeping of each id its earliest copy, as the old lake's settling did
    (copies stay in the old lake where it had not run yet): first copies go in, then later ones are
    checked against them, and those with other content go to the quarantine."""
    later = _later_copies(old)
    for source, group in _groups(old.statements, progress.done, bound):
        rows = _read(old.root, STATEMENTS_ZONE, group).select(STATEMENTS.names)
        _write_statements(lake, rows.filter(pc.invert(_is_later(rows, later))), source, report)
        progress.save(lake, [file.name for file in group])
    for source, group in _groups([file for file in old.statements if file.batch_id in later], set(), bound):
        rows = _read(old.root, STATEMENTS_ZONE, group).select(STATEMENTS.names)
        _write_statements(lake, rows.filter(_is_later(rows, later)), source, report)


def _later_copies(old: OldLake) -> dict[str, set[str]]:
    """Batch -> ids it holds a later copy of (earliest ingested first; ties by batch, as settling ordered them)."""
    files = [str(old.root / file.name) for file in old.statements]
    if not files:
        return {}
    with _duckdb() as con:
        rows = con.execute(
            "WITH copies AS (SELECT statement_id, batch_id, row_number() OVER (PARTITION BY statement_id "
            "ORDER BY ingested_at, batch_id) AS copy FROM read_parquet($files, hive_partitioning = false) "
            "WHERE statement_id IN (SELECT statement_id FROM read_parquet($files, hive_partitioning = false) "
            "GROUP BY statement_id HAVING count(*) > 1)) "
            "SELECT batch_id, statement_id FROM copies WHERE copy > 1", {"files": files}).fetchall()
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
def _duckdb() -> Iterator[duckdb.DuckDBPyConnection]:
    """DuckDB over the old files; it spills into a private folder (not ``.tmp`` in the working directory)."""
    with tempfile.TemporaryDirectory(prefix="xapi-migrate-") as spill, \
            duckdb.connect(":memory:", config={"temp_directory": spill}) as con:
        yield con


def _migrate_quarantine(lake: Lake, old: OldLake, progress: Progress, report: MigrationReport, bound: int) -> None:
    for source, group in _groups(old.quarantine, progress.done, bound):
        rows = _read(old.root, QUARANTINE_ZONE, group).select(QUARANTINE.names)
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
        key_ids = {_key_id(old.root / file.name) for file in files}
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
        rows = _read(old.root, ANALYST_ZONE, group)
        by_key: dict[str, list[str]] = defaultdict(list)
        for batch_id in sorted({file.batch_id for file in group}):
            by_key[keys[batch_id]].append(batch_id)
        names = [file.name for file in group]
        lake.append(ANALYST_TABLE, rows, [*(BatchInventory.set_published(ids, key) for key, ids in by_key.items()),
                                          Progress.record(names)])
        progress.done.update(names)
        report.added[ANALYST_TABLE] += rows.num_rows
    return carried


def _key_id(path: Path) -> str | None:
    try:
        key_id = (pq.read_schema(path).metadata or {}).get(b"pseudonym_key_id")
    except (OSError, pa.ArrowException) as exc:
        raise MigrationError(f"cannot read {path}: {exc}") from exc
    return key_id.decode() if key_id else None


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
    with _duckdb() as con:
        con.register("iceberg", lake.dataset("statements"))
        files = [str(old.root / file.name) for file in old.statements]
        distinct, found = (0, 0) if not files else con.execute(
            "WITH old AS (SELECT DISTINCT statement_id FROM read_parquet($files, hive_partitioning = false)) "
            "SELECT count(*), count(*) FILTER (WHERE statement_id IN (SELECT statement_id FROM iceberg)) FROM old",
            {"files": files},
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
        Count("void_ledger", pq.read_metadata(old.root / VOIDS).num_rows if old.voids else 0,
              lake.dataset("void_ledger").count_rows()),
        Count("holds", len(old.holds), len(holds)),
        Count("pull state", len(old.pull_states), len(states)),
    ]


def _delete_old(root: Path) -> list[str]:
    deleted = [folder for folder in OLD_FOLDERS if (root / folder).exists()]
    for folder in deleted:
        shutil.rmtree(root / folder)
    (root / _WRITE_LOCK).unlink(missing_ok=True)
    for parent in _EMPTIED_PARENTS:
        if (root / parent).is_dir() and not any((root / parent).iterdir()):
            (root / parent).rmdir()
    return deleted
