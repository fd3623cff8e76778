"""The lake: Apache Iceberg tables in a SQL catalog, written atomically by any number of writers.

Tables (namespace ``xapi``; data under the warehouse, metadata pointers in the catalog database):

    statements           restricted zone, partitioned by source and stored_date
    quarantine           restricted zone, partitioned by source and ingest_date
    analyst_statements   pseudonymized zone, partitioned like statements
    void_ledger          which statements are voided (rebuilt whole by each run)

Idempotency is an upsert by statement id over the whole lake without scanning it: the id
registry in the catalog database (:mod:`xapi_ingest.lake.ledger`) says which ids are stored,
and it is updated in the same database transaction as the snapshot commit, so two writers
that race on one id end with one row: the loser's commit rolls back and it retries without
that id. A repeated id whose content differs is not overwritten (statements are immutable);
the newcomer goes to the quarantine with rule ``lake.id-conflict`` so nothing is lost.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import random
import re
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
from sqlalchemy import Engine, event, insert
from sqlalchemy.exc import IntegrityError, OperationalError

from xapi_ingest.lake import ledger
from xapi_ingest.lake.digest import digests
from xapi_ingest.lake.layout import LakeLayout, check_source_id
from xapi_ingest.lake.location import LakeLocation, strip_scheme
from xapi_ingest.lake.schema import TABLES, TableSpec

if TYPE_CHECKING:
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.expressions import BooleanExpression
    from pyiceberg.manifest import DataFile
    from pyiceberg.table import Table

log = logging.getLogger(__name__)
NAMESPACE = "xapi"
COMMIT_ATTEMPTS = 30  # writers racing for the same ids each lose at most once per winner
_TABLE_PROPERTIES = {
    "format-version": "2",
    "write.parquet.compression-codec": "zstd",
    "write.parquet.compression-level": "3",
    "write.delete.mode": "copy-on-write",  # readers then need no delete files (checked in dataset())
    # A rewrite or delete checks that the files it replaces are still live, not that no file was
    # added anywhere meanwhile (serializable): compaction then succeeds beside steady appends.
    "write.delete.isolation-level": "snapshot",
    "write.metadata.delete-after-commit.enabled": "true",  # old metadata JSON files do not pile up
    "write.metadata.previous-versions-max": "100",
    "commit.retry.num-retries": "10",
    "commit.retry.min-wait-ms": "20",
    "commit.retry.max-wait-ms": "2000",
}
T = TypeVar("T")


@dataclass
class WriteResult:
    written: int = 0
    tolerated: int = 0  # of `written`, rows whose validation_status is "tolerated"
    duplicates: int = 0
    conflicts: list[tuple[str, str]] = field(default_factory=list)  # (statement_id, raw_json)
    rows: pa.Table | None = None  # the rows appended, partition columns included: a publisher in this process reuses them


def first_per_key(table: pa.Table, key: str) -> tuple[pa.Table, pa.Table]:
    """Split rows into the first one for each value of ``key`` and the repeats after it."""
    if table.num_rows == 0:
        return table, table
    positions = pa.table({key: table[key], "_row": pa.array(range(table.num_rows), pa.int64())})
    first = positions.group_by(key, use_threads=False).aggregate([("_row", "min")])["_row_min"]
    first = pc.take(first, pc.sort_indices(first))
    is_first = pc.is_in(positions["_row"], value_set=first)
    return table.filter(is_first), table.filter(pc.invert(is_first))


def batch_filter(batch_ids: list[str]) -> BooleanExpression:
    """Rows of the given ingest batches, for :meth:`Lake.delete`."""
    from pyiceberg.expressions import In

    return In("batch_id", batch_ids)  # type: ignore[call-arg, arg-type]  # pydantic model: mypy sees fields, not __init__


def _retrying(attempt: Callable[[], T]) -> T:
    """Run one optimistic commit until it lands: a lost race rolls back and is tried again.

    Lost races are a compare-and-set that failed, an id another writer registered first, or a
    busy SQLite catalog; any other database error (an unreachable server) is raised at once.
    """
    for number in range(COMMIT_ATTEMPTS):
        try:
            return attempt()
        except (IntegrityError, OperationalError, _commit_failed()) as exc:
            if isinstance(exc, OperationalError) and not _CONTENTION.search(str(exc)):
                raise
            if number == COMMIT_ATTEMPTS - 1:
                raise RuntimeError(f"lake commit did not land after {COMMIT_ATTEMPTS} attempts: {exc}") from exc
            log.info("lake commit lost a race (%s), retrying (%d/%d)", type(exc).__name__, number + 1, COMMIT_ATTEMPTS)
            time.sleep(random.uniform(0.01, 0.05 * (number + 1)))
    raise AssertionError("unreachable")


# "already exists": two processes creating a new lake's catalog tables at once (the loser's retry finds them)
_CONTENTION = re.compile(r"database is locked|database table is locked|could not serialize|deadlock detected"
                         r"|already exists", re.IGNORECASE)


def _commit_failed() -> type[Exception]:
    from pyiceberg.exceptions import CommitFailedException

    return CommitFailedException


class Lake:
    """One lake: its Iceberg tables and the ledger beside them in the catalog database.

    Opening is lazy: nothing is connected until a table or the ledger is used, so a command can
    say which setting is missing before it touches storage.
    """

    def __init__(self, location: str | Path, catalog: str | None = None) -> None:
        self.location = LakeLocation.resolve(location, catalog)
        self.root = self.location.local_root  # None for a lake on object storage
        self.name = str(location)

    @property
    def layout(self) -> LakeLayout:
        if self.root is None:
            raise ValueError("a lake on object storage has no local folder")
        return LakeLayout(self.root)

    def exists(self) -> bool:
        """Whether anything was ever written here (always assumed for a catalog held elsewhere)."""
        embedded = self.root is not None and self.location.catalog_url == f"sqlite:///{self.layout.catalog}"
        return not embedded or self.layout.catalog.exists()

    def default_reports(self) -> Path:
        """Where gate reports go when no folder is set: in the lake folder, or the working directory."""
        return self.layout.quality_reports if self.root is not None else Path("xapi-reports")

    # -- catalog and tables ------------------------------------------------------------------

    @cached_property
    def catalog(self) -> SqlCatalog:
        from pyiceberg.catalog.sql import SqlCatalog

        if self.root is not None:
            self.root.mkdir(parents=True, exist_ok=True)
        properties = {"uri": self.location.catalog_url, "warehouse": self.location.warehouse,
                      **dict(self.location.s3_options)}
        catalog = _retrying(lambda: SqlCatalog("xapi_lake", **properties))
        if self.location.is_sqlite:
            _tune_sqlite(catalog.engine)
        _retrying(lambda: ledger.create(catalog.engine))
        return catalog

    @property
    def engine(self) -> Engine:
        return self.catalog.engine

    def table(self, name: str, writing: bool = False) -> Table:
        """The named table, created (with its partitioning) by whoever asks first.

        A writer also brings a table made by an older version up to date (monthly partitions instead
        of daily ones, columns added since); a reader never changes the catalog (it may hold
        read-only credentials, and Iceberg reads every spec and every schema).
        """
        from pyiceberg.exceptions import NamespaceAlreadyExistsError, NoSuchTableError, TableAlreadyExistsError

        identifier = f"{NAMESPACE}.{name}"

        def load_or_create() -> Table:
            try:
                table = self.catalog.load_table(identifier)
                return _with_new_columns(_by_month(table, TABLES[name]), TABLES[name]) if writing else table
            except NoSuchTableError:
                pass
            with contextlib.suppress(NamespaceAlreadyExistsError):
                self.catalog.create_namespace(NAMESPACE)
            try:
                return _create(self.catalog, identifier, TABLES[name])
            except TableAlreadyExistsError:  # another process created it first (or its attempt failed: retried)
                return self.catalog.load_table(identifier)

        return _retrying(load_or_create)

    def snapshot_id(self, name: str) -> int | None:
        snapshot = self.table(name).current_snapshot()
        return snapshot.snapshot_id if snapshot else None

    def snapshot_ids(self) -> dict[str, int | None]:
        """The current snapshot of every table: what a reader pins to read one consistent lake."""
        return {name: self.snapshot_id(name) for name in TABLES}

    def tag(self, name: str, snapshot_id: int, tag: str) -> None:
        """Name a snapshot, so snapshot expiry keeps it (credit versions tag what they read)."""
        _retrying(lambda: self.table(name).manage_snapshots().create_tag(snapshot_id, tag).commit())

    def dataset(self, name: str, snapshot_id: int | None = None) -> pads.Dataset:
        """The table's live data files (at ``snapshot_id``, default the current one) as a pyarrow dataset.

        Readers get a lazy dataset, not a materialized table: DuckDB, pandas and polars scan only
        the columns and partitions a query needs. Partition columns come back typed.
        """
        return self.files_dataset(name, self.data_files(name, snapshot_id))

    def data_files(self, name: str, snapshot_id: int | None = None) -> list[DataFile]:
        """The table's live data files at ``snapshot_id`` (default the current one), with their partitions."""
        files = []
        for task in self.table(name).scan(snapshot_id=snapshot_id).plan_files():
            if task.delete_files:  # never written here (copy-on-write); a foreign writer's deletes would be ignored
                raise ValueError(f"table {name} has delete files; compact it with a tool that applies them")
            files.append(task.file)
        return files

    def files_dataset(self, name: str, files: list[DataFile]) -> pads.Dataset:
        """Some of the table's data files as a pyarrow dataset in the table's schema (absent columns read as null)."""
        return pads.dataset([strip_scheme(file.file_path) for file in files], schema=TABLES[name].schema,
                            format="parquet", filesystem=self.location.filesystem())

    def read_batches(self, name: str, batch_ids: list[str]) -> pa.Table:
        """The rows of the given ingest batches (files of other batches are skipped by their statistics)."""
        rows = self.table(name).scan(row_filter=batch_filter(batch_ids)).to_arrow()
        return TABLES[name].conform(rows)

    # -- writes --------------------------------------------------------------------------------

    def commit(self, name: str, change: Callable[[Table], object], writes: list[ledger.Write]) -> None:
        """Apply ``change`` to the table and ``writes`` to the ledger in one catalog transaction.

        A change that alters nothing (a delete matching no row) commits no snapshot, so then the
        writes get a transaction of their own.
        """
        def attempt() -> None:
            table = self.table(name, writing=True)
            landed: list[bool] = []
            with ledger.in_commit(self.engine, [*writes, lambda _: landed.append(True)]), warnings.catch_warnings():
                warnings.filterwarnings("ignore", "Delete operation did not match any records")  # handled below
                change(table)
            if not landed:
                with self.engine.begin() as connection:
                    for write in writes:
                        write(connection)

        _retrying(attempt)

    def write_statements(self, table: pa.Table, source: str) -> WriteResult:
        """Upsert normalized statements in one commit; returns what was written, skipped and in conflict.

        The batch inventory gets one entry per ``batch_id`` among the rows written (an ingest
        commits one batch at a time; a migration commits many at once). Rows judged in worker
        processes carry their content digests (:func:`~xapi_ingest.lake.digest.with_digests`);
        for others they are computed here.
        """
        check_source_id(source)
        table, repeats = first_per_key(table, "statement_id")
        if table.num_rows == 0:
            return WriteResult()
        ids = table["statement_id"].to_pylist()
        kept = digests(table)
        first = dict(zip(ids, kept, strict=True))
        in_batch_conflicts = [(sid, raw) for sid, digest, raw in zip(repeats["statement_id"].to_pylist(), digests(repeats),
                                                                     repeats["raw_json"].to_pylist(), strict=True)
                              if digest != first[sid]]
        rows = TABLES["statements"].with_partitions(table, source, "stored")

        def attempt() -> WriteResult:
            with self.engine.connect() as connection:
                known = ledger.lookup(connection, ledger.STATEMENT_IDS, "statement_id", ids, "content_sha256")
            result = WriteResult(duplicates=repeats.num_rows, conflicts=list(in_batch_conflicts))  # per attempt
            new = rows
            if known:
                result.duplicates += len(known)
                result.conflicts += [(sid, raw) for sid, digest, raw in zip(ids, kept, table["raw_json"].to_pylist(),
                                                                            strict=True)
                                     if sid in known and known[sid][0] != digest]
                new = rows.filter(pc.invert(pc.is_in(rows["statement_id"], value_set=pa.array(list(known)))))
            if new.num_rows == 0:
                return result
            registered = [{"statement_id": sid, "content_sha256": digest}
                          for sid, digest in zip(ids, kept, strict=True) if sid not in known]
            committed_at = datetime.now(UTC).isoformat()
            batches = [{"batch_id": row["batch_id"], "source": source, "rows": row["batch_id_count"],
                        "committed_at": committed_at}
                       for row in new.group_by("batch_id").aggregate([("batch_id", "count")]).to_pylist()]
            statements = self.table("statements", writing=True)
            with ledger.in_commit(self.engine, [
                lambda connection: connection.execute(insert(ledger.STATEMENT_IDS), registered),
                lambda connection: connection.execute(insert(ledger.BATCHES), batches),
            ]):
                append_rows(statements, new, TABLES["statements"].partition_by)
            result.written = new.num_rows
            result.rows = new
            result.tolerated = pc.sum(pc.equal(new["validation_status"], "tolerated")).as_py() or 0
            return result

        return _retrying(attempt)

    def write_quarantine(self, table: pa.Table, source: str) -> set[str]:
        """Append quarantine rows not already there; returns the keys of the rows written, so the
        caller can count the others as repeats."""
        check_source_id(source)
        table, _ = first_per_key(table, "quarantine_key")
        if table.num_rows == 0:
            return set()
        rows = TABLES["quarantine"].with_partitions(table, source, "ingested_at")

        def attempt() -> set[str]:
            keys = rows["quarantine_key"].to_pylist()
            with self.engine.connect() as connection:
                known = ledger.lookup(connection, ledger.QUARANTINE_KEYS, "quarantine_key", keys)
            new = rows.filter(pc.invert(pc.is_in(rows["quarantine_key"], value_set=pa.array(list(known), pa.string()))))
            if new.num_rows == 0:
                return set()
            written = new["quarantine_key"].to_pylist()
            quarantine = self.table("quarantine", writing=True)
            with ledger.in_commit(self.engine, [lambda connection: connection.execute(
                    insert(ledger.QUARANTINE_KEYS), [{"quarantine_key": key} for key in written])]):
                append_rows(quarantine, new, TABLES["quarantine"].partition_by)
            return set(written)

        return _retrying(attempt)

    def append(self, name: str, rows: pa.Table, writes: list[ledger.Write]) -> None:
        """Append ``rows`` (in the table's columns) with ``writes`` to the ledger, atomically."""
        rows = TABLES[name].conform(rows)
        self.commit(name, lambda table: append_rows(table, rows, TABLES[name].partition_by), writes)

    def delete(self, name: str, row_filter: BooleanExpression, writes: list[ledger.Write]) -> None:
        """Delete matching rows (their files rewritten without them) with ``writes``, atomically."""
        self.commit(name, lambda table: table.delete(row_filter), writes)

    def replace(self, name: str, rows: pa.Table) -> None:
        """Replace the whole content of a derived table (one snapshot: readers see old or new)."""
        rows = TABLES[name].conform(rows)
        self.commit(name, lambda table: table.overwrite(rows), [])


def append_rows(table: Table, rows: pa.Table, partition_by: tuple[str, ...]) -> None:
    """Append ``rows`` as one snapshot, writing each partition's rows to its own files.

    pyiceberg's own ``append`` filters the whole batch once per partition it holds: a backfill of
    5,000 statements stored over 400 days spent 10 s filtering, 50 times its validation. Sorted by
    the partition columns, each partition is a zero-copy slice that pyiceberg splits at no cost.
    """
    from pyiceberg.io.pyarrow import _check_pyarrow_schema_compatible, _dataframe_to_data_files

    _check_pyarrow_schema_compatible(table.schema(), provided_schema=rows.schema,
                                     format_version=table.metadata.format_version)
    if partition_by:
        rows = rows.sort_by([(column, "ascending") for column in partition_by])
    counter = itertools.count()
    with table.transaction() as transaction, transaction.update_snapshot().fast_append() as append:
        for part in _partition_runs(rows, partition_by):
            for data_file in _dataframe_to_data_files(transaction.table_metadata, part, table.io,
                                                      write_uuid=append.commit_uuid, counter=counter):
                append.append_data_file(data_file)


def _partition_runs(rows: pa.Table, partition_by: tuple[str, ...]) -> list[pa.Table]:
    """The slices of ``rows`` (sorted by ``partition_by``) that fall in one partition: one source,
    one month of the date column (see :class:`~xapi_ingest.lake.schema.TableSpec`)."""
    if rows.num_rows < 2 or not partition_by:
        return [rows]
    source, date = (rows[column] for column in partition_by)
    month = pc.add(pc.multiply(pc.year(date), 12), pc.month(date))
    changes = None
    for values in (source, month):
        changed = pc.fill_null(pc.not_equal(values.slice(1), values.slice(0, rows.num_rows - 1)), True)
        changes = changed if changes is None else pc.or_(changes, changed)
    starts = [0, *(index + 1 for index in pc.indices_nonzero(changes).to_pylist()), rows.num_rows]
    return [rows.slice(start, end - start) for start, end in itertools.pairwise(starts)]


def _create(catalog: SqlCatalog, identifier: str, spec: TableSpec) -> Table:
    """Create the table and its partitioning in one commit (a reader never sees it unpartitioned)."""
    from pyiceberg.transforms import parse_transform

    with catalog.create_table_transaction(identifier, schema=spec.iceberg_arrow_schema(),
                                          properties=_TABLE_PROPERTIES) as transaction:
        if spec.partition_by:
            with transaction.update_spec() as partitioning:
                for column, transform, name in spec.partition_fields():
                    partitioning.add_field(column, parse_transform(transform), name)
    return catalog.load_table(identifier)


def _by_month(table: Table, spec: TableSpec) -> Table:
    """Evolve a table created with daily partitions to monthly ones (see :class:`TableSpec`).

    Iceberg keeps each file under the partitioning it was written with, so nothing is rewritten
    and every reader still sees every row; new files (and compacted ones) are monthly.
    """
    from pyiceberg.transforms import IdentityTransform, MonthTransform

    if not spec.partition_by:
        return table
    date = spec.partition_by[1]
    daily = [field.name for field in table.spec().fields
             if isinstance(field.transform, IdentityTransform) and field.name == date]
    if not daily:
        return table
    with table.update_spec() as partitioning:
        partitioning.remove_field(date)
        partitioning.add_field(date, MonthTransform(), f"{date}_month")
    return table.refresh()


def _with_new_columns(table: Table, spec: TableSpec) -> Table:
    """Add the columns a newer version defines (the analyst zone's ``teacher_key``) to a table
    made before, at the place a new table has them, so ``SELECT *`` reads alike on old and new lakes.

    Files written before keep their columns and read the new ones as null; nothing is rewritten.
    """
    present = {field.name for field in table.schema().fields}
    missing = [name for name in spec.schema.names if name not in present]
    if not missing:
        return table
    with table.update_schema() as update:
        update.union_by_name(spec.iceberg_arrow_schema())
        for name in reversed(missing):  # each lands before a column already in place
            following = spec.schema.names[spec.schema.get_field_index(name) + 1:]
            if following:
                update.move_before(name, following[0])
    return table.refresh()


def _tune_sqlite(engine: Engine) -> None:
    """WAL lets readers run beside a writer; a long busy timeout lets writers queue, not fail."""
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 60000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    engine.dispose()  # connections opened before the listener reconnect with these settings
