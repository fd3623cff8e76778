"""`make demo` end to end, twice: real Ralph LRSs, tincan emission, both DAGs under real Airflow."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import select
from tincan import Statement

from devtools import REPO_ROOT
from devtools.demo import run
from devtools.demo_data import TOLERATED_FOR, build
from tests.support.lake import lake_ids
from tests.support.terminal import run_in_terminal
from xapi_ingest.lake.ledger import PULL_STATE
from xapi_ingest.lake.query import connect
from xapi_ingest.lake.store import Lake
from xapi_ingest.xapi.validator import StatementValidator

pytestmark = pytest.mark.integration  # real processes: see [tool.pytest.ini_options] markers


def expected_split(teachers: int) -> tuple[set[str], set[str]]:
    """(ids our validator accepts, ids it rejects), judged on what tincan puts on the wire
    (it rewrites some statements, e.g. it adds the missing ``mailto:`` to an mbox)."""
    validate, accepted, rejected = StatementValidator("auto").validate, set(), set()
    for lrs, statements in build(teachers=teachers).by_lrs.items():
        for statement in statements:
            rules = {issue.rule for issue in validate(json.loads(Statement(statement).to_json()))}
            (accepted if rules <= set(TOLERATED_FOR.get(lrs, [])) else rejected).add(statement["id"])
    return accepted, rejected


def pull_states(lake: Lake) -> dict[str, str]:
    with lake.engine.connect() as connection:
        return dict(connection.execute(select(PULL_STATE.c.source, PULL_STATE.c.state)).fetchall())


def test_demo_runs_twice_and_the_second_run_changes_nothing(tmp_path: Path, installed_wheel: Path) -> None:
    """The first run's DAGs import the installed wheel, outside the checkout; the second is `make demo`'s
    entry point in a real terminal, where it once waited forever at a hidden password prompt."""
    out, quiet = tmp_path / "demo", Console(file=open("/dev/null", "w"))  # noqa: SIM115
    first = run(out, teachers=20, console=quiet, environment={"PYTHONPATH": str(installed_wheel)})
    assert {dag: result.state for dag, result in first.items()} == {"xapi_ingest": "success", "xapi_analytics": "success"}
    assert all(result.library and result.library.startswith(str(installed_wheel)) for result in first.values())
    lake = Lake(out / "lake")
    accepted, rejected = expected_split(20)
    assert sorted(lake_ids(lake)) == sorted(accepted)
    with connect(lake) as con:
        assert {row[0] for row in con.execute("SELECT statement_id FROM quarantine").fetchall()} == rejected
    pulled_at = pull_states(lake)
    assert len(pulled_at) == len(build(teachers=20).by_lrs)  # one state per platform LRS
    assert_institution_folders_read_well(out / "reports", tmp_path / "screenshots")
    data_tables = ("statements", "quarantine", "analyst_statements")
    snapshots = {table: lake.snapshot_id(table) for table in data_tables}

    second = run_in_terminal([sys.executable, "-m", "devtools.demo", "--out", str(out), "--teachers", "20"],
                             cwd=REPO_ROOT, env=dict(os.environ), timeout=900)
    assert second.exit_code == 0, second.screen[-3000:]
    assert "nothing new arrived" in second.screen and "credit unchanged" in second.screen, second.screen[-3000:]
    assert "learning network" in second.screen  # its table of hours between institutions
    assert "Traceback" not in second.screen
    assert sorted(lake_ids(lake)) == sorted(accepted)
    again = pull_states(lake)
    assert all(again[source] != state for source, state in pulled_at.items())  # every LRS was pulled again
    assert {table: lake.snapshot_id(table) for table in data_tables} == snapshots  # no new commit to any of them


def assert_institution_folders_read_well(reports: Path, screenshots: Path) -> None:
    """Every institution's credit report, a statement of participation and its learning-network page, in its
    language, open in Chromium with nothing cut off at laptop or A4 width (the policy gives the demo's
    institutions kk, ru and en, and the network follows it)."""
    from playwright.sync_api import sync_playwright

    from tests.reporting.browser import CHROMIUM_ARGS, page_problems, require_chromium
    from transforms.credit.policy import load_policy
    from transforms.reporting.i18n import translator

    policy = load_policy(REPO_ROOT / "config" / "credit" / "policy.yaml")
    credit, network = (reports / name / "versions" / (reports / name / "LATEST").read_text().strip()
                       for name in ("credit", "network"))
    folders = sorted((credit / "institutions").iterdir())
    assert {policy.reports.language_of(folder.name) for folder in folders} == {"kk", "ru", "en"}
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=require_chromium(), args=CHROMIUM_ARGS)
        for folder in folders:
            language = policy.reports.language_of(folder.name)
            report = (folder / "report.html").read_text()
            assert f'lang="{language}"' in report and translator(language)("Summary by period") in report
            network_page = network / "institutions" / f"{folder.name}.html"
            assert f'lang="{language}"' in network_page.read_text()
            pages = [folder / "report.html", sorted((folder / "statements").glob("*.html"))[0], network_page]
            for page in pages:
                problems += page_problems(browser, page, screenshots / folder.name)
        browser.close()
    assert problems == []


def test_a_failing_child_process_is_reported_in_its_own_words(tmp_path: Path) -> None:
    env = {**os.environ, "XAPI_RALPH_VENV": str(tmp_path / "no-ralph-here")}
    shown = run_in_terminal([sys.executable, "-m", "devtools.demo", "--out", str(tmp_path / "demo"), "--teachers", "5"],
                            cwd=REPO_ROOT, env=env, timeout=300)
    assert shown.exit_code == 2, shown.screen[-2000:]
    assert "error:" in shown.screen and "make ralph" in shown.screen
    assert "Traceback" not in shown.screen
