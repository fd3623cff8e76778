"""Ingest into a real lake on disk, read back with DuckDB, pyarrow and pandas."""

from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import duckdb
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from xapi_ingest.lake.ingest import Ingestor, RepeatCounts, check_tolerated_rules, settle_repeated_ids
from xapi_ingest.lake.query import connect
from xapi_ingest.lake.schema import STATEMENTS
from xapi_ingest.lake.store import Lake
from xapi_ingest.quality.gate import check_batches
from xapi_ingest.xapi.reader import read_records
from xapi_ingest.xapi.samples import realistic_statements


def _ndjson(path, statements):
    path.write_text("".join(json.dumps(s) + "\n" for s in statements))
    return path


def _ingest(lake, path, source="moodle-a", **options):
    return Ingestor(lake, source, **options).ingest((str(path), r) for r in read_records(path))


def _lake_rows(lake):
    with connect(lake) as con:
        return sorted(con.execute("SELECT statement_id, raw_json FROM statements").fetchall())


def test_ingest_counts_and_read_back(tmp_path, statement):
    good = list(realistic_statements(300))
    bad = copy.deepcopy(statement)
    bad["result"] = {"score": {"min": 0, "max": 0}}
    path = _ndjson(tmp_path / "in.ndjson", [*good, bad, good[0]])
    with open(path, "a") as handle:
        handle.write('{"truncated": \n')
    lake = Lake(tmp_path / "lake")
    counts = _ingest(lake, path)
    assert (counts.read, counts.valid, counts.quarantined, counts.duplicates) == (303, 300, 2, 1)

    # DuckDB, pyarrow and pandas all read the same partitioned table.
    with connect(lake) as con:
        assert con.execute("SELECT count(*), count(DISTINCT statement_id) FROM statements").fetchone() == (300, 300)
        assert con.execute("SELECT DISTINCT source FROM statements").fetchall() == [("moodle-a",)]
        quarantined = con.execute("SELECT line, rules FROM quarantine ORDER BY line").fetchall()
    assert quarantined == [(301, ["score.min-max"]), (303, ["json.malformed"])]
    dataset = ds.dataset(lake.statements_dir, format="parquet", partitioning="hive")
    table = dataset.to_table()
    assert table.num_rows == 300
    assert set(STATEMENTS.names) <= set(table.column_names)
    frame = table.to_pandas()
    assert frame["timestamp"].dt.tz is not None
    one = pq.read_table(lake.files(lake.statements_dir)[0])
    assert one.schema.field("statement_id").metadata[b"description"].startswith(b"statement id")
    assert pq.ParquetFile(lake.files(lake.statements_dir)[0]).metadata.row_group(0).column(0).compression == "ZSTD"


def test_raw_json_is_kept_exactly(tmp_path):
    text = '{"actor": {"mbox": "mailto:a@b.org"},   "verb": {"id": "http://x.org/v"}, "object": {"id": "http://x.org/o"}}'
    path = tmp_path / "one.json"
    path.write_text(text + "\n")
    lake = Lake(tmp_path / "lake")
    _ingest(lake, path)
    (statement_id, raw), = _lake_rows(lake)
    assert raw == text
    # no id in the input: a stable id derived from the content, the same on every re-ingest
    _ingest(Lake(tmp_path / "lake2"), path)
    assert _lake_rows(Lake(tmp_path / "lake2"))[0][0] == statement_id


def test_reingest_changes_nothing(tmp_path, statement):
    bad = {**statement, "verb": {"id": "not an iri"}}
    path = _ndjson(tmp_path / "in.ndjson", [*realistic_statements(500), bad])
    lake = Lake(tmp_path / "lake")
    _ingest(lake, path, batch_size=120)
    before = _lake_rows(lake)
    files_before = sorted(p.name for p in lake.root.rglob("*.parquet"))
    again = _ingest(lake, path, batch_size=120)
    # the bad line is already quarantined: a repeat, so summed summaries equal the table counts
    assert (again.valid, again.duplicates, again.quarantined) == (0, 501, 0)
    assert _lake_rows(lake) == before
    assert sorted(p.name for p in lake.root.rglob("*.parquet")) == files_before
    with connect(lake) as con:
        assert con.execute("SELECT count(*) FROM quarantine").fetchone() == (1,)


def test_same_id_different_content_goes_to_quarantine(tmp_path, statement):
    lake = Lake(tmp_path / "lake")
    _ingest(lake, _ndjson(tmp_path / "a.ndjson", [statement]))
    changed = {**statement, "verb": {"id": "http://adlnet.gov/expapi/verbs/failed"}}
    reformatted = tmp_path / "b.ndjson"
    reformatted.write_text(json.dumps(statement, indent=None, separators=(",", ":")) + "\n" + json.dumps(changed) + "\n")
    counts = _ingest(lake, reformatted)
    assert (counts.duplicates, counts.conflicts) == (1, 1)  # same JSON in other spacing is no conflict
    with connect(lake) as con:
        assert con.execute("SELECT verb_id FROM statements").fetchall() == [(statement["verb"]["id"],)]
        assert con.execute("SELECT rules, statement_id FROM quarantine").fetchall() == [(["lake.id-conflict"], statement["id"])]


def test_tolerated_rules_are_kept_and_counted(tmp_path, statement):
    statement["object"]["objectType"] = "GroupActivity"
    path = _ndjson(tmp_path / "edx.ndjson", [statement])
    lake = Lake(tmp_path / "lake")
    counts = _ingest(lake, path, tolerate=["object-type.invalid"])
    assert (counts.valid, counts.tolerated, counts.quarantined) == (0, 1, 0)
    with connect(lake) as con:
        assert con.execute("SELECT validation_status, tolerated_rules, object_type FROM statements").fetchall() == [
            ("tolerated", ["object-type.invalid"], "GroupActivity")
        ]


def test_tolerance_config_is_checked():
    with pytest.raises(ValueError, match="unknown rule"):
        check_tolerated_rules(["no.such-rule"])
    with pytest.raises(ValueError, match="cannot be tolerated"):
        check_tolerated_rules(["key.required"])


def test_normalized_columns(tmp_path, statement):
    statement["result"] = {"score": {"raw": 0, "min": 0, "max": 5}, "duration": "PT1H30M", "success": False}
    statement["context"] = {"contextActivities": {"parent": {"id": "https://x.example/p"},
                                                  "grouping": [{"id": "https://x.example/g1"}, {"id": "https://x.example/g2"}]},
                            "instructor": {"account": {"homePage": "https://lms.example", "name": "42"}}}
    statement["stored"] = "2026-10-01T03:31:00Z"
    lake = Lake(tmp_path / "lake")
    _ingest(lake, _ndjson(tmp_path / "in.ndjson", [statement]))
    with connect(lake) as con:
        row = con.execute(
            "SELECT actor_ifi, result_score_raw, result_duration_seconds, result_success, context_parent_ids, "
            "context_grouping_ids, context_instructor_ifi, strftime(timestamp, '%Y-%m-%d %H:%M'), stored_date "
            "FROM statements"
        ).fetchone()
    assert row[:7] == ("mbox:mailto:aigerim@school.example.kz", 0.0, 5400.0, False, ["https://x.example/p"],
                       ["https://x.example/g1", "https://x.example/g2"], "account:https://lms.example|42")
    assert row[7] == "2026-10-01 03:30"  # +06:00 converted to UTC
    assert str(row[8]) == "2026-10-01"


@pytest.mark.integration  # kills a real ingest process
def test_kill_9_then_rerun_gives_the_clean_lake(tmp_path):
    path = _ndjson(tmp_path / "in.ndjson", realistic_statements(6000))
    clean = Lake(tmp_path / "clean")
    _ingest(clean, path)
    crashed = tmp_path / "crashed"
    process = subprocess.Popen(
        [sys.executable, "-m", "xapi_ingest", "ingest-file", str(path), "--source", "moodle-a",
         "--lake", str(crashed), "--batch-size", "200", "--no-publish"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(crashed.rglob("*.parquet"))) < 3:
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    partial = Lake(crashed)
    assert 0 < len(_lake_rows(partial)) < 6000, "the kill must land mid-ingest for this test to mean anything"
    assert not [p for p in crashed.rglob("*") if p.name.endswith(".tmp") and p.suffix == ".parquet"]
    _ingest(partial, path)
    assert _lake_rows(partial) == _lake_rows(clean)


def test_empty_lake_answers_queries(tmp_path):
    with connect(Lake(tmp_path / "nothing")) as con:
        assert con.execute("SELECT count(*) FROM statements").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM quarantine").fetchone() == (0,)
    with pytest.raises(duckdb.Error):
        connect(Lake(tmp_path / "nothing")).sql("SELECT no_such_column FROM statements")


def test_timestamps_arrow_cannot_parse_fall_back_to_ours(tmp_path, statement):
    no_offset = {**statement, "timestamp": "2026-10-01T09:30:00.5"}
    leap = {**statement, "id": "0c0a3b8e-4c2f-4a59-9d1e-6e1f7b8c9d0a", "timestamp": "2016-12-31T23:59:60Z"}
    lake = Lake(tmp_path / "lake")
    _ingest(lake, _ndjson(tmp_path / "in.ndjson", [no_offset, leap]))
    with connect(lake) as con:
        got = con.execute("SELECT strftime(timestamp, '%Y-%m-%dT%H:%M:%S.%f') FROM statements ORDER BY 1").fetchall()
    assert got == [("2017-01-01T00:00:00.000000",), ("2026-10-01T09:30:00.500000",)]


def test_restored_by_another_lrs_is_a_duplicate_not_a_conflict(tmp_path, statement):
    """The same statement re-stored (new stored, authority, version) is the same statement."""
    lake = Lake(tmp_path / "lake")
    first = {**statement, "stored": "2026-10-01T10:00:00Z", "authority": {"mbox": "mailto:lrs-a@example.org"}}
    again = {**statement, "stored": "2026-11-01T10:00:00Z", "authority": {"mbox": "mailto:lrs-b@example.org"},
             "version": "1.0.3"}
    retimed = {**statement, "stored": "2026-11-02T10:00:00Z", "timestamp": "2026-10-02T09:30:00Z"}
    _ingest(lake, _ndjson(tmp_path / "a.ndjson", [first]))
    counts = _ingest(lake, _ndjson(tmp_path / "b.ndjson", [again, retimed]))
    assert (counts.duplicates, counts.conflicts) == (1, 1)  # `again` is a duplicate; a changed timestamp is a conflict


def test_copies_written_by_two_stale_caches_settle_to_the_first_stored(tmp_path):
    """Two workers, each on its own cache of a remote lake, pull two sources that hold the same
    statements (forwarded between LRSs): neither upsert sees the other's rows, so once both
    caches' files meet in one lake each shared id is there twice, until the step after all pulls
    settles them: the first stored copy stays, a differing later one goes to the quarantine."""
    shared = list(realistic_statements(15))
    changed = {**shared[3], "verb": {"id": "http://adlnet.gov/expapi/verbs/failed"}}  # same id, other content
    lake, stale = Lake(tmp_path / "worker1"), Lake(tmp_path / "worker2")
    _ingest(lake, _ndjson(tmp_path / "a.ndjson", shared), source="lms-a")
    _ingest(stale, _ndjson(tmp_path / "b.ndjson", [*shared[10:], changed]), source="lms-b")
    shutil.copytree(stale.statements_dir, lake.statements_dir, dirs_exist_ok=True)  # what the remote lake ends with

    assert settle_repeated_ids(lake) == RepeatCounts(removed=6, conflicts=1)
    with connect(lake) as con:
        rows = con.execute("SELECT statement_id, source, verb_id FROM statements ORDER BY statement_id").fetchall()
        quarantined = con.execute("SELECT source, statement_id, rules FROM quarantine").fetchall()
    assert [row[0] for row in rows] == sorted(s["id"] for s in shared)  # one row per id
    assert {row[1] for row in rows} == {"lms-a"}  # the first stored copies
    assert quarantined == [("lms-b", changed["id"], ["lake.id-conflict"])]  # nothing is lost
    assert settle_repeated_ids(lake) == RepeatCounts()  # settled: a re-run changes nothing
    assert check_batches(lake.root).passed  # the emptied batch of lms-b has nothing left to fail


def _two_stale_caches(tmp_path, statements):
    """One lake holding every statement twice: two workers' caches, each ingested one source, met."""
    lake, stale = Lake(tmp_path / "worker1"), Lake(tmp_path / "worker2")
    _ingest(lake, _ndjson(tmp_path / "a.ndjson", statements), source="lms-a")
    _ingest(stale, _ndjson(tmp_path / "b.ndjson", statements), source="lms-b")
    shutil.copytree(stale.statements_dir, lake.statements_dir, dirs_exist_ok=True)
    return lake


def test_settling_also_removes_the_published_twins_of_later_copies(tmp_path):
    from xapi_ingest.publish.privacy import Pseudonymizer, publish

    shared = list(realistic_statements(8))
    lake = _two_stale_caches(tmp_path, shared)
    publish(lake, Pseudonymizer(b"settle-test-key-0123456789"), include_unchecked=True)  # both copies published
    settle_repeated_ids(lake)
    with connect(lake, "analyst") as con:
        ids = [row[0] for row in con.execute("SELECT statement_id FROM statements").fetchall()]
    assert sorted(ids) == sorted(s["id"] for s in shared)  # one analyst row per id, like the restricted zone


def test_a_repeat_is_counted_once_however_often_the_lake_holds_it(tmp_path):
    shared = list(realistic_statements(3))
    lake = _two_stale_caches(tmp_path, shared)
    counts = _ingest(lake, _ndjson(tmp_path / "again.ndjson", shared), source="lms-a")
    assert (counts.read, counts.duplicates, counts.valid) == (3, 3, 0)  # read = written + quarantined + duplicates
