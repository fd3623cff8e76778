"""Incremental, restartable pulls from one LRS into the lake.

The order of operations is what makes a kill -9 harmless: pages are fetched (in a background
thread, so network waits overlap validation and Parquet writes), committed to the lake in
chunks through the same :class:`~xapi_ingest.lake.ingest.Ingestor` as file ingests, and only then is
the watermark moved. A re-run after any failure re-reads at most the uncommitted pages, and the
upsert by statement id turns the repeats into counted duplicates.

Real LRSs differ from the spec (``../shared/reference/xapi-rules.md`` §4-5), so the puller
checks what it can and says so in its log:

* no ``X-Experience-API-Consistent-Through`` header: the watermark is capped only by the
  overlap, and moves once per completed query rather than per chunk;
* ``since`` compared with ``timestamp`` instead of ``stored`` (Ralph): a statement that reaches
  the LRS late would be missed by a ``since`` query, so such a source is re-scanned from
  ``timestamp watermark - late_arrival`` (or from the start when ``late_arrival`` is not set).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from xapi_ingest.lake.ingest import Batch, IngestCounts, Ingestor, new_batch_id
from xapi_ingest.lake.store import Lake
from xapi_ingest.pull.client import LRSClient, MoreLinkExpired, Page
from xapi_ingest.pull.probe import probe_since_field
from xapi_ingest.pull.sources import Source
from xapi_ingest.pull.watermark import Cursor, PullState, load_state, save_state
from xapi_ingest.xapi.reader import RawRecord, decoded_record
from xapi_ingest.xapi.timestamps import parse_timestamp

log = logging.getLogger(__name__)

MAX_RESTARTS = 3  # expired `more` links in one run before giving up


@dataclass(frozen=True)
class Budget:
    """How much one run may do, so a large backlog is caught up over several scheduled runs."""

    max_pages: int | None = None
    max_seconds: float | None = None

    def exhausted(self, pages: int, started: float) -> bool:
        return (self.max_pages is not None and pages >= self.max_pages) or (
            self.max_seconds is not None and time.monotonic() - started >= self.max_seconds
        )


NO_BUDGET = Budget()


@dataclass
class PullSummary:
    source: str
    pages: int = 0
    counts: IngestCounts = field(default_factory=IngestCounts)
    retries: int = 0
    restarts: int = 0
    backlog_remaining: bool = False
    since_field: str = "unknown"
    watermark_before: str | None = None
    watermark_after: str | None = None
    notes: list[str] = field(default_factory=list)
    batch_ids: list[str] = field(default_factory=list)  # committed batches, for the data-quality step
    elapsed_seconds: float = 0.0

    @property
    def statements_per_second(self) -> float:
        return self.counts.read / self.elapsed_seconds if self.elapsed_seconds else 0.0

    def as_dict(self) -> dict[str, object]:
        """Plain JSON-able values (an XCom, a log line); holds no URL and no credential."""
        data = asdict(self)
        data["counts"] = self.counts.as_dict()
        data["statements_per_second"] = round(self.statements_per_second, 1)
        return data


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


class _Prefetcher:
    """Fetches the pages of one query in a thread, at most ``depth`` pages ahead of the writer."""

    _END = object()

    def __init__(self, pages: Iterator[Page], depth: int = 2) -> None:
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(pages,), daemon=True)
        self._thread.start()

    def _run(self, pages: Iterator[Page]) -> None:
        try:
            for page in pages:
                if not self._put(page):
                    return
        except BaseException as exc:  # handed to the consumer, which re-raises it
            self._put(exc)
            return
        self._put(self._END)

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[Page]:
        while (item := self._queue.get()) is not self._END:
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


@dataclass
class _Query:
    """Progress through one logical query (possibly resumed from an earlier run's cursor)."""

    since: datetime | None
    consistent_through: datetime | None = None  # of the first response, as the spec advises
    resumed: bool = False  # continued from a saved cursor (its first response came in an earlier run)
    max_stored: datetime | None = None
    max_timestamp: datetime | None = None
    in_stored_order: bool = True
    since_violations: int = 0  # statements with stored <= since: the LRS does not filter on stored

    def observe(self, statement: object) -> None:
        if type(statement) is not dict:
            return
        stored = _moment(statement.get("stored"))
        stamp = _moment(statement.get("timestamp"))
        if stored is not None:
            if self.max_stored is not None and stored < self.max_stored:
                self.in_stored_order = False
            if self.since is not None and stored <= self.since:
                self.since_violations += 1
            self.max_stored = max(filter(None, (self.max_stored, stored)))
        if stamp is not None:
            self.max_timestamp = max(filter(None, (self.max_timestamp, stamp)))


def _moment(value: object) -> datetime | None:
    return parse_timestamp(value) if isinstance(value, str) else None


class Puller:
    """Pulls one source into the lake; construct per run."""

    def __init__(
        self,
        source: Source,
        lake: Lake,
        client: LRSClient,
        budget: Budget = NO_BUDGET,
        on_progress: Callable[[PullSummary], None] | None = None,
    ) -> None:
        self.source, self.lake, self.client, self.budget = source, lake, client, budget
        self.on_progress = on_progress
        self.ingestor = Ingestor(lake, source.id, "auto", source.tolerate)

    def run(self) -> PullSummary:
        started = time.monotonic()
        state = load_state(self.lake, self.source.id)
        summary = PullSummary(self.source.id, watermark_before=_iso(state.stored_watermark))
        self._check_capabilities(state, summary)
        query = self._start_query(state, summary)
        batch_id = new_batch_id()
        prefetcher = _Prefetcher(self._pages(state, query, summary))
        batch: Batch | None = None
        try:
            for page in prefetcher:  # validation here overlaps the download of the next pages
                summary.pages += 1
                if summary.pages == 1:
                    if not query.resumed:
                        query.consistent_through = page.consistent_through
                    self._note_consistent_through(state, page, summary)
                batch = batch or self.ingestor.new_batch(f"{batch_id}-p{summary.pages:06d}")
                for origin, record in self._records(page, query):
                    self.ingestor.add(batch, origin, record)
                budget_spent = page.more and self.budget.exhausted(summary.pages, started)
                if batch.read >= self.source.commit_every or not page.more or budget_spent:
                    self._commit(batch, summary)
                    batch = None
                    self._advance(state, query, page)
                if budget_spent:
                    summary.backlog_remaining = True
                    break
        finally:
            prefetcher.close()
            summary.retries = self.client.retries
            summary.elapsed_seconds = time.monotonic() - started
        self._report_since_field(state, query, summary)
        summary.watermark_after = _iso(state.stored_watermark)
        return summary

    # -- capabilities ------------------------------------------------------------------------

    def _check_capabilities(self, state: PullState, summary: PullSummary) -> None:
        if self.source.since_field != "auto":
            state.since_field = self.source.since_field
        elif state.since_field == "unknown" and state.stored_watermark is not None:
            found = probe_since_field(self.lake, self.source.id, self.client)
            if found != "unknown":
                state.since_field = found
                save_state(self.lake, state)
                self._note(summary, f"probe: this LRS compares `since` with `{found}`")
        summary.since_field = state.since_field

    def _note_consistent_through(self, state: PullState, page: Page, summary: PullSummary) -> None:
        sends = page.consistent_through is not None
        if not sends:
            self._note(summary, "no X-Experience-API-Consistent-Through header: the watermark moves only "
                                f"after a complete query, and relies on the {self.source.overlap} overlap")
        state.sends_consistent_through = sends

    def _report_since_field(self, state: PullState, query: _Query, summary: PullSummary) -> None:
        if query.since_violations and state.since_field != "timestamp":
            self._note(summary, f"{query.since_violations} statement(s) came back with `stored` at or before "
                                "`since`: this LRS does not filter on `stored`; later runs re-scan by timestamp")
            if self.source.since_field == "auto":
                state.since_field = "timestamp"
                save_state(self.lake, state)
        summary.since_field = state.since_field

    def _note(self, summary: PullSummary, message: str) -> None:
        summary.notes.append(message)
        log.warning("%s: %s", self.source.id, message)

    # -- the query ---------------------------------------------------------------------------

    def _start_query(self, state: PullState, summary: PullSummary) -> _Query:
        if state.cursor is not None:
            cursor = state.cursor
            return _Query(since=cursor.query_since, consistent_through=cursor.consistent_through,
                          max_stored=cursor.max_stored, max_timestamp=cursor.max_timestamp, resumed=True)
        if state.since_field == "timestamp":
            if self.source.late_arrival is None or state.timestamp_watermark is None:
                if state.timestamp_watermark is not None:
                    self._note(summary, "this LRS filters `since` on timestamp and late_arrival is not set: "
                                        "re-scanning everything (set late_arrival to trade safety for speed)")
                return _Query(None)
            return _Query(state.timestamp_watermark - self.source.late_arrival)
        if state.stored_watermark is None:
            return _Query(None)
        # Until the probe has told how `since` is compared, assume the worse of the two fields:
        # an LRS filtering on timestamp must still see everything stored since the watermark.
        start = state.stored_watermark
        if state.since_field == "unknown" and state.timestamp_watermark is not None:
            start = min(start, state.timestamp_watermark)
        return _Query(start - self.source.overlap)

    def _pages(self, state: PullState, query: _Query, summary: PullSummary) -> Iterator[Page]:
        page = None
        if state.cursor is not None:
            try:
                page = self.client.follow(state.cursor.more)
            except MoreLinkExpired:
                summary.restarts += 1
                log.warning("%s: the saved cursor expired; restarting the query from the watermark", self.source.id)
        if page is None:
            page = self.client.query(query.since)
        while True:
            yield page
            if not page.more:
                return
            try:
                page = self.client.follow(page.more)
            except MoreLinkExpired:
                summary.restarts += 1
                if summary.restarts > MAX_RESTARTS:
                    raise
                log.warning("%s: a more link expired; restarting the query from since=%s", self.source.id, query.since)
                page = self.client.query(query.since)

    @staticmethod
    def _records(page: Page, query: _Query) -> Iterator[tuple[str, RawRecord]]:
        for record in page_records(page.statements):
            query.observe(record.value)
            yield page.url, record

    def _commit(self, batch: Batch, summary: PullSummary) -> None:
        summary.counts.add(self.ingestor.commit(batch))
        summary.batch_ids.append(batch.batch_id)
        if self.on_progress:
            self.on_progress(summary)

    def _advance(self, state: PullState, query: _Query, page: Page) -> None:
        """Move the watermark over what is now committed, and remember where to resume."""
        finished = not page.more
        if finished or (query.in_stored_order and state.sends_consistent_through and state.since_field != "timestamp"):
            candidate = query.max_stored
            if candidate is not None and query.consistent_through is not None:
                candidate = min(candidate, query.consistent_through)
            if candidate is not None and (state.stored_watermark is None or candidate > state.stored_watermark):
                state.stored_watermark = candidate
        if finished:
            # a client clock running ahead must not push the timestamp watermark into the future
            latest = min(filter(None, (query.max_timestamp, query.max_stored, datetime.now(UTC))))
            if query.max_timestamp is not None and (state.timestamp_watermark is None or latest > state.timestamp_watermark):
                state.timestamp_watermark = latest
            state.cursor = None
        else:
            state.cursor = Cursor(more=page.more, query_since=query.since, max_stored=query.max_stored,
                                  max_timestamp=query.max_timestamp, consistent_through=query.consistent_through)
        state.updated_at = datetime.now(UTC)
        save_state(self.lake, state)


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


def pull(source: Source, lake: Lake, client: LRSClient, budget: Budget = NO_BUDGET,
         on_progress: Callable[[PullSummary], None] | None = None) -> PullSummary:
    """Pull new statements of ``source`` into ``lake``: the function the CLI and the DAG call."""
    return Puller(source, lake, client, budget, on_progress).run()

