"""Several real ``xapi-pipeline`` processes on one lake at once, on local disk and on S3: none crashes,
each id is stored once, and a compaction running beside them changes nothing any of them sees."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import pytest

from devtools import REPO_ROOT
from tests.support.fault_lrs import Faults, FaultyLRS
from xapi_ingest.lake.store import Lake
from xapi_ingest.xapi.samples import realistic_statements

pytestmark = pytest.mark.integration  # starts real processes


def _ids(lake: Lake, table: str) -> Counter[str]:
    return Counter(lake.dataset(table).to_table(columns=["statement_id"])["statement_id"].to_pylist())


@pytest.mark.parametrize("storage", ["local", "s3"])
def test_ingests_pulls_publishes_and_compaction_at_once_on_one_lake(tmp_path, storage, request):
    statements = list(realistic_statements(400))
    files = {}
    for name, part in (("a", statements[:250]), ("b", statements[150:])):  # 100 ids in both files
        files[name] = tmp_path / f"{name}.ndjson"
        files[name].write_text("".join(json.dumps(s) + "\n" for s in part))
    lrs = FaultyLRS(Faults()).start()
    lrs.add(statements[100:300])  # and overlapping both files
    config = tmp_path / "sources.yaml"
    config.write_text(f"sources:\n  - id: lrs-a\n    endpoint: {lrs.endpoint}\n    page_size: 40\n    commit_every: 40\n")
    lake = str(tmp_path / "lake")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "XAPI_PSEUDONYM_KEY": "concurrency-test-key-0123456789",
           "XAPI_REPORTS": str(tmp_path / "reports")}
    if storage == "s3":  # data in the bucket, the catalog a database file every process shares
        lake = request.getfixturevalue("s3_uri").replace("/lake?", f"/{tmp_path.name}?")
        env |= {"XAPI_LAKE_CATALOG": f"sqlite:///{tmp_path / 'catalog.sqlite'}",
                "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    commands = [
        ["ingest-file", str(files["a"]), "--source", "moodle-a", "--batch-size", "60"],
        ["ingest-file", str(files["b"]), "--source", "moodle-a", "--batch-size", "60"],
        ["ingest-file", str(files["a"]), "--source", "edx-b", "--batch-size", "60"],
        ["pull", "--config", str(config), "--source", "lrs-a"],
        ["pull", "--config", str(config), "--source", "lrs-a"],
        ["publish"],
        ["compact"],  # default grace: files of commits in flight are never deleted
    ]
    Lake(lake, env.get("XAPI_LAKE_CATALOG")).snapshot_ids()  # the lake exists: compaction refuses a lake that does not
    try:
        processes = [subprocess.Popen([sys.executable, "-m", "xapi_ingest", *command, "--lake", lake],
                                      cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for command in commands]
        outputs = [process.communicate(timeout=600) for process in processes]
    finally:
        lrs.stop()
    for command, process, (out, err) in zip(commands, processes, outputs, strict=True):
        assert process.returncode == 0, f"{command}: exit {process.returncode}\n{out}\n{err}"
        assert "Traceback" not in err, err

    opened = Lake(lake, env.get("XAPI_LAKE_CATALOG"))
    stored = _ids(opened, "statements")
    assert set(stored) == {s["id"] for s in statements} and set(stored.values()) == {1}
    # A last publish (its gate checks whatever the others left unchecked) completes the analyst zone, once per id.
    done = subprocess.run([sys.executable, "-m", "xapi_ingest", "publish", "--lake", lake], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    published = _ids(opened, "analyst_statements")
    assert set(published) == set(stored) and set(published.values()) == {1}
    assert not (tmp_path / ".tmp").exists()  # no DuckDB spill folder in the working directory
