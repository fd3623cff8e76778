"""The puller against a misbehaving LRS: whatever the fault, the lake ends up with exactly what was served."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.fault_lrs import Faults, FaultyLRS
from tests.support.lake import lake_ids
from xapi_ingest.lake.store import Lake
from xapi_ingest.pull.client import LRSClient, LRSError, RetryPolicy
from xapi_ingest.pull.puller import NO_BUDGET, Budget, pull
from xapi_ingest.pull.sources import Source
from xapi_ingest.pull.watermark import load_state
from xapi_ingest.xapi.samples import realistic_statements
from xapi_ingest.xapi.timestamps import parse_timestamp

FAST_RETRIES = RetryPolicy(attempts=12, base_seconds=0.001, max_wait_seconds=0.01, budget_seconds=5)


def watermark_violations(lake: Lake, lrs: FaultyLRS, source: str) -> list[str]:
    """Statements at or before the saved watermark that the lake does not hold (must be none)."""
    state = load_state(lake, source)
    if state.stored_watermark is None:
        return []
    held = set(lake_ids(lake))
    return [s["id"] for s in list(lrs.statements)
            if parse_timestamp(s["stored"]) <= state.stored_watermark and s["id"] not in held]


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(tmp_path / "lake")


def serve(faults: Faults, lake: Lake, count: int = 120) -> FaultyLRS:
    lrs = FaultyLRS(faults)
    lrs.add(list(realistic_statements(count)))
    violations: list[str] = []
    lrs.violations = violations  # type: ignore[attr-defined]
    lrs.on_request = lambda: violations.extend(watermark_violations(lake, lrs, "faulty"))
    return lrs.start()


def source_for(lrs: FaultyLRS, **overrides: object) -> Source:
    return Source(id="faulty", endpoint=lrs.endpoint, page_size=10, commit_every=25, **overrides)


def run_pull(lrs: FaultyLRS, lake: Lake, budget: Budget = NO_BUDGET, **overrides: object):
    source = source_for(lrs, **overrides)
    with LRSClient(source, retry=FAST_RETRIES) as client:
        return pull(source, lake, client, budget)


FAULTS = {
    "throttled (429/503 with Retry-After)": Faults(throttle=0.3),
    "connection reset mid-body": Faults(reset=0.25),
    "truncated JSON": Faults(truncate=0.25),
    "HTML error page with status 200": Faults(html=0.25),
    "expiring more link": Faults(expire_more_at=frozenset({3, 7})),
    "same statement on two pages": Faults(repeat_across_pages=True),
    "ignores since": Faults(ignore_since=True),
    "no consistent-through header": Faults(consistent_through=False),
    "everything at once": Faults(throttle=0.1, reset=0.1, truncate=0.1, html=0.05, expire_more_at=frozenset({5}),
                                 repeat_across_pages=True),
}


@pytest.mark.parametrize("faults", FAULTS.values(), ids=FAULTS.keys())
def test_lake_holds_exactly_what_was_served(faults: Faults, lake: Lake) -> None:
    lrs = serve(faults, lake)
    try:
        first = run_pull(lrs, lake)
        newer = lrs.add(list(realistic_statements(150))[120:])
        second = run_pull(lrs, lake)
    finally:
        lrs.stop()
    ids = lake_ids(lake)
    assert sorted(ids) == sorted(s["id"] for s in lrs.statements)  # nothing lost, nothing twice
    assert first.counts.valid == 120
    assert second.counts.valid == len(newer)
    assert lrs.violations == []  # type: ignore[attr-defined]
    assert load_state(lake, "faulty").stored_watermark == max(parse_timestamp(s["stored"]) for s in lrs.statements)


def test_retries_are_counted_and_an_outage_leaves_a_safe_watermark(lake: Lake) -> None:
    lrs = serve(Faults(outage_after=6), lake)
    try:
        with pytest.raises(LRSError, match="gave up after"):
            run_pull(lrs, lake)
        committed = set(lake_ids(lake))
        assert 0 < len(committed) < 120  # some chunks were committed before the outage
        assert watermark_violations(lake, lrs, "faulty") == []
        lrs.faults.outage_after = None
        run_pull(lrs, lake)
    finally:
        lrs.stop()
    assert sorted(lake_ids(lake)) == sorted(s["id"] for s in lrs.statements)


def test_ignored_since_is_detected_and_reported(lake: Lake) -> None:
    lrs = serve(Faults(ignore_since=True), lake)
    try:
        run_pull(lrs, lake)
        again = run_pull(lrs, lake)
    finally:
        lrs.stop()
    assert again.counts.duplicates == 120 and again.counts.valid == 0
    assert any("does not filter on `stored`" in note for note in again.notes)
    assert load_state(lake, "faulty").since_field == "timestamp"


def test_budget_leaves_a_backlog_that_later_runs_catch_up(lake: Lake) -> None:
    lrs = serve(Faults(), lake)
    try:
        runs = [run_pull(lrs, lake, Budget(max_pages=4))]
        while runs[-1].backlog_remaining:
            runs.append(run_pull(lrs, lake, Budget(max_pages=4)))
    finally:
        lrs.stop()
    assert [r.pages for r in runs] == [4, 4, 4]  # 120 statements, 10 a page: the twelfth page has no `more`
    assert [r.backlog_remaining for r in runs] == [True, True, False]
    assert sum(r.counts.valid for r in runs) == 120 and sum(r.counts.duplicates for r in runs) == 0
    assert sorted(lake_ids(lake)) == sorted(s["id"] for s in lrs.statements)
    assert load_state(lake, "faulty").cursor is None


@pytest.mark.integration  # kills a real pull process
def test_kill_9_mid_pull_then_rerun_gives_the_same_lake(tmp_path: Path, lake: Lake) -> None:
    lrs = FaultyLRS(Faults(throttle=0.2))
    lrs.add(list(realistic_statements(400)))
    lrs.start()
    config = tmp_path / "sources.yaml"
    config.write_text(f"sources:\n  - id: faulty\n    endpoint: {lrs.endpoint}\n    page_size: 5\n    commit_every: 20\n")
    command = [sys.executable, "-m", "xapi_ingest", "pull", "--config", str(config), "--all", "--lake", str(lake.root)]
    try:
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        data = lake.layout.warehouse / "xapi" / "statements" / "data"
        while not list(data.rglob("*.parquet")) and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        assert len(lake_ids(lake)) < 400, "the kill came too late to test anything"
        assert watermark_violations(lake, lrs, "faulty") == []
        subprocess.run(command, check=True, capture_output=True)
    finally:
        lrs.stop()
    ids = lake_ids(lake)
    assert len(ids) == len(set(ids)) == 400


def test_a_resumed_query_keeps_its_watermark_honest(lake: Lake) -> None:
    """A client clock running a year ahead, a budget stop and a resume must not hide later statements."""
    statements = list(realistic_statements(60))
    statements[3] = {**statements[3], "timestamp": "2027-12-01T00:00:00Z"}
    lrs = serve(Faults(consistent_through=False), lake, count=0)
    lrs.add(statements[:40])
    try:
        stopped = run_pull(lrs, lake, Budget(max_pages=1))
        resumed = run_pull(lrs, lake)
        lrs.add(statements[40:])
        later = run_pull(lrs, lake)
    finally:
        lrs.stop()
    assert stopped.backlog_remaining and not resumed.backlog_remaining
    state = load_state(lake, "faulty")
    assert state.stored_watermark == max(parse_timestamp(s["stored"]) for s in lrs.statements)
    assert state.timestamp_watermark < parse_timestamp("2027-01-01T00:00:00Z")
    assert later.counts.valid == 20
    assert sorted(lake_ids(lake)) == sorted(s["id"] for s in lrs.statements)
