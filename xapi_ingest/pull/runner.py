"""Pull configured sources by id: the entry point shared by ``xapi-pipeline pull`` and the ingest DAG.

Every source, whatever its kind, is pulled by its kind's ``pull`` (:mod:`xapi_ingest.pull.kinds`).
One source failing (an LRS down past the retry budget, missing credentials, an unreachable bucket)
must not stop the others, so :func:`pull_sources` reports failures per source; the DAG instead
runs one mapped task per source with :func:`pull_source_id`, which raises, so Airflow retries just
that source.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from pathlib import Path

from xapi_ingest.lake.store import Lake
from xapi_ingest.pull.kinds import Progress, SourceConfig, find_kind
from xapi_ingest.pull.sources import load_sources
from xapi_ingest.pull.summary import NO_BUDGET, Budget, PullSummary

log = logging.getLogger(__name__)


def _budget(max_pages: int | None, max_minutes: float | None) -> Budget:
    return Budget(max_pages=max_pages, max_seconds=max_minutes * 60 if max_minutes is not None else None)


def pull_source(source: SourceConfig, lake: Lake, budget: Budget = NO_BUDGET, progress: bool = False) -> PullSummary:
    kind = find_kind(source.kind)
    with ExitStack() as stack:
        on_progress: Progress | None = None
        if progress:
            from rich.progress import Progress as Bar
            from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

            bar = stack.enter_context(Bar(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                                          transient=True))
            task = bar.add_task(f"pulling {source.id}")

            def on_progress(summary: PullSummary) -> None:
                bar.update(task, description=f"pulling {source.id}: {summary.progress()}")
        summary = kind.pull(source, lake, budget, on_progress)
    log.info("%s: %s", source.id, summary.as_dict())
    return summary


def pull_source_id(config: Path | str, lake: Lake, source_id: str,
                   max_pages: int | None = None, max_minutes: float | None = None) -> PullSummary:
    """Pull one source; raises on failure (the Airflow task's contract)."""
    source = load_sources(config).get(source_id)
    return pull_source(source, lake, _budget(max_pages, max_minutes))


def pull_sources(config: Path | str, lake: Lake, source_ids: list[str] | None = None, *,
                 max_pages: int | None = None, max_minutes: float | None = None,
                 progress: bool = False) -> tuple[list[PullSummary], list[tuple[str, str]]]:
    """Pull several sources one after another; returns the summaries and ``(source, error)`` failures."""
    sources = load_sources(config)
    selected = [sources.get(i) for i in source_ids] if source_ids else list(sources.sources)
    summaries, failures = [], []
    for source in selected:
        try:
            summaries.append(pull_source(source, lake, _budget(max_pages, max_minutes), progress))
        except Exception as exc:  # one source's failure must not stop the others
            # their messages say it all; others need the traceback
            expected = isinstance(exc, (OSError, *find_kind(source.kind).expected_errors))
            log.error("%s: pull failed: %s", source.id, exc, exc_info=not expected)
            failures.append((source.id, str(exc) if expected else f"{type(exc).__name__}: {exc}"))
    return summaries, failures
