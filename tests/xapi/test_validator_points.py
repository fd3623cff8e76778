"""IRI escapes and the ISO 8601 timestamp forms RFC 3339 excludes, decided per xAPI version (README, Validation)."""

from __future__ import annotations

import pytest

from xapi_ingest.lake.normalize import StatementColumns
from xapi_ingest.xapi.validator import StatementValidator


@pytest.mark.parametrize("iri", ["http://x.org/a%zz", "http://x.org/a%2", "http://x.org/a#b#c"])
def test_bad_percent_escapes_and_a_second_hash_are_invalid(statement, iri):
    statement["verb"]["id"] = iri
    statement["result"] = {"extensions": {iri: 1}}
    rules = sorted(issue.rule for issue in StatementValidator("auto").validate(statement))
    assert rules == ["extensions.key", "iri.invalid"]


def test_good_escapes_and_one_fragment_are_valid(statement):
    statement["verb"]["id"] = "http://x.org/a%2Fb%C3%A9#frag?x=1"
    assert StatementValidator("auto").validate(statement) == []


ISO_ONLY = {"basic": "20261001T093000Z", "basic with offset": "20261001T0930+0200",
            "hour precision": "2026-10-01T09Z", "basic, hour precision": "20261001T09Z"}


@pytest.mark.parametrize("stamp", ISO_ONLY.values(), ids=ISO_ONLY.keys())
def test_iso_8601_forms_outside_rfc_3339_are_valid_in_1_0_3_only(statement, stamp):
    statement["timestamp"] = stamp
    statement.pop("version", None)
    assert StatementValidator("1.0.3").validate(statement) == []
    assert [i.rule for i in StatementValidator("2.0.0").validate(statement)] == ["timestamp.format"]
    columns = StatementColumns()  # and the lake reads them as the moment they name
    columns.append(statement, "{}", [], "b", None)  # type: ignore[arg-type]
    moment = columns.to_table()["timestamp"][0].as_py()
    assert (moment.year, moment.month, moment.day) == (2026, 10, 1) and moment.hour in (7, 9)


@pytest.mark.parametrize("stamp", ["20261001T09:30:00Z", "2026-10-01T093000Z", "2026-10-01T9Z"])
def test_mixed_or_short_forms_are_invalid_everywhere(statement, stamp):
    statement["timestamp"] = stamp
    statement.pop("version", None)
    for mode in ("1.0.3", "2.0.0"):
        assert [i.rule for i in StatementValidator(mode).validate(statement)] == ["timestamp.format"]
