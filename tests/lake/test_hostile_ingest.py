"""Hostile and careless input through the Ingestor into a real lake: nothing raises, nothing merges."""

from __future__ import annotations

import gzip
import json
import random

import pytest

from tests.support.poison import POISON, with_extension
from xapi_ingest.lake.ingest import Ingestor
from xapi_ingest.lake.query import connect
from xapi_ingest.lake.store import Lake
from xapi_ingest.xapi.reader import read_records


def _ingest(lake, path, **options):
    return Ingestor(lake, "moodle-a", **options).ingest((str(path), r) for r in read_records(path))


def _quarantine(lake):
    with connect(lake) as con:
        return con.execute("SELECT line, rules, raw_json FROM quarantine ORDER BY line").fetchall()


def _statement_count(lake):
    with connect(lake) as con:
        return con.execute("SELECT count(*) FROM statements").fetchone()[0]


@pytest.mark.parametrize("form", ["ndjson", "array", "gzip"])
def test_poison_is_quarantined_with_its_rule_and_the_rest_is_written(tmp_path, statement, form):
    texts = [json.dumps(statement)]
    for n, (payload, _) in enumerate(POISON.values()):
        texts.append(with_extension(payload).replace("mailto:a@", f"mailto:a{n}@"))
    body = "[" + ",\n".join(texts) + "]" if form == "array" else "\n".join(texts) + "\n"
    path = tmp_path / "in.json"
    path.write_bytes(gzip.compress(body.encode()) if form == "gzip" else body.encode())
    lake = Lake(tmp_path / "lake")
    counts = _ingest(lake, path)
    assert (counts.read, counts.valid, counts.quarantined) == (len(texts), 1, len(POISON))
    rows = _quarantine(lake)
    assert [rules for _, rules, _ in rows] == [[rule] for _, rule in POISON.values()]
    assert [raw for _, _, raw in rows] == texts[1:]
    assert _statement_count(lake) == 1


def test_distinct_bad_records_stay_distinct_rows_and_counts_match_the_table(tmp_path, statement):
    bad = {**statement, "verb": {"id": "not an iri"}}
    variants = [bad, {**bad, "stored": "2026-10-01T10:00:00Z"}, {**bad, "authority": {"mbox": "mailto:l@x.org"}},
                {**bad, "version": "1.0.3"}]
    lines = [json.dumps(v) for v in variants] + ['{"actor": '] * 200
    path = tmp_path / "in.ndjson"
    path.write_text("\n".join(lines) + "\n")
    lake = Lake(tmp_path / "lake")
    first = _ingest(lake, path, batch_size=50)
    assert first.quarantined == 204 == len(_quarantine(lake))
    assert [line for line, _, _ in _quarantine(lake)] == list(range(1, 205))
    again = _ingest(lake, path, batch_size=50)  # re-ingesting quarantines nothing twice
    assert (again.quarantined, again.duplicates) == (0, 204)
    assert len(_quarantine(lake)) == 204


def test_a_truncated_gzip_commits_what_came_before_and_quarantines_the_break(tmp_path, statement):
    noise = random.Random(7)
    lines = [json.dumps({**statement, "id": f"{n:08d}-0000-4000-8000-000000000000",
                         "result": {"response": f"{noise.getrandbits(1600):x}"}}) for n in range(300)]
    data = gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0)
    path = tmp_path / "cut.ndjson.gz"
    path.write_bytes(data[: len(data) // 2])
    lake = Lake(tmp_path / "lake")
    counts = _ingest(lake, path)
    assert counts.valid > 0 and counts.quarantined == 1
    assert counts.read == counts.valid + counts.quarantined
    assert _statement_count(lake) == counts.valid
    ((line, rules, _),) = _quarantine(lake)
    assert (line, rules) == (counts.valid + 1, ["input.truncated"])


def test_uuid_keys_are_lower_case_and_upsert_ignores_case(tmp_path, statement):
    upper = {**statement, "id": statement["id"].upper(),
             "context": {"registration": "ABCDEF01-2345-4678-89AB-CDEF01234567",
                         "statement": {"objectType": "StatementRef", "id": "ABCDEF01-2345-4678-89AB-000000000001"}}}
    ref = {**statement, "id": "abcdef01-2345-4678-89ab-000000000002",
           "object": {"objectType": "StatementRef", "id": "ABCDEF01-2345-4678-89AB-000000000003"}}
    path = tmp_path / "in.ndjson"
    path.write_text(json.dumps(upper) + "\n" + json.dumps(ref) + "\n")
    lake = Lake(tmp_path / "lake")
    _ingest(lake, path)
    lower = tmp_path / "lower.ndjson"
    lower.write_text(json.dumps({**upper, "id": statement["id"].lower()}) + "\n")  # its id in lower case
    again = _ingest(lake, lower)
    assert (again.valid, again.duplicates, again.conflicts) == (0, 1, 0)
    with connect(lake) as con:
        rows = con.execute("SELECT statement_id, context_registration, context_statement_id, object_id, raw_json "
                           "FROM statements ORDER BY statement_id").fetchall()
    assert [row[:4] for row in rows] == [
        ("abcdef01-2345-4678-89ab-000000000002", None, None, "abcdef01-2345-4678-89ab-000000000003"),
        (statement["id"].lower(), "abcdef01-2345-4678-89ab-cdef01234567", "abcdef01-2345-4678-89ab-000000000001",
         statement["object"]["id"]),
    ]
    assert "ABCDEF01-2345-4678-89AB-CDEF01234567" in rows[1][4]  # raw_json keeps what was sent
