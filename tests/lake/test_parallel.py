"""The parallel ingest gives the single-process ingest's lake row for row; its slices lose and repeat no line."""

from __future__ import annotations

import copy
import gzip
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xapi_ingest.app.cli.main import main
from xapi_ingest.lake.ingest import IngestCounts, Ingestor
from xapi_ingest.lake.parallel import ingest_file, plan_slices, slice_records
from xapi_ingest.lake.query import connect
from xapi_ingest.lake.store import Lake
from xapi_ingest.publish.privacy import Pseudonymizer, publish
from xapi_ingest.xapi.reader import read_records, records_with_origin
from xapi_ingest.xapi.samples import realistic_statements

BATCH, PER_SLICE = 100, 30  # small, so a few hundred statements make several batches of several slices


def _messy_ndjson(path: Path, statement: dict) -> Path:
    """Blank lines, CRLF, bad lines, an invalid statement, a repeat and a conflicting copy in
    other slices than their originals, and a truncated last line without a line break."""
    good = [json.dumps(s, ensure_ascii=False) for s in realistic_statements(260)]
    conflicting = json.loads(good[3])
    conflicting["verb"]["display"] = {"en-US": "changed"}
    invalid = copy.deepcopy(statement)
    invalid["result"] = {"score": {"min": 0, "max": 0}}
    lines = ["", *good[:50], "", "   ", "{bad json", *good[50:120], good[5], json.dumps(conflicting),
             json.dumps(invalid), "\u00a0", *good[120:], good[7]]
    text = "\r\n".join(lines[:80]) + "\r\n" + "\n".join(lines[80:]) + '\n{"truncated": '
    path.write_text(text, encoding="utf-8")
    return path


def _ingest(path: Path, lake: Lake, workers: int) -> IngestCounts:
    ingestor = Ingestor(lake, "moodle-a", batch_size=BATCH)
    counts = ingest_file(ingestor, path, workers, lambda: records_with_origin([path]), batch_id="run",
                         records_per_slice=PER_SLICE)
    counts.elapsed_seconds = 0.0
    return counts


def _lake_rows(lake: Lake) -> tuple[list[dict], list[tuple]]:
    """Every row but the ingest clock's columns, read back with pyarrow and DuckDB."""
    statements = lake.dataset("statements").to_table().drop_columns(["ingested_at", "stored_date"])
    with connect(lake, "restricted") as con:
        quarantine = con.execute(
            "SELECT quarantine_key, statement_id, origin, record_index, line, raw_json, rules, batch_id "
            "FROM quarantine ORDER BY record_index, quarantine_key").fetchall()
    return sorted(statements.to_pylist(), key=lambda row: row["statement_id"]), quarantine


@pytest.mark.integration  # starts worker processes
def test_parallel_ingest_gives_the_single_process_lake(tmp_path, statement):
    path = _messy_ndjson(tmp_path / "in.ndjson", statement)
    assert len(plan_slices(path, BATCH, PER_SLICE) or []) > 4  # the workers really share the file
    serial_lake, parallel_lake = Lake(tmp_path / "serial"), Lake(tmp_path / "parallel")
    serial = _ingest(path, serial_lake, 1)
    parallel = _ingest(path, parallel_lake, 2)
    assert parallel == serial
    assert (serial.read, serial.quarantined, serial.duplicates, serial.conflicts) == (266, 3, 2, 1)
    assert _lake_rows(parallel_lake) == _lake_rows(serial_lake)
    _, quarantine = _lake_rows(parallel_lake)
    assert [(row[3], row[4]) for row in quarantine if row[2] != "lake"] == [(50, 54), (123, 127), (265, 270)]
    assert {row[7] for row in quarantine} == {"run-00000", "run-00001", "run-00002"}

    again = _ingest(path, parallel_lake, 2)  # a re-run adds nothing, and counts as the serial re-run does
    assert again == _ingest(path, serial_lake, 1)
    assert again.duplicates == again.read - again.conflicts


@pytest.mark.parametrize("shape", ["gzip", "array"])
def test_gzip_and_arrays_take_the_single_process_path_with_the_same_result(tmp_path, shape):
    statements = list(realistic_statements(120))
    path = tmp_path / f"in.{shape}"
    if shape == "gzip":
        path.write_bytes(gzip.compress("".join(json.dumps(s) + "\n" for s in statements).encode()))
    else:
        path.write_text(json.dumps(statements, indent=1))
    assert plan_slices(path, BATCH, PER_SLICE) is None
    serial_lake, parallel_lake = Lake(tmp_path / "serial"), Lake(tmp_path / "parallel")
    assert _ingest(path, parallel_lake, 2) == _ingest(path, serial_lake, 1)
    assert _lake_rows(parallel_lake) == _lake_rows(serial_lake)
    assert len(_lake_rows(serial_lake)[0]) == 120


def test_a_file_that_is_not_utf8_throughout_is_not_cut(tmp_path):
    path = tmp_path / "in.ndjson"
    path.write_bytes(b'{"a": 1}\n' * 100 + b'{"b": "\xff"}\n' + b'{"a": 2}\n' * 100)
    assert plan_slices(path, BATCH, PER_SLICE) is None


def test_workers_import_no_storage_stack():
    code = ("import sys, xapi_ingest.lake.parallel; "
            "print(sorted(m for m in ('pyiceberg', 'sqlalchemy', 'pandas', 'duckdb') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


_LINE = st.sampled_from([
    '{"a": "é"}', '{"k": "€𝄞ж"}', '{"b": [1, 2]}', '{"s": "\u2028\x85"}', "", " ", "\t", "\u00a0", "\x1c", "\u3000 ",
    "\x85", "{bad", '"x"', "é", "{}",
])
_BREAK = st.sampled_from(["\n", "\r\n", "\r"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blank_head=st.lists(st.sampled_from(["", " ", "\t"]), max_size=2), lines=st.lists(st.tuples(_LINE, _BREAK), max_size=40),
       last_break=st.booleans(), bom=st.booleans(), per_slice=st.integers(1, 6), batch=st.integers(1, 8),
       read_size=st.integers(1, 48))
def test_slices_hold_every_line_once_numbered_as_the_reader_numbers_it(blank_head, lines, last_break, bom, per_slice,
                                                                         batch, read_size):
    text = "".join(line + "\n" for line in blank_head) + '{"first": 1}\n' + "".join(a + b for a, b in lines)
    if lines and not last_break:
        text = text[: -len(lines[-1][1])]
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "in.ndjson"
        path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
        slices = plan_slices(path, batch, per_slice, read_size=read_size)
        assert slices is not None
        from_slices = []
        for part in slices:
            records = list(slice_records(path, part))
            assert len(records) == part.records <= per_slice
            assert part.records_before // batch == (part.records_before + part.records - 1) // batch  # one batch
            from_slices += records
        assert from_slices == list(read_records(path))


@pytest.mark.integration  # starts worker processes
def test_ingest_file_command_with_workers(tmp_path, statement, capsys):
    path = _messy_ndjson(tmp_path / "in.ndjson", statement)
    outputs = []
    for workers, lake in (("1", "serial"), ("2", "parallel")):
        code = main(["ingest-file", str(path), "--source", "moodle-a", "--lake", str(tmp_path / lake), "--no-publish",
                     "--batch-size", "100", "--workers", workers])
        assert code == 0
        outputs.append(capsys.readouterr().out.split(" in ")[0])
    assert outputs[0] == outputs[1] == "read 266, valid 260, tolerated 0, quarantined 3, duplicates 2, conflicts 1"


def test_publish_takes_the_batch_just_written_from_memory(tmp_path):
    """The rows kept after a commit are the rows the lake holds; publishing from them gives the same zone."""
    path = tmp_path / "in.ndjson"
    path.write_text("".join(json.dumps(s) + "\n" for s in realistic_statements(250)))
    pseudonymizer = Pseudonymizer(b"k" * 32)
    zones = []
    for name, keep in (("memory", True), ("lake", False)):
        lake = Lake(tmp_path / name)
        ingestor = Ingestor(lake, "moodle-a", batch_size=BATCH, keep_last=keep)
        ingestor.ingest(records_with_origin([path]), batch_id="run")
        if keep:
            assert ingestor.last_written is not None
            assert ingestor.last_written.to_pylist() == lake.read_batches("statements", ["run-00002"]).to_pylist()
        else:
            assert ingestor.last_written is None
        published = publish(lake, pseudonymizer, include_unchecked=True, fresh=ingestor.last_written)
        assert sorted(published) == ["run-00000", "run-00001", "run-00002"]
        zone = lake.dataset("analyst_statements").to_table().drop_columns(["ingested_at", "stored_date"])
        zones.append(sorted(zone.to_pylist(), key=lambda row: row["statement_id"]))
    assert zones[0] == zones[1]
    assert len(zones[0]) == 250
