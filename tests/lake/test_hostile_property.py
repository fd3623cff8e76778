"""Property: generated statements and mutations (poison included) get one verdict from ``validate``, from
``ingest-file`` in every file form and from the LRS page path; nothing raises; every record is accounted for."""

from __future__ import annotations

import contextlib
import copy
import gzip
import io
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xapi_ingest.app.cli.main import main
from xapi_ingest.lake.ingest import IngestCounts, Ingestor
from xapi_ingest.lake.normalize import derived_statement_id
from xapi_ingest.lake.query import connect
from xapi_ingest.lake.store import Lake
from xapi_ingest.pull.client import split_page
from xapi_ingest.pull.judging import page_records
from xapi_ingest.xapi.reader import records_with_origin
from xapi_ingest.xapi.samples import realistic_statements

BASES = list(realistic_statements(8))
UNREADABLE = {"json.malformed", "input.truncated"}

payloads = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.integers(min_value=-(10**450), max_value=10**450).map(str),
    st.sampled_from(["1e400", "-1e400", "1e-400", "2.5", "NaN", "-Infinity", '"\\ud83d\\ude00"', '"\\\\ud800"']),
    st.integers(min_value=0xD800, max_value=0xDFFF).map(lambda n: f'"x\\u{n:04x}y"'),
    st.integers(min_value=1, max_value=120).map(lambda depth: "[" * depth + "]" * depth),
    st.text(max_size=20).map(lambda text: json.dumps(text, ensure_ascii=False)),
)


@st.composite
def statement_texts(draw: st.DrawFn) -> str:
    """A valid statement, or one mutated into an invalid, poisonous or malformed (but bracket-balanced) one."""
    statement = copy.deepcopy(draw(st.sampled_from(BASES)))
    mutation = draw(st.sampled_from(["none", "payload", "upper-id", "bad-iri", "missing-actor", "colon"]))
    if mutation == "upper-id":
        statement["id"] = statement["id"].upper()
    elif mutation == "bad-iri":
        statement["verb"]["id"] = draw(st.sampled_from(["http://x.org/%zz", "http://x.org/a#b#c"]))
    elif mutation == "missing-actor":
        del statement["actor"]
    if mutation != "payload":
        text = json.dumps(statement, ensure_ascii=False)
        return text.replace(":", " ", 1) if mutation == "colon" else text
    statement["result"] = {"extensions": {"http://x.org/e": "__PAYLOAD__"}}
    return json.dumps(statement, ensure_ascii=False).replace('"__PAYLOAD__"', draw(payloads))


def _validate(path: Path) -> tuple[int, list[frozenset[str]]]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(["validate", str(path), "--format", "json"])
    verdicts = [json.loads(line) for line in out.getvalue().splitlines()]
    return code, [frozenset(error["rule"] for error in v["errors"]) for v in verdicts]


def _tables(lake: Lake) -> tuple[int, list[tuple[int, str, frozenset[str]]]]:
    with connect(lake) as con:
        written = con.execute("SELECT count(*) FROM statements").fetchone()[0]
        rows = con.execute("SELECT record_index, raw_json, rules FROM quarantine").fetchall()
    return written, [(index, raw, frozenset(rules)) for index, raw, rules in rows]


def _check_accounting(counts: IngestCounts, lake: Lake, n: int) -> list[tuple[int, str, frozenset[str]]]:
    assert counts.read == n
    assert n == counts.valid + counts.tolerated + counts.quarantined + counts.duplicates + counts.conflicts
    written, rows = _tables(lake)
    assert written == counts.valid + counts.tolerated
    assert len(rows) == counts.quarantined + counts.conflicts
    return [row for row in rows if row[2] != {"lake.id-conflict"}]


def _key(text: str, value: dict) -> str:
    return value["id"].lower() if isinstance(value.get("id"), str) else derived_statement_id(text)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(statement_texts(), min_size=1, max_size=6).flatmap(
    lambda texts: st.permutations(texts + texts[:1])))  # one repeat, for the duplicate count
def test_one_verdict_everywhere_and_every_record_accounted_for(texts: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ndjson = "\n".join(texts) + "\n"
        files = {"in.ndjson": ndjson.encode(), "in.json": ("[" + ",\n".join(texts) + "]").encode(),
                 "in.ndjson.gz": gzip.compress(ndjson.encode())}
        for name, data in files.items():
            (root / name).write_bytes(data)

        code, expected = _validate(root / "in.ndjson")
        assert len(expected) == len(texts)
        assert code == (2 if any(r & UNREADABLE for r in expected) else 1 if any(expected) else 0)
        invalid = {i: rules for i, rules in enumerate(expected) if rules}
        valid_keys = {_key(text, json.loads(text)) for text, rules in zip(texts, expected, strict=True) if not rules}

        for name in files:
            assert _validate(root / name) == (code, expected), name
            lake = Lake(root / f"lake-{name}")
            counts = Ingestor(lake, "prop").ingest(records_with_origin([root / name]))
            rows = _check_accounting(counts, lake, len(texts))
            assert {index: rules for index, _, rules in rows} == invalid, name
            assert counts.valid + counts.tolerated == len(valid_keys), name

        statements, _ = split_page(('{"statements": [' + ",".join(texts) + '], "more": ""}').encode())
        lake = Lake(root / "lake-page")
        counts = Ingestor(lake, "prop").ingest(("page", record) for record in page_records(statements))
        rows = _check_accounting(counts, lake, len(texts))
        assert {raw: rules for _, raw, rules in rows} == {texts[i]: rules for i, rules in invalid.items()}
        assert counts.valid + counts.tolerated == len(valid_keys)
