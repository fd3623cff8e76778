"""Migrating a lake folder from the hive layout into Iceberg tables: counts, carried state, idempotency, refusals."""

from __future__ import annotations

import json
import shutil
import uuid
from datetime import UTC, date, datetime

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import delete

from tests.support.hive_lake import (
    EDX_1,
    EDX_2,
    KEY,
    MOODLE_1,
    MOODLE_2,
    build_old_lake,
    statement_rows,
    write_partitioned,
)
from xapi_ingest.app.cli.main import main
from xapi_ingest.lake import ledger
from xapi_ingest.lake.holds import BatchHolds, BatchInventory
from xapi_ingest.lake.migrate import CONFLICTS_BATCH, MARKER, OLD_FOLDERS, migrate
from xapi_ingest.lake.query import connect
from xapi_ingest.lake.schema import ANALYST_TABLE
from xapi_ingest.lake.store import Lake
from xapi_ingest.lake.voids import apply_voids
from xapi_ingest.publish.privacy import Pseudonymizer, publish
from xapi_ingest.pull.watermark import PullState, load_state
from xapi_ingest.xapi.samples import realistic_statements

TABLES = ("statements", "quarantine", ANALYST_TABLE, "void_ledger")


@pytest.fixture
def world(tmp_path):
    return build_old_lake(tmp_path / "lake")


def _cli(*args: str) -> int:
    return main(["migrate", *args])


def test_cli_carries_every_table_and_record(world, capsys):
    assert _cli("--lake", str(world.root)) == 0
    out = capsys.readouterr().out
    assert "statements" in out and "DIFFERS" not in out and "analyst row(s) of batches published in part" in out
    lake = Lake(world.root)

    with connect(lake) as con:
        assert {row[0] for row in con.execute("SELECT statement_id FROM statements").fetchall()} == world.ids
        assert con.execute("SELECT count(*) FROM statements").fetchone()[0] == len(world.ids)
        # typed partition columns, as DuckDB reads them
        assert con.execute("SELECT DISTINCT typeof(source), typeof(stored_date) FROM statements").fetchall() == [
            ("VARCHAR", "DATE")]
        assert con.execute("SELECT source, min(stored_date), max(stored_date) FROM statements GROUP BY source "
                           "ORDER BY source").fetchall() == [("edx-b", date(2026, 10, 2), date(2026, 10, 3)),
                                                             ("moodle-a", date(2026, 10, 1), date(2026, 10, 2))]
        assert con.execute("SELECT count(*) FROM quarantine WHERE batch_id <> ?", [CONFLICTS_BATCH]).fetchone()[0] \
            == world.quarantine_rows
        assert con.execute("SELECT DISTINCT typeof(ingest_date) FROM quarantine").fetchall() == [("DATE",)]
        # of copies of one id the earliest ingested stays (moodle-a's); the later one with other content is quarantined
        conflicts = con.execute("SELECT statement_id, source, rules FROM quarantine WHERE batch_id = ?",
                                [CONFLICTS_BATCH]).fetchall()
        assert conflicts == [(world.conflict_id, "edx-b", ["lake.id-conflict"])]
        assert con.execute("SELECT source FROM statements WHERE statement_id = ?", [world.conflict_id]).fetchall() \
            == [("moodle-a",)]
        assert world.voided_id not in {r[0] for r in con.execute("SELECT statement_id FROM effective_statements")
                                       .fetchall()}
    # pyarrow reads the same typed columns
    statements = lake.dataset("statements").to_table()
    assert statements.schema.field("stored_date").type == pa.date32()
    assert statements.schema.field("source").type == pa.string()

    analyst = lake.dataset(ANALYST_TABLE).to_table()
    assert analyst.num_rows == world.analyst_rows
    assert set(analyst["batch_id"].to_pylist()) == world.published
    assert analyst.schema.field("stored_date").type == pa.date32()
    assert not {"raw_json", "actor_name"} & set(analyst.column_names)
    assert all(ifi.startswith("p_") for ifi in analyst["actor_ifi"].to_pylist() if ifi)

    batches = {batch.batch_id: batch for batch in BatchInventory(lake).all()}
    assert set(batches) == {MOODLE_1, MOODLE_2, EDX_1, EDX_2}
    assert sum(batch.rows for batch in batches.values()) == len(world.ids)
    assert batches[MOODLE_1].rows == world.rows_by_batch[MOODLE_1]  # it holds the first copies of the repeats
    assert batches[EDX_1].rows == world.rows_by_batch[EDX_1] - 2
    assert {b for b, batch in batches.items() if batch.checked} == world.checked  # EDX_1 was checked in part
    key_id = Pseudonymizer(KEY).key_id
    assert {b: batch.published_key for b, batch in batches.items()} == {
        MOODLE_1: key_id, MOODLE_2: key_id, EDX_1: None, EDX_2: None}
    assert {batch.source for batch in batches.values()} == {"moodle-a", "edx-b"}

    assert set(BatchHolds(lake).held()) == {world.held}
    assert BatchHolds(lake).held()[world.held]["failed"] == ["verb_id_is_iri"]
    assert BatchHolds(lake).matcher()(EDX_2)
    for source, state in world.states.items():
        assert load_state(lake, source) == state

    void_ledger = lake.dataset("void_ledger").to_table().to_pylist()
    assert [row["target_id"] for row in void_ledger] == [world.voided_id]
    assert apply_voids(lake).voiding_statements == 1  # the rebuilt ledger says the same
    assert lake.dataset("void_ledger").to_table().to_pylist() == void_ledger

    # the next publish (same key) publishes what was left, the batch published in part whole; the held one stays out
    assert publish(lake, Pseudonymizer(KEY), include_unchecked=True) == [EDX_1]
    assert sorted(set(lake.dataset(ANALYST_TABLE).to_table()["batch_id"].to_pylist())) == sorted(
        [*world.published, EDX_1])


def test_second_run_adds_nothing(world):
    lake = Lake(world.root)
    first = migrate(lake)
    assert first.matches and first.added["statements"] == len(world.ids)
    snapshots = lake.snapshot_ids()
    second = migrate(lake)
    assert second.matches
    assert second.added == {"statements": 0, "quarantine": 0, ANALYST_TABLE: 0}
    assert lake.snapshot_ids() == snapshots  # not even an empty commit
    assert [(c.table, c.hive, c.iceberg) for c in second.counts] == [(c.table, c.hive, c.iceberg) for c in first.counts]


def test_lost_record_still_adds_nothing(world):
    """A run that dies between a commit and its record re-reads those files: the id registry, the
    quarantine keys and the published keys keep every row single."""
    lake = Lake(world.root)
    migrate(lake)
    with lake.engine.begin() as connection:
        connection.execute(delete(ledger.SETTINGS).where(ledger.SETTINGS.c.name.startswith(MARKER)
                                                         & (ledger.SETTINGS.c.name != MARKER + "started")))
    again = migrate(lake)
    assert again.matches
    assert again.added == {"statements": 0, "quarantine": 0, ANALYST_TABLE: 0}


def test_resumes_with_what_was_missing(world, tmp_path):
    """Files migrated before are skipped; files the first run did not see are migrated next time."""
    aside = tmp_path / "aside"
    shutil.move(world.root / "statements" / "source=edx-b", aside)
    lake = Lake(world.root)
    first = migrate(lake)
    assert first.added["statements"] == 60 and first.matches  # moodle-a's 60 ids; edx-b's twins never existed
    shutil.move(aside, world.root / "statements" / "source=edx-b")
    second = migrate(lake)
    assert second.matches
    assert second.added["statements"] == len(world.ids) - 60
    assert {batch.batch_id for batch in BatchInventory(lake).all()} == {MOODLE_1, MOODLE_2, EDX_1, EDX_2}


def test_a_batch_spanning_dates_is_never_split_over_commits(world):
    lake = Lake(world.root)
    report = migrate(lake, rows_per_commit=1)  # one commit per batch: the bound cannot split a batch
    assert report.matches
    commits = sum(1 for _ in lake.table("statements").snapshots())
    assert commits == 4  # four batches, two of them over two dates each
    rows = {batch.batch_id: batch.rows for batch in BatchInventory(lake).all()}
    assert rows[MOODLE_1] == world.rows_by_batch[MOODLE_1]
    with connect(lake) as con:
        assert con.execute("SELECT count(DISTINCT stored_date) FROM statements WHERE batch_id = ?",
                           [MOODLE_1]).fetchone()[0] == 2


def test_delete_old_after_the_counts_matched(world, capsys):
    assert _cli("--lake", str(world.root), "--delete-old") == 0
    assert "deleted the old layout's statements" in capsys.readouterr().out
    assert not any((world.root / folder).exists() for folder in OLD_FOLDERS)
    assert not any((world.root / parent).exists() for parent in ("analyst", "derived", "_state", ".write.lock"))
    assert (world.root / "_quality" / "reports" / "run.json").exists()  # the new layout keeps gate reports there
    with connect(Lake(world.root)) as con:
        assert con.execute("SELECT count(*) FROM statements").fetchone()[0] == len(world.ids)
    assert _cli("--lake", str(world.root)) == 2  # nothing left to migrate: not a lake in the hive layout


def _repeat_a_quarantine_key(world):
    """Old quarantine keys were unique per row; a second row with a key the quarantine holds cannot be carried."""
    first = next((world.root / "quarantine").rglob("*.parquet"))
    row = pq.read_table(first, partitioning=None).slice(0, 1)
    batch_id = "20261004T000000-dddd0004-00000"
    row = row.set_column(row.schema.get_field_index("batch_id"), "batch_id", pa.array([batch_id]))
    pq.write_table(row, first.with_name(f"part-{batch_id}.parquet"))


def _lose_iceberg_rows(world):
    """Rows deleted from Iceberg after a first migration stay registered, so a re-run cannot bring them back."""
    from pyiceberg.expressions import EqualTo

    lake = Lake(world.root)
    assert migrate(lake).matches
    lake.delete("statements", EqualTo("batch_id", MOODLE_2), [])


@pytest.mark.parametrize("tamper", [_repeat_a_quarantine_key, _lose_iceberg_rows])
def test_counts_that_cannot_match_are_refused(world, tamper, capsys):
    tamper(world)
    assert _cli("--lake", str(world.root), "--delete-old") == 1
    captured = capsys.readouterr()
    assert "DIFFERS" in captured.out and "old layout's folders are kept" in captured.err
    assert all((world.root / folder).exists() for folder in ("statements", "quarantine", "analyst/statements"))


def test_not_a_lake_in_the_hive_layout(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    for folder in (empty, tmp_path / "missing"):
        assert _cli("--lake", str(folder)) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and "not a lake in the hive layout" in err
    assert list(empty.iterdir()) == []  # no catalog.sqlite left behind in a wrong folder

    stray = tmp_path / "stray"
    (stray / "statements" / "source=moodle-a").mkdir(parents=True)
    (stray / "statements" / "source=moodle-a" / "notes.txt").write_text("?")
    assert _cli("--lake", str(stray)) == 2
    err = capsys.readouterr().err
    assert "notes.txt does not fit the hive layout" in err and err.count("\n") == 1

    assert _cli("--lake", "s3://bucket/lake", "--catalog", f"sqlite:///{tmp_path / 'catalog.sqlite'}") == 2
    assert "on object storage" in capsys.readouterr().err  # the hive layout's S3 copy mirrored a local folder

    broken = tmp_path / "broken"
    (broken / "_state" / "pull").mkdir(parents=True)
    (broken / "_state" / "pull" / "moodle-a.json").write_text("{not json")
    assert _cli("--lake", str(broken)) == 2
    assert "cannot read" in capsys.readouterr().err


def test_refuses_a_folder_whose_iceberg_tables_were_written_without_migrate(world, capsys):
    from xapi_ingest.lake.ingest import Ingestor
    from xapi_ingest.xapi.reader import RawRecord

    statement = next(iter(realistic_statements(1, seed=11)))
    Ingestor(Lake(world.root), "moodle-a").ingest([("x", RawRecord(0, 1, json.dumps(statement), statement))])
    assert _cli("--lake", str(world.root)) == 2
    assert "already hold data written without migrate" in capsys.readouterr().err


def test_old_rows_are_read_in_the_typed_schema(world):
    """A part file from an older writer without a column reads as nulls; its partition columns come from the path."""
    statements = [{**s, "id": str(uuid.uuid4())} for s in realistic_statements(3)]
    old = statement_rows(statements, "20261005T000000-eeee0005-00000", datetime(2026, 10, 5, tzinfo=UTC))
    write_partitioned(world.root, "statements", "stored_date", "stored", "moodle-a",
                      "20261005T000000-eeee0005-00000", old.drop_columns(["tolerated_rules"]))
    lake = Lake(world.root)
    assert migrate(lake).matches
    with connect(lake) as con:
        assert con.execute("SELECT count(*) FROM statements WHERE tolerated_rules IS NULL").fetchone()[0] == 3


def test_pull_state_json_is_the_puller_state(world):
    """The state files are msgspec-encoded PullState: the ledger text decodes to the same struct."""
    lake = Lake(world.root)
    migrate(lake)
    raw = (world.root / "_state" / "pull" / "edx-b.json").read_bytes()
    assert load_state(lake, "edx-b") == msgspec.json.decode(raw, type=PullState)
