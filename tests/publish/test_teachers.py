"""Teacher keys in the analyst zone: one key per roster teacher across platforms, the institution on
the statement's date, nothing that names the teacher, and old analyst tables that gain the columns."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from xapi_ingest.app.cli.main import main
from xapi_ingest.app.settings import Settings
from xapi_ingest.app.steps import check_and_publish
from xapi_ingest.common.config import ConfigError
from xapi_ingest.lake.holds import BatchInventory
from xapi_ingest.lake.ingest import Ingestor
from xapi_ingest.lake.query import connect
from xapi_ingest.lake.schema import ANALYST_TABLE, ANALYST_TEACHER_COLUMNS, TABLES, TableSpec
from xapi_ingest.lake.store import Lake, _create, append_rows
from xapi_ingest.publish.privacy import Pseudonymizer, publish
from xapi_ingest.publish.teachers import RosterLookup
from xapi_ingest.xapi.reader import read_records

KEY = b"teacher-test-key-0123456789"
MOODLE, MOOC = "https://moodle.cluster.kz", "https://mooc.cluster.kz"
ROSTER = f"""teacher_id,display_name,institution_id,ifis,member_from,member_to,pd_cycle_start
T00001,Dana Abenova,S-17,account:{MOODLE}|1001 account:{MOOC}|teacher1,2020-09-01,2026-01-01,2025-09-01
T00001,Dana Abenova,S-42,account:{MOODLE}|1001 account:{MOOC}|teacher1,2026-01-01,,2025-09-01
T00002,Marat Seitkali,S-42,account:{MOODLE}|1002,2020-09-01,,2025-09-01
"""


def _statement(number: int, home: str, name: str, timestamp: str) -> dict:
    return {"id": f"00000000-0000-4000-8000-{number:012d}",
            "actor": {"objectType": "Agent", "name": "Dana Abenova", "account": {"homePage": home, "name": name}},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "completed"}},
            "object": {"id": "https://mooc.example.org/course/pd-101", "objectType": "Activity"},
            "timestamp": timestamp}


# (source, statement, expected institution): one teacher on two platforms, a colleague, a stranger
STATEMENTS = [
    ("moodle-a", _statement(1, MOODLE, "1001", "2025-12-31T23:30:00Z"), "S-17"),
    ("edx-b", _statement(2, MOOC, "teacher1", "2026-01-01T00:30:00+06:00"), "S-17"),  # 2025-12-31 in UTC
    ("edx-b", _statement(3, MOOC, "teacher1", "2026-02-01T10:00:00Z"), "S-42"),
    ("moodle-a", _statement(4, MOODLE, "1001", "2019-05-01T10:00:00Z"), None),  # before any membership
    ("moodle-a", _statement(5, MOODLE, "1002", "2026-02-01T10:00:00Z"), "S-42"),
    ("edx-b", _statement(6, MOOC, "stranger", "2026-02-01T10:00:00Z"), None),  # not in the roster
]


def _ingest(lake: Lake, folder: Path, source: str, statements: list[dict]) -> None:
    path = folder / f"{source}-{statements[0]['id']}.ndjson"
    path.write_text("".join(json.dumps(s) + "\n" for s in statements))
    Ingestor(lake, source).ingest((str(path), r) for r in read_records(path))


def _ingest_all(lake: Lake, folder: Path) -> None:
    for source in ("moodle-a", "edx-b"):
        _ingest(lake, folder, source, [statement for src, statement, _ in STATEMENTS if src == source])


def _analyst_rows(lake: Lake) -> dict[str, dict]:
    with connect(lake, "analyst") as con:
        rows = con.execute("SELECT statement_id, actor_ifi, teacher_key, institution_id FROM statements").fetchall()
    return {row[0]: dict(zip(("actor", "teacher_key", "institution_id"), row[1:], strict=True)) for row in rows}


@pytest.fixture
def roster(tmp_path: Path) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER)
    return path


def test_one_teacher_key_across_two_sources(tmp_path: Path, roster: Path) -> None:
    lake = Lake(tmp_path / "lake")
    _ingest_all(lake, tmp_path)
    keyed = Pseudonymizer(KEY, roster=RosterLookup.load(roster))
    publish(lake, keyed, include_unchecked=True)
    rows = _analyst_rows(lake)
    ids = [statement["id"] for _, statement, _ in STATEMENTS]
    dana = [rows[i] for i in ids[:4]]

    assert len({row["actor"] for row in dana}) == 2  # two accounts, two actor pseudonyms
    assert {row["teacher_key"] for row in dana} == {keyed.teacher_key("T00001")}  # one teacher
    assert rows[ids[4]]["teacher_key"] == keyed.teacher_key("T00002") != keyed.teacher_key("T00001")
    assert rows[ids[5]]["teacher_key"] is None and rows[ids[5]]["actor"].startswith("p_")
    assert [rows[i]["institution_id"] for i in ids] == [expected for _, _, expected in STATEMENTS]
    actors = {row["actor"] for row in rows.values()}
    assert all(key.startswith("t_") and key not in actors for key in {keyed.teacher_key("T00001"),
                                                                         keyed.teacher_key("T00002")})


def test_the_teacher_key_needs_the_key(tmp_path: Path, roster: Path) -> None:
    """Neither a plain hash of the teacher id nor another key gives the published key."""
    key = Pseudonymizer(KEY).teacher_key("T00001")
    assert key != Pseudonymizer(b"another-key-0123456789abcdef").teacher_key("T00001")
    for identity in (b"T00001", b"teacher:T00001"):
        for digest in (hashlib.sha256, hashlib.sha1, hashlib.md5):
            assert digest(identity).hexdigest()[:32] != key[2:]


def test_no_teacher_id_or_name_reaches_the_analyst_zone(tmp_path: Path, roster: Path) -> None:
    lake = Lake(tmp_path / "lake")
    _ingest_all(lake, tmp_path)
    publish(lake, Pseudonymizer(KEY, roster=RosterLookup.load(roster)), include_unchecked=True)
    files = [p for p in (lake.layout.warehouse / "xapi" / ANALYST_TABLE).rglob("*") if p.is_file()]
    text = "".join(str(pq.read_table(p).to_pylist()) if p.suffix == ".parquet" else p.read_bytes().decode("latin-1")
                   for p in files)
    assert "S-42" in text  # the institution is published, the teacher is not
    for secret in ("T00001", "T00002", "Dana", "Abenova", "Marat", "teacher1"):
        assert secret not in text


def _old_analyst_table(lake: Lake) -> None:
    """An analyst table as a version before teacher keys made it, with one published batch in it."""
    teacher_columns = {name for name, _, _ in ANALYST_TEACHER_COLUMNS}
    spec = TABLES[ANALYST_TABLE]
    old = TableSpec(pa.schema([f for f in spec.schema if f.name not in teacher_columns]), spec.partition_by)
    table = _create(lake.catalog, f"xapi.{ANALYST_TABLE}", old)
    batches = [batch.batch_id for batch in BatchInventory(lake).all()]
    append_rows(table, old.conform(Pseudonymizer(KEY).table(lake.read_batches("statements", batches))),
                old.partition_by)
    with lake.engine.begin() as connection:
        BatchInventory.claim_published(batches, Pseudonymizer(KEY).key_id, checked_only=False)(connection)


def test_an_old_analyst_table_gains_the_columns_and_rebuild_fills_them(tmp_path: Path, roster: Path) -> None:
    lake = Lake(tmp_path / "lake")
    _ingest(lake, tmp_path, "moodle-a", [s for src, s, _ in STATEMENTS if src == "moodle-a"])
    _old_analyst_table(lake)
    assert set(_analyst_rows(lake)) and {row["teacher_key"] for row in _analyst_rows(lake).values()} == {None}

    _ingest(lake, tmp_path, "edx-b", [s for src, s, _ in STATEMENTS if src == "edx-b"])
    keyed = Pseudonymizer(KEY, roster=RosterLookup.load(roster))
    assert len(publish(lake, keyed, include_unchecked=True)) == 1  # the old batch is not published again
    table = lake.table(ANALYST_TABLE)
    assert [field.name for field in table.schema().fields] == TABLES[ANALYST_TABLE].schema.names  # as a new lake's
    rows = _analyst_rows(lake)
    assert len(rows) == len(STATEMENTS)
    assert {rows[s["id"]]["teacher_key"] for src, s, _ in STATEMENTS if src == "moodle-a"} == {None}
    assert rows[STATEMENTS[1][1]["id"]]["teacher_key"] == keyed.teacher_key("T00001")

    publish(lake, keyed, rebuild=True, include_unchecked=True)  # after adding a roster: re-derive every key
    rows = _analyst_rows(lake)
    assert [rows[s["id"]]["institution_id"] for _, s, _ in STATEMENTS] == [expected for _, _, expected in STATEMENTS]
    assert table.refresh().scan().to_arrow().num_rows == len(STATEMENTS)  # pyiceberg reads old and new files alike


def test_publish_takes_the_roster_from_the_option(tmp_path: Path, roster: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)  # no config/credit/roster.csv here: without a roster, keys are null
    monkeypatch.setenv("XAPI_PSEUDONYM_KEY", KEY.decode())
    lake_path = str(tmp_path / "lake")
    _ingest_all(Lake(lake_path), tmp_path)

    assert main(["publish", "--lake", lake_path, "--skip-quality-gate"]) == 0
    assert {row["teacher_key"] for row in _analyst_rows(Lake(lake_path)).values()} == {None}

    assert main(["publish", "--lake", lake_path, "--skip-quality-gate", "--rebuild", "--roster", str(roster)]) == 0
    assert sum(row["teacher_key"] is not None for row in _analyst_rows(Lake(lake_path)).values()) == 5

    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["publish", "--lake", lake_path, "--roster", str(tmp_path / "missing.csv")])
    assert "no such file" in capsys.readouterr().err


def test_the_ingest_dag_publishes_with_the_roster_credit_reads(tmp_path: Path, roster: Path) -> None:
    """The DAG's check-and-publish step reads XAPI_CREDIT_ROSTER; a roster set but missing is an error."""
    environment = {"XAPI_LAKE": str(tmp_path / "lake"), "XAPI_PSEUDONYM_KEY": KEY.decode(),
                   "XAPI_REPORTS": str(tmp_path / "reports"), "XAPI_CREDIT_ROSTER": str(roster)}
    _ingest_all(Lake(tmp_path / "lake"), tmp_path)
    with pytest.raises(ConfigError, match="XAPI_CREDIT_ROSTER"):
        check_and_publish(Settings.from_env({**environment, "XAPI_CREDIT_ROSTER": str(tmp_path / "gone.csv")}), [])
    assert check_and_publish(Settings.from_env(environment), [])["published_batches"] == 2
    rows = _analyst_rows(Lake(tmp_path / "lake"))
    assert [rows[s["id"]]["institution_id"] for _, s, _ in STATEMENTS] == [expected for _, _, expected in STATEMENTS]
