"""A poison statement in an LRS page is quarantined with its rule; the pull moves on and the watermark advances."""

from __future__ import annotations

from pathlib import Path

from tests.support.fault_lrs import FaultyLRS
from tests.support.lake import lake_ids
from xapi_ingest.lake.query import connect
from xapi_ingest.lake.store import Lake
from xapi_ingest.pull.client import LRSClient, RetryPolicy
from xapi_ingest.pull.puller import pull
from xapi_ingest.pull.sources import Source
from xapi_ingest.pull.watermark import load_state
from xapi_ingest.xapi.samples import realistic_statements
from xapi_ingest.xapi.timestamps import parse_timestamp

FAST_RETRIES = RetryPolicy(attempts=3, base_seconds=0.001, max_wait_seconds=0.01, budget_seconds=1)


def _poisoned(statement: dict, value: object) -> dict:
    return {**statement, "result": {"extensions": {"http://x.org/e": value}}}


def _deep(levels: int) -> list:
    value: list = []
    for _ in range(levels):
        value = [value]
    return value


def test_poison_statements_are_quarantined_and_the_watermark_passes_them(tmp_path: Path) -> None:
    good = list(realistic_statements(30))
    poison = {"json.surrogate": "\ud800", "json.number-range": 10**401, "json.depth": _deep(80),
              "json.malformed": float("inf")}  # json.dumps writes inf as the non-JSON token Infinity
    statements = [*good[:10], *(_poisoned(s, v) for s, v in zip(good[10:14], poison.values(), strict=True)),
                  *good[14:]]
    lrs = FaultyLRS()
    served = lrs.add(statements)
    lrs.start()
    lake = Lake(tmp_path / "lake")
    source = Source(id="poisoned", endpoint=lrs.endpoint, page_size=5, commit_every=5)
    try:
        with LRSClient(source, retry=FAST_RETRIES) as client:
            summary = pull(source, lake, client)
            assert client.retries == 0  # a poison statement is not a reason to re-fetch its page
        with LRSClient(source, retry=FAST_RETRIES) as client:
            again = pull(source, lake, client)  # the overlap re-reads the last page
    finally:
        lrs.stop()
    counts = summary.counts
    assert (counts.read, counts.valid, counts.quarantined) == (len(statements), 26, 4)
    assert load_state(lake, "poisoned").stored_watermark == parse_timestamp(served[-1]["stored"])
    assert sorted(lake_ids(lake)) == sorted(s["id"] for s in good[:10] + good[14:])
    with connect(lake) as con:
        rows = con.execute("SELECT statement_id, rules FROM quarantine ORDER BY statement_id").fetchall()
    assert sorted(rules[0] for _, rules in rows) == sorted(poison)
    assert again.counts.quarantined == 0
