"""Pages judged in a worker process give the lake, quarantine and watermarks of pages judged in the puller."""

from __future__ import annotations

import itertools
import logging
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.fault_lrs import Faults, FaultyLRS
from xapi_ingest.lake.store import Lake
from xapi_ingest.pull.client import LRSClient, LRSError, RetryPolicy
from xapi_ingest.pull.judging import Observed
from xapi_ingest.pull.puller import NO_BUDGET, Budget, PullSummary, pull
from xapi_ingest.pull.sources import Source
from xapi_ingest.pull.watermark import load_state
from xapi_ingest.xapi.samples import realistic_statements
from xapi_ingest.xapi.timestamps import xapi_timestamp

FAST_RETRIES = RetryPolicy(attempts=4, base_seconds=0.001, max_wait_seconds=0.01, budget_seconds=2)
# differ between any two runs (origin: a page's URL holds the server's port and a made-up cursor token)
PER_RUN = frozenset({"batch_id", "ingested_at", "ingest_date", "origin"})


def served() -> list[dict]:
    """Statements with a few the puller must quarantine, and one id sent again with other content."""
    statements = list(realistic_statements(90))
    statements[17] = {**statements[17], "result": {"extensions": {"http://x.org/e": 10**401}}}
    statements[44] = {**statements[44], "verb": {"id": "not an IRI"}}
    statements[70] = {**statements[70], "id": statements[5]["id"]}  # a conflict with an earlier page
    return statements


def budget_stop_outage_and_resume(tmp_path: Path, faults: Faults, workers: int) -> tuple[list, list, list]:
    """A run stopped by its budget, one broken off by an outage mid-pull, and the run that finishes."""
    lrs = FaultyLRS(faults)
    lrs.add(served())
    lrs.start()
    lake = Lake(tmp_path / f"lake-{workers}")
    source = Source(id="faulty", endpoint=lrs.endpoint, page_size=10, commit_every=25)
    states, summaries = [], []

    def run(budget: Budget = NO_BUDGET) -> PullSummary:
        with LRSClient(source, retry=FAST_RETRIES) as client:
            return pull(source, lake, client, budget, workers=workers)

    try:
        summaries.append(run(Budget(max_pages=3)))
        states.append(load_state(lake, "faulty"))
        lrs.faults.outage_after = lrs.requests + 4  # counted from here: prefetching may have run ahead
        with pytest.raises(LRSError):
            run()
        states.append(load_state(lake, "faulty"))
        lrs.faults.outage_after = None
        summaries.append(run())
        states.append(load_state(lake, "faulty"))
    finally:
        lrs.stop()
    return [_comparable_state(s) for s in states], [_comparable_summary(s) for s in summaries], _rows(lake)


def _comparable_state(state) -> tuple:
    cursor = state.cursor and (state.cursor.query_since, state.cursor.max_stored, state.cursor.max_timestamp,
                               state.cursor.consistent_through)  # not its link: the server makes up a new token
    return state.stored_watermark, state.timestamp_watermark, state.since_field, state.sends_consistent_through, cursor


def _comparable_summary(summary: PullSummary) -> tuple:
    counts = summary.counts.as_dict()
    del counts["elapsed_seconds"], counts["statements_per_second"]
    batches = [batch_id.rsplit("-p", 1)[1] for batch_id in summary.batch_ids]  # which pages each batch starts at
    return summary.pages, counts, batches, summary.backlog_remaining, summary.notes


def _rows(lake: Lake) -> list:
    rows = []
    for table, key in (("statements", "statement_id"), ("quarantine", "quarantine_key")):
        data = lake.dataset(table).to_table()
        batches = [batch_id.rsplit("-p", 1)[-1] for batch_id in data["batch_id"].to_pylist()]
        data = data.drop_columns(sorted(PER_RUN & set(data.column_names)))
        data = data.append_column("batch", [batches])
        rows.append(duckdb.sql(f"SELECT * FROM data ORDER BY {key}, batch").fetchall())
    return rows

SCENARIOS = {
    "throttled and truncated pages": Faults(throttle=0.2, truncate=0.1),
    "repeats across pages, no consistent-through": Faults(repeat_across_pages=True, consistent_through=False),
    "ignores since": Faults(ignore_since=True),
}


@pytest.mark.integration  # starts worker processes
@pytest.mark.parametrize("faults", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_worker_judged_pages_give_the_single_process_lake_and_watermarks(tmp_path: Path, faults: Faults,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        in_worker = budget_stop_outage_and_resume(tmp_path, faults, workers=1)
    assert "judging pages in this process" not in caplog.text  # the worker did start and judge
    here = budget_stop_outage_and_resume(tmp_path, faults, workers=0)
    assert in_worker == here
    states, _, (statements, quarantine) = here
    assert states[0][4] is not None and states[-1][4] is None  # the budget left a cursor; the last run finished
    assert len(statements) == 87 and len(quarantine) == 3  # two rejected, one conflict


def test_the_judging_module_imports_no_storage_stack_nor_http_client() -> None:
    code = ("import sys, xapi_ingest.pull.judging; print(sorted(m for m in ('pyiceberg', 'sqlalchemy', 'httpx', "
            "'pandas', 'duckdb', 'xapi_ingest.lake.store') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


_START = datetime(2026, 1, 1, tzinfo=UTC)
_MOMENT = st.one_of(st.none(), st.integers(0, 50).map(lambda minutes: xapi_timestamp(_START + timedelta(minutes=minutes))),
                    st.just("not a time"))


@given(statements=st.lists(st.fixed_dictionaries({}, optional={"stored": _MOMENT, "timestamp": _MOMENT}), max_size=30),
       cuts=st.lists(st.integers(0, 30), max_size=5), since=st.one_of(st.none(), st.integers(0, 50)),
       before=st.one_of(st.none(), st.integers(0, 50)))
def test_pages_observed_apart_add_up_to_the_statements_observed_in_one_go(statements, cuts, since, before) -> None:
    """The puller absorbs each page's observations; the watermark logic must see what per-statement observing saw."""
    since_moment = None if since is None else _START + timedelta(minutes=since)
    earlier = None if before is None else _START + timedelta(minutes=before)  # what a resumed query brings along
    whole = Observed(since_moment, max_stored=earlier)
    for statement in statements:
        whole.observe({key: value for key, value in statement.items() if value is not None})
    pieced = Observed(since_moment, max_stored=earlier)
    bounds = [0, *sorted(cuts), len(statements)]
    for start, end in itertools.pairwise(bounds):
        page = Observed(since_moment)
        for statement in statements[start:end]:
            page.observe({key: value for key, value in statement.items() if value is not None})
        pieced.absorb(page)
    assert (pieced.max_stored, pieced.max_timestamp, pieced.in_stored_order, pieced.since_violations) == (
        whole.max_stored, whole.max_timestamp, whole.in_stored_order, whole.since_violations)
