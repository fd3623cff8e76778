"""Validate, normalize and write a stream of raw records into the lake, batch by batch.

Both ``ingest-file`` and the LRS puller feed this module, so a statement takes the same path
to the lake whichever way it arrives. Memory is bounded by ``batch_size``: a batch is written
(and its counts added) before the next one is read.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pyarrow as pa

from xapi_ingest.common.defaults import DEFAULT_BATCH_SIZE
from xapi_ingest.lake.layout import check_source_id
from xapi_ingest.lake.normalize import StatementColumns
from xapi_ingest.lake.schema import QUARANTINE
from xapi_ingest.xapi.fastpath import accepts
from xapi_ingest.xapi.reader import RawRecord
from xapi_ingest.xapi.rules import NOT_TOLERABLE, RULES
from xapi_ingest.xapi.validator import Issue, StatementValidator, ValidationMode

if TYPE_CHECKING:  # ingest worker processes judge records and never write: they need not import the store
    from xapi_ingest.lake.store import Lake


@dataclass
class IngestCounts:
    """What happened to every record read; ``read`` always equals the sum of the outcomes."""

    read: int = 0
    valid: int = 0
    tolerated: int = 0
    quarantined: int = 0
    duplicates: int = 0
    conflicts: int = 0
    elapsed_seconds: float = 0.0

    @property
    def statements_per_second(self) -> float:
        return self.read / self.elapsed_seconds if self.elapsed_seconds else 0.0

    def add(self, other: IngestCounts) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict[str, float]:
        return {**asdict(self), "statements_per_second": round(self.statements_per_second, 1)}


def check_tolerated_rules(rules: Iterable[str]) -> frozenset[str]:
    """Reject unknown rule ids and the structural ones no normalizer could survive."""
    rules = frozenset(rules)
    unknown = sorted(rules - RULES.keys())
    if unknown:
        raise ValueError(f"unknown rule id(s) to tolerate: {', '.join(unknown)}; see 'xapi-pipeline rules'")
    structural = sorted(rules & NOT_TOLERABLE)
    if structural:
        raise ValueError(f"rule(s) {', '.join(structural)} cannot be tolerated: the statement could not be normalized")
    return rules


def new_batch_id() -> str:
    """Unique per run, so a re-run never overwrites a file an earlier run committed."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"


def quarantine_key(source: str, origin: str, record: RawRecord) -> str:
    """What makes two quarantined records the same row: the same source, bytes and place.

    A record read from a file (``line`` > 0) is placed by file, line and index, so 200 identical
    bad lines stay 200 rows while re-ingesting the file adds none. A statement from an LRS
    (``line`` 0) is placed by its bytes alone: they carry the LRS-assigned ``id`` and ``stored``,
    so two statements never share them, and the overlap re-read of a page is not quarantined again.
    """
    place = f"{origin}\n{record.line}\n{record.index}" if record.line > 0 else ""
    text = f"{source}\n{place}\n{record.raw}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class Quarantine:
    """Quarantine rows of one batch, accumulated until they are written with :meth:`Lake.write_quarantine`."""

    def __init__(self, source: str, batch_id: str, ingested_at: datetime) -> None:
        self.source, self.batch_id, self.ingested_at = source, batch_id, ingested_at
        self.rows: list[dict[str, object]] = []

    def add(self, record: RawRecord, origin: str, issues: list[Issue], statement_id: str | None = None) -> None:
        self.rows.append({
            "quarantine_key": quarantine_key(self.source, origin, record),
            "statement_id": statement_id,
            "origin": origin,
            "record_index": record.index,
            "line": record.line,
            "raw_json": record.raw,
            "errors": [issue.as_dict() for issue in issues],
            "rules": sorted({issue.rule for issue in issues}),
            "batch_id": self.batch_id,
            "ingested_at": self.ingested_at,
        })

    def add_conflicts(self, conflicts: list[tuple[str, str]]) -> None:
        """Keep ``(statement_id, raw_json)`` copies whose id the lake holds with other content (nothing is lost)."""
        message = "a statement with this id is already in the lake with different content"
        for statement_id, raw in conflicts:
            self.add(RawRecord(-1, 0, raw, None), "lake", [Issue("$.id", "lake.id-conflict", message)], statement_id)

    def table(self) -> pa.Table:
        return pa.Table.from_pylist(self.rows, schema=QUARANTINE)


class Ingestor:
    """Runs records from one source through validation into the lake.

    Without a lake it only judges records (:meth:`add`): that is what an ingest worker process
    holds (:mod:`~xapi_ingest.lake.parallel`), while the one process with the lake commits.
    """

    def __init__(
        self,
        lake: Lake | None,
        source: str,
        mode: ValidationMode = "auto",
        tolerate: Iterable[str] = (),
        batch_size: int = DEFAULT_BATCH_SIZE,
        *,
        keep_last: bool = False,
    ) -> None:
        self.lake = lake
        self.source = check_source_id(source)
        self.validator = StatementValidator(mode)
        self.tolerate = check_tolerated_rules(tolerate)
        self.batch_size = batch_size
        self.keep_last = keep_last
        # The statement rows of the last commit, when ``keep_last``: a publish in the same process
        # then pseudonymizes them from memory instead of reading back the files just written.
        # One batch at most, so memory stays bounded by the batch size.
        self.last_written: pa.Table | None = None

    def ingest(
        self,
        records: Iterable[tuple[str, RawRecord]],
        batch_id: str | None = None,
        on_batch: Callable[[IngestCounts], None] | None = None,
    ) -> IngestCounts:
        """Ingest ``(origin, record)`` pairs; returns the counts over all batches.

        Each record is validated and flattened as soon as it is read, so a batch holds column
        values rather than parsed JSON trees: far fewer live objects, and far less time spent
        in Python's garbage collector.
        """
        batch_id = batch_id or new_batch_id()
        total = IngestCounts()
        started = time.perf_counter()
        batch = self.new_batch(f"{batch_id}-00000")
        for origin, record in records:
            self.add(batch, origin, record)
            if batch.read >= self.batch_size:
                total.add(self.commit(batch))
                batch = self.new_batch(f"{batch_id}-{total.read // self.batch_size:05d}")
                if on_batch:
                    on_batch(total)
        if batch.read:
            total.add(self.commit(batch))
        total.elapsed_seconds = time.perf_counter() - started
        return total

    def new_batch(self, batch_id: str) -> Batch:
        return Batch(self.source, batch_id)

    def add(self, batch: Batch, origin: str, record: RawRecord) -> None:
        """Validate and flatten one record into ``batch`` now; it reaches the lake at :meth:`commit`.

        A record the reader decoded on the fast path (:mod:`xapi_ingest.xapi.fastpath`) skips
        the precise validator when its version rules hold; any other takes the precise path.

        Callers that pace commits themselves (the LRS puller commits whole pages, so that its
        watermark and resume cursor never point into a half-written page) use this directly.
        """
        if record.fast is not None and accepts(record.fast, self.validator.mode):  # the typed decode of a valid statement
            batch.columns.append_fast(record.fast, record.raw, batch.batch_id, batch.ingested_at)
        elif record.error is not None:
            batch.quarantine.add(record, origin, [Issue("$", record.rule, record.error)])
        elif issues := self.validator.validate(record.value):
            rules = {issue.rule for issue in issues}
            if rules <= self.tolerate:
                batch.columns.append(record.value, record.raw, sorted(rules), batch.batch_id, batch.ingested_at)
            else:
                statement_id = record.value.get("id") if type(record.value) is dict else None
                batch.quarantine.add(record, origin, issues, statement_id if type(statement_id) is str else None)
        else:
            batch.columns.append(record.value, record.raw, [], batch.batch_id, batch.ingested_at)
        batch.read += 1

    def commit(self, batch: Batch) -> IngestCounts:
        """Write one batch: statements first, then the quarantine (with any id conflicts)."""
        return self.commit_rows(batch.columns.to_table(), batch.quarantine, batch.read)

    def commit_rows(self, statements: pa.Table, quarantine: Quarantine, read: int) -> IngestCounts:
        """Write one batch's rows, however they were judged: here by :meth:`add`, or in worker
        processes whose tables and quarantine rows were gathered (:mod:`~xapi_ingest.lake.parallel`)."""
        if self.lake is None:
            raise TypeError("this Ingestor has no lake: it judges records for another process to commit")
        written = self.lake.write_statements(statements, self.source)
        self.last_written = written.rows if self.keep_last else None
        quarantine.add_conflicts(written.conflicts)
        new_keys = self.lake.write_quarantine(quarantine.table(), self.source)
        conflicts = len(written.conflicts)
        record_keys = [row["quarantine_key"] for row in quarantine.rows[: len(quarantine.rows) - conflicts]]
        quarantined = 0
        for key in record_keys:  # each key written is one new row, however often it came in
            if key in new_keys:
                new_keys.discard(key)
                quarantined += 1
        return IngestCounts(  # a record quarantined by an earlier run counts as a duplicate
            read=read,
            valid=written.written - written.tolerated,
            tolerated=written.tolerated,
            quarantined=quarantined,
            duplicates=written.duplicates - conflicts + len(record_keys) - quarantined,
            conflicts=conflicts,
        )


class Batch:
    """The rows of one batch, accumulated until it is committed."""

    def __init__(self, source: str, batch_id: str, ingested_at: datetime | None = None) -> None:
        self.batch_id = batch_id
        self.ingested_at = ingested_at or datetime.now(UTC)  # given when several processes fill one batch
        self.columns = StatementColumns()
        self.quarantine = Quarantine(source, batch_id, self.ingested_at)
        self.read = 0
