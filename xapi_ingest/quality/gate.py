"""Data-quality gate: Great Expectations suites run over each ingest batch before it is published.

The suites are plain GX 1.x JSON files in ``expectations/`` (one per table), so they are
reviewed like code and rendered by GX's own Data Docs. Every expectation carries GX's
``severity``: a failed **critical** expectation holds the batch (:mod:`xapi_ingest.lake.holds`), so
:func:`xapi_ingest.publish.privacy.publish` leaves it out of the analyst zone while the restricted
zone keeps it for inspection; a failed **warning** is recorded and the batch is published.

Validation runs in memory with an ephemeral GX context, so no GX project directory is needed.
Only the validation results are kept, under ``<reports>/gx-validations``, which lets the Data
Docs index under ``<reports>/data_docs`` list every check ever run from that reports folder.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import great_expectations as gx
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

from xapi_ingest.common.atomic import write_text_atomically
from xapi_ingest.lake.holds import BatchHolds, BatchInventory, CommittedBatch
from xapi_ingest.lake.schema import ANALYST_TABLE as ANALYST
from xapi_ingest.lake.schema import UTC_TIMESTAMP
from xapi_ingest.lake.store import Lake, batch_filter
from xapi_ingest.quality.data_docs_offline import build_offline_docs
from xapi_ingest.quality.data_docs_severity import SITE_SECTIONS
from xapi_ingest.quality.suites import Severity, Suite, load_suite

EXAMPLES_PER_FINDING = 5
_ROW_KEY = "statement_id"
_DOCS_SITE = "reports"


@dataclass(frozen=True)
class Finding:
    """One failed expectation, named so that a reader can find it in the suite and the data."""

    check: str
    severity: Severity
    expectation: str
    observed: str
    examples: tuple[str, ...] = ()

    def describe(self) -> str:
        text = f"{self.severity} {self.check} ({self.expectation}): {self.observed}"
        if self.examples:
            text += f"; e.g. {_ROW_KEY} {', '.join(self.examples)}"
        return text


@dataclass
class BatchQuality:
    """The verdict on one batch."""

    batch_id: str
    rows: int
    evaluated: int
    critical: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    withdrawn: int = 0  # committed sub-batches of this failed batch published before the check, now withdrawn

    @property
    def passed(self) -> bool:
        return not self.critical


@dataclass
class QualityReport:
    """What :func:`check_batches` or :func:`validate_table` found, and where the reports are."""

    suite: str
    run_time: datetime
    batches: list[BatchQuality]
    data_docs: Path | None = None
    result_file: Path | None = None
    lake: str | None = None

    @property
    def passed(self) -> bool:
        return all(batch.passed for batch in self.batches)

    @property
    def failed_batches(self) -> list[BatchQuality]:
        return [batch for batch in self.batches if not batch.passed]

    @property
    def critical(self) -> list[Finding]:
        return [finding for batch in self.batches for finding in batch.critical]

    @property
    def warnings(self) -> list[Finding]:
        return [finding for batch in self.batches for finding in batch.warnings]

    def as_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "run_time": self.run_time.isoformat(),
            "passed": self.passed,
            "lake": str(self.lake) if self.lake else None,
            "data_docs": str(self.data_docs) if self.data_docs else None,
            "batches": [{**asdict(batch), "passed": batch.passed} for batch in self.batches],
        }

    def summary(self) -> str:
        lines = []
        for batch in self.batches:
            verdict = "passed" if batch.passed else "HELD (critical failure)"
            where = f" [{', '.join(batch.sources)}]" if batch.sources else ""
            lines.append(f"batch {batch.batch_id}{where}: {batch.rows} rows, {batch.evaluated} expectations, "
                         f"{verdict}, {len(batch.warnings)} warning(s)")
            lines += [f"  {finding.describe()}" for finding in batch.critical + batch.warnings]
        if self.data_docs:
            lines.append(f"Data Docs: {self.data_docs}")
        if self.result_file:
            lines.append(f"result: {self.result_file}")
        return "\n".join(lines)


class QualityGateError(RuntimeError):
    """Raised after a critical failure: the batches are held; the message says what failed and how to go on."""

    def __init__(self, report: QualityReport) -> None:
        self.report = report
        super().__init__(self._message(report))

    def __reduce__(self) -> tuple[type[QualityGateError], tuple[QualityReport]]:
        # Executors may pickle a task's exception; rebuild it from the report, not the message.
        return type(self), (self.report,)

    @staticmethod
    def _message(report: QualityReport) -> str:
        failed = report.failed_batches
        lines = [f"data-quality gate failed (suite {report.suite!r}): {len(failed)} batch(es) held in the restricted "
                 "zone and not published to the analyst zone"]
        lake = report.lake or "LAKE"
        for batch in failed:
            where = f" from {', '.join(batch.sources)}" if batch.sources else ""
            lines.append(f"batch {batch.batch_id}{where} ({batch.rows} rows):")
            lines += [f"  {finding.describe()}" for finding in batch.critical]
            if batch.withdrawn:
                lines.append(f"  withdrawn: {batch.withdrawn} commit(s) of this batch had been published to the analyst "
                             "zone before this check and were deleted from it")
            lines.append(f"  inspect: xapi-pipeline sql --lake {lake} --zone restricted \"SELECT * FROM statements "
                         f"WHERE batch_id LIKE '{batch.batch_id}%'\"")
            lines.append(f"  then re-check (xapi-pipeline check --lake {lake} --batch {batch.batch_id}) "
                         f"or release it (xapi-pipeline release --lake {lake} --batch {batch.batch_id})")
        if report.data_docs:
            lines.append(f"Data Docs: {report.data_docs}")
        if report.result_file:
            lines.append(f"result: {report.result_file}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Running a suite


def _with_derived_columns(table: pa.Table, run_time: datetime) -> pa.Table:
    """Add the columns the suite states relative facts on (documented in the suite's meta)."""
    names = table.column_names
    stored = pc.cast(table["stored"], UTC_TIMESTAMP) if "stored" in names else None
    timestamp = pc.cast(table["timestamp"], UTC_TIMESTAMP) if "timestamp" in names else None
    if stored is not None and timestamp is not None:
        ahead = pc.divide(pc.cast(pc.subtract(timestamp, stored), pa.int64()), 1e6)
        table = table.append_column("timestamp_ahead_seconds", ahead)
    if stored is not None or timestamp is not None:
        moment = stored if timestamp is None else timestamp if stored is None else pc.coalesce(stored, timestamp)
        age = pc.subtract(pa.scalar(run_time, UTC_TIMESTAMP), moment)
        table = table.append_column("age_days", pc.divide(pc.cast(age, pa.int64()), 86_400e6))
    return table


def _frame(data: pa.Table | pd.DataFrame, suite: Suite, run_time: datetime) -> pd.DataFrame:
    """The columns the suite reads, as the pandas frame GX validates."""
    table = data if isinstance(data, pa.Table) else pa.Table.from_pandas(data, preserve_index=False)
    table = _with_derived_columns(table, run_time)
    wanted = [name for name in table.column_names if name in suite.columns | {_ROW_KEY}]
    return table.select(wanted).to_pandas()


def _context(reports_dir: Path | None) -> Any:
    """An ephemeral GX context; with a reports folder, results and Data Docs are written there."""
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
        data_docs_sites={},
    )
    if reports_dir is not None:
        reports_dir = reports_dir.resolve()  # GX's file stores refuse a relative base directory
        config.stores["validation_results_store"] = {
            "class_name": "ValidationResultsStore",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                              "base_directory": str(reports_dir / "gx-validations")},
        }
        config.data_docs_sites = {_DOCS_SITE: {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "site_section_builders": SITE_SECTIONS,
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                              "base_directory": str(reports_dir / "data_docs")},
        }}
    return gx.get_context(project_config=config, mode="ephemeral")


def _exception_message(info: dict[str, Any] | None) -> str | None:
    """GX nests exception details per metric; the first message is enough to act on."""
    if not info:
        return None
    if "raised_exception" in info:
        return info.get("exception_message") if info.get("raised_exception") else None
    messages = [detail.get("exception_message") for detail in info.values()
                if isinstance(detail, dict) and detail.get("raised_exception")]
    return messages[0] if messages else None


def _plain(value: Any) -> str:
    """A readable number or value (GX hands back numpy scalars)."""
    value = value.item() if hasattr(value, "item") else value
    return f"{value:.4g}" if isinstance(value, float) else repr(value) if isinstance(value, str) else str(value)


def _finding(result: Any) -> Finding:
    config = result.expectation_config
    kwargs = config.kwargs
    target = ", ".join(str(kwargs[key]) for key in ("column", "column_A", "column_B") if key in kwargs)
    expectation = f"{config.type}({target})"
    check = config.meta.get("check", config.type)
    error = _exception_message(result.exception_info)
    if error is not None:  # an expectation that cannot run must not pass a batch silently
        return Finding(check, "critical", expectation, f"could not be evaluated: {error}")
    details = result.result or {}
    if "unexpected_count" in details:
        observed = f"{details['unexpected_count']} of {details.get('element_count') or 0} rows"
        if "mostly" in kwargs:
            observed += (f" ({details.get('unexpected_percent') or 0:.1f} % of non-null values, "
                         f"more than the {1 - kwargs['mostly']:.0%} allowed)")
    else:
        observed = f"observed {_plain(details.get('observed_value'))}"
        limits = (("min_value", ">="), ("max_value", "<="))
        bounds = [f"{sign} {_plain(kwargs[key])}" for key, sign in limits if kwargs.get(key) is not None]
        if bounds:
            observed += f", expected {' and '.join(bounds)}"
    examples = list(dict.fromkeys(
        str(row.get(_ROW_KEY)) for row in details.get("partial_unexpected_index_list") or []
        if isinstance(row, dict) and row.get(_ROW_KEY) is not None
    ))[:EXAMPLES_PER_FINDING]
    return Finding(check, config.severity.value, expectation, observed, tuple(examples))


def _validate(
    context: Any, suite: Suite, batches: dict[str, pd.DataFrame], run_time: datetime
) -> dict[str, BatchQuality]:
    gx_suite = context.suites.add(suite.gx_suite())
    asset = context.data_sources.add_pandas("lake").add_dataframe_asset(suite.name)
    definition = context.validation_definitions.add(gx.ValidationDefinition(
        name=f"{suite.name}-batch", data=asset.add_batch_definition_whole_dataframe("batch"), suite=gx_suite,
    ))
    order = {entry["meta"]["check"]: n for n, entry in enumerate(suite.entries)}
    verdicts = {}
    for batch_id, frame in batches.items():
        result = definition.run(
            batch_parameters={"dataframe": frame},
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": 20,
                           "unexpected_index_column_names": [_ROW_KEY]},
            run_id=RunIdentifier(run_name=batch_id, run_time=run_time),
        )
        findings = sorted((_finding(r) for r in result.results if not r.success), key=lambda f: order.get(f.check, 0))
        verdicts[batch_id] = BatchQuality(
            batch_id=batch_id, rows=len(frame), evaluated=len(result.results),
            critical=[f for f in findings if f.severity == "critical"],
            warnings=[f for f in findings if f.severity != "critical"],
        )
    return verdicts


def _write_reports(context: Any, report: QualityReport, reports_dir: Path) -> None:
    # Render only this run's pages (and the suite's): re-rendering every stored result would make
    # each run slower than the last. The index still lists every run kept under the reports folder.
    this_run = [key for key in context.validation_results_store.list_keys()
                if key.run_id.run_time == report.run_time]
    report.data_docs = build_offline_docs(context, _DOCS_SITE, [*this_run, ExpectationSuiteIdentifier(name=report.suite)])
    directory = reports_dir / "quality"
    directory.mkdir(parents=True, exist_ok=True)
    stamp = f"{report.run_time:%Y%m%dT%H%M%S%fZ}"
    report.result_file = directory / f"{report.suite}-{stamp}.json"
    write_text_atomically(json.dumps(report.as_dict(), indent=2, default=str) + "\n", report.result_file)


def _utc(moment: datetime | None) -> datetime:
    """The run time as an aware UTC datetime (a naive one is read as UTC), now by default."""
    if moment is None:
        return datetime.now(UTC)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def validate_table(
    data: pa.Table | pd.DataFrame,
    *,
    batch_id: str = "in-memory",
    suite: Suite | None = None,
    reports_dir: Path | str | None = None,
    run_time: datetime | None = None,
) -> QualityReport:
    """Validate one in-memory batch; with ``reports_dir``, also write Data Docs and a JSON result."""
    suite = suite or load_suite()
    run_time = _utc(run_time)
    reports = Path(reports_dir) if reports_dir is not None else None
    context = _context(reports)
    verdicts = _validate(context, suite, {batch_id: _frame(data, suite, run_time)}, run_time)
    report = QualityReport(suite.name, run_time, list(verdicts.values()))
    if reports is not None:
        _write_reports(context, report, reports)
    return report


# ---------------------------------------------------------------------------------------------
# The lake: batches, holds and the gate


def _record_verdicts(lake: Lake, report: QualityReport, batches: dict[str, list[CommittedBatch]]) -> None:
    """Hold failed batches and withdraw what of them was published; release passed ones; mark all checked."""
    holds = BatchHolds(lake)
    for batch in report.batches:
        if batch.passed:
            holds.release(batch.batch_id)
            continue
        holds.hold(batch.batch_id, {
            "held_at": report.run_time.isoformat(), "suite": report.suite, "rows": batch.rows,
            "critical": [asdict(finding) for finding in batch.critical],
            "result_file": str(report.result_file), "data_docs": str(report.data_docs),
        })
        # every published batch the hold covers, also those checked (and published) before
        published = [b.batch_id for b in BatchInventory(lake).covered([batch.batch_id])[batch.batch_id] if b.published_key]
        if published:
            lake.delete(ANALYST, batch_filter(published), [BatchInventory.set_published(published, None)])
            batch.withdrawn = len(published)
    BatchInventory(lake).mark_checked([b.batch_id for group in batches.values() for b in group],
                                      report.run_time.isoformat())


def check_batches(
    lake: Lake,
    batch_ids: Iterable[str] | None = None,
    reports_dir: Path | str | None = None,
    *,
    suite_path: Path | str | None = None,
    run_time: datetime | None = None,
) -> QualityReport:
    """The data-quality gate over ingest batches of the restricted zone.

    Each batch is validated on its own, so a bad batch from one source does not hold back the
    others. A batch that fails a critical expectation is held; one that passes has any earlier
    hold lifted, so a fixed batch can be published. A failed batch that had already been
    published (by a flag that skipped the gate, or under an older suite) is withdrawn from the
    analyst zone. Every batch looked at is recorded as checked, so ``batch_ids=None`` next time
    finds only new ones. Reports go to ``reports_dir`` (default ``<lake>/_quality/reports``).
    Raises :class:`QualityGateError` after holding when any batch failed; returns the report otherwise.
    """
    suite = load_suite(suite_path)
    run_time = _utc(run_time)
    reports = Path(reports_dir) if reports_dir else lake.default_reports()
    inventory = BatchInventory(lake)
    batches = inventory.covered(batch_ids) if batch_ids is not None else inventory.unchecked()
    frames = {batch_id: _frame(lake.read_batches("statements", [b.batch_id for b in group]), suite, run_time)
              for batch_id, group in batches.items() if group}
    context = _context(reports)
    verdicts = _validate(context, suite, frames, run_time) if frames else {}
    qualities = []
    for batch_id, group in batches.items():
        verdict = verdicts.get(batch_id) or BatchQuality(batch_id, rows=0, evaluated=0)
        verdict.sources = sorted({b.source for b in group})
        qualities.append(verdict)
    report = QualityReport(suite.name, run_time, qualities, lake=lake.name)
    _write_reports(context, report, reports)
    _record_verdicts(lake, report, batches)
    if not report.passed:
        raise QualityGateError(report)
    return report
