"""The steps the Airflow DAGs run, as plain functions with JSON-able inputs and outputs.

Each DAG task is one call here, so the DAG files hold only scheduling, and every step can be
run and tested without Airflow. Return values become XComs: they carry counts and batch ids,
never a URL with credentials, a raw statement or a teacher's identity.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from transforms.plugins.api import Outcome, RunContext
from transforms.plugins.deployment import Deployment
from transforms.plugins.discovery import find
from xapi_ingest.app.settings import Settings
from xapi_ingest.lake.store import Lake
from xapi_ingest.lake.voids import apply_voids
from xapi_ingest.publish.privacy import Pseudonymizer, load_key, publish, unpublished_unchecked
from xapi_ingest.publish.teachers import RosterLookup
from xapi_ingest.pull.runner import pull_source_id
from xapi_ingest.pull.sources import load_sources

if TYPE_CHECKING:  # Great Expectations takes seconds to import: only the gate's callers pay for it
    import pyarrow as pa

    from xapi_ingest.quality.gate import QualityGateError, QualityReport

log = logging.getLogger(__name__)

STATEMENTS_ASSET = "xapi_statements_lake"  # the Asset the ingest DAG updates and the analytics DAG waits for


class SourcesFailed(RuntimeError):
    pass


def pseudonymizer(settings: Settings) -> Pseudonymizer:
    """The key, and the roster credit reads (``XAPI_CREDIT_ROSTER``), so the analyst zone's
    teacher keys resolve the same people as credit; without a roster they are null."""
    key = settings.pseudonym_key.get_secret_value() if settings.pseudonym_key else None
    keyed = load_key(key)
    roster = settings.optional_file("credit_roster")
    return Pseudonymizer(keyed, settings.analyst_drop_extensions, RosterLookup.load(roster) if roster else None)


def dag_defaults(settings: Settings) -> dict[str, object]:
    """What both DAGs share: no catch-up and one run at a time (pulls start from watermarks, not
    data intervals), and task defaults of bounded retries with back-off and a timeout."""
    return {
        "start_date": datetime(2026, 1, 1),
        "catchup": False,
        "max_active_runs": 1,
        "default_args": {
            "retries": settings.task_retries,
            "retry_delay": timedelta(minutes=2),
            "retry_exponential_backoff": True,
            "execution_timeout": timedelta(hours=1),
        },
    }


def list_sources(settings: Settings) -> list[str]:
    return [source.id for source in load_sources(settings.file("sources")).sources]


def pull_one(settings: Settings, source_id: str) -> dict[str, object]:
    summary = pull_source_id(settings.file("sources"), settings.open_lake(), source_id,
                             max_pages=settings.pull_max_pages, max_minutes=settings.pull_max_minutes)
    if summary.backlog_remaining:
        log.warning("%s: the run budget ran out; the next run continues from the saved cursor", source_id)
    return summary.as_dict()


def quality_reports(settings: Settings) -> Path | None:
    """Where a command writes gate reports: ``XAPI_REPORTS`` when set, else the lake's ``_quality/reports``."""
    return settings.reports if "reports" in settings.model_fields_set else None


@dataclass
class Publication:
    """What :func:`gate_then_publish` did: the gate's verdict (None when skipped) and the batches published."""

    report: QualityReport | None
    gate_error: QualityGateError | None
    published: list[str]
    unchecked_published: int = 0  # batches published without a check (the gate was skipped)


def gate_then_publish(lake: Lake, settings: Settings, *, reports: Path | None = None,
                      skip_gate: bool = False, fresh: pa.Table | None = None) -> Publication:
    """Check every unchecked batch, then publish what passed: the one way data reaches analysts.

    ``skip_gate`` publishes unchecked batches too and counts them, so the caller can say so; the
    next check still finds them and withdraws a batch that fails. ``fresh`` is the statement rows
    of a batch this process just committed (:attr:`Ingestor.last_written
    <xapi_ingest.lake.ingest.Ingestor.last_written>`): published from memory, not read back. Raises
    :class:`~xapi_ingest.publish.privacy.MissingKeyError` before checking when there is no key.
    """
    from xapi_ingest.quality.gate import QualityGateError, check_batches

    keyed = pseudonymizer(settings)
    if skip_gate:
        unchecked = {batch.batch_id for batch in unpublished_unchecked(lake)}
        published = publish(lake, keyed, include_unchecked=True, fresh=fresh)
        return Publication(None, None, published, sum(batch in unchecked for batch in published))
    gate_error: QualityGateError | None = None
    try:
        report = check_batches(lake, None, reports, suite_path=settings.suite_path)
    except QualityGateError as exc:
        gate_error, report = exc, exc.report
    return Publication(report, gate_error, publish(lake, keyed, fresh=fresh))


def check_and_publish(settings: Settings, summaries: list[dict[str, Any]]) -> dict[str, object]:
    """Check every batch not yet checked, then publish those that passed to the analyst zone.

    Checking all unchecked batches, not just this run's, also covers batches a crashed run
    committed but never checked, and batches published by a command that skipped the gate. A
    batch that fails a critical expectation stays in the restricted zone, held from
    publication (and withdrawn from the analyst zone if it was there). The task fails, naming
    the expectation and example rows, only for batches newly held by this run: a batch already
    held by an earlier run is reported but does not fail every later run (and so stop the
    analytics for all sources) until someone releases it.
    """
    from xapi_ingest.lake.holds import BatchHolds

    lake = settings.open_lake()
    held_before = set(BatchHolds(lake).held())
    outcome = gate_then_publish(lake, settings, reports=settings.reports)
    still_held = sorted(held_before & set(BatchHolds(lake).held()))
    report, gate_error = outcome.report, outcome.gate_error
    assert report is not None  # the gate ran
    if still_held:
        log.warning("%d batch(es) held by earlier runs are still unpublished: %s; inspect them, then "
                    "'xapi-pipeline release --lake LAKE --batch ID'", len(still_held), ", ".join(still_held))
    if gate_error is not None and any(batch.batch_id not in held_before for batch in report.failed_batches):
        raise gate_error  # a batch of this run is newly held
    pulled = sum(int(summary.get("counts", {}).get("read", 0)) for summary in summaries)
    return {"statements_pulled": pulled, "published_batches": len(outcome.published), "still_held": still_held,
            **report.as_dict()}


def require_all_pulled(source_ids: list[str], summaries: list[dict[str, Any]]) -> None:
    """Fail the run (after the others finished) when any source's pull task failed."""
    pulled = {summary["source"] for summary in summaries}
    missing = sorted(set(source_ids) - pulled)
    if missing:
        raise SourcesFailed(f"{len(missing)} of {len(source_ids)} source(s) failed to pull: {', '.join(missing)}; "
                            "their tasks' logs say why, and the next run retries them from their watermarks")


def apply_lake_voids(settings: Settings) -> dict[str, object]:
    return asdict(apply_voids(settings.open_lake()))


def compact_lake(settings: Settings) -> list[dict[str, object]]:
    from xapi_ingest.lake.maintenance import compact

    return [asdict(result) for result in compact(settings.open_lake())]


def analytics_deployment(settings: Settings) -> Deployment:
    """The plugins ``XAPI_ANALYTICS`` enables; without that file, credit and sequences configured by
    the older settings, so a deployment that never wrote one runs what it always ran, and the
    learning network over the same roster."""
    path = settings.optional_file("analytics")
    if path is not None:
        return Deployment.load(path)
    return Deployment.of({
        "credit": {"policy": settings.credit_policy, "registry": settings.credit_registry,
                   "roster": settings.credit_roster, "out": settings.reports / "credit"},
        "sequences": {"scheme": settings.sequences_scheme, "out": settings.reports / "sequences"},
        "network": {"roster": settings.credit_roster, "out": settings.reports / "network",
                    "reports": _credit_report_languages(settings)},
    }, source=f"XAPI_CREDIT_*, XAPI_SEQUENCES_SCHEME and XAPI_REPORTS (there is no XAPI_ANALYTICS={str(settings.analytics)!r})")


def _credit_report_languages(settings: Settings) -> dict[str, object]:
    """Each institution's language as the credit policy sets it, so its network page reads like its credit
    report; the defaults when the policy cannot be read (credit's own task then says why)."""
    from transforms.credit.policy import load_policy
    from xapi_ingest.common.config import ConfigError

    try:
        return load_policy(settings.credit_policy).reports.model_dump()
    except (ConfigError, OSError):
        return {}


def analytics_asset(name: str) -> str:
    """The Asset a plugin's outputs update, so downstream DAGs can follow one analysis."""
    return f"xapi_analytics_{name}"


def enabled_analytics(settings: Settings) -> list[str]:
    return list(analytics_deployment(settings).enabled)


def plugin_pseudonyms(settings: Settings) -> Pseudonymizer | None:
    """The analyst zone's key for plugins that write people; None without a key (a plugin that needs one says so)."""
    return Pseudonymizer(load_key(settings.pseudonym_key.get_secret_value())) if settings.pseudonym_key else None


def run_plugin(lake: Lake, deployment: Deployment, name: str, pseudonyms: Pseudonymizer | None = None) -> Outcome:
    """Load plugin ``name``, validate its options, and run it on the lake as it is now.

    Raises :class:`~transforms.plugins.discovery.PluginError` or
    :class:`~xapi_ingest.common.config.ConfigError` (one line each) before reading any data.
    """
    plugin = find(name)
    config = deployment.config(plugin)
    if not lake.exists():
        raise FileNotFoundError(f"no lake at {lake.name}: ingest or pull statements into it first")
    return plugin.run(RunContext(lake, plugin.reads, plugin.name, plugin.version, lake.snapshot_ids(), pseudonyms),
                      config)


def run_analytics(settings: Settings, name: str) -> dict[str, object]:
    """One DAG task: one plugin, its lines logged, its outcome the XCom."""
    outcome = run_plugin(settings.open_lake(), analytics_deployment(settings), name, plugin_pseudonyms(settings))
    for line in outcome.lines:
        log.info("%s", line)
    for warning in outcome.warnings:
        log.warning("%s", warning)
    return outcome.as_dict()
