"""Migrating a lake from the hive layout into Iceberg tables: counts, carried state, idempotency, refusals.

The tests marked ``ON_BOTH`` run on a lake folder and on the copy the old version pushed to S3
(a real moto server: ``s3_uri``), with a SQLite catalog file beside the test.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import msgspec
import pyarrow as pa
import pyarrow.fs as pafs
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
from xapi_ingest.lake.migrate import CONFLICTS_BATCH, MARKER, OLD_FOLDERS, Progress, migrate
from xapi_ingest.lake.query import connect
from xapi_ingest.lake.schema import ANALYST_TABLE
from xapi_ingest.lake.store import Lake
from xapi_ingest.lake.voids import apply_voids
from xapi_ingest.publish.privacy import Pseudonymizer, publish
from xapi_ingest.pull.watermark import PullState, load_state
from xapi_ingest.xapi.samples import realistic_statements

TABLES = ("statements", "quarantine", ANALYST_TABLE, "void_ledger")
ON_BOTH = pytest.mark.parametrize("place", ["local", pytest.param("s3", marks=pytest.mark.integration)],
                                  indirect=True)  # the S3 case needs the moto server


@dataclass(frozen=True)
class Place:
    """Where a test's lake lives: its ``--lake`` and ``--catalog``, and the filesystem and base path of its files."""

    location: str
    catalog: str | None
    fs: pafs.FileSystem
    base: str
    tables: str  # where the Iceberg tables go, under the base

    def args(self, *more: str) -> list[str]:
        return ["--lake", self.location, *(["--catalog", self.catalog] if self.catalog else []), *more]

    def lake(self) -> Lake:
        return Lake(self.location, self.catalog)

    def path(self, name: str) -> str:
        return f"{self.base}/{name}"

    def exists(self, name: str) -> bool:
        return self.fs.get_file_info(self.path(name)).type != pafs.FileType.NotFound

    def listing(self, name: str = "") -> list[str]:
        """Every path under ``name`` (default: the whole lake)."""
        selector = pafs.FileSelector(self.path(name) if name else self.base, recursive=True, allow_not_found=True)
        return sorted(info.path for info in self.fs.get_file_info(selector))

    def write(self, name: str, data: bytes) -> None:
        """A file, and on local disk its folders (on S3 no folder markers, as an `aws s3 sync` copy has none)."""
        if isinstance(self.fs, pafs.LocalFileSystem):
            self.fs.create_dir(self.path(name).rpartition("/")[0])
        with self.fs.open_output_stream(self.path(name)) as out:
            out.write(data)


@pytest.fixture
def place(request, tmp_path, monkeypatch) -> Place:
    """A lake folder, or (``s3``) a prefix of its own in the moto bucket with a SQLite catalog file beside the test."""
    if getattr(request, "param", "local") == "local":
        return Place(str(tmp_path / "lake"), None, pafs.LocalFileSystem(), str(tmp_path / "lake"), "warehouse/xapi")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    uri = request.getfixturevalue("s3_uri").replace("/lake?", f"/{tmp_path.name}?")
    fs, base = pafs.FileSystem.from_uri(uri)
    return Place(uri, f"sqlite:///{tmp_path / 'catalog.sqlite'}", fs, base, "xapi")


@pytest.fixture
def world(place, tmp_path):
    """The old lake where the old version kept it: the lake folder, or that folder pushed to the prefix."""
    if isinstance(place.fs, pafs.LocalFileSystem):
        return build_old_lake(Path(place.base))
    world = build_old_lake(tmp_path / "hive")
    pafs.copy_files(str(world.root), place.base, source_filesystem=pafs.LocalFileSystem(),
                    destination_filesystem=place.fs)  # as `sync --push` put it there
    return world


def _cli(*args: str) -> int:
    return main(["migrate", *args])


@ON_BOTH
def test_cli_carries_every_table_and_record(place, world, capsys):
    assert _cli(*place.args()) == 0
    out = capsys.readouterr().out
    assert "statements" in out and "DIFFERS" not in out and "analyst row(s) of batches published in part" in out
    lake = place.lake()

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


@ON_BOTH
def test_second_run_adds_nothing(place, world):
    lake = place.lake()
    first = migrate(lake)
    assert first.matches and first.added["statements"] == len(world.ids)
    done = Progress(lake).done  # the record names files relative to the lake's base, folder or bucket/prefix
    for folder in ("statements", "quarantine", "_state/pull", "_quality/held"):
        files = {path.removeprefix(place.base + "/") for path in place.listing(folder)
                 if path.endswith((".parquet", ".json"))}
        assert files and files <= done
    assert "derived/voids/voids.parquet" in done
    snapshots = lake.snapshot_ids()
    second = migrate(lake)
    assert second.matches
    assert second.added == {"statements": 0, "quarantine": 0, ANALYST_TABLE: 0}
    assert lake.snapshot_ids() == snapshots  # not even an empty commit
    assert [(c.table, c.hive, c.iceberg) for c in second.counts] == [(c.table, c.hive, c.iceberg) for c in first.counts]


def test_lost_record_still_adds_nothing(place, world):
    """A run that dies between a commit and its record re-reads those files: the id registry, the
    quarantine keys and the published keys keep every row single."""
    lake = place.lake()
    migrate(lake)
    with lake.engine.begin() as connection:
        connection.execute(delete(ledger.SETTINGS).where(ledger.SETTINGS.c.name.startswith(MARKER)
                                                         & (ledger.SETTINGS.c.name != MARKER + "started")))
    again = migrate(lake)
    assert again.matches
    assert again.added == {"statements": 0, "quarantine": 0, ANALYST_TABLE: 0}


def _move(place: Place, source: str, target: str) -> None:
    pafs.copy_files(place.path(source), place.path(target), source_filesystem=place.fs, destination_filesystem=place.fs)
    place.fs.delete_dir(place.path(source))


@ON_BOTH
def test_resumes_with_what_was_missing(place, world):
    """Files migrated before are skipped; files the first run did not see are migrated next time."""
    _move(place, "statements/source=edx-b", "aside")
    lake = place.lake()
    first = migrate(lake)
    assert first.added["statements"] == 60 and first.matches  # moodle-a's 60 ids; edx-b's twins never existed
    _move(place, "aside", "statements/source=edx-b")
    second = migrate(lake)
    assert second.matches
    assert second.added["statements"] == len(world.ids) - 60
    assert {batch.batch_id for batch in BatchInventory(lake).all()} == {MOODLE_1, MOODLE_2, EDX_1, EDX_2}


def test_a_batch_spanning_dates_is_never_split_over_commits(place, world):
    lake = place.lake()
    report = migrate(lake, rows_per_commit=1)  # one commit per batch: the bound cannot split a batch
    assert report.matches
    commits = sum(1 for _ in lake.table("statements").snapshots())
    assert commits == 4  # four batches, two of them over two dates each
    rows = {batch.batch_id: batch.rows for batch in BatchInventory(lake).all()}
    assert rows[MOODLE_1] == world.rows_by_batch[MOODLE_1]
    with connect(lake) as con:
        assert con.execute("SELECT count(DISTINCT stored_date) FROM statements WHERE batch_id = ?",
                           [MOODLE_1]).fetchone()[0] == 2


@ON_BOTH
def test_delete_old_after_the_counts_matched(place, world, capsys):
    assert place.listing(place.tables) == []
    assert _cli(*place.args("--delete-old")) == 0
    assert "deleted the old layout's statements" in capsys.readouterr().out
    assert not any(place.exists(folder) for folder in OLD_FOLDERS)
    assert not any(place.exists(parent) for parent in ("analyst", "derived", "_state", ".write.lock"))
    assert place.exists("_quality/reports/run.json")  # the new layout keeps gate reports there
    assert place.listing(place.tables)  # the tables stayed
    with connect(place.lake()) as con:
        assert con.execute("SELECT count(*) FROM statements").fetchone()[0] == len(world.ids)
    assert _cli(*place.args()) == 2  # nothing left to migrate: not a lake in the hive layout


def _repeat_a_quarantine_key(place):
    """Old quarantine keys were unique per row; a second row with a key the quarantine holds cannot be carried."""
    first = next(path for path in place.listing("quarantine") if path.endswith(".parquet"))
    row = pq.read_table(first, filesystem=place.fs, partitioning=None).slice(0, 1)
    batch_id = "20261004T000000-dddd0004-00000"
    row = row.set_column(row.schema.get_field_index("batch_id"), "batch_id", pa.array([batch_id]))
    pq.write_table(row, f"{first.rpartition('/')[0]}/part-{batch_id}.parquet", filesystem=place.fs)


def _lose_iceberg_rows(place):
    """Rows deleted from Iceberg after a first migration stay registered, so a re-run cannot bring them back."""
    from pyiceberg.expressions import EqualTo

    lake = place.lake()
    assert migrate(lake).matches
    lake.delete("statements", EqualTo("batch_id", MOODLE_2), [])


@ON_BOTH
@pytest.mark.parametrize("tamper", [_repeat_a_quarantine_key, _lose_iceberg_rows])
def test_counts_that_cannot_match_are_refused(place, world, tamper, capsys):
    tamper(place)
    assert _cli(*place.args("--delete-old")) == 1
    captured = capsys.readouterr()
    assert "DIFFERS" in captured.out and "old layout's folders are kept" in captured.err
    assert all(place.exists(folder) for folder in OLD_FOLDERS)
    assert place.exists(".write.lock")


def _refused(place: Place, capsys, *says: str) -> None:
    assert _cli(*place.args()) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and all(part in err for part in says)
    assert "endpoint_override" not in err  # the location as messages name it


@ON_BOTH
def test_not_a_lake_in_the_hive_layout(place, capsys):
    _refused(place, capsys, "not a lake in the hive layout")  # a missing folder, an empty prefix
    place.fs.create_dir(place.base)
    _refused(place, capsys, "not a lake in the hive layout")
    assert place.listing() == []  # no catalog.sqlite (nor anything else) left behind in a wrong place

    for stray, says in (
        ("source=moodle-a/notes.txt", "source=moodle-a/notes.txt does not fit the hive layout (a folder stored_date"),
        ("source=Moodle/stored_date=2026-10-01/part-x.parquet", "source=Moodle does not fit the hive layout: source id"),
        ("source=moodle-a/stored_date=2026-13-01/part-x.parquet", "stored_date=2026-13-01 does not fit the hive layout"),
    ):
        place.write(f"statements/{stray}", b"?")
        _refused(place, capsys, f"{place.location.split('?')[0]}/statements/", says)
        place.fs.delete_dir(place.path("statements"))

    place.write("_state/pull/moodle-a.json", b"{not json")
    _refused(place, capsys, "cannot read")


def test_refuses_a_folder_whose_iceberg_tables_were_written_without_migrate(place, world, capsys):
    from xapi_ingest.lake.ingest import Ingestor
    from xapi_ingest.xapi.reader import RawRecord

    statement = next(iter(realistic_statements(1, seed=11)))
    Ingestor(place.lake(), "moodle-a").ingest([("x", RawRecord(0, 1, json.dumps(statement), statement))])
    assert _cli(*place.args()) == 2
    assert "already hold data written without migrate" in capsys.readouterr().err


def test_old_rows_are_read_in_the_typed_schema(place, world):
    """A part file from an older writer without a column reads as nulls; its partition columns come from the path."""
    statements = [{**s, "id": str(uuid.uuid4())} for s in realistic_statements(3)]
    old = statement_rows(statements, "20261005T000000-eeee0005-00000", datetime(2026, 10, 5, tzinfo=UTC))
    write_partitioned(world.root, "statements", "stored_date", "stored", "moodle-a",
                      "20261005T000000-eeee0005-00000", old.drop_columns(["tolerated_rules"]))
    lake = place.lake()
    assert migrate(lake).matches
    with connect(lake) as con:
        assert con.execute("SELECT count(*) FROM statements WHERE tolerated_rules IS NULL").fetchone()[0] == 3


def test_pull_state_json_is_the_puller_state(place, world):
    """The state files are msgspec-encoded PullState: the ledger text decodes to the same struct."""
    lake = place.lake()
    migrate(lake)
    raw = (world.root / "_state" / "pull" / "edx-b.json").read_bytes()
    assert load_state(lake, "edx-b") == msgspec.json.decode(raw, type=PullState)
