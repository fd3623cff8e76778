"""Poison JSON gets its own rule id, the same from every input form, and a broken input keeps what came before."""

from __future__ import annotations

import gzip
import json

import pytest

from tests.support.poison import GOOD, POISON, with_extension
from xapi_ingest.pull.client import split_page
from xapi_ingest.pull.judging import page_records
from xapi_ingest.xapi.decode import MAX_DEPTH, decode_statement
from xapi_ingest.xapi.reader import read_records
from xapi_ingest.xapi.rules import NOT_TOLERABLE, RULES

FINE = {
    "-2**63": str(-(2**63)),
    "2**63 - 1": str(2**63 - 1),
    "1e-400 (underflows to 0)": "1e-400",
    "22-digit string": '"1234567890123456789012"',
    "a surrogate pair": '"\\ud83d\\ude00"',
    "an escaped backslash before u": '"\\\\ud800"',
    "deep, within the limit": "[" * (MAX_DEPTH - 3) + "]" * (MAX_DEPTH - 3),
}


@pytest.mark.parametrize(("payload", "rule"), POISON.values(), ids=POISON.keys())
def test_poison_gets_its_rule(payload, rule):
    verdict = decode_statement(with_extension(payload))
    assert (verdict.value, verdict.rule) == (None, rule)
    assert rule in RULES and rule in NOT_TOLERABLE


@pytest.mark.parametrize("payload", FINE.values(), ids=FINE.keys())
def test_edge_values_that_are_fine(payload):
    verdict = decode_statement(with_extension(payload))
    assert verdict.rule is None and verdict.value["actor"] == GOOD["actor"]


def test_the_verdict_does_not_depend_on_the_callers_stack():
    text = with_extension("[" * 900 + "]" * 900)

    def nested(depth: int) -> str | None:
        return decode_statement(text).rule if depth == 0 else nested(depth - 1)

    assert nested(0) == nested(800) == "json.depth"


def _forms(tmp_path, texts: list[str]) -> dict[str, list]:
    """The records of ``texts`` read from every input form the pipeline takes."""
    ndjson = "\n".join(texts) + "\n"
    files = {
        "ndjson": ndjson.encode(),
        "array": ("[\n" + ",\n".join(texts) + "\n]").encode(),
        "gzip": gzip.compress(ndjson.encode()),
        "gzip array": gzip.compress(("[" + ",".join(texts) + "]").encode()),
    }
    forms = {}
    for name, data in files.items():
        path = tmp_path / name.replace(" ", "-")
        path.write_bytes(data)
        forms[name] = list(read_records(path))
    statements, _ = split_page(('{"statements": [' + ", ".join(texts) + '], "more": ""}').encode())
    forms["LRS page"] = list(page_records(statements))
    if len(texts) == 1:
        (tmp_path / "single").write_text(texts[0])
        forms["single object"] = list(read_records(tmp_path / "single"))
    return forms


@pytest.mark.parametrize(("payload", "rule"), POISON.values(), ids=POISON.keys())
def test_every_input_form_gives_the_same_verdict(tmp_path, payload, rule):
    texts = [json.dumps(GOOD), with_extension(payload), json.dumps(GOOD)]
    for form, records in _forms(tmp_path, texts).items():
        assert [r.rule if r.error else "ok" for r in records] == ["ok", rule, "ok"], form
        assert records[1].raw == texts[1], form  # the quarantine keeps the bytes as sent
    for form, records in _forms(tmp_path, [with_extension(payload)]).items():
        assert [r.rule for r in records] == [rule], form


def test_a_page_with_a_poison_statement_is_split_not_refused():
    bad = with_extension('"\\ud800"')
    statements, more = split_page(f'{{"more": "/next", "statements": [{json.dumps(GOOD)}, {bad}]}}'.encode())
    assert (statements[1].decode(), more) == (bad, "/next")


def test_truncated_gzip_keeps_the_lines_before_and_records_the_break(tmp_path):
    lines = [json.dumps({**GOOD, "n": n, "pad": "x" * 200}) for n in range(400)]
    data = gzip.compress(("\n".join(lines) + "\n").encode())
    path = tmp_path / "cut.json.gz"
    path.write_bytes(data[: len(data) * 2 // 3])
    records = list(read_records(path))
    *kept, broken = records
    assert kept and all(r.error is None for r in kept)
    assert [r.value["n"] for r in kept] == list(range(len(kept)))
    assert (broken.rule, broken.index, broken.line) == ("input.truncated", len(kept), len(kept) + 1)
    assert str(path) in broken.error


def test_malformed_first_line_then_a_blank_line_is_still_ndjson(tmp_path):
    path = tmp_path / "in.ndjson"
    path.write_text('{"a": \n\n' + json.dumps(GOOD) + "\n" + json.dumps(GOOD) + "\n")
    records = list(read_records(path))
    assert [(r.line, r.rule if r.error else "ok") for r in records] == [(1, "json.malformed"), (3, "ok"), (4, "ok")]


@pytest.mark.parametrize("scalar", ["NaN", "tru", "Infinity"])
def test_a_bad_scalar_between_statements_is_quarantined_alone(tmp_path, scalar):
    """The scalar's end is its own delimiter: the next statement is not swallowed into its record."""
    path = tmp_path / "array.json"
    path.write_text(f"[{json.dumps(GOOD)}, {scalar}, {json.dumps(GOOD)}]")
    records = list(read_records(path))
    assert [record.value is not None for record in records] == [True, False, True]
    assert records[1].raw.strip() == scalar
