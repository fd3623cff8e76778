"""What every source kind's pull is given (a :class:`Budget`) and returns (a :class:`PullSummary`).

Kept apart from the LRS puller so that a source kind needs neither the HTTP client nor the page
judging to describe what it did.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

from xapi_ingest.lake.ingest import IngestCounts


@dataclass(frozen=True)
class Budget:
    """How much one run may do, so a large backlog is caught up over several scheduled runs.
    A files source counts each file read as a page."""

    max_pages: int | None = None
    max_seconds: float | None = None

    def exhausted(self, pages: int, started: float) -> bool:
        return (self.max_pages is not None and pages >= self.max_pages) or (
            self.max_seconds is not None and time.monotonic() - started >= self.max_seconds
        )


NO_BUDGET = Budget()


@dataclass
class FileCounts:
    """What a files source did with each file it found; ``failed`` holds ``(name, reason)``."""

    read: int = 0
    skipped: int = 0  # unchanged since it was taken, or still being written
    failed: list[tuple[str, str]] = field(default_factory=list)


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
    files: FileCounts | None = None  # a files source's files; None for an LRS

    @property
    def statements_per_second(self) -> float:
        return self.counts.read / self.elapsed_seconds if self.elapsed_seconds else 0.0

    def as_dict(self) -> dict[str, object]:
        """Plain JSON-able values (an XCom, a log line); holds no URL and no credential."""
        data = asdict(self)
        data["counts"] = self.counts.as_dict()
        data["statements_per_second"] = round(self.statements_per_second, 1)
        if self.files is None:
            del data["files"]
        return data

    def progress(self) -> str:
        """What a progress bar shows while the pull runs."""
        done = f"{self.files.read} file(s)" if self.files is not None else f"{self.pages} pages"
        return f"{done}, {self.counts.read:,} statements"

    def lines(self) -> list[str]:
        """What ``xapi-pipeline pull`` prints: one line, then one per file that could not be read."""
        counts = self.counts
        if self.files is None:
            done = f"{self.pages} page(s), read {counts.read}"
            after = f", retries {self.retries}, restarts {self.restarts}"
            where = f"; watermark {self.watermark_after or 'none'}"
        else:
            done = (f"files read {self.files.read}, skipped {self.files.skipped}, failed {len(self.files.failed)}; "
                    f"statements read {counts.read}")
            after = where = ""
        line = (f"{self.source}: {done}, valid {counts.valid}, tolerated {counts.tolerated}, quarantined "
                f"{counts.quarantined}, duplicates {counts.duplicates}, conflicts {counts.conflicts}{after} in "
                f"{self.elapsed_seconds:.1f} s ({self.statements_per_second:,.0f} statements/s){where}"
                + ("; BACKLOG REMAINS (run again)" if self.backlog_remaining else ""))
        failed = self.files.failed if self.files is not None else []
        return [line, *(f"  {self.source}: {name}: not read: {reason}" for name, reason in failed)]
