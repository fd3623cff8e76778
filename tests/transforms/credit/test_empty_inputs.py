"""`xapi-pipeline credit` on empty or unmatched input: a one-line message and an exit code, never a traceback.

(The roster that matches no actor and the missing lake folder are in test_config.py.)
"""

from __future__ import annotations

import subprocess
import sys

import pandas as pd

from devtools import REPO_ROOT
from xapi_ingest.app.cli.main import main

CONFIG = REPO_ROOT / "config" / "credit"


def _credit(lake, out) -> list[str]:
    return ["credit", "--lake", str(lake), "--policy", str(CONFIG / "policy.yaml"), "--registry",
            str(CONFIG / "registry.csv"), "--roster", str(CONFIG / "roster.csv"), "--out", str(out), "--no-statements"]


def test_an_empty_lake_folder_is_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "lake").mkdir()
    assert main(_credit(tmp_path / "lake", tmp_path / "out")) == 2
    error = capsys.readouterr().err
    assert error == f"error: no lake at {tmp_path / 'lake'}: ingest or pull statements into it first\n"
    assert not (tmp_path / "out" / "versions").exists()


def test_a_lake_with_nothing_to_credit_gives_empty_summaries_and_one_warning(tmp_path, capsys):
    """Everything ingested was quarantined: the statements table is there, with no row to credit."""
    bad = tmp_path / "bad.ndjson"
    bad.write_text('{"not": "a statement"}\n')
    assert main(["ingest-file", str(bad), "--source", "moodle-a", "--lake", str(tmp_path / "lake"), "--no-publish"]) == 0
    capsys.readouterr()
    assert main(_credit(tmp_path / "lake", tmp_path / "out")) == 0
    shown = capsys.readouterr()
    assert shown.out.startswith("new version v0001")
    assert [line for line in shown.err.splitlines() if line] == [
        "warning: the lake holds no statement to credit, so every summary is empty (ingest or pull statements first; "
        "rejected ones are kept in the lake's quarantine)"]
    version = tmp_path / "out" / "versions" / "v0001"
    for name in ("teacher_summary", "institution_summary", "unmatched_actors", "review_queue", "continuity_changes"):
        assert pd.read_csv(version / f"{name}.csv").empty, name
    assert pd.read_parquet(version / "teacher_summary.parquet").empty
    assert main(_credit(tmp_path / "lake", tmp_path / "out")) == 0  # and a second run changes nothing
    assert capsys.readouterr().out.startswith("unchanged; latest version v0001")


def test_the_command_itself_prints_no_traceback_for_a_missing_lake(tmp_path):
    result = subprocess.run([sys.executable, "-m", "xapi_ingest.app.cli.main", *_credit(tmp_path / "nowhere",
                                                                                        tmp_path / "out")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert result.stderr == f"error: no lake at {tmp_path / 'nowhere'}: ingest or pull statements into it first\n"
    assert "Traceback" not in result.stdout + result.stderr
