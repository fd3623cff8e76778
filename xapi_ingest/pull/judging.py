"""Judging one LRS page: in a worker process while the puller commits the pages before it, or in the puller.

Both places run :func:`judge_page`, so where a page was judged never changes the lake or the
watermark. A page's judgement is its rows (:class:`~xapi_ingest.lake.workers.Part`) and what the
watermark logic needs to know of its statements (:class:`Observed`). This module is what the
worker processes import: judging, not the storage stack nor the HTTP client.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from xapi_ingest.lake.workers import Judging, Part
from xapi_ingest.xapi.reader import RawRecord, decoded_record
from xapi_ingest.xapi.timestamps import parse_timestamp


@dataclass
class Observed:
    """What the watermark logic needs of some statements, in the order they came: of one page, or of a
    whole query (:meth:`absorb` adds a later page's)."""

    since: datetime | None
    max_stored: datetime | None = None
    max_timestamp: datetime | None = None
    in_stored_order: bool = True
    since_violations: int = 0  # statements with stored <= since: the LRS does not filter on stored
    min_stored: datetime | None = None  # what tells whether a later page comes in order after this one

    def observe(self, statement: object) -> None:
        if type(statement) is dict:
            self.observe_moments(statement.get("stored"), statement.get("timestamp"))

    def observe_moments(self, stored_text: object, timestamp_text: object) -> None:
        stored = _moment(stored_text)
        stamp = _moment(timestamp_text)
        if stored is not None:
            if self.max_stored is not None and stored < self.max_stored:
                self.in_stored_order = False
            if self.since is not None and stored <= self.since:
                self.since_violations += 1
            self.max_stored = _latest(self.max_stored, stored)
            self.min_stored = stored if self.min_stored is None else min(self.min_stored, stored)
        if stamp is not None:
            self.max_timestamp = _latest(self.max_timestamp, stamp)

    def observing(self, records: Iterable[RawRecord]) -> Iterator[RawRecord]:
        for record in records:
            if record.fast is not None:  # read from the typed decode: ``value`` would decode the statement again
                self.observe_moments(record.fast.stored, record.fast.timestamp)
            else:
                self.observe(record.value)
            yield record

    def absorb(self, later: Observed) -> None:
        """Take in what was observed of the statements that came next, as if each had been observed here."""
        if not later.in_stored_order or (
                later.min_stored is not None and self.max_stored is not None and later.min_stored < self.max_stored):
            self.in_stored_order = False
        self.since_violations += later.since_violations
        self.max_stored = _latest(self.max_stored, later.max_stored)
        self.min_stored = _earliest(self.min_stored, later.min_stored)
        self.max_timestamp = _latest(self.max_timestamp, later.max_timestamp)


def _moment(value: object) -> datetime | None:
    return parse_timestamp(value) if isinstance(value, str) else None


def _latest(*moments: datetime | None) -> datetime | None:
    return max(filter(None, moments), default=None)


def _earliest(*moments: datetime | None) -> datetime | None:
    return min(filter(None, moments), default=None)


@dataclass(frozen=True)
class PageJob:
    """One page's statements and the batch they go to."""

    judging: Judging
    origin: str  # the page's URL
    statements: list[bytes]
    since: datetime | None  # of the query: statements stored at or before it tell how the LRS filters
    batch_id: str
    ingested_at: datetime


@dataclass(frozen=True)
class JudgedPage:
    part: Part
    observed: Observed


def judge_page(job: PageJob) -> JudgedPage:
    observed = Observed(job.since)
    records = observed.observing(page_records(job.statements))
    return JudgedPage(job.judging.part(job.batch_id, job.ingested_at, job.origin, records), observed)


def page_records(statements: list[bytes]) -> Iterator[RawRecord]:
    """The records of one page's statements, judged by the same decode as a file's lines.

    Bytes that are not UTF-8 are kept (as U+FFFD) for the quarantine and judged malformed.
    """
    for index, raw in enumerate(statements):
        try:
            yield decoded_record(index, 0, raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            text = raw.decode("utf-8", errors="replace")
            yield RawRecord(index, 0, text, error=f"statement {index} is not UTF-8: {exc}")
