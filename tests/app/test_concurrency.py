"""Several real ``xapi-pipeline`` processes on one lake at once: none crashes, each id is stored once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import duckdb
import pytest

from devtools import REPO_ROOT
from tests.support.fault_lrs import Faults, FaultyLRS
from xapi_ingest.lake.store import Lake
from xapi_ingest.xapi.samples import realistic_statements

pytestmark = pytest.mark.integration  # starts real processes


def _ids(files) -> Counter[str]:
    if not files:
        return Counter()
    rows = duckdb.sql(f"SELECT statement_id FROM read_parquet({[str(f) for f in files]!r})").fetchall()
    return Counter(row[0] for row in rows)


def test_ingests_pulls_and_publishes_at_once_on_one_lake(tmp_path):
    statements = list(realistic_statements(400))
    files = {}
    for name, part in (("a", statements[:250]), ("b", statements[150:])):  # 100 ids in both files
        files[name] = tmp_path / f"{name}.ndjson"
        files[name].write_text("".join(json.dumps(s) + "\n" for s in part))
    lrs = FaultyLRS(Faults()).start()
    lrs.add(statements[100:300])  # and overlapping both files
    config = tmp_path / "sources.yaml"
    config.write_text(f"sources:\n  - id: lrs-a\n    endpoint: {lrs.endpoint}\n    page_size: 40\n    commit_every: 40\n")
    lake = tmp_path / "lake"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "XAPI_PSEUDONYM_KEY": "concurrency-test-key-0123456789",
           "XAPI_REPORTS": str(tmp_path / "reports")}
    commands = [
        ["ingest-file", str(files["a"]), "--source", "moodle-a", "--batch-size", "60"],
        ["ingest-file", str(files["b"]), "--source", "moodle-a", "--batch-size", "60"],
        ["ingest-file", str(files["a"]), "--source", "edx-b", "--batch-size", "60"],
        ["pull", "--config", str(config), "--source", "lrs-a"],
        ["pull", "--config", str(config), "--source", "lrs-a"],
        ["publish"],
    ]
    try:
        processes = [subprocess.Popen([sys.executable, "-m", "xapi_ingest", *command, "--lake", str(lake)],
                                      cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for command in commands]
        outputs = [process.communicate(timeout=600) for process in processes]
    finally:
        lrs.stop()
    for command, process, (out, err) in zip(commands, processes, outputs, strict=True):
        assert process.returncode == 0, f"{command}: exit {process.returncode}\n{out}\n{err}"
        assert "Traceback" not in err, err

    lake_ = Lake(lake)
    stored = _ids(lake_.files(lake_.statements_dir))
    assert set(stored) == {s["id"] for s in statements} and set(stored.values()) == {1}
    # A last publish (its gate checks whatever the others left unchecked) completes the analyst zone, once per id.
    done = subprocess.run([sys.executable, "-m", "xapi_ingest", "publish", "--lake", str(lake)], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    published = _ids(lake_.files(lake_.analyst_dir))
    assert set(published) == set(stored) and set(published.values()) == {1}
    leftovers = [p for p in lake.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".tmp")]
    assert leftovers == [] and not (tmp_path / ".tmp").exists()
