"""The lake on a real S3-compatible server (moto in server mode on 127.0.0.1) with a shared catalog database."""

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
from xapi_ingest.lake.query import connect
from xapi_ingest.lake.store import Lake
from xapi_ingest.publish.privacy import Pseudonymizer, publish
from xapi_ingest.pull.watermark import PullState, load_state, save_state
from xapi_ingest.xapi.reader import RawRecord
from xapi_ingest.xapi.samples import realistic_statements

pytestmark = pytest.mark.integration  # real processes: see [tool.pytest.ini_options] markers


def _records(count: int) -> list[tuple[str, RawRecord]]:
    return [("gen", RawRecord(i, i + 1, json.dumps(s), s)) for i, s in enumerate(realistic_statements(count))]


def test_statements_land_in_the_bucket_and_read_back_typed(tmp_path: Path, s3_uri: str) -> None:
    uri = s3_uri.replace("/lake?", "/typed?")
    catalog = f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    lake = Lake(uri, catalog)
    counts = Ingestor(lake, "moodle-a").ingest(_records(300))
    assert counts.valid == 300
    assert Ingestor(Lake(uri, catalog), "moodle-a").ingest(_records(300)).duplicates == 300  # another worker's view
    published = publish(lake, Pseudonymizer(b"remote-lake-test-key-000"), include_unchecked=True)
    assert published and lake.dataset("analyst_statements").count_rows() == 300

    files = lake.dataset("statements").files
    assert files and all(path.startswith("xapi-lake/typed/xapi/statements/data/source=moodle-a/") for path in files)
    fs, base = pafs.FileSystem.from_uri(uri)
    assert {info.path for info in fs.get_file_info(pafs.FileSelector(base, recursive=True))} >= set(files)
    with connect(lake, "analyst") as con:
        types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE statements)").fetchall())
        assert types["stored_date"] == "DATE" and "raw_json" not in types
    assert sorted(lake_ids(lake)) == sorted(s["id"] for _, s in ((r[0], r[1].value) for r in _records(300)))


def test_holds_and_pull_state_are_shared_through_the_catalog(tmp_path: Path, s3_uri: str) -> None:
    uri = s3_uri.replace("/lake?", "/state?")
    catalog = f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    worker_a, worker_b = Lake(uri, catalog), Lake(uri, catalog)
    save_state(worker_a, PullState(source="moodle-a", since_field="stored"))
    save_state(worker_b, PullState(source="openedx-b", since_field="timestamp"))
    BatchHolds(worker_a).hold("20261127T000000-abcdef01", {"why": "test"})
    assert load_state(worker_b, "moodle-a").since_field == "stored"
    assert load_state(worker_a, "openedx-b").since_field == "timestamp"
    assert list(BatchHolds(worker_b).held()) == ["20261127T000000-abcdef01"]
    assert BatchHolds(worker_b).release("20261127T000000-abcdef01") and not BatchHolds(worker_a).held()


def test_the_cli_works_on_an_s3_lake(tmp_path: Path, s3_uri: str, capsys) -> None:
    uri = s3_uri.replace("/lake?", "/cli?")
    catalog = f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    statements = tmp_path / "statements.ndjson"
    statements.write_text("".join(json.dumps(s) + "\n" for s in realistic_statements(120)))
    assert main(["ingest-file", str(statements), "--source", "moodle-a", "--lake", uri, "--catalog", catalog,
                 "--no-publish"]) == 0
    capsys.readouterr()
    assert main(["sql", "--lake", uri, "--catalog", catalog, "--zone", "restricted", "--format", "csv",
                 "SELECT count(*) AS n FROM statements"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "120"


def test_an_s3_lake_without_a_catalog_is_one_line(s3_uri: str, monkeypatch, capsys) -> None:
    monkeypatch.delenv("XAPI_LAKE_CATALOG", raising=False)
    assert main(["sql", "--lake", s3_uri, "SELECT 1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "XAPI_LAKE_CATALOG" in err and "Traceback" not in err


def test_an_unreachable_bucket_is_one_line_without_secrets(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    catalog = f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    uri = "s3://nowhere/lake?endpoint_override=127.0.0.1:9&scheme=http&region=us-east-1"
    statements = tmp_path / "s.ndjson"
    statements.write_text("".join(json.dumps(s) + "\n" for s in realistic_statements(3)))
    assert main(["ingest-file", str(statements), "--source", "a", "--lake", uri, "--catalog", catalog,
                 "--no-publish"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and err.count("\n") == 1 and "testing" not in err


def test_duckdb_reads_the_bucket_through_the_lake(tmp_path: Path, s3_uri: str) -> None:
    uri = s3_uri.replace("/lake?", "/duck?")
    lake = Lake(uri, f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    Ingestor(lake, "moodle-a").ingest(_records(50))
    data = lake.dataset("statements")  # noqa: F841  (read by name)
    assert duckdb.sql("SELECT count(DISTINCT statement_id) FROM data").fetchall() == [(50,)]
