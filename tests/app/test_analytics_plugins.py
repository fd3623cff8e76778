"""Analytics plugins as users install them: the project's wheel, the example plugin's wheel and a broken
plugin package side by side on ``PYTHONPATH``, driven through the CLI and the analytics DAG."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from devtools import REPO_ROOT
from devtools.airflow_local import airflow_environment, migrate, run_dag
from tests.support.wheel import install_package
from xapi_ingest.lake.store import Lake
from xapi_ingest.lake.voids import apply_voids

pytestmark = pytest.mark.integration  # builds wheels and runs Airflow: see [tool.pytest.ini_options] markers

KEY = "plugin-test-key-0123456789abcdef"
COMPLETED, EXPERIENCED = "http://adlnet.gov/expapi/verbs/completed", "http://adlnet.gov/expapi/verbs/experienced"


def statement(n: int, verb: str, timestamp: str, target: str | None = None) -> dict:
    return {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"statement-{n}")),
            "actor": {"objectType": "Agent", "mbox": f"mailto:teacher{n % 3}@school.example.org"},
            "verb": {"id": f"http://adlnet.gov/expapi/verbs/{verb}", "display": {"en-US": verb}},
            "object": ({"objectType": "StatementRef", "id": target} if target else
                       {"objectType": "Activity", "id": f"https://lms.example.org/course/{n}"}),
            "timestamp": timestamp, "version": "1.0.3"}


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory) -> Path:
    """The example plugin installed from its own pyproject, and beside it a package whose plugin cannot import."""
    site = install_package(REPO_ROOT / "examples" / "verb_counts", tmp_path_factory.mktemp("verb_counts"))
    (site / "broken_plugin.py").write_text("import libfoo_nobody_installed\n")
    info = site / "broken_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[xapi_pipeline.analytics]\nbroken = broken_plugin:plugin\n")
    return site


@pytest.fixture()
def world(tmp_path: Path, installed_wheel: Path, plugin_site: Path) -> dict[str, str]:
    """A lake of five statements (one voided by a sixth), and the environment the commands run in."""
    rows = [statement(1, "completed", "2026-01-05T10:00:00Z"), statement(2, "completed", "2026-01-20T10:00:00Z"),
            statement(3, "completed", "2026-01-21T10:00:00Z"), statement(4, "experienced", "2026-02-01T10:00:00Z"),
            statement(5, "experienced", "2026-02-02T10:00:00Z")]
    rows.append(statement(6, "voided", "2026-02-03T10:00:00Z", target=rows[2]["id"]))
    (tmp_path / "statements.ndjson").write_text("".join(json.dumps(row) + "\n" for row in rows))
    env = {**os.environ, "PYTHONPATH": f"{installed_wheel}{os.pathsep}{plugin_site}", "XAPI_PSEUDONYM_KEY": KEY,
           "XAPI_LAKE": str(tmp_path / "lake"), "XAPI_REPORTS": str(tmp_path / "reports")}
    done = cli(env, tmp_path, "ingest-file", "statements.ndjson", "--source", "lms", "--lake", "lake")
    assert done.returncode == 0, done.stderr
    return env


def cli(env: dict[str, str], cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xapi_ingest", *argv], env=env, cwd=cwd, capture_output=True, text=True)


def write_config(tmp_path: Path, verb_counts: str = "{out: reports/verb_counts}") -> Path:
    credit = {name: str(REPO_ROOT / "config" / "credit" / name) for name in ("policy.yaml", "registry.csv", "roster.csv")}
    path = tmp_path / "analytics.yaml"
    path.write_text(f"plugins:\n  verb_counts: {verb_counts}\n  broken: {{out: reports/broken}}\n"
                    f"  credit:\n    policy: {credit['policy.yaml']}\n    registry: {credit['registry.csv']}\n"
                    f"    roster: {credit['roster.csv']}\n    out: reports/credit\n    enabled: false\n")
    return path


def counts(version: Path) -> dict[tuple[str, str], int]:
    table = pq.read_table(version / "verb_counts.parquet").to_pylist()
    return {(row["verb_id"], row["period"]): row["statements"] for row in table}


def test_plugins_are_listed_with_a_broken_one_named_and_flagged(tmp_path: Path, world: dict[str, str]) -> None:
    done = cli(world, tmp_path, "analytics", "list", "--config", str(write_config(tmp_path)))
    assert done.returncode == 1, done.stderr  # an enabled plugin is broken
    rows = {line.split()[0]: line.split(maxsplit=4)[1:] for line in done.stdout.splitlines()[1:]}
    assert rows["verb_counts"][:3] == ["0.1.0", "yes", "analyst"]
    assert rows["credit"][1:3] == ["no", "restricted"] and rows["sequences"][1:3] == ["no", "analyst"]
    assert rows["broken"][3] == ("BROKEN: analytics plugin 'broken' cannot be imported (entry point 'broken = "
                                 "broken_plugin:plugin' of broken-plugin 0.1): ModuleNotFoundError: No module named "
                                 "'libfoo_nobody_installed'")


def test_the_example_plugin_runs_from_its_own_package_and_versions_its_output(
        tmp_path: Path, world: dict[str, str]) -> None:
    config = str(write_config(tmp_path))
    apply_voids(Lake(tmp_path / "lake"))
    first = cli(world, tmp_path, "analytics", "run", "verb_counts", "--config", config, "--lake", "lake")
    assert first.returncode == 0, first.stderr
    out = tmp_path / "reports" / "verb_counts"  # relative paths in the configuration: to the working directory
    assert first.stdout.splitlines() == ["verb_counts: v0001 new version: reports/verb_counts/versions/v0001"]
    assert counts(out / "versions" / "v0001") == {(COMPLETED, "2026-01"): 2, (EXPERIENCED, "2026-02"): 2}
    again = cli(world, tmp_path, "analytics", "run", "verb_counts", "--config", config, "--lake", "lake", "--format", "json")
    assert json.loads(again.stdout) == {"output_dir": "reports/verb_counts/versions/v0001", "version": 1,
                                        "new_version": False, "rows": 2, "statements": 4}
    manifest = json.loads((out / "versions.json").read_text())["versions"]
    assert [entry["inputs"]["plugin_version"] for entry in manifest] == ["0.1.0"]
    by_year = cli(world, tmp_path, "analytics", "run", "verb_counts", "--config",
                  str(write_config(tmp_path, "{out: reports/verb_counts, period: year}")), "--lake", "lake")
    assert by_year.returncode == 0, by_year.stderr
    assert counts(out / "versions" / "v0002") == {(COMPLETED, "2026"): 2, (EXPERIENCED, "2026"): 2}


def test_bad_options_and_a_broken_plugin_fail_alone_in_one_line(tmp_path: Path, world: dict[str, str]) -> None:
    config = write_config(tmp_path, "\n    out: reports/verb_counts\n    period: week")
    bad = cli(world, tmp_path, "analytics", "run", "verb_counts", "--config", str(config), "--lake", "lake")
    assert bad.returncode == 2
    assert bad.stderr == (f"error: analytics plugin 'verb_counts': {config}:4: plugins.verb_counts.period: "
                          "Input should be 'month' or 'year'\n")
    assert not (tmp_path / "reports" / "verb_counts").exists()
    broken = cli(world, tmp_path, "analytics", "run", "broken", "--config", str(config), "--lake", "lake")
    assert broken.returncode == 2 and broken.stderr.count("\n") == 1
    assert broken.stderr.startswith("error: analytics plugin 'broken' cannot be imported (entry point 'broken = ")


def test_credit_runs_as_a_plugin_like_its_own_command(tmp_path: Path, world: dict[str, str]) -> None:
    config = str(write_config(tmp_path))  # credit is configured but disabled: `run` still runs it by hand
    done = cli(world, tmp_path, "analytics", "run", "credit", "--config", config, "--lake", "lake", "--format", "json")
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert (outcome["version"], outcome["new_version"]) == (1, True)
    credit_dir = tmp_path / "reports" / "credit"
    assert outcome["output_dir"] == "reports/credit/versions/v0001"
    assert [entry["version"] for entry in json.loads((credit_dir / "versions.json").read_text())["versions"]] == [1]
    again = json.loads(cli(world, tmp_path, "analytics", "run", "credit", "--config", config, "--lake", "lake",
                           "--format", "json").stdout)
    assert (again["version"], again["new_version"]) == (1, False)


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("airflow")
    migrate(airflow_environment(home), home / "migrate.log")
    return home


def test_the_dag_runs_one_task_per_enabled_plugin_after_the_voids(
        tmp_path: Path, world: dict[str, str], airflow_home: Path) -> None:
    env = airflow_environment(airflow_home, {
        **{name: world[name] for name in ("PYTHONPATH", "XAPI_PSEUDONYM_KEY", "XAPI_REPORTS")},
        "XAPI_LAKE": str(tmp_path / "lake"), "XAPI_ANALYTICS": str(write_config(tmp_path)), "XAPI_TASK_RETRIES": "0"})
    result = run_dag("xapi_analytics", env, tmp_path / "analytics.log", cwd=tmp_path)
    assert result.task_states == {"apply_voids": "success", "verb_counts": "success", "broken": "failed"}
    assert result.state == "failed"  # the broken plugin fails its own task, and the run says so
    version = tmp_path / "reports" / "verb_counts" / "versions" / "v0001"
    assert counts(version) == {(COMPLETED, "2026-01"): 2, (EXPERIENCED, "2026-02"): 2}  # read after apply_voids
    with sqlite3.connect(airflow_home / "airflow.db") as db:
        events = db.execute("SELECT asset.name, asset_event.extra FROM asset_event JOIN asset "
                            "ON asset.id = asset_event.asset_id WHERE asset_event.source_run_id = ?",
                            (db.execute("SELECT run_id FROM dag_run WHERE dag_id = 'xapi_analytics' "
                                        "ORDER BY id DESC LIMIT 1").fetchone()[0],)).fetchall()
    assert [(name, json.loads(extra)) for name, extra in events] == [
        ("xapi_analytics_verb_counts", {"version": 1, "new_version": True,
                                        "output_dir": "reports/verb_counts/versions/v0001"})]
