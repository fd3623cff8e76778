"""Identifiers typed into free text never reach the analyst zone: each becomes its owner's pseudonym."""

from __future__ import annotations

import json

import duckdb
import pyarrow.parquet as pq

from xapi_ingest.app.settings import Settings
from xapi_ingest.lake.ingest import Ingestor
from xapi_ingest.lake.store import Lake
from xapi_ingest.publish.privacy import Pseudonymizer, publish
from xapi_ingest.xapi.reader import RawRecord

KEY = b"free-text-test-key-0123456789"
EMAIL = "Jane.Doe@school.example.kz"
DROPPED = "https://example.org/xapi/ext/private-note"
SECRETS = ("jane", "doe@", "school.example.kz", "jdoe42", "drop-me", "@")

# Every free-text place of a statement, seeded with the e-mail (plain, as mailto:, JSON-escaped),
# an agent with an account, and an extension to drop. The raw text is written by hand so the
# JSON escape survives to the reader.
RAW = """{
  "id": "3b9d2b9e-8f0a-4c1e-9a4b-2f6d1e0c7a11",
  "actor": {"objectType": "Agent", "name": "Jane Doe", "mbox": "mailto:jane.doe@school.example.kz"},
  "verb": {"id": "https://example.org/verbs/mailed", "display": {"en-US": "mailed Jane.Doe@school.example.kz"}},
  "object": {"objectType": "Activity", "id": "https://lms.example.org/u/jane.doe@school.example.kz/portfolio",
             "definition": {"name": {"en-US": "Feedback for mailto:Jane.Doe@school.example.kz"},
                            "type": "https://example.org/types/jane.doe@school.example.kz"}},
  "result": {"response": "write me at Jane.Doe@school.example.kz please", "duration": "PT5M",
             "extensions": {"https://example.org/xapi/ext/peer": {"objectType": "Agent",
                              "account": {"homePage": "https://lms.example.org", "name": "jdoe42"}},
                            "https://example.org/xapi/ext/cc": ["jane.doe\\u0040school.example.kz"],
                            "https://example.org/xapi/ext/from-jane.doe@school.example.kz": 1,
                            "https://example.org/xapi/ext/private-note": "drop-me: met Jane at the school"}},
  "context": {"platform": "LMS of jane.doe@school.example.kz", "revision": "r1 by Jane.Doe@school.example.kz",
              "instructor": {"mbox": "mailto:mentor@school.example.kz"},
              "contextActivities": {"parent": [{"id": "https://lms.example.org/u/jane.doe@school.example.kz"}]},
              "extensions": {"https://example.org/xapi/ext/mentor": {"mbox": "mailto:Jane.Doe@school.example.kz"},
                             "https://example.org/xapi/ext/private-note": "drop-me"}},
  "timestamp": "2026-10-01T09:30:00Z"
}"""


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [text for item in value for text in _strings(item)]
    return []


def test_identifiers_in_free_text_become_pseudonyms(tmp_path):
    lake = Lake(tmp_path / "lake")
    record = RawRecord(0, 1, RAW, json.loads(RAW))
    counts = Ingestor(lake, "moodle-a").ingest([("seeded", record)])
    assert counts.valid == 1
    drop = Settings.from_env({"XAPI_ANALYST_DROP_EXTENSIONS": f" {DROPPED} ,"}).analyst_drop_extensions
    assert drop == (DROPPED,)
    pseudonymizer = Pseudonymizer(KEY, drop)
    assert len(publish(lake, pseudonymizer, include_unchecked=True)) == 1

    (data_file,) = lake.dataset("analyst_statements").files
    rows = pq.read_table(data_file).to_pylist()
    duck = duckdb.sql(f"SELECT * FROM read_parquet('{data_file}')").fetchall()
    texts = [text for row in rows for value in row.values() for text in _strings(value)]
    texts += [text for row in duck for value in row for text in _strings(value)]
    leaks = [text for text in texts for secret in SECRETS if secret in text.lower()]
    assert leaks == []

    (row,) = rows
    jane = pseudonymizer.pseudonym("mbox:mailto:jane.doe@school.example.kz")
    assert row["actor_ifi"] == jane  # the same person, the same pseudonym, in a column and in free text
    assert row["result_response"] == f"write me at {jane} please"
    assert row["object_name"] == f"Feedback for {jane}"
    result_extensions = json.loads(row["result_extensions"])
    assert result_extensions["https://example.org/xapi/ext/peer"] == pseudonymizer.pseudonym(
        "account:https://lms.example.org|jdoe42")
    assert result_extensions["https://example.org/xapi/ext/cc"] == [jane]
    assert DROPPED not in result_extensions and DROPPED not in row["context_extensions"]
    assert json.loads(row["context_extensions"]) == {"https://example.org/xapi/ext/mentor": jane}


def test_an_agent_like_extension_whose_identifier_is_not_text_still_publishes(tmp_path):
    """{"openid": 42} is valid free-form extension data; it once made every publish fail."""
    statement = {"actor": {"mbox": "mailto:a@example.org"}, "verb": {"id": "http://x.org/v"},
                 "object": {"id": "http://x.org/o"},
                 "result": {"extensions": {"http://x.org/e": {"openid": 42, "mbox": 7}}}}
    raw = json.dumps(statement)
    lake = Lake(tmp_path / "lake")
    assert Ingestor(lake, "moodle-a").ingest([("seeded", RawRecord(0, 1, raw, statement))]).valid == 1
    assert len(publish(lake, Pseudonymizer(KEY), include_unchecked=True)) == 1
    assert json.loads(lake.dataset("analyst_statements").to_table().column("result_extensions")[0].as_py()) == {
        "http://x.org/e": {"openid": 42, "mbox": 7}}
