"""Pulling from a real Ralph LRS: full pull, idempotent re-pull, incremental pull of new statements."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.lake import lake_ids
from xapi_ingest.lake.store import Lake
from xapi_ingest.pull.runner import pull_source
from xapi_ingest.pull.sources import Source
from xapi_ingest.pull.watermark import load_state
from xapi_ingest.xapi.samples import realistic_statements
from xapi_ingest.xapi.timestamps import parse_timestamp

pytestmark = pytest.mark.integration  # real processes: see [tool.pytest.ini_options] markers

VOIDED = "http://adlnet.gov/expapi/verbs/voided"


@pytest.fixture
def source(ralph, monkeypatch) -> Source:
    monkeypatch.setenv("RALPH_TEST_USER", ralph.username)
    monkeypatch.setenv("RALPH_TEST_PASSWORD", ralph.password)
    return Source(id="ralph-test", endpoint=ralph.endpoint, page_size=25,
                  auth={"type": "basic", "username_env": "RALPH_TEST_USER", "password_env": "RALPH_TEST_PASSWORD"})


def test_full_then_repeat_then_incremental(ralph, source: Source, tmp_path) -> None:
    lake = Lake(tmp_path / "lake")
    statements = list(realistic_statements(130))
    first_ids = ralph.post(statements[:100])

    first = pull_source(source, lake)
    assert first.counts.valid == 100 and sorted(lake_ids(lake)) == sorted(first_ids)
    assert first.pages == 4 + 1  # 100 at 25 a page, then the empty page Ralph adds when N % limit == 0
    assert any("Consistent-Through" in note for note in first.notes)  # Ralph sends no such header

    again = pull_source(source, lake)
    assert again.counts.valid == 0 and sorted(lake_ids(lake)) == sorted(first_ids)
    assert load_state(lake, source.id).since_field == "timestamp"  # the probe found Ralph's quirk

    void = {"actor": statements[0]["actor"], "verb": {"id": VOIDED, "display": {"en-US": "voided"}},
            "object": {"objectType": "StatementRef", "id": first_ids[0]}}
    new_ids = ralph.post([*statements[100:], void])  # old timestamps: a `since` query on them would miss these
    third = pull_source(source, lake)
    assert third.counts.valid == 31
    assert sorted(lake_ids(lake)) == sorted(first_ids + new_ids)


def test_late_arrival_window_queries_only_recent_timestamps(ralph, source: Source, tmp_path) -> None:
    lake = Lake(tmp_path / "lake")
    statements = list(realistic_statements(60))
    older = [{**s, "timestamp": s["timestamp"].replace("2026-", "2025-", 1)} for s in statements[:50]]
    ralph.post(older)
    pull_source(source, lake)
    pull_source(source, lake)  # the probe runs once a watermark exists
    ralph.post(statements[50:])
    late = timedelta(minutes=1)
    summary = pull_source(source.model_copy(update={"late_arrival": late}), lake)
    older_times = [parse_timestamp(s["timestamp"]) for s in older]
    in_window = sum(t > max(older_times) - late for t in older_times)  # since = timestamp watermark - late_arrival
    assert 0 < in_window < 50
    assert summary.counts.read == 10 + in_window and summary.counts.valid == 10
    assert len(lake_ids(lake)) == 60
