"""Compaction beside readers and writers, on local disk and on S3: nobody sees a row twice or misses one."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pyarrow.fs as pafs
import pytest

from devtools import REPO_ROOT
from xapi_ingest.lake.ingest import Ingestor
from xapi_ingest.lake.maintenance import compact
from xapi_ingest.lake.store import Lake
from xapi_ingest.xapi.reader import RawRecord
from xapi_ingest.xapi.samples import realistic_statements

pytestmark = pytest.mark.integration  # reader and writer processes, and a moto server for S3

FIRST, LATER, PER_COMMIT = 1000, 250, 25
READER = """
import sys, duckdb
sys.path.insert(0, sys.argv[3])
from xapi_ingest.lake.store import Lake
lake = Lake(sys.argv[1], sys.argv[2] or None)
for _ in range(int(sys.argv[4])):
    with duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")  # its bar would go to stdout
        con.register("data", lake.dataset("statements"))
        print(*con.execute("SELECT count(*), count(DISTINCT statement_id) FROM data").fetchall()[0], flush=True)
"""
WRITER = """
import json, sys
sys.path.insert(0, sys.argv[3])
from xapi_ingest.lake.ingest import Ingestor
from xapi_ingest.lake.store import Lake
from xapi_ingest.xapi.reader import RawRecord
from xapi_ingest.xapi.samples import realistic_statements
statements = list(realistic_statements(int(sys.argv[4])))[int(sys.argv[5]):]
records = [("w", RawRecord(i, i + 1, json.dumps(s), s)) for i, s in enumerate(statements)]
Ingestor(Lake(sys.argv[1], sys.argv[2] or None), "moodle-a", batch_size=int(sys.argv[6])).ingest(records)
"""


def _location(storage: str, tmp_path: Path, request) -> tuple[str, str]:
    if storage == "local":
        return str(tmp_path / "lake"), ""
    return request.getfixturevalue("s3_uri").replace("/lake?", f"/{tmp_path.name}?"), f"sqlite:///{tmp_path}/catalog.sqlite"


def _stored_files(lake: Lake) -> set[str]:
    fs = lake.location.filesystem()
    base = lake.table("statements").location().split("://", 1)[1] + "/data"
    return {i.path for i in fs.get_file_info(pafs.FileSelector(base, recursive=True)) if i.type == pafs.FileType.File}


@pytest.mark.parametrize("storage", ["local", "s3"])
def test_compaction_beside_readers_and_a_writer(storage: str, tmp_path: Path, request, monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    location, catalog = _location(storage, tmp_path, request)
    lake = Lake(location, catalog or None)
    statements = list(realistic_statements(FIRST))
    records = [("gen", RawRecord(i, i + 1, json.dumps(s), s)) for i, s in enumerate(statements)]
    Ingestor(lake, "moodle-a", batch_size=PER_COMMIT).ingest(records)  # 40 small commits, one partition
    files_before = len(lake.dataset("statements").files)
    tagged = lake.snapshot_id("statements")
    assert tagged is not None
    lake.tag("statements", tagged, "credit-test")

    args = [location, catalog, str(REPO_ROOT)]
    reader = subprocess.Popen([sys.executable, "-c", READER, *args, "60"], stdout=subprocess.PIPE, text=True)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, *args, str(FIRST + LATER), str(FIRST), str(PER_COMMIT)])
    results = compact(lake, target_file_bytes=64 * 2**20)  # default retention and grace: nothing is deleted
    assert writer.wait(timeout=600) == 0
    lines, _ = reader.communicate(timeout=600)

    statements_result = next(r for r in results if r.table == "statements")
    assert statements_result.partitions_compacted >= 1 and statements_result.rows_rewritten >= FIRST
    seen = [tuple(map(int, line.split())) for line in lines.splitlines()]
    assert len(seen) == 60 and all(rows == distinct for rows, distinct in seen), "a reader saw a row twice"
    assert all(FIRST <= rows <= FIRST + LATER for rows, _ in seen), "a reader missed rows"
    assert [rows for rows, _ in seen] == sorted(rows for rows, _ in seen), "commits appear in order"
    final = lake.dataset("statements")
    assert final.count_rows() == FIRST + LATER  # the writer's commits to the same partition all survived
    assert len(final.files) < files_before + LATER // PER_COMMIT

    # Once readers are done: expire everything old and delete what no snapshot needs (the tag stays readable).
    cleaned = compact(lake, retention=timedelta(0), grace=timedelta(0))
    assert next(r for r in cleaned if r.table == "statements").files_deleted > 0
    assert lake.dataset("statements", tagged).count_rows() == FIRST  # what a credit version read
    live = {path for snapshot in (None, tagged) for path in lake.dataset("statements", snapshot).files}
    assert _stored_files(lake) == live  # no orphan left, nothing live deleted
