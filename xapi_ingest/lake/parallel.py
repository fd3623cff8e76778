"""Ingest a large NDJSON file on every core: worker processes judge slices of it, one writer commits.

Reading, decoding, validation and flattening cost several times what committing does (issue 13),
so they run in a pool of worker processes while the main process, the only one that holds the
lake, commits each batch in file order. The result is the single-process ingest's, row for row:
the same batches (``batch_size`` records each, the same ids), the same line numbers and record
indexes (quarantine keys depend on them), the same counts.

How the file is cut: the main process scans its bytes for line breaks, without parsing JSON (a C
``splitlines`` and a strip per line), and cuts slices of whole lines holding at most
``records_per_slice`` records, never across a batch boundary. Each slice carries the number of
lines and records before it, so a worker reads its own byte range and numbers its records as the
whole file's reader would (:func:`~xapi_ingest.xapi.reader.read_ndjson_lines`), then judges them
with :meth:`Ingestor.add <xapi_ingest.lake.ingest.Ingestor.add>` into a :class:`Batch` and sends
back its Arrow table and quarantine rows. Line breaks are ``\\n``, ``\\r\\n`` and a lone ``\\r``,
as the text reader has them; a slice ends after a line break, so a multi-byte character is never
split (UTF-8 never uses the bytes of ``\\n`` or ``\\r`` inside a character).

What stays on one process: a gzip file, a JSON array and concatenated objects (finding where one
element ends is the parsing itself), a file of a single slice (starting processes would cost more
than it saves) and a file that is not UTF-8 throughout (the reader's report of where it breaks
off depends on how its decoder happens to buffer, which slices cannot reproduce). The scan checks
the encoding before any work starts.

Memory: at most ``2 × workers`` slices are in flight, plus the parts of the batch being gathered;
the plan itself is a few numbers per slice. The pool, and how a worker judges, are
:mod:`~xapi_ingest.lake.workers`'s, shared with the LRS puller.
"""

from __future__ import annotations

import io
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from xapi_ingest.lake.ingest import IngestCounts, Ingestor, new_batch_id
from xapi_ingest.lake.workers import Judging, Part, WorkerPool, commit_parts
from xapi_ingest.xapi.decode import MALFORMED, decode_statement
from xapi_ingest.xapi.reader import RawRecord, open_text, read_ndjson_lines

RECORDS_PER_SLICE = 5_000  # a few MB of statements: worth a round trip, small enough to keep every core busy
_READ = 8 << 20
_BOM = b"\xef\xbb\xbf"
_GZIP = b"\x1f\x8b"


@dataclass(frozen=True)
class Slice:
    """Bytes ``[start, end)`` of the file: whole lines, with the lines and records that come before."""

    start: int
    end: int
    lines_before: int
    records_before: int
    records: int


@dataclass(frozen=True)
class Job:
    """What one worker needs to judge one slice as the single-process ingest would."""

    path: str
    origin: str
    slice: Slice
    batch_id: str
    ingested_at: datetime
    judging: Judging


def ingest_file(
    ingestor: Ingestor,
    path: Path,
    workers: int,
    records: Callable[[], Iterable[tuple[str, RawRecord]]],
    *,
    batch_id: str | None = None,
    on_batch: Callable[[IngestCounts], None] | None = None,
    records_per_slice: int = RECORDS_PER_SLICE,
) -> IngestCounts:
    """Ingest ``path`` with ``workers`` processes where it can be cut into slices, else on this one.

    ``records`` gives the single-process path's ``(origin, record)`` pairs for ``path`` (a caller
    may wrap the reader, e.g. to note where the input breaks off); it is used whenever the file
    is not cut. Either way the lake ends up the same.
    """
    slices = plan_slices(path, ingestor.batch_size, records_per_slice) if workers > 1 else None
    if slices is None or len(slices) < 2:
        return ingestor.ingest(records(), batch_id, on_batch)
    started = time.perf_counter()
    writer = _Writer(ingestor, batch_id or new_batch_id(), on_batch)
    pool = WorkerPool(min(workers, len(slices)), __name__)  # this module is imported once in the forkserver
    try:
        in_flight: deque[tuple[Slice, Future[Part]]] = deque()
        for number, part in enumerate(slices):
            in_flight.append((part, pool.submit(judge, writer.job(path, part))))
            if number == 0:
                writer.prepare()
            if len(in_flight) >= 2 * workers:
                writer.take(*_result(in_flight.popleft()))
        while in_flight:
            writer.take(*_result(in_flight.popleft()))
    finally:
        pool.close()
    total = writer.finish()
    total.elapsed_seconds = time.perf_counter() - started
    return total


def _result(pending: tuple[Slice, Future[Part]]) -> tuple[Slice, Part]:
    part, future = pending
    return part, future.result()


class _Writer:
    """Gathers each batch's parts in file order and commits the batch once it is whole."""

    def __init__(self, ingestor: Ingestor, batch_id: str, on_batch: Callable[[IngestCounts], None] | None) -> None:
        self.ingestor, self.batch_id, self.on_batch = ingestor, batch_id, on_batch
        self.batches: dict[int, tuple[str, datetime]] = {}  # batch number -> its id and ingest time
        self.number: int | None = None  # the batch being gathered
        self.parts: list[Part] = []
        self.total = IngestCounts()

    def job(self, path: Path, part: Slice) -> Job:
        number = part.records_before // self.ingestor.batch_size
        if number not in self.batches:  # stamped when its first slice is sent, as a batch is when it starts
            self.batches[number] = (f"{self.batch_id}-{number:05d}", datetime.now(UTC))
        batch_id, ingested_at = self.batches[number]
        return Job(str(path.resolve()), str(path), part, batch_id, ingested_at, Judging.of(self.ingestor))

    def prepare(self) -> None:
        """Open the catalog (and import the storage stack, seconds under load) while the workers start,
        rather than at the first commit, when they would wait for the writer."""
        if self.ingestor.lake is not None:
            _ = self.ingestor.lake.catalog

    def take(self, part: Slice, result: Part) -> None:
        if result.read != part.records:
            raise RuntimeError(f"a slice read {result.read} records where the scan found {part.records}: "
                               "the file changed while it was ingested")
        number = part.records_before // self.ingestor.batch_size
        if self.number is not None and number != self.number:
            self._commit()
            if self.on_batch:
                self.on_batch(self.total)
        self.number = number
        self.parts.append(result)

    def finish(self) -> IngestCounts:
        if self.parts:
            self._commit()
        return self.total

    def _commit(self) -> None:
        assert self.number is not None
        batch_id, ingested_at = self.batches.pop(self.number)
        self.total.add(commit_parts(self.ingestor, batch_id, ingested_at, self.parts))
        self.parts = []


def judge(job: Job) -> Part:
    """In a worker: read one slice's bytes and judge its records into one batch's rows."""
    return job.judging.part(job.batch_id, job.ingested_at, job.origin, slice_records(Path(job.path), job.slice))


def slice_records(path: Path, part: Slice) -> Iterator[RawRecord]:
    """The records of one slice, numbered as the reader numbers them in the whole file."""
    with open(path, "rb") as data:
        data.seek(part.start)
        text = data.read(part.end - part.start).decode("utf-8")
    lines = io.StringIO(text, newline="")  # splits lines exactly as the file reader's text stream does
    return read_ndjson_lines(lines, lines_before=part.lines_before, records_before=part.records_before)


def plan_slices(path: Path, batch_size: int, records_per_slice: int, *, read_size: int = _READ) -> list[Slice] | None:
    """The slices of a plain NDJSON file that is UTF-8 throughout; None for any other input.

    The file is scanned ``read_size`` bytes at a time (a line may span reads).
    """
    start = ndjson_start(path)
    if start is None:
        return None
    slices: list[Slice] = []
    lines = records = 0  # before the current position
    first = (start, 0, 0)  # where the current slice starts: byte, lines and records before it
    position = start
    for piece in _lines(path, start, read_size):
        if piece is None:
            return None  # not UTF-8
        position += len(piece)
        lines += 1
        if _blank(piece):
            continue
        records += 1
        in_slice = records - first[2]
        if in_slice == records_per_slice or records % batch_size == 0:
            slices.append(Slice(first[0], position, first[1], first[2], in_slice))
            first = (position, lines, records)
    if records > first[2]:
        slices.append(Slice(first[0], position, first[1], first[2], records - first[2]))
    return slices


def ndjson_start(path: Path) -> int | None:
    """Where the lines of a plain NDJSON file start (after a byte-order mark), or None.

    Decided as the reader decides: the first line that is not blank is a whole JSON value and
    starts with '{'. (The reader also takes a file as NDJSON when that line is broken and the next
    starts with '{'; such a file keeps the single-process path.)
    """
    try:
        with open(path, "rb") as raw:
            head = raw.read(len(_BOM))
        if head.startswith(_GZIP):
            return None
        with open_text(path) as text:
            first = text.readline()
            while first and not first.strip():
                first = text.readline()
    except (OSError, UnicodeDecodeError):
        return None
    if not first.lstrip(" \t\r\n").startswith("{") or decode_statement(first).rule == MALFORMED:
        return None
    return len(_BOM) if head == _BOM else 0


def _lines(path: Path, start: int, read_size: int) -> Iterator[bytes | None]:
    """The file's lines from ``start`` with their line breaks; None (and the end) where it is not UTF-8."""
    with open(path, "rb") as data:
        data.seek(start)
        carry = b""
        while True:
            block = data.read(read_size)
            pieces = (carry + block).splitlines(keepends=True)
            carry = b""
            if block and pieces and not pieces[-1].endswith(b"\n"):
                carry = pieces.pop()  # an unfinished line, or a '\r' whose '\n' may be in the next block
            whole = b"".join(pieces)
            if not whole.isascii():
                try:
                    whole.decode("utf-8")
                except UnicodeDecodeError:
                    yield None
                    return
            yield from pieces
            if not block:
                return


def _blank(line: bytes) -> bool:
    """Whether the reader skips this line (``str.strip`` leaves nothing), mostly without decoding it."""
    stripped = line.strip()
    if not stripped:
        return True
    if stripped[0] < 0x80 and not 0x1C <= stripped[0] <= 0x1F:  # not white space to str.strip either
        return False
    return not line.decode("utf-8").strip()
