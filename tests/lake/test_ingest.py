"""Ingest into a real lake on disk, read back with DuckDB, pyarrow and pandas."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import duckdb
import pyarrow.parquet as pq
import pytest

from xapi_ingest.lake import ledger
from xapi_ingest.lake.holds import BatchInventory
from xapi_ingest.lake.ingest import Ingestor, check_tolerated_rules
from xapi_ingest.lake.normalize import StatementColumns
from xapi_ingest.lake.query import connect
from xapi_ingest.lake.schema import STATEMENTS
from xapi_ingest.lake.store import Lake
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
    table = lake.table("statements").scan().to_arrow()  # pyiceberg, as an analyst with the catalog would
    assert table.num_rows == 300
    assert set(STATEMENTS.names) <= set(table.column_names)
    assert str(table.schema.field("stored_date").type) == "date32[day]"  # partition columns keep their type
    frame = table.to_pandas()
    assert frame["timestamp"].dt.tz is not None
    assert lake.table("statements").schema().find_field("statement_id").doc.startswith("statement id")
    data_file = lake.dataset("statements").files[0]
    assert pq.ParquetFile(data_file).metadata.row_group(0).column(0).compression == "ZSTD"


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
    snapshots_before = lake.snapshot_ids()
    again = _ingest(lake, path, batch_size=120)
    # the bad line is already quarantined: a repeat, so summed summaries equal the table counts
    assert (again.valid, again.duplicates, again.quarantined) == (0, 501, 0)
    assert _lake_rows(lake) == before
    assert lake.snapshot_ids() == snapshots_before  # nothing new: not even an empty commit
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
    deadline = time.monotonic() + 120
    data = crashed / "warehouse" / "xapi" / "statements" / "data"
    while time.monotonic() < deadline and len(list(data.rglob("*.parquet"))) < 3:
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    partial = Lake(crashed)
    assert 0 < len(_lake_rows(partial)) < 6000, "the kill must land mid-ingest for this test to mean anything"
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


def test_two_writers_racing_for_one_id_store_it_once(tmp_path, statement, monkeypatch):
    """Two writers that both looked an id up before either committed: the second commit's id
    registration fails on the first's, rolls back with its snapshot, and the retry counts a duplicate.
    The interleaving is forced by running the first writer inside the second's registry lookup."""
    def rows(batch_id):
        columns = StatementColumns()
        columns.append(statement, json.dumps(statement), [], batch_id, datetime.now(UTC))
        return columns.to_table()

    first, second = Lake(tmp_path / "lake"), Lake(tmp_path / "lake")
    real_lookup = ledger.lookup
    raced: list[int] = []

    def lookup_then_let_the_other_commit(*args):
        found = real_lookup(*args)
        if not raced:
            raced.append(0)  # once: the first writer's own lookup comes through here too
            raced[0] = first.write_statements(rows("b-1"), "lms-a").written
        return found

    monkeypatch.setattr(ledger, "lookup", lookup_then_let_the_other_commit)
    result = second.write_statements(rows("b-2"), "lms-b")
    assert raced == [1] and (result.written, result.duplicates) == (0, 1)
    with connect(first) as con:
        assert con.execute("SELECT statement_id, source FROM statements").fetchall() == [(statement["id"], "lms-a")]
    assert [b.batch_id for b in BatchInventory(first).all()] == ["b-1"]  # the rolled-back commit left no batch
