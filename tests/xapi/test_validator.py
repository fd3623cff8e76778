"""Edge cases the rules reference calls out, and the pitfalls of existing validators."""

from __future__ import annotations

import pytest

from xapi_ingest.xapi.timestamps import parse_timestamp
from xapi_ingest.xapi.validator import StatementValidator

V103 = StatementValidator("1.0.3")
V200 = StatementValidator("2.0.0")


def rules_of(issues):
    return sorted({issue.rule for issue in issues})


def test_base_statement_is_valid(statement):
    assert V103.validate(statement) == []
    assert V200.validate(statement) == []


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        ({"min": 0, "max": 0}, ["score.min-max"]),       # Ralph accepts this (truthiness bug)
        ({"min": 0, "raw": -5}, ["score.raw-range"]),      # Ralph and ADL accept this
        ({"max": 0, "raw": 5}, ["score.raw-range"]),       # Ralph accepts this
        ({"min": 1, "raw": 0}, ["score.raw-range"]),       # Ralph and ADL accept this
        ({"min": 2, "max": 1}, ["score.min-max"]),
        ({"raw": 0, "min": 0, "max": 10, "scaled": 0}, []),
        ({"scaled": -1}, []),
        ({"scaled": 1.0001}, ["score.scaled-range"]),
        ({"max": "100"}, ["value.type"]),                   # pydantic lax mode would coerce it
        ({"raw": True}, ["value.type"]),                    # a JSON boolean is not a number
        ({"raw": None}, ["value.null"]),
    ],
)
def test_score_edges(statement, score, expected):
    statement["result"] = {"score": score}
    assert rules_of(V103.validate(statement)) == expected


@pytest.mark.parametrize(
    ("duration", "valid"),
    [("PT4H35M59.14S", True), ("P3Y1M29DT4H", True), ("P4W", True), ("P4W1D", False),
     ("PT", False), ("P", False), (12345, False), ("-PT1S", False), ("PT1,5S", True), ("P1DT", False)],
)
def test_durations(statement, duration, valid):
    statement["result"] = {"duration": duration}
    assert (V103.validate(statement) == []) is valid


@pytest.mark.parametrize(
    ("timestamp", "ok_103", "ok_200"),
    [
        ("2026-10-01T09:30:00Z", True, True),
        ("2026-10-01T09:30:00.123456+06:00", True, True),
        ("2026-10-01T09:30:00", True, False),             # 1.0.3: offset only a SHOULD
        ("2026-10-01 09:30:00Z", False, True),            # RFC 3339 allows a space
        ("2026-10-01T09:30:00-00:00", False, False),
        ("2026-10-01T09:30:00-0000", False, False),
        ("2026-10-01T09:30:00-00", False, False),
        ("2026-10-01T09:30:00+0600", True, False),        # RFC 3339 needs hh:mm
        ("2026-02-29T09:30:00Z", False, False),           # not a leap year
        ("2028-02-29T09:30:00Z", True, True),
        ("2026-10-01", False, False),
        ("2026-10-01T25:00:00Z", False, False),
    ],
)
def test_timestamps(statement, timestamp, ok_103, ok_200):
    statement["timestamp"] = timestamp
    assert (V103.validate(statement) == []) is ok_103
    assert (V200.validate(statement) == []) is ok_200


def test_parse_timestamp_converts_offsets_to_the_same_instant():
    assert parse_timestamp("2026-10-01T09:30:00+06:00") == parse_timestamp("2026-10-01T03:30:00Z")
    assert parse_timestamp("2016-12-31T23:59:60Z") == parse_timestamp("2017-01-01T00:00:00Z")


def test_open_edx_group_activity_is_caught_in_object_and_context(statement):
    statement["object"]["objectType"] = "GroupActivity"
    statement["context"] = {"contextActivities": {"parent": [{"id": "https://x.example/p", "objectType": "GroupActivity"}]}}
    issues = V103.validate(statement)
    assert [(i.path, i.rule) for i in issues] == [
        ("$.object.objectType", "object-type.invalid"),
        ("$.context.contextActivities.parent[0].objectType", "object-type.invalid"),
    ]


def test_all_problems_are_reported_with_paths(statement):
    statement["Verb"] = statement.pop("verb")
    statement["actor"]["mbox"] = "aigerim@school.example.kz"
    statement["object"]["id"] = "course-without-scheme"
    issues = V103.validate(statement)
    assert {(i.path, i.rule) for i in issues} == {
        ("$.Verb", "key.unknown"),
        ("$.verb", "key.required"),
        ("$.actor.mbox", "agent.mbox"),
        ("$.object.id", "iri.invalid"),
    }
    assert "did you mean 'verb'" in next(i.message for i in issues if i.path == "$.Verb")


def test_empty_values_that_xapi_allows(statement):
    statement["result"] = {"response": "", "extensions": {}}
    statement["context"] = {"contextActivities": {}, "extensions": {"https://x.example/e": None}}
    statement["verb"]["display"] = {"en-US": ""}
    assert V103.validate(statement) == []


def test_agent_needs_exactly_one_ifi(statement):
    statement["actor"]["mbox_sha1sum"] = "a" * 40
    assert rules_of(V103.validate(statement)) == ["agent.ifi-count"]
    del statement["actor"]["mbox"], statement["actor"]["mbox_sha1sum"]
    assert rules_of(V103.validate(statement)) == ["agent.ifi-count"]


def test_group_rules(statement):
    statement["actor"] = {"objectType": "Group", "member": []}
    assert rules_of(V103.validate(statement)) == ["group.member-invalid"]
    statement["actor"] = {"objectType": "Group", "name": "Team A"}
    assert rules_of(V103.validate(statement)) == ["group.member-required"]
    statement["actor"] = {"objectType": "Group", "member": [{"objectType": "Group", "mbox": "mailto:g@x.org"}]}
    assert rules_of(V103.validate(statement)) == ["group.member-invalid"]


def test_voiding_requires_statement_ref(statement):
    statement["verb"]["id"] = "http://adlnet.gov/expapi/verbs/voided"
    assert rules_of(V103.validate(statement)) == ["verb.voided-object"]
    statement["object"] = {"objectType": "StatementRef", "id": "e05aa883-acaf-40ad-bf54-02c8ce485fb0"}
    assert V103.validate(statement) == []


def test_platform_only_with_activity_object(statement):
    statement["object"] = {"objectType": "StatementRef", "id": "e05aa883-acaf-40ad-bf54-02c8ce485fb0"}
    statement["context"] = {"platform": "Moodle"}
    assert rules_of(V103.validate(statement)) == ["context.activity-only"]


def test_context_agents_are_2_0_only(statement):
    statement["context"] = {"contextAgents": [{"objectType": "contextAgent", "agent": {"mbox": "mailto:t@x.org"},
                                               "relevantTypes": ["https://x.example/t"]}]}
    assert rules_of(V103.validate(statement)) == ["context.version"]
    assert V200.validate(statement) == []
    statement["context"]["contextAgents"][0]["relevantTypes"] = []
    assert rules_of(V200.validate(statement)) == ["context.agents"]


def test_auto_mode_follows_the_declared_version(statement):
    auto = StatementValidator("auto")
    statement["timestamp"] = "2026-10-01T09:30:00"  # no offset: fine in 1.0.3, not in 2.0
    assert auto.validate(statement) == []
    statement["version"] = "2.0.0"
    assert rules_of(auto.validate(statement)) == ["timestamp.offset"]
    statement["version"] = "1.0.3"
    assert auto.validate(statement) == []
    assert rules_of(V103.validate({**statement, "version": "2.0.0"})) == ["version.unsupported"]


@pytest.mark.parametrize("tag", ["en", "en-US", "tlh", "zh-Hant-TW", "sr-Latn-RS", "x-private", "i-klingon"])
def test_language_tags_accepted(statement, tag):
    statement["verb"]["display"] = {tag: "completed"}
    assert V103.validate(statement) == []


@pytest.mark.parametrize("tag", ["en_US", "englishlanguage", "", "a1", "en--US"])
def test_language_tags_rejected(statement, tag):
    statement["verb"]["display"] = {tag: "completed"}
    assert rules_of(V103.validate(statement)) == ["language.tag"]


def test_substatement_restrictions(statement):
    sub = {k: statement[k] for k in ("actor", "verb", "object")}
    statement["object"] = {"objectType": "SubStatement", **sub, "id": statement["id"]}
    assert rules_of(V103.validate(statement)) == ["substatement.forbidden-key"]
    del statement["object"]["id"]
    statement["object"]["object"] = {"objectType": "SubStatement", **sub}
    assert rules_of(V103.validate(statement)) == ["substatement.nested"]


def test_non_object_statements_do_not_crash():
    for value in (None, 1, "x", [], [{}]):
        assert rules_of(V103.validate(value)) == ["statement.not-object"]
