"""The steps the Airflow DAGs run, as plain functions with JSON-able inputs and outputs.

Each DAG task is one call here, so the DAG files hold only scheduling, and every step can be
run and tested without Airflow. Return values become XComs: they carry counts and batch ids,
never a URL with credentials, a raw statement or a teacher's identity.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any

from xapi_ingest.app.settings import Settings
from xapi_ingest.lake.remote import working_lake as _working_lake
from xapi_ingest.lake.store import Lake
from xapi_ingest.lake.voids import apply_voids
from xapi_ingest.publish.privacy import Pseudonymizer, load_key, publish
from xapi_ingest.pull.runner import pull_source_id
from xapi_ingest.pull.sources import load_sources

log = logging.getLogger(__name__)

STATEMENTS_ASSET = "xapi_statements_lake"  # the Asset the ingest DAG updates and the analytics DAG waits for


class SourcesFailed(RuntimeError):
    pass


def working_lake(settings: Settings, *, write: bool = True) -> AbstractContextManager[Lake]:
    return _working_lake(settings.lake, write=write, cache_root=settings.lake_cache)


def pseudonymizer(settings: Settings) -> Pseudonymizer:
    key = settings.pseudonym_key.get_secret_value() if settings.pseudonym_key else None
    return Pseudonymizer(load_key(key))


def task_defaults(settings: Settings) -> dict[str, object]:
    """Airflow ``default_args`` shared by both DAGs: bounded retries with back-off and a timeout."""
    return {
        "retries": settings.task_retries,
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "execution_timeout": timedelta(hours=1),
    }


def list_sources(settings: Settings) -> list[str]:
    return [source.id for source in load_sources(settings.sources).sources]


def pull_one(settings: Settings, source_id: str) -> dict[str, object]:
    with working_lake(settings) as lake:
        summary = pull_source_id(settings.sources, lake.root, source_id,
                                 max_pages=settings.pull_max_pages, max_minutes=settings.pull_max_minutes)
    if summary.backlog_remaining:
        log.warning("%s: the run budget ran out; the next run continues from the saved cursor", source_id)
    return summary.as_dict()


def check_and_publish(settings: Settings, summaries: list[dict[str, Any]]) -> dict[str, object]:
    """Check every batch not yet published, then publish those that passed to the analyst zone.

    Checking all pending batches, not just this run's, also covers batches a crashed run
    committed but never checked. A batch that fails a critical expectation stays in the
    restricted zone, held from publication. The task fails, naming the expectation and example
    rows, only for batches newly held by this run: a batch already held by an earlier run is
    reported but does not fail every later run (and so stop the analytics for all sources)
    until someone releases it.
    """
    from xapi_ingest.lake.holds import BatchHolds
    from xapi_ingest.lake.ingest import settle_repeated_ids
    from xapi_ingest.quality.gate import QualityGateError, check_batches

    with working_lake(settings) as lake:
        repeats = settle_repeated_ids(lake)  # concurrent pulls on separate caches may store one statement twice
        if repeats.removed:
            log.info("removed %d later copies of statements stored by more than one source (%d with different "
                     "content, quarantined as lake.id-conflict)", repeats.removed, repeats.conflicts)
        held_before = set(BatchHolds(lake).held())
        gate_error: QualityGateError | None = None
        try:
            report = check_batches(lake.root, None, settings.reports, suite_path=settings.suite_path)
        except QualityGateError as exc:
            gate_error, report = exc, exc.report
        published = publish(lake, pseudonymizer(settings))
    still_held = sorted(batch.batch_id for batch in report.failed_batches if batch.batch_id in held_before)
    if still_held:
        log.warning("%d batch(es) held by earlier runs are still unpublished: %s; inspect them, then "
                    "'xapi-pipeline release --lake LAKE --batch ID'", len(still_held), ", ".join(still_held))
    if gate_error is not None and len(still_held) < len(report.failed_batches):
        raise gate_error
    pulled = sum(int(summary.get("counts", {}).get("read", 0)) for summary in summaries)
    return {"statements_pulled": pulled, "published_files": len(published), "still_held": still_held,
            "repeated_ids_removed": repeats.removed, "repeated_id_conflicts": repeats.conflicts, **report.as_dict()}


def require_all_pulled(source_ids: list[str], summaries: list[dict[str, Any]]) -> None:
    """Fail the run (after the others finished) when any source's pull task failed."""
    pulled = {summary["source"] for summary in summaries}
    missing = sorted(set(source_ids) - pulled)
    if missing:
        raise SourcesFailed(f"{len(missing)} of {len(source_ids)} source(s) failed to pull: {', '.join(missing)}; "
                            "their tasks' logs say why, and the next run retries them from their watermarks")


def apply_lake_voids(settings: Settings) -> dict[str, object]:
    with working_lake(settings) as lake:
        return asdict(apply_voids(lake))


def run_sequences(settings: Settings) -> dict[str, object]:
    from transforms.sequences.run import run_sequences as sequences

    with working_lake(settings, write=False) as lake:
        return sequences(lake.root, settings.sequences_scheme, settings.reports / "sequences").as_dict()


def run_credit(settings: Settings) -> dict[str, object]:
    from transforms.credit.run import run_credit as credit

    with working_lake(settings, write=False) as lake:
        summary = credit(lake.root, settings.credit_policy, settings.credit_registry, settings.credit_roster,
                         settings.reports / "credit")
    for line in summary.lines():
        log.info("%s", line)
    return {key: str(value) if isinstance(value, Path) else value for key, value in asdict(summary).items()}
