"""`xapi-pipeline credit` on empty or unmatched input: a one-line message and an exit code, never a traceback.

(The roster that matches no actor and the missing lake folder are in test_config.py.)
"""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devtools import REPO_ROOT
from transforms.credit.ledger import LIST_COLUMNS
from transforms.credit.policy import load_policy
from transforms.credit.roster import load_roster
from transforms.credit.summaries import institution_summaries, teacher_summaries
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


@pytest.fixture(scope="module")
def pieces(credit_run):
    """The run's policy, ledger (list columns as the run's space-separated text) and roster memberships."""
    folder = credit_run.output_dir.parents[2]
    ledger = pd.read_parquet(credit_run.output_dir / "ledger.parquet")
    for name in LIST_COLUMNS:
        ledger[name] = ledger[name].map(" ".join)
    return load_policy(folder / "policy.yaml"), ledger, load_roster(folder / "roster.csv")[1].to_pandas()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_summaries_of_any_part_of_the_ledger_and_roster_add_up(pieces, data):
    """Any rows of a real ledger (none included) against any memberships of the roster (none included, or
    none overlapping the activities' years: this used to fail in pd.concat): the summaries are built, and
    every credited hour is in them once per period kind."""
    policy, ledger, members = pieces
    rows = data.draw(st.lists(st.sampled_from(range(len(ledger))), unique=True))
    people = data.draw(st.lists(st.sampled_from(range(len(members))), unique=True))
    part, roster = ledger.iloc[sorted(rows)], members.iloc[sorted(people)]
    as_of = None if part.empty else part["statement_watermark_stored"].max()
    teachers = teacher_summaries(part, roster, policy, as_of)
    institutions = institution_summaries(teachers, part, policy, as_of)
    for kind in ("academic_year", "pd_cycle"):
        own = teachers[teachers["period_kind"] == kind]
        assert own["credited_total"].sum() == pytest.approx(part["hours_credited"].sum())
        assert institutions.loc[institutions["period_kind"] == kind, "hours_total"].sum() == pytest.approx(
            own["credited_total"].sum())
    assert set(teachers["teacher_id"]) >= set(part["teacher_id"])
