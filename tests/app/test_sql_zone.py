"""``xapi-pipeline sql``: the analyst zone is the default and a boundary no query can step out of."""

from __future__ import annotations

import json

import pytest

from xapi_ingest.app.cli.main import main
from xapi_ingest.lake.ingest import Ingestor
from xapi_ingest.lake.query import connect
from xapi_ingest.lake.store import Lake
from xapi_ingest.lake.voids import apply_voids
from xapi_ingest.publish.privacy import Pseudonymizer, publish
from xapi_ingest.xapi.reader import read_records

KEY = "sql-zone-test-key-0123456789"


@pytest.fixture
def lake(tmp_path, statement, monkeypatch):
    monkeypatch.setenv("XAPI_PSEUDONYM_KEY", KEY)
    lake = Lake(tmp_path / "lake")
    path = tmp_path / "in.ndjson"
    path.write_text(json.dumps(statement) + "\n")
    Ingestor(lake, "moodle-a").ingest((str(path), record) for record in read_records(path))
    publish(lake, Pseudonymizer(KEY.encode()), include_unchecked=True)
    apply_voids(lake)
    return lake


def _sql(lake, query, *options):
    return main(["sql", "--lake", str(lake.root), "--format", "csv", *options, query])


def test_default_zone_is_analyst_with_its_views(lake, capsys):
    for view in ("statements", "effective_statements", "voided_ids"):
        assert _sql(lake, f"SELECT count(*) AS n FROM {view}") == 0
    out = capsys.readouterr().out.split()
    assert out == ["n", "1", "n", "1", "n", "0"]
    assert _sql(lake, "SELECT actor_ifi, source, stored_date FROM statements") == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("p_")
    assert _sql(lake, "SELECT raw_json FROM statements") == 2  # the analyst twin has no raw JSON
    assert _sql(lake, "SELECT count(*) FROM quarantine") == 2


def test_restricted_zone_needs_the_flag_and_says_so(lake, statement, capsys):
    assert _sql(lake, "SELECT actor_ifi FROM statements", "--zone", "restricted") == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[1] == "mbox:" + statement["actor"]["mbox"]
    assert "restricted zone" in captured.err
    assert _sql(lake, "SELECT actor_ifi FROM statements") == 0
    assert "restricted" not in capsys.readouterr().err


@pytest.mark.parametrize("escape", [
    "SELECT actor_name, raw_json FROM read_parquet('{lake}/statements/**/*.parquet')",
    "SELECT * FROM read_parquet('{lake}/analyst/statements/**/*.parquet')",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM glob('{lake}/**')",
    "SELECT * FROM '{lake}/statements/source=moodle-a/*/*.parquet'",
    "COPY (SELECT * FROM statements) TO '{out}/copy.csv'",
    "COPY statements TO '{out}/copy.parquet' (FORMAT parquet)",
    "ATTACH '{out}/attached.db' AS other",
    "EXPORT DATABASE '{out}/export'",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "SET threads = 1",
    "RESET lock_configuration",
    "PRAGMA threads = 1",
])
@pytest.mark.parametrize("zone", ["analyst", "restricted"])
def test_no_query_leaves_the_zone(lake, tmp_path, escape, zone, capsys):
    out = tmp_path / "out"
    out.mkdir()
    query = escape.format(lake=lake.root, out=out)
    assert _sql(lake, query, "--zone", zone) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith("note:")]
    assert len(lines) == 1 and lines[0].startswith("error: "), err  # one plain line, no traceback
    assert "Traceback" not in err
    assert list(out.iterdir()) == []  # nothing written anywhere


def test_internal_connections_still_read_files(lake):
    """Credit and sequences use unsealed connections: the lock is only for SQL typed by people."""
    with connect(lake, "restricted") as con:
        files = lake.dataset("statements").files
        assert con.execute(f"SELECT count(*) FROM read_parquet({files!r})").fetchone() == (1,)
        con.execute("SET threads = 1")
