"""Worker processes that judge records while one process commits: what file ingests and pulls share.

Decoding, validation and flattening cost several times what committing does (issue 13), so they
run in worker processes; the one process that holds the lake gathers their :class:`Part`\\ s and
commits them in order (:func:`commit_parts`). A worker judges with the same
:meth:`Ingestor.add <xapi_ingest.lake.ingest.Ingestor.add>` as a single process does, so where a
record was judged never changes the lake. It also computes the rows' content digests, which the
writer would otherwise compute for every statement.

Workers start from a ``forkserver``: forking a process that runs threads (Airflow's task runner,
the catalog's connection pool, the puller's page fetcher) can copy a held lock. They import what
judging needs, not the storage stack.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib.machinery import ModuleSpec
from typing import TypeVar

import pyarrow as pa

from xapi_ingest.lake.digest import with_digests
from xapi_ingest.lake.ingest import Batch, IngestCounts, Ingestor, Quarantine
from xapi_ingest.xapi.reader import RawRecord
from xapi_ingest.xapi.validator import ValidationMode

J = TypeVar("J")
R = TypeVar("R")


@dataclass(frozen=True)
class Part:
    """Verdicts on some records of one batch: their statement rows (with digests) and quarantine rows."""

    statements: pa.Table
    quarantine: list[dict[str, object]]
    read: int


@dataclass(frozen=True)
class Judging:
    """How one source's records are judged: what a worker needs to judge them as the committing process would."""

    source: str
    mode: ValidationMode
    tolerate: frozenset[str]

    @classmethod
    def of(cls, ingestor: Ingestor) -> Judging:
        return cls(ingestor.source, ingestor.validator.mode, ingestor.tolerate)

    def part(self, batch_id: str, ingested_at: datetime, origin: str, records: Iterable[RawRecord]) -> Part:
        """Judge ``records`` into rows of the batch ``batch_id`` (stamped ``ingested_at`` by the process that
        started it, as several processes may fill one batch)."""
        ingestor = _judging_ingestor(self)
        batch = Batch(self.source, batch_id, ingested_at)
        for record in records:
            ingestor.add(batch, origin, record)
        return Part(with_digests(batch.columns.to_table()), batch.quarantine.rows, batch.read)


@cache
def _judging_ingestor(judging: Judging) -> Ingestor:
    return Ingestor(None, judging.source, judging.mode, judging.tolerate)


def commit_parts(ingestor: Ingestor, batch_id: str, ingested_at: datetime, parts: list[Part]) -> IngestCounts:
    """Commit the parts of one batch, in their order, as one batch."""
    quarantine = Quarantine(ingestor.source, batch_id, ingested_at)
    quarantine.rows = [row for part in parts for row in part.quarantine]
    statements = pa.concat_tables([part.statements for part in parts])
    return ingestor.commit_rows(statements, quarantine, sum(part.read for part in parts))


def spare_cores() -> int:
    """Cores this process may use that nothing else keeps busy: beyond the one it runs on, less the
    recent load (on a shared machine, or one that also runs the LRS, a worker would only take
    turns with this process for the same cores)."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    busy = round(os.getloadavg()[0]) if hasattr(os, "getloadavg") else 0
    return max(0, usable - max(1, busy))


class WorkerPool:
    """Judging processes started from a forkserver that has imported ``preload`` once."""

    def __init__(self, workers: int, preload: str) -> None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([preload])
        self.executor = ProcessPoolExecutor(workers, mp_context=context)
        self.ready = threading.Event()  # set once a worker has answered (see start_in_background)
        self.failure: BaseException | None = None  # why the workers could not start

    def submit(self, function: Callable[[J], R], job: J) -> Future[R]:
        """Send ``job`` to a worker; the first submits start the processes (a second or more under load)."""
        with _main_not_imported_by_workers():
            return self.executor.submit(function, job)

    def start_in_background(self) -> None:
        """Start the workers in a thread, so the caller can judge records itself until :attr:`ready` is set."""
        def start() -> None:
            try:
                self.submit(int, 0).result()
            except Exception as exc:  # a forkserver that cannot start, a worker that dies: the caller keeps judging
                self.failure = exc
            self.ready.set()

        threading.Thread(target=start, name="worker-start", daemon=True).start()

    def close(self) -> None:
        """Stop the workers; jobs not started are dropped (the caller stopped wanting them)."""
        self.executor.shutdown(wait=True, cancel_futures=True)


@contextmanager
def _main_not_imported_by_workers() -> Iterator[None]:
    """Start workers without running the program that started them again.

    A new process re-imports the parent's main script (as ``__mp_main__``) unless the main module
    is named ``__main__``; for ``xapi-pipeline`` that is the whole CLI, for Airflow its task runner.
    The workers need only the judging modules, so while they start the main module says it is ``__main__``.
    """
    with _MAIN_SPEC_LOCK:  # one process-wide attribute: two threads starting workers must not interleave
        main = sys.modules["__main__"]
        spec = getattr(main, "__spec__", None)
        main.__spec__ = ModuleSpec("__main__", None)
        try:
            yield
        finally:
            main.__spec__ = spec


_MAIN_SPEC_LOCK = threading.Lock()
