"""The Parquet lake: hive-partitioned, zstd-compressed, written atomically and idempotently.

The folder layout is :mod:`xapi_ingest.lake.layout`'s.

Each file is written under a temporary name and renamed into place, so a reader never sees a
half-written file. Idempotency is an upsert by statement id over the whole lake: a batch keeps
only ids the lake does not hold yet, so a re-run after a crash adds exactly what is missing.
A repeated id whose content differs is not overwritten (statements are immutable); the newcomer
goes to the quarantine with rule ``lake.id-conflict`` so nothing is lost.
"""

from __future__ import annotations

import fcntl
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import msgspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from xapi_ingest.common.atomic import write_atomically
from xapi_ingest.lake.layout import LakeLayout
from xapi_ingest.lake.schema import QUARANTINE
from xapi_ingest.xapi.vocabulary import LRS_ASSIGNED

SOURCE_ID = re.compile(r"[a-z0-9][a-z0-9-]*\Z")
_PARQUET_OPTIONS = {"compression": "zstd", "compression_level": 3, "row_group_size": 128 * 1024}


def check_source_id(source: str) -> str:
    """Source ids become path segments, so only ``[a-z0-9-]`` is accepted."""
    if not SOURCE_ID.match(source):
        raise ValueError(f"source id {source!r} must match [a-z0-9][a-z0-9-]* (it is used in paths)")
    return source


@dataclass
class Repeats:
    """Later copies of statement ids stored more than once (see :meth:`Lake.later_copies`)."""

    copies: pa.Table  # statement_id, _file, source: one row per copy to remove
    conflicts: list[tuple[str, str, str]] = field(default_factory=list)  # (source, statement_id, raw_json) differing


@dataclass
class WriteResult:
    written: int = 0
    tolerated: int = 0  # of `written`, rows whose validation_status is "tolerated"
    duplicates: int = 0
    conflicts: list[tuple[str, str]] = field(default_factory=list)  # (statement_id, raw_json)
    files: list[Path] = field(default_factory=list)


def first_per_key(table: pa.Table, key: str) -> tuple[pa.Table, pa.Table]:
    """Split rows into the first one for each value of ``key`` and the repeats after it."""
    if table.num_rows == 0:
        return table, table
    positions = pa.table({key: table[key], "_row": pa.array(range(table.num_rows), pa.int64())})
    first = positions.group_by(key, use_threads=False).aggregate([("_row", "min")])["_row_min"]
    first = pc.take(first, pc.sort_indices(first))
    is_first = pc.is_in(positions["_row"], value_set=first)
    return table.filter(is_first), table.filter(pc.invert(is_first))


def _content(raw: str) -> object:
    """What must match for a repeat to be a duplicate: not what an LRS assigns on storing, and
    not the letter case of the id (UUIDs compare case-insensitively)."""
    value = msgspec.json.decode(raw)
    if type(value) is dict:
        for key in LRS_ASSIGNED:
            value.pop(key, None)
        if type(value.get("id")) is str:
            value["id"] = value["id"].lower()
    return value


def _differing(candidates: pa.Table, reference: dict[str, str]) -> list[tuple[str, str]]:
    """(id, raw) of candidates whose content differs from the reference text for the same id."""
    return [
        (statement_id, raw)
        for statement_id, raw in zip(
            candidates["statement_id"].to_pylist(), candidates["raw_json"].to_pylist(), strict=True
        )
        if raw != reference[statement_id] and _content(raw) != _content(reference[statement_id])
    ]


def _lookup_connection() -> duckdb.DuckDBPyConnection:
    """DuckDB for the id lookups: a semi-join on at most one batch of keys, which never needs to spill.

    No temp folder: DuckDB's default is ``.tmp`` in the working directory, shared by every
    process started there (several ingests and pulls at once).
    """
    return duckdb.connect(":memory:", config={"temp_directory": ""})


def write_parquet_atomically(table: pa.Table, path: Path) -> None:
    write_atomically(path, lambda temporary: pq.write_table(table, temporary, **_PARQUET_OPTIONS))


class Lake:
    """A local lake root; every write goes through :meth:`write_statements` or :meth:`write_quarantine`."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.layout = LakeLayout(self.root)
        self.statements_dir = self.layout.statements
        self.quarantine_dir = self.layout.quarantine
        self.analyst_dir = self.layout.analyst_statements
        self.void_ledger = self.layout.void_ledger  # see xapi_ingest.lake.voids

    @contextmanager
    def write_lock(self) -> Iterator[None]:
        """One writer at a time, so two runs cannot both insert the same new id."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.layout.write_lock, "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def analyst_twin(self, statements_file: Path) -> Path:
        """Where the analyst zone keeps the pseudonymized copy of a restricted statements file."""
        return self.analyst_dir / statements_file.relative_to(self.statements_dir)

    @staticmethod
    def files(directory: Path) -> list[Path]:
        return sorted(directory.glob("*/*/*.parquet")) if directory.exists() else []

    def _existing(self, directory: Path, key: str, keys: pa.Array, extra: str = "") -> pa.Table:
        """Rows of ``directory`` whose ``key`` is among ``keys`` (only the named columns)."""
        files = self.files(directory)
        if not files:
            return pa.table({key: pa.array([], pa.string()), "_file": pa.array([], pa.string())})
        with _lookup_connection() as con:
            con.register("wanted", pa.table({key: keys}))
            columns = f"{key}, filename AS _file{extra}"
            return con.sql(
                f"SELECT {columns} FROM read_parquet($files, filename = true) "
                f"WHERE {key} IN (SELECT {key} FROM wanted)",
                params={"files": [str(f) for f in files]},
            ).to_arrow_table()

    def write_statements(self, table: pa.Table, source: str, batch_id: str) -> WriteResult:
        """Upsert normalized statements; returns what was written, skipped and in conflict."""
        check_source_id(source)
        result = WriteResult()
        table, repeats = first_per_key(table, "statement_id")
        result.duplicates = repeats.num_rows
        if repeats.num_rows:
            kept = table.filter(pc.is_in(table["statement_id"], value_set=repeats["statement_id"]))
            result.conflicts = _differing(repeats, dict(zip(kept["statement_id"].to_pylist(),
                                                            kept["raw_json"].to_pylist(), strict=True)))
        if table.num_rows == 0:
            return result
        with self.write_lock():
            existing = self._existing(self.statements_dir, "statement_id", table["statement_id"])
            if existing.num_rows:
                result.conflicts += self._conflicts(table, existing)
                is_new = pc.invert(pc.is_in(table["statement_id"], value_set=existing["statement_id"]))
                new = table.filter(is_new)
                result.duplicates += table.num_rows - new.num_rows  # incoming rows, however often the lake holds them
                table = new
            for stored_date, part in _split_by_date(table, "stored", "ingested_at"):
                path = self.statements_dir / f"source={source}" / f"stored_date={stored_date}" / f"part-{batch_id}.parquet"
                write_parquet_atomically(part, path)
                result.files.append(path)
                result.written += part.num_rows
                result.tolerated += pc.sum(pc.equal(part["validation_status"], "tolerated")).as_py() or 0
        return result

    def _conflicts(self, incoming: pa.Table, existing: pa.Table) -> list[tuple[str, str]]:
        """Incoming rows whose id is stored already with different JSON content."""
        files = sorted(set(existing["_file"].to_pylist()))
        with _lookup_connection() as con:
            con.register("wanted", existing.select(["statement_id"]))
            stored = con.sql(
                "SELECT statement_id, raw_json FROM read_parquet($files) "
                "WHERE statement_id IN (SELECT statement_id FROM wanted)",
                params={"files": files},
            ).fetchall()
        clashes = incoming.filter(pc.is_in(incoming["statement_id"], value_set=existing["statement_id"]))
        return _differing(clashes, dict(stored))

    def later_copies(self) -> Repeats:
        """Every copy of a statement id after its first one (earliest ingested; ties by batch, file).

        The upsert in :meth:`write_statements` sees only the lake it runs on: two workers with
        separate caches pulling two sources that hold the same statement both write it. Only
        statement ids are scanned unless some repeat; copies whose content differs from the first
        (beyond what an LRS assigns) are returned as conflicts, to be quarantined like any other.
        """
        files = [str(f) for f in self.files(self.statements_dir)]
        empty = pa.table({"statement_id": pa.array([], pa.string()), "_file": pa.array([], pa.string()),
                          "source": pa.array([], pa.string())})
        if not files:
            return Repeats(empty)
        with _lookup_connection() as con:
            repeated = con.sql("SELECT statement_id FROM read_parquet($files, hive_partitioning = false) "
                               "GROUP BY statement_id HAVING count(*) > 1", params={"files": files}).to_arrow_table()
            if not repeated.num_rows:
                return Repeats(empty)
            con.register("repeated", repeated)
            ranked = con.sql(
                "SELECT statement_id, filename AS _file, source, raw_json, "
                "row_number() OVER first_copy AS copy, first_value(raw_json) OVER first_copy AS first_raw "
                "FROM read_parquet($files, filename = true, hive_partitioning = true) "
                "WHERE statement_id IN (SELECT statement_id FROM repeated) "
                "WINDOW first_copy AS (PARTITION BY statement_id ORDER BY ingested_at, batch_id, filename)",
                params={"files": files},
            ).to_arrow_table()
        later = ranked.filter(pc.greater(ranked["copy"], 1))
        conflicts = [
            (source, statement_id, raw)
            for statement_id, source, raw, first in zip(*(later[c].to_pylist() for c in
                                                          ("statement_id", "source", "raw_json", "first_raw")), strict=True)
            if raw != first and _content(raw) != _content(first)
        ]
        return Repeats(later.select(["statement_id", "_file", "source"]), conflicts)

    def remove_copies(self, copies: pa.Table) -> int:
        """Rewrite each file holding one of ``copies`` without it, and its analyst twin if it was
        published; returns the restricted rows removed.

        A file keeps its name even when no row is left: part files are replaced whole, and the
        changed size makes every cache of a remote lake fetch the new version (a deleted file
        would come back from a cache that still holds it).
        """
        removed = 0
        with self.write_lock():
            for file in sorted(set(copies["_file"].to_pylist())):
                ids = copies.filter(pc.equal(copies["_file"], file))["statement_id"]
                removed += _rewrite_without(Path(file), ids)
                twin = self.analyst_dir / Path(file).relative_to(self.statements_dir)
                if twin.exists():  # statement ids are not pseudonymized, so the twin drops the same rows
                    _rewrite_without(twin, ids)
        return removed

    def write_quarantine(self, table: pa.Table, source: str, batch_id: str) -> set[str]:
        """Append quarantine rows not already there; returns the keys of the rows written, so the
        caller can count the others as repeats."""
        check_source_id(source)
        table, _ = first_per_key(table, "quarantine_key")
        if table.num_rows == 0:
            return set()
        with self.write_lock():
            existing = self._existing(self.quarantine_dir, "quarantine_key", table["quarantine_key"])
            if existing.num_rows:
                table = table.filter(
                    pc.invert(pc.is_in(table["quarantine_key"], value_set=existing["quarantine_key"]))
                )
            for ingest_date, part in _split_by_date(table, "ingested_at", "ingested_at"):
                path = self.quarantine_dir / f"source={source}" / f"ingest_date={ingest_date}" / f"part-{batch_id}.parquet"
                write_parquet_atomically(part.cast(QUARANTINE), path)
        return set(table["quarantine_key"].to_pylist())


def _rewrite_without(path: Path, ids: pa.Array) -> int:
    """Replace ``path`` by itself without the rows of ``ids`` (schema metadata kept); returns rows removed."""
    table = pq.read_table(path, partitioning=None)
    kept = table.filter(pc.invert(pc.is_in(table["statement_id"], value_set=ids)))
    write_parquet_atomically(kept, path)
    return table.num_rows - kept.num_rows


def _split_by_date(table: pa.Table, column: str, fallback: str) -> Iterator[tuple[str, pa.Table]]:
    """Split rows by the UTC date of ``column`` (or ``fallback`` where it is null)."""
    if table.num_rows == 0:
        return
    moments = pc.coalesce(table[column], table[fallback])
    dates = pc.strftime(moments, format="%Y-%m-%d", locale="C")
    for date in sorted(pc.unique(dates).to_pylist()):
        yield date, table.filter(pc.equal(dates, date))

