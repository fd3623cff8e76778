"""The lake round trip through a real S3-compatible server (moto in server mode on 127.0.0.1)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow.fs as pafs
import pytest

from tests.support.lake import lake_ids
from xapi_ingest.app.cli.main import main
from xapi_ingest.lake.holds import BatchHolds
from xapi_ingest.lake.ingest import Ingestor
from xapi_ingest.lake.remote import filesystem, pull_down, push, remote_dataset, working_lake
from xapi_ingest.lake.store import Lake
from xapi_ingest.publish.privacy import Pseudonymizer, publish
from xapi_ingest.pull.watermark import PullState, load_state, save_state
from xapi_ingest.xapi.reader import RawRecord
from xapi_ingest.xapi.samples import realistic_statements

pytestmark = pytest.mark.integration  # real processes: see [tool.pytest.ini_options] markers


def build_lake(root: Path, count: int) -> Lake:
    lake = Lake(root)
    statements = list(realistic_statements(count))
    records = [("gen", RawRecord(i, i + 1, json.dumps(s), s)) for i, s in enumerate(statements)]
    Ingestor(lake, "moodle-a").ingest(records)
    publish(lake, Pseudonymizer(b"remote-lake-test-key-000"), include_unchecked=True)
    save_state(lake, PullState(source="moodle-a"))
    return lake


def test_push_read_remotely_and_pull_down(tmp_path: Path, s3_uri: str) -> None:
    lake = build_lake(tmp_path / "lake", 300)
    first = push(lake, s3_uri)
    assert first.copied > 0 and first.unchanged == 0
    again = push(lake, s3_uri)
    assert again.copied == 1 and again.unchanged == first.copied - 1  # only the small state file is re-sent

    remote = remote_dataset(s3_uri, "analyst").to_table()
    assert remote.num_rows == 300 and "raw_json" not in remote.column_names
    con = duckdb.connect()
    con.register("remote_statements", remote_dataset(s3_uri, "restricted"))
    assert sorted(r[0] for r in con.execute("SELECT statement_id FROM remote_statements").fetchall()) == sorted(lake_ids(lake))

    copy = Lake(tmp_path / "restored")
    restored = pull_down(s3_uri, copy)
    assert restored.copied == first.copied
    assert sorted(lake_ids(copy)) == sorted(lake_ids(lake))
    assert load_state(copy, "moodle-a") == load_state(lake, "moodle-a")


def test_released_holds_vanish_remotely_and_full_resends(tmp_path: Path, s3_uri: str) -> None:
    uri = s3_uri.replace("/lake?", "/holds?")
    lake = build_lake(tmp_path / "lake", 50)
    holds = BatchHolds(lake)
    holds.hold("20261127T000000-abcdef01", {"why": "test"})
    push(lake, uri)
    fs, base = filesystem(uri)
    held = f"{base}/_quality/held/20261127T000000-abcdef01.json"
    assert fs.get_file_info(held).type == pafs.FileType.File
    holds.release("20261127T000000-abcdef01")
    assert push(lake, uri).deleted == 1
    assert fs.get_file_info(held).type == pafs.FileType.NotFound
    every = push(lake, uri, full=True)
    assert every.unchanged == 0 and every.copied == len([p for p in lake.root.rglob("*") if p.is_file()
                                                         and not p.name.startswith(".")])


def test_the_cli_works_on_an_s3_lake(tmp_path: Path, s3_uri: str, monkeypatch, capsys) -> None:
    monkeypatch.setenv("XAPI_LAKE_CACHE", str(tmp_path / "cache"))
    uri = s3_uri.replace("/lake?", "/cli?")
    statements = tmp_path / "statements.ndjson"
    statements.write_text("".join(json.dumps(s) + "\n" for s in realistic_statements(120)))
    assert main(["ingest-file", str(statements), "--source", "moodle-a", "--lake", uri, "--no-publish"]) == 0
    assert remote_dataset(uri, "restricted").count_rows() == 120
    capsys.readouterr()
    assert main(["sql", "--lake", uri, "--zone", "restricted", "--format", "csv",
                 "SELECT count(*) AS n FROM statements"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "120"


def test_two_workers_keep_each_others_state(tmp_path: Path, s3_uri: str, monkeypatch) -> None:
    """Each step pushes only what it changed: a stale cache never overwrites or deletes another's state."""
    uri = s3_uri.replace("/lake?", "/workers?")
    monkeypatch.setenv("XAPI_LAKE_CACHE", str(tmp_path / "worker-a"))
    first = working_lake(uri)
    lake_a = first.__enter__()
    monkeypatch.setenv("XAPI_LAKE_CACHE", str(tmp_path / "worker-b"))
    with working_lake(uri) as lake_b:  # opened before worker A pushes
        save_state(lake_a, PullState(source="moodle-a", since_field="stored"))
        first.__exit__(None, None, None)
        save_state(lake_b, PullState(source="openedx-b", since_field="timestamp"))
    restored = Lake(tmp_path / "restored")
    pull_down(uri, restored)
    assert load_state(restored, "moodle-a").since_field == "stored"
    assert load_state(restored, "openedx-b").since_field == "timestamp"
