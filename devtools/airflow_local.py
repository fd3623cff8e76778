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


@dataclass(frozen=True)
class DagRunResult:
    dag_id: str
    state: str
    task_states: dict[str, str]  # "task_id" or "task_id[map_index]" -> state
    log_file: Path


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
        subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, stdout=log, stderr=log, check=True)


def run_dag(dag_id: str, env: dict[str, str], log_file: Path) -> DagRunResult:
    with open(log_file, "ab") as log:
        child = subprocess.run([sys.executable, "-m", "devtools.airflow_local", dag_id],
                               env=env, stdout=subprocess.PIPE, stderr=log, check=False)
    lines = [line for line in child.stdout.decode().splitlines() if line.startswith('{"dag_id"')]
    if not lines:
        raise RuntimeError(f"the Airflow run of {dag_id} ended without a result (exit {child.returncode}); see {log_file}")
    result = json.loads(lines[-1])
    return DagRunResult(dag_id, result["state"], result["tasks"], log_file)


def _test_in_this_process(dag_id: str) -> None:
    import contextlib

    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if dag_id not in bag.dags:
        raise SystemExit(f"DAG {dag_id!r} not found; import errors: {bag.import_errors}")
    with contextlib.redirect_stdout(sys.stderr):  # Airflow logs to stdout; only our JSON line goes there
        run = bag.dags[dag_id].test()
        tasks = {(ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"): str(ti.state)
                 for ti in run.get_task_instances()}
    print(json.dumps({"dag_id": dag_id, "state": str(run.state), "tasks": tasks}), flush=True)


if __name__ == "__main__":
    _test_in_this_process(sys.argv[1])
