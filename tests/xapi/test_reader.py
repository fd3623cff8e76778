"""Every input shape yields the exact statement text, and broken input is located."""

from __future__ import annotations

import gzip
import json

import pytest

from xapi_ingest.xapi.reader import InputError, read_records

STATEMENTS = [{"id": str(n), "text": "a\u00e9\\\"]}[{,"} for n in range(5)]


def _write(path, text, gz=False):
    path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    return path


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("shape", ["ndjson", "array", "pretty-array", "object", "pretty-objects"])
def test_shapes_round_trip(tmp_path, shape, gz):
    if shape == "ndjson":
        text = "\n".join(json.dumps(s) for s in STATEMENTS) + "\n"
    elif shape == "array":
        text = json.dumps(STATEMENTS)
    elif shape == "pretty-array":
        text = json.dumps(STATEMENTS, indent=2)
    elif shape == "object":
        text = json.dumps(STATEMENTS[0], indent=2)
    else:
        text = "\n".join(json.dumps(s, indent=1) for s in STATEMENTS)
    records = list(read_records(_write(tmp_path / "in.json", text, gz)))
    expected = STATEMENTS[:1] if shape == "object" else STATEMENTS
    assert [r.value for r in records] == expected
    assert [json.loads(r.raw) for r in records] == expected  # raw text is the statement itself
    assert all(r.raw in text for r in records)


def test_malformed_ndjson_line_is_isolated(tmp_path):
    text = '{"a": 1}\n{"a": \n\n{"a": "x\ty"}\n{"a": NaN}\n{"a": 3}\n'
    records = list(read_records(_write(tmp_path / "in.ndjson", text)))
    assert [(r.line, r.value, r.error is None) for r in records] == [
        (1, {"a": 1}, True), (2, None, False), (4, None, False), (5, None, False), (6, {"a": 3}, True)
    ]
    assert records[1].error.startswith("line 2:")


def test_a_malformed_array_element_is_rejected_alone(tmp_path):
    text = '[\n{"a": 1},\n{"a": tru},\n{"a": 3}\n]'
    records = list(read_records(_write(tmp_path / "in.json", text)))
    assert [(r.value, r.line, r.rule if r.error else "ok") for r in records] == [
        ({"a": 1}, 2, "ok"), (None, 3, "json.malformed"), ({"a": 3}, 4, "ok")
    ]
    assert records[1].raw == '{"a": tru}' and "line 3" in records[1].error


@pytest.mark.parametrize("gz", [False, True])
def test_a_cut_array_keeps_what_came_before_and_records_the_break(tmp_path, gz):
    text = '[\n{"a": 1},\n{"a": 2},\n{"a": [3, '
    records = list(read_records(_write(tmp_path / "in.json", text, gz)))
    assert [r.value for r in records] == [{"a": 1}, {"a": 2}, None]
    broken = records[2]
    assert (broken.rule, broken.line, broken.index) == ("input.truncated", 4, 2)
    assert "line 4" in broken.error and broken.raw == '{"a": [3, '


def test_array_lines_are_counted(tmp_path):
    records = list(read_records(_write(tmp_path / "in.json", json.dumps(STATEMENTS, indent=2))))
    assert records[0].line == 2 and records[1].line > records[0].line


def test_large_array_crosses_chunk_boundaries(tmp_path):
    statements = [{"n": n, "pad": "x" * (n % 977)} for n in range(6000)]  # ~3 MiB, several chunks
    records = list(read_records(_write(tmp_path / "big.json", json.dumps(statements))))
    assert [r.value for r in records] == statements


def test_not_json_at_all(tmp_path):
    with pytest.raises(InputError, match="expected a JSON object"):
        list(read_records(_write(tmp_path / "in.csv", "id,verb\n1,2\n")))


def test_empty_file_has_no_records(tmp_path):
    assert list(read_records(_write(tmp_path / "empty.json", "\n\n"))) == []
