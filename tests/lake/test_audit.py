"""``verify``: the lake's tables against its ledger, and what it says when something wrote around the pipeline."""

from __future__ import annotations

import json

from xapi_ingest.app.cli.main import main
from xapi_ingest.lake.ingest import Ingestor
from xapi_ingest.lake.store import Lake
from xapi_ingest.xapi.reader import RawRecord
from xapi_ingest.xapi.samples import realistic_statements


def test_verify_agrees_then_finds_rows_written_around_the_registry(tmp_path, capsys):
    lake = Lake(tmp_path / "lake")
    statements = list(realistic_statements(30))
    Ingestor(lake, "moodle-a").ingest(("gen", RawRecord(i, i + 1, json.dumps(s), s)) for i, s in enumerate(statements))
    assert main(["verify", "--lake", str(tmp_path / "lake")]) == 0
    assert capsys.readouterr().out.count(" ok\n") == 5

    copy = lake.dataset("statements").to_table().slice(0, 2)
    lake.append("statements", copy, [])  # another Iceberg writer that knows nothing of the ledger
    assert main(["verify", "--lake", str(tmp_path / "lake")]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[-1] for line in lines] == ["DIFFERS", "ok", "DIFFERS", "ok", "ok"]
    assert "32" in lines[0] and "30" in lines[0]
