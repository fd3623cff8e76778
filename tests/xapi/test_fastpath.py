"""Differential: the typed fast path and the precise path give every statement the same outcome.

The precise path is what ingest did before the fast path existed: the generic decode
(:func:`decode_statement`), :class:`StatementValidator`, then :meth:`StatementColumns.append`. The
fast path is what ingest does now: :func:`decoded_record`, then :meth:`Ingestor.add`. Both run
through a real :class:`Ingestor` into a :class:`Batch` (nothing is written), and the outcome
compared is everything the lake would get: the normalized row, or the quarantine row with every
error's path, rule and message.
"""

from __future__ import annotations

import copy
import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import BASE_STATEMENT, CONFORMANCE_DIR
from tests.lake.test_hostile_property import statement_texts
from xapi_ingest.lake.ingest import Ingestor
from xapi_ingest.lake.store import Lake
from xapi_ingest.xapi.decode import decode_statement
from xapi_ingest.xapi.fastpath import KnownMatches, accepts
from xapi_ingest.xapi.reader import RawRecord, decoded_record
from xapi_ingest.xapi.samples import realistic_statements
from xapi_ingest.xapi.validator import COMPONENT_LISTS, DURATION, IRI, LANGTAG, MBOX, SHA1, UUID, StatementValidator

MODES = ("auto", "1.0.3", "2.0.0")
# Rules a source may tolerate whose statements are still normalized: the fast path's fallback
# (a typed decode the version rules then reject) must normalize them like the precise path.
TOLERATED = ("timestamp.format", "timestamp.offset", "version.unsupported", "iri.invalid", "score.raw-range")


def _precise_record(raw: str) -> RawRecord:
    """The record as the reader made it before the fast path: generic decode only."""
    verdict = decode_statement(raw)
    if verdict.rule is None:
        return RawRecord(0, 1, raw, verdict.value)
    return RawRecord(0, 1, raw, error="line 1: " + verdict.message, rule=verdict.rule)


def _outcome(ingestor: Ingestor, record: RawRecord) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    batch = ingestor.new_batch("b-00000")
    ingestor.add(batch, "origin", record)
    row = {name: values for name, values in batch.columns.columns.items() if name != "ingested_at"}
    quarantined = [{k: v for k, v in q.items() if k != "ingested_at"} for q in batch.quarantine.rows]
    return row, quarantined


def _ingestors(tmp: Path) -> list[Ingestor]:
    lake = Lake(tmp / "lake")  # never written: Ingestor.add only fills a batch
    return [Ingestor(lake, "src", mode, tolerate) for mode in MODES for tolerate in ((), TOLERATED)]


def assert_same_outcome(raw: str, ingestors: list[Ingestor]) -> bool:
    """Both paths agree on ``raw`` in every mode; returns whether the fast path judged it anywhere."""
    fast_record = decoded_record(0, 1, raw)
    precise_record = _precise_record(raw)
    assert (fast_record.error, fast_record.rule) == (precise_record.error, precise_record.rule)
    took_fast = False
    for ingestor in ingestors:
        fast = _outcome(ingestor, fast_record)
        precise = _outcome(ingestor, precise_record)
        assert fast == precise, (ingestor.validator.mode, ingestor.tolerate, raw)
        took_fast |= fast_record.fast is not None and accepts(fast_record.fast, ingestor.validator.mode)
    assert fast_record.value == precise_record.value  # what the puller and `validate` read
    return took_fast


def _conformance_texts() -> list[str]:
    if not (CONFORMANCE_DIR / "manifest.csv").exists():
        return []
    with open(CONFORMANCE_DIR / "manifest.csv", newline="") as handle:
        return [(CONFORMANCE_DIR / row["file"]).read_text() for row in csv.DictReader(handle)]


CONFORMANCE = _conformance_texts()


def test_every_conformance_statement_gets_the_same_outcome(conformance_dir, tmp_path):
    ingestors = _ingestors(tmp_path)
    fast = sum(assert_same_outcome(text, ingestors) for text in CONFORMANCE)
    assert len(CONFORMANCE) >= 774
    assert fast >= 50  # the corpus's plain valid statements are in the subset


def test_realistic_statements_all_take_the_fast_path(tmp_path):
    """Fails if the fast path is missing or too narrow for what Moodle and Open edX send."""
    lake = Lake(tmp_path / "lake")
    for statement in realistic_statements(200):
        record = decoded_record(0, 1, json.dumps(statement))
        assert record.fast is not None, statement
        for mode in MODES:
            assert accepts(record.fast, mode)
            ingestor = Ingestor(lake, "src", mode)
            ingestor.add(ingestor.new_batch("b-00000"), "origin", record)
        assert record._value is None  # the generic decode never ran, so the precise validator did not


def test_everything_in_the_subset_is_valid_and_normalized_alike(tmp_path):
    assert assert_same_outcome(json.dumps(FULL), _ingestors(tmp_path))


# A statement using every part of the subset, so mutations reach every field of the schema.
FULL: dict[str, Any] = {
    "id": "9E3F3B52-6d8a-4b8e-9a44-0c1f2e3d4a5b",
    "actor": {"objectType": "Agent", "name": "Dana", "mbox_sha1sum": "a" * 40},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/answered", "display": {"en-GB": "answered", "kk": "жауап берді"}},
    "object": {
        "objectType": "Activity", "id": "https://lms.example.org/q/1",
        "definition": {
            "name": {"fr": "Question"}, "description": {"en-US": "A question"},
            "type": "http://adlnet.gov/expapi/activities/cmi.interaction", "moreInfo": "https://x.example/more",
            "interactionType": "choice", "correctResponsesPattern": ["a[,]b"],
            "choices": [{"id": "a", "description": {"en-US": "A"}}, {"id": "b"}],
            "extensions": {"https://x.example/e": [1, {"k": None}]},
        },
    },
    "result": {"score": {"scaled": -0.5, "raw": -5, "min": -10, "max": 0.5}, "success": False, "completion": True,
               "response": "a[,]b", "duration": "P1DT2H3M4.5S", "extensions": {"https://x.example/r": 1.5}},
    "context": {
        "registration": "9E3F3B52-6D8A-4B8E-9A44-0C1F2E3D4A5B",
        "instructor": {"openid": "https://id.example/teacher"},
        "contextActivities": {"parent": {"id": "https://lms.example.org/c/1"}, "other": [],
                              "category": [{"id": "https://w3id.org/xapi/cmi5/context/categories/cmi5"}]},
        "revision": "r2", "platform": "LMS", "language": "zh-Hant-TW",
        "statement": {"objectType": "StatementRef", "id": "1E3F3B52-6d8a-4b8e-9a44-0c1f2e3d4a5b"},
        "extensions": {"https://x.example/c": "v"},
    },
    "timestamp": "2026-09-01T08:00:00.123456789+06:00",
    "stored": "2026-09-01T02:00:01Z",
    "authority": {"account": {"homePage": "https://lrs.example", "name": "client"}},
    "version": "1.0.0",
}
HOT = [*realistic_statements(4), BASE_STATEMENT, FULL]
BASES = st.one_of(st.sampled_from(HOT), st.sampled_from([json.loads(t) for t in CONFORMANCE if len(t) < 4000] or HOT))

# Keys of the subset and just outside it (other object types, case variants), for insertions.
KEYS = ["objectType", "id", "name", "mbox", "mbox_sha1sum", "openid", "account", "homePage", "display",
        "definition", "type", "moreInfo", "extensions", "interactionType", "correctResponsesPattern", "choices",
        "scale", "source", "target", "steps", "description", "score", "scaled", "raw", "min", "max", "success",
        "completion", "response", "duration", "registration", "instructor", "team", "contextActivities", "parent",
        "grouping", "category", "other", "revision", "platform", "language", "statement", "timestamp", "stored",
        "authority", "version", "attachments", "member", "contextAgents", "Name", "ID", "objecttype"]
# Values at the edges of the subset's types and patterns, by the key they are most likely to break.
IRIS = ["http://x.org/a#b", "http://x.org/a#b#c", "x:y", "http://x.org/%2", "http://x.org/%2F", "http://x.org/ a",
        "HTTP://X.ORG/\u00e9", "urn:x", "1http://x", "http://adlnet.gov/expapi/verbs/voided", "a", ""]
UUIDS = ["9E3F3B52-6D8A-4B8E-9A44-0C1F2E3D4A5B", "9e3f3b52-6d8a-9b8e-9a44-0c1f2e3d4a5b", "9e3f3b52-6d8a-4b8e-9a44-0c1f2e3d4a5",
         "9e3f3b52-6d8a-4b8e-7a44-0c1f2e3d4a5b"]
TIMESTAMPS = ["2026-09-01T08:00:00Z", "2026-09-01T08:00:00", "2026-09-01 08:00:00Z", "20260901T080000Z", "2026-09-01T08Z",
              "2026-09-01T08:00:00-00:00", "2026-02-30T08:00:00Z", "2026-12-31T23:59:60Z", "2026-09-01T08:00+0600",
              "2026-09-01t08:00:00.1z", "2026-09-01T08:00:00+06", "2026-09-01T08:00:00.5-0130", "2026-09-01"]
LANGUAGES = ["en", "EN-us", "i-klingon", "x-foo", "en_US", "zh-Hant-TW", "sgn-BE-FR", "de-CH-1901", "\u0663", ""]
COMPONENTS = [[{"id": "a"}], [{"id": "a"}, {"id": "a"}], [{"id": ""}], [{"id": "a", "description": {"en": "A"}}],
              [{"id": "a", "description": {"e n": "A"}}], [{"id": 1}], []]
NUMBERS = st.one_of(st.integers(-2, 2), st.floats(-2, 2), st.sampled_from([2**63, -(2**63) - 1, 2**64, 1e300, True]))
VALUES_FOR: dict[str, st.SearchStrategy[Any]] = {
    **dict.fromkeys(("scaled", "raw", "min", "max"), NUMBERS),
    **dict.fromkeys(("id", "type", "moreInfo", "openid", "homePage"), st.sampled_from([*IRIS, *UUIDS, "a", "b"])),
    **dict.fromkeys(("timestamp", "stored"), st.sampled_from(TIMESTAMPS)),
    **dict.fromkeys(("choices", "scale", "source", "target", "steps"), st.sampled_from(COMPONENTS)),
    **dict.fromkeys(("display", "name", "description"),
                    st.dictionaries(st.sampled_from(LANGUAGES), st.sampled_from(["x", "", 1, None]), max_size=2)),
    "registration": st.sampled_from(UUIDS),
    "version": st.sampled_from(["1.0.3", "1.0", "2.0.0", "2.0", "1.1", "2.1.0", "1.0.x", "1.0.\u0663"]),
    "language": st.sampled_from(LANGUAGES),
    "mbox": st.sampled_from(["mailto:a@b.c", "mailto:a@b", "MAILTO:a@b.c", "mailto:a b@c.d"]),
    "mbox_sha1sum": st.sampled_from(["a" * 40, "A" * 39, "g" * 40]),
    "duration": st.sampled_from(["PT1M30S", "P1W", "PT", "P1.5D", "PT1,5S", "P", "PT1H1H", "P1Y2M3DT4H5M6.7S"]),
    "interactionType": st.sampled_from(["choice", "likert", "true-false", "matching", "bogus", "Choice"]),
    "correctResponsesPattern": st.sampled_from([[], ["a"], [1], "a"]),
    "objectType": st.sampled_from(["Agent", "Group", "Activity", "StatementRef", "SubStatement", "activity"]),
    **dict.fromkeys(("success", "completion"), st.sampled_from([True, False, 1, "true"])),
}
IFIS = {"mbox": "mailto:a@b.c", "mbox_sha1sum": "b" * 40, "openid": "https://id.example/a",
        "account": {"homePage": "https://lms.example", "name": "a"}}
EDGE_VALUES: list[Any] = [
    None, "", 0, 1.5, True, "5", [], {}, [None], {"en": "x"}, {"id": "http://x.org/a"}, [{"id": "http://x.org/a"}],
    {"mbox": "mailto:a@b.c"}, {"homePage": "http://x.org", "name": "n"}, {"raw": 5, "min": 0, "max": 10}, {"scaled": 1},
    {"min": 3, "max": 3}, {"objectType": "StatementRef", "id": "9e3f3b52-6d8a-4b8e-9a44-0c1f2e3d4a5b"},
    {"http://x.org/e": {"deep": [[[]]]}}, {"x y": 1},
]


def _value_for(draw: st.DrawFn, key: str) -> Any:
    """A fresh copy: later edits of the statement must not reach the shared pools."""
    specific = VALUES_FOR.get(key)
    if specific is not None and draw(st.booleans()):
        return copy.deepcopy(draw(specific))
    return copy.deepcopy(draw(st.sampled_from(EDGE_VALUES)))


def _containers(value: Any) -> list[Any]:
    found = [value] if isinstance(value, (dict, list)) and value else []
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for child in children:
        found.extend(_containers(child))
    return found


@st.composite
def mutated_statements(draw: st.DrawFn) -> str:
    """A statement of the pool with one to three values replaced, keys deleted or keys added."""
    statement = copy.deepcopy(draw(BASES))
    for _ in range(draw(st.integers(1, 3))):
        container = draw(st.sampled_from(_containers(statement) or [statement]))
        action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if isinstance(container, list):
            container[draw(st.integers(0, len(container) - 1))] = _value_for(draw, "")
        elif action == "add" or not container:
            key = draw(st.sampled_from(KEYS))
            container[key] = _value_for(draw, key)
        elif action == "delete":
            del container[draw(st.sampled_from(sorted(container)))]
        else:
            key = draw(st.sampled_from(sorted(container)))
            container[key] = _value_for(draw, key)
    return json.dumps(statement, ensure_ascii=draw(st.booleans()))


@st.composite
def edited_hot_statements(draw: st.DrawFn) -> str:
    """A statement of the subset with any of its fields redrawn from the edge values of that key, or
    dropped: several edits at once, so rules that span fields (score ranges, the version deciding
    the date-time rules in ``auto`` mode) meet their corner cases."""
    statement = copy.deepcopy(draw(st.sampled_from(HOT)))
    for container in _containers(statement):
        if isinstance(container, dict):
            for key in list(container):
                edit = draw(st.integers(0, 9))
                if edit == 0 and key in VALUES_FOR:
                    container[key] = copy.deepcopy(draw(VALUES_FOR[key]))
                elif edit == 1:
                    del container[key]
    return json.dumps(statement, ensure_ascii=draw(st.booleans()))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(raw=edited_hot_statements())
def test_edited_hot_statements_get_the_same_outcome(raw, tmp_path):
    assert_same_outcome(raw, _ingestors(tmp_path))


_ABSENT = st.just(None)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(score=st.fixed_dictionaries({}, optional=dict.fromkeys(("scaled", "raw", "min", "max"), NUMBERS)),
       version=_ABSENT | VALUES_FOR["version"], timestamp=_ABSENT | VALUES_FOR["timestamp"],
       stored=_ABSENT | VALUES_FOR["stored"], ifis=st.lists(st.sampled_from(sorted(IFIS)), unique=True, max_size=3))
def test_cross_field_rules_get_the_same_outcome(score, version, timestamp, stored, ifis, tmp_path):
    """The rules the fast path checks in Python: score ranges, one IFI, the version choosing the date-time rules."""
    statement = copy.deepcopy(FULL)
    statement["result"]["score"] = score
    statement["actor"] = {"name": "Dana", **{key: IFIS[key] for key in ifis}}
    for key, value in (("version", version), ("timestamp", timestamp), ("stored", stored)):
        if value is None:
            del statement[key]
        else:
            statement[key] = value
    assert_same_outcome(json.dumps(statement), _ingestors(tmp_path))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(raw=mutated_statements())
def test_mutated_statements_get_the_same_outcome(raw, tmp_path):
    assert_same_outcome(raw, _ingestors(tmp_path))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(raw=statement_texts())
def test_hostile_statements_get_the_same_outcome(raw, tmp_path):
    assert_same_outcome(raw, _ingestors(tmp_path))


@pytest.mark.parametrize("statement", list(realistic_statements(6)))
def test_realistic_statements_in_every_text_form_get_the_same_outcome(statement, tmp_path):
    ingestors = _ingestors(tmp_path)
    for text in (json.dumps(statement), json.dumps(statement, indent=2, ensure_ascii=False),
                 " " + json.dumps(dict(reversed(statement.items()))) + " \n"):
        assert assert_same_outcome(text, ingestors)


# Every position of the subset whose string the validator checks against a pattern, so that
# leaving any one unchecked on the fast path fails a case below. A path ending in KEY names a new
# key of the map before it (extension keys, language-map keys).
KEY = "<key>"
BAD = {"iri.invalid": "http://x.org/a b", "extensions.key": "http://x.org/a b", "language.tag": "en_US",
       "uuid.invalid": "9e3f3b52-6d8a-9b8e-9a44-0c1f2e3d4a5b", "agent.mbox": "mailto:a@b",
       "agent.mbox-sha1sum": "g" * 40, "duration.format": "PT1H1H"}
PatternCase = tuple[dict[str, Any], tuple[Any, ...], str]


def _with(statement: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(statement)
    container = changed
    for step in path[:-1]:
        container = container[step]
    if path[-1] == KEY:
        container[value] = "x"
    else:
        container[path[-1]] = value
    return changed


def _activity_cases(statement: dict[str, Any], path: tuple[Any, ...]) -> Iterator[PatternCase]:
    """The positions inside the activity at ``path``, every component list's included."""
    definition = (*path, "definition")
    yield statement, (*path, "id"), "iri.invalid"
    yield statement, (*definition, "type"), "iri.invalid"
    yield statement, (*definition, "moreInfo"), "iri.invalid"
    yield statement, (*definition, "extensions", KEY), "extensions.key"
    yield statement, (*definition, "name", KEY), "language.tag"
    yield statement, (*definition, "description", KEY), "language.tag"
    plain = {key: value for key, value in FULL["object"]["definition"].items()
             if key not in (*COMPONENT_LISTS, "correctResponsesPattern")}
    for key, interaction_type in (("choices", "choice"), ("scale", "likert"), ("source", "matching"),
                                  ("target", "matching"), ("steps", "performance")):
        variant = _with(statement, definition, {**plain, "interactionType": interaction_type,
                                                key: [{"id": "a", "description": {"en-US": "A"}}]})
        yield variant, (*definition, key, 0, "description", KEY), "language.tag"


def _pattern_cases() -> Iterator[PatternCase]:
    yield FULL, ("id",), "uuid.invalid"
    yield FULL, ("verb", "id"), "iri.invalid"
    yield FULL, ("verb", "display", KEY), "language.tag"
    yield FULL, ("result", "duration"), "duration.format"
    yield FULL, ("result", "extensions", KEY), "extensions.key"
    yield FULL, ("context", "registration"), "uuid.invalid"
    yield FULL, ("context", "statement", "id"), "uuid.invalid"
    yield FULL, ("context", "language"), "language.tag"
    yield FULL, ("context", "extensions", KEY), "extensions.key"
    rules = {"mbox": "agent.mbox", "mbox_sha1sum": "agent.mbox-sha1sum", "openid": "iri.invalid",
             "account": "iri.invalid"}
    for agent in (("actor",), ("authority",), ("context", "instructor")):
        for ifi, value in IFIS.items():
            statement = _with(FULL, agent, {"name": "A", ifi: copy.deepcopy(value)})
            yield statement, agent + (("account", "homePage") if ifi == "account" else (ifi,)), rules[ifi]
    yield from _activity_cases(FULL, ("object",))
    for group in ("parent", "grouping", "category", "other"):
        where = ("context", "contextActivities", group)
        yield from _activity_cases(_with(FULL, where, copy.deepcopy(FULL["object"])), where)
        yield from _activity_cases(_with(FULL, where, [copy.deepcopy(FULL["object"])]), (*where, 0))


PATTERN_CASES = list(_pattern_cases())


@pytest.mark.parametrize(("statement", "path", "rule"), PATTERN_CASES,
                         ids=[".".join(map(str, path)) for _, path, _ in PATTERN_CASES])
def test_a_bad_format_in_any_position_takes_the_precise_path(statement, path, rule, tmp_path):
    ingestors = _ingestors(tmp_path)
    assert assert_same_outcome(json.dumps(statement), ingestors)  # the position is on the fast path
    bad = _with(statement, path, BAD[rule])
    assert rule in {issue.rule for issue in StatementValidator("auto").validate(bad)}
    raw = json.dumps(bad)
    assert decoded_record(0, 1, raw).fast is None
    assert not assert_same_outcome(raw, ingestors)


PATTERNS = [IRI, UUID, LANGTAG, MBOX, SHA1, DURATION]
PATTERN_TEXTS = st.one_of(st.sampled_from([*IRIS, *UUIDS, *LANGUAGES, "mailto:a@b.c", "mailto:a@b", "a" * 40,
                                           "PT1M30S", "PT", "P1W"]), st.text(max_size=12))


@settings(max_examples=200, deadline=None)
@given(index=st.integers(0, len(PATTERNS) - 1), limit=st.integers(1, 4),
       batches=st.lists(st.lists(PATTERN_TEXTS, max_size=4), max_size=6))
def test_remembered_matches_answer_as_the_pattern_does(index, limit, batches):
    """Including after the memory filled up and was cleared, and for whole maps of keys at once."""
    pattern: re.Pattern[str] = PATTERNS[index]
    known = KnownMatches(pattern, limit)
    for texts in batches:
        assert known.every(texts) == all(pattern.match(text) is not None for text in texts)
        for text in texts:
            assert known(text) == (pattern.match(text) is not None)
