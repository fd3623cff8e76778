"""Airflow's own DAG processor loads our DAG files from a clean home, with the project installed as a wheel.

``dag.test()`` imports DAG files in a way that hid a real bug (a DAG file named like the
package it imports shadowed it once the dags folder was on ``sys.path``), so this test runs the
processor's parsing function itself, and the ``airflow dags list-import-errors`` command, in a
child process whose working directory is not the repository.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devtools import REPO_ROOT

DAGS = REPO_ROOT / "dags"
EXPECTED_TASKS = {
    "xapi_ingest": ["all_sources_pulled", "pull", "quality", "sources"],
    "xapi_analytics": ["apply_voids", "credit", "network", "sequences"],
    "xapi_maintenance": ["compact"],
}
PARSE_LIKE_THE_PROCESSOR = """
import json, sys
from pathlib import Path
import structlog
from airflow.dag_processing.processor import DagFileParseRequest, _parse_file

dags = Path(sys.argv[1])
found, errors = {}, {}
for path in sorted(dags.glob("*.py")):
    result = _parse_file(DagFileParseRequest(file=str(path), bundle_path=dags, bundle_name="dags-folder"),
                         structlog.get_logger())
    errors.update({str(k): str(v).strip().splitlines()[-1] for k, v in (result.import_errors or {}).items()})
    for dag in result.serialized_dags:  # the serialized form the scheduler and the UI read
        found[dag.dag_id] = sorted(task.get("__var", task)["task_id"] for task in dag.data["dag"]["tasks"])
print(json.dumps({"errors": errors, "dags": found,
                  "library": sys.modules["xapi_ingest"].__file__ if "xapi_ingest" in sys.modules else None}))
"""


def _environment(site: Path | None, home: Path) -> dict[str, str]:
    """A clean Airflow home; ``site``: the wheel's folder, or None for this environment's (editable) install."""
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return {**environment, **({"PYTHONPATH": str(site)} if site else {}), "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}


def test_no_dag_file_is_named_like_an_importable_module() -> None:
    """The processor appends dags/ to sys.path; a DAG file named like a package then hides it
    (for an editable install, whose finder comes after sys.path) or is hidden by it."""
    clashes = [path.name for path in DAGS.glob("*.py") if importlib.util.find_spec(path.stem) is not None]
    assert clashes == []


@pytest.mark.integration
@pytest.mark.parametrize("install", ["wheel", "editable"])
def test_the_dag_processor_parses_both_dags(install: str, installed_wheel: Path, tmp_path: Path) -> None:
    site = installed_wheel if install == "wheel" else None
    env = _environment(site, tmp_path / "home")
    parsed = subprocess.run([sys.executable, "-c", PARSE_LIKE_THE_PROCESSOR, str(DAGS)], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert parsed.returncode == 0, parsed.stderr[-2000:]
    report = json.loads(parsed.stdout.strip().splitlines()[-1])
    assert report["errors"] == {}
    assert report["dags"] == EXPECTED_TASKS
    if site:
        assert report["library"].startswith(str(site)), "the DAGs must import the installed wheel"


@pytest.mark.integration
def test_airflow_reserializes_with_no_import_errors_and_lists_every_task(installed_wheel: Path, tmp_path: Path) -> None:
    """What the scheduler and the UI read: DAGs serialized into the metadata database by Airflow's CLI."""
    env = _environment(installed_wheel, tmp_path / "home")

    def airflow(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "airflow", *args], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"airflow {' '.join(args)}: {done.stdout[-1500:]}{done.stderr[-1500:]}"
        return done.stdout

    airflow("db", "migrate")
    airflow("dags", "reserialize")
    last_line = airflow("dags", "list-import-errors", "--output", "json").strip().splitlines()[-1]
    assert json.loads(last_line) == []
    listed = json.loads(airflow("dags", "list", "--output", "json").strip().splitlines()[-1])
    assert sorted(dag["dag_id"] for dag in listed) == sorted(EXPECTED_TASKS)
    for dag_id, tasks in EXPECTED_TASKS.items():
        assert set(tasks) <= set(airflow("tasks", "list", dag_id).split())


@pytest.mark.integration
def test_the_wheel_carries_the_expectation_suites(installed_wheel: Path) -> None:
    suites = sorted(path.name for path in (installed_wheel / "xapi_ingest" / "quality" / "expectations").glob("*.json"))
    assert suites == sorted(path.name for path in (REPO_ROOT / "expectations").glob("*.json"))
    assert not (installed_wheel / "devtools").exists(), "developer tools stay out of the wheel"


@pytest.mark.integration
def test_the_wheel_carries_the_report_catalogues(installed_wheel: Path) -> None:
    """Built without them, every report came out in English (the demo's first run imports the wheel)."""
    source = REPO_ROOT / "transforms" / "reporting" / "locales"
    shipped = installed_wheel / "transforms" / "reporting" / "locales"
    assert sorted(p.relative_to(shipped) for p in shipped.rglob("*.po")) == sorted(
        p.relative_to(source) for p in source.rglob("*.po"))
