"""The xapi-pipeline command line: exit codes, JSON output, help on every subcommand."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.lake import lake_ids
from xapi_ingest.app.cli.main import build_parser, main
from xapi_ingest.lake.store import Lake


def _write(path, lines):
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_validate_json_lines_and_exit_codes(tmp_path, statement, capsys):
    bad = {**statement, "result": {"duration": "P4W1D"}}
    path = _write(tmp_path / "in.ndjson", [json.dumps(statement), json.dumps(bad)])
    assert main(["validate", str(path), "--format", "json"]) == 1
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0] == {"file": str(path), "index": 0, "valid": True, "errors": []}
    assert lines[1]["valid"] is False
    assert lines[1]["errors"] == [{"path": "$.result.duration", "rule": "duration.format",
                                   "message": "'P4W1D' is not an ISO 8601 duration"}]
    good = _write(tmp_path / "good.json", [json.dumps([statement, statement])])
    assert main(["validate", str(good)]) == 0


def test_validate_unreadable_input_exits_2_with_the_line(tmp_path, statement, capsys):
    path = _write(tmp_path / "in.ndjson", [json.dumps(statement), '{"actor": '])
    assert main(["validate", str(path)]) == 2
    assert "line 2" in capsys.readouterr().out
    assert main(["validate", str(tmp_path / "missing.json")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_validate_version_option(tmp_path, statement, capsys):
    statement["timestamp"] = "2026-10-01T09:30:00"
    path = _write(tmp_path / "in.json", [json.dumps(statement)])
    assert main(["validate", str(path), "--xapi-version", "1.0.3"]) == 0
    assert main(["validate", str(path), "--xapi-version", "2.0.0"]) == 1
    assert "timestamp.offset" in capsys.readouterr().out


def test_ingest_then_sql(tmp_path, statement, capsys, monkeypatch):
    monkeypatch.setenv("XAPI_PSEUDONYM_KEY", "cli-test-key-0123456789")
    path = _write(tmp_path / "in.ndjson", [json.dumps(statement), "not json"])
    lake = tmp_path / "lake"
    assert main(["ingest-file", str(path), "--source", "moodle-a", "--lake", str(lake)]) == 0
    out = capsys.readouterr().out
    assert "read 2, valid 1, tolerated 0, quarantined 1, duplicates 0" in out
    assert "analyst zone: 1 batch(es) published" in out
    assert main(["sql", "--lake", str(lake), "--format", "csv",
                 "SELECT statement_id, verb_id FROM statements"]) == 0
    assert capsys.readouterr().out.splitlines()[1] == f"{statement['id']},{statement['verb']['id']}"
    assert main(["sql", "--lake", str(lake), "--zone", "analyst", "--format", "json",
                 "SELECT actor_ifi FROM statements"]) == 0
    assert json.loads(capsys.readouterr().out)["actor_ifi"].startswith("p_")
    assert main(["sql", "--lake", str(lake), "SELECT nope FROM statements"]) == 2  # an unusable query


def test_ingest_rejects_bad_source_id(tmp_path, statement, capsys):
    path = _write(tmp_path / "in.ndjson", [json.dumps(statement)])
    assert main(["ingest-file", str(path), "--source", "../etc", "--lake", str(tmp_path)]) == 2
    assert "[a-z0-9]" in capsys.readouterr().err


@pytest.mark.parametrize("command", [[], *[[name] for name in ("validate", "ingest-file", "publish", "sql",
                                                                 "rules", "schema", "sample", "analytics")],
                                     ["analytics", "list"], ["analytics", "run"]])
def test_help_everywhere(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([*command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: xapi-pipeline" in capsys.readouterr().out


def test_console_script_is_installed():
    executable = Path(sys.executable).with_name("xapi-pipeline")
    assert executable.exists(), "make test installs the package, so the console script sits beside python"
    result = subprocess.run([executable, "rules"], capture_output=True, text=True, check=True)
    assert "score.min-max" in result.stdout


def test_ingest_file_publishes_only_what_passed_the_gate(tmp_path, statement, capsys, monkeypatch):
    monkeypatch.setenv("XAPI_PSEUDONYM_KEY", "cli-test-key-0123456789")
    bad = {**statement, "result": {"score": {"scaled": 1.5}}}  # tolerated by the validator, critical for the gate
    path = _write(tmp_path / "in.ndjson", [json.dumps(bad)])
    lake = tmp_path / "lake"
    ingest = ["ingest-file", str(path), "--source", "moodle-a", "--lake", str(lake), "--tolerate", "score.scaled-range"]
    assert main(ingest) == 1
    captured = capsys.readouterr()
    assert "critical score-scaled-in-range" in captured.err and "analyst zone: 0 batch(es) published" in captured.out
    assert Lake(lake).dataset("analyst_statements").count_rows() == 0


def test_skipping_the_gate_is_said_and_a_later_check_withdraws(tmp_path, statement, capsys, monkeypatch):
    monkeypatch.setenv("XAPI_PSEUDONYM_KEY", "cli-test-key-0123456789")
    bad = {**statement, "result": {"score": {"scaled": 1.5}}}
    path = _write(tmp_path / "in.ndjson", [json.dumps(bad)])
    lake = tmp_path / "lake"
    assert main(["ingest-file", str(path), "--source", "moodle-a", "--lake", str(lake), "--no-publish",
                 "--tolerate", "score.scaled-range"]) == 0
    assert main(["publish", "--lake", str(lake), "--skip-quality-gate"]) == 0
    assert "quality gate SKIPPED (--skip-quality-gate): 1 unchecked batch(es) published" in capsys.readouterr().out
    assert Lake(lake).dataset("analyst_statements").count_rows() == 1
    assert main(["check", "--lake", str(lake)]) == 1  # finds the published, unchecked batch
    assert "withdrawn: 1 commit(s)" in capsys.readouterr().err
    assert Lake(lake).dataset("analyst_statements").count_rows() == 0
    assert main(["check", "--lake", str(lake)]) == 0
    assert "no unchecked batch" in capsys.readouterr().out


def test_a_full_disk_is_one_line_and_leaves_the_lake_consistent(tmp_path, statement, capsys, monkeypatch):
    import errno
    import os

    from pyiceberg.io.pyarrow import PyArrowFile

    path = _write(tmp_path / "in.ndjson", [json.dumps(statement)])
    lake = tmp_path / "lake"
    ingest = ["ingest-file", str(path), "--source", "moodle-a", "--lake", str(lake), "--no-publish"]
    real_create = PyArrowFile.create

    def disk_full(self, overwrite=False):  # the storage boundary: the device is full when a data file is opened
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self.location)

    monkeypatch.setattr(PyArrowFile, "create", disk_full)
    assert main(ingest) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("error: ") and "No space left on device" in err and str(lake) in err
    monkeypatch.setattr(PyArrowFile, "create", real_create)
    assert lake_ids(Lake(lake)) == []  # nothing half-written is visible, no id registered

    assert main(ingest) == 0  # space freed: the re-run writes the statement once
    assert "valid 1" in capsys.readouterr().out
    assert lake_ids(Lake(lake)) == [statement["id"]]


def test_relative_lake_paths_work_from_the_working_directory(tmp_path, statement, capsys, monkeypatch):
    """The gate's report stores need absolute folders; a user types `--lake lake`."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XAPI_PSEUDONYM_KEY", "cli-test-key-0123456789abcdef")
    _write(tmp_path / "in.ndjson", [json.dumps(statement)])
    assert main(["ingest-file", "in.ndjson", "--source", "moodle-a", "--lake", "lake"]) == 0
    assert "analyst zone: 1 batch(es) published" in capsys.readouterr().out
    assert main(["publish", "--lake", "lake"]) == 0
    assert "error" not in capsys.readouterr().err


def test_sql_csv_writes_lists_as_json(tmp_path, statement, capsys, monkeypatch):
    monkeypatch.setenv("XAPI_PSEUDONYM_KEY", "cli-test-key-0123456789abcdef")
    parents = ["https://lms.example.org/course/1", "https://lms.example.org/course/2"]
    with_parents = {**statement, "context": {"contextActivities": {"parent": [{"id": iri} for iri in parents]}}}
    _write(tmp_path / "in.ndjson", [json.dumps(with_parents)])
    lake = str(tmp_path / "lake")
    assert main(["ingest-file", str(tmp_path / "in.ndjson"), "--source", "moodle-a", "--lake", lake]) == 0
    capsys.readouterr()
    assert main(["sql", "--lake", lake, "--format", "csv", "SELECT context_parent_ids FROM statements"]) == 0
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert json.loads(rows[0]["context_parent_ids"]) == parents


def test_ingest_after_a_key_rotation_keeps_the_data_and_says_why_nothing_was_published(
        tmp_path, statement, capsys, monkeypatch):
    lake = str(tmp_path / "lake")
    monkeypatch.setenv("XAPI_PSEUDONYM_KEY", "the-first-key-0123456789abcdef")
    assert main(["ingest-file", str(_write(tmp_path / "a.ndjson", [json.dumps(statement)])), "--source", "moodle-a",
                 "--lake", lake]) == 0
    monkeypatch.setenv("XAPI_PSEUDONYM_KEY", "a-rotated-key-0123456789abcdef")
    later = {**statement, "id": "0d7f4b63-7c2a-4a77-9d0e-5f0e7a1c2b3d"}
    capsys.readouterr()
    assert main(["ingest-file", str(_write(tmp_path / "b.ndjson", [json.dumps(later)])), "--source", "moodle-a",
                 "--lake", lake]) == 0
    error = capsys.readouterr().err
    assert "analyst zone not published" in error and "--rebuild" in error and "Traceback" not in error


def test_a_batch_size_below_one_is_refused_by_the_parser(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["ingest-file", "x.ndjson", "--source", "moodle-a", "--lake", str(tmp_path), "--batch-size", "0"])
    assert exited.value.code == 2
    assert "at least 1" in capsys.readouterr().err


def test_an_unreachable_catalog_database_is_one_line_without_its_password(tmp_path, capsys):
    catalog = "postgresql+psycopg2://pipeline:s3cret-pw@127.0.0.1:9/lake"
    assert main(["sql", "--lake", str(tmp_path / "lake"), "--catalog", catalog, "SELECT 1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "s3cret-pw" not in err and "Traceback" not in err


def test_a_mistyped_lake_is_an_error_not_a_new_empty_lake(tmp_path, capsys):
    for command in (["sql", "SELECT 1"], ["check"], ["verify"], ["compact"]):
        assert main([*command, "--lake", str(tmp_path / "lkae")]) == 2
        assert capsys.readouterr().err == f"error: no lake at {tmp_path / 'lkae'}: ingest or pull statements into it first\n"
    assert not (tmp_path / "lkae").exists()
