"""Run the project's DAGs with real Airflow on a local SQLite home (the demo and the tests).

Airflow reads its configuration when it is first imported, so each DAG run happens in a child
process with its own environment: a private ``AIRFLOW_HOME``, SQLite metadata, this repo's
``dags/`` folder, and no example DAGs. The child calls ``dag.test()``, which runs every task
for real (mapping, trigger rules, XComs, Asset events) without a scheduler, and prints the
final task states as one JSON line; Airflow's own logs go to a file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from devtools import REPO_ROOT

RUNNER = Path(__file__).with_name("dag_test_runner.py")


@dataclass(frozen=True)
class DagRunResult:
    dag_id: str
    state: str
    task_states: dict[str, str]  # "task_id" or "task_id[map_index]" -> state
    log_file: Path
    library: str | None = None  # where the run imported xapi_ingest from


def airflow_environment(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        **(extra or {}),
    }


def migrate(env: dict[str, str], log_file: Path) -> None:
    """Create or upgrade the SQLite metadata database (idempotent)."""
    with open(log_file, "ab") as log:
        done = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, stdout=log, stderr=log)
    if done.returncode:
        raise RuntimeError(f"'airflow db migrate' failed (exit {done.returncode}): {_last_line(log_file)}; see {log_file}")


def _last_line(log_file: Path) -> str:
    lines = [line for line in log_file.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"


def run_dag(dag_id: str, env: dict[str, str], log_file: Path, cwd: Path | None = None) -> DagRunResult:
    """``dag.test()`` in a child process (``cwd``: where relative settings resolve)."""
    with open(log_file, "ab") as log:
        child = subprocess.run([sys.executable, str(RUNNER), dag_id],
                               env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=log, check=False)
    lines = [line for line in child.stdout.decode().splitlines() if line.startswith('{"dag_id"')]
    if not lines:
        raise RuntimeError(f"the Airflow run of {dag_id} ended without a result (exit {child.returncode}): "
                           f"{_last_line(log_file)}; see {log_file}")
    result = json.loads(lines[-1])
    return DagRunResult(dag_id, result["state"], result["tasks"], log_file, result["library"])
