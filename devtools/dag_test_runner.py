"""Run one DAG with ``dag.test()`` the way Airflow's processor loads it; print one JSON line of states.

Executed by path (``python devtools/dag_test_runner.py DAG_ID``), not as a module of this
repository, and imports nothing of the project itself: so the DAG files find ``xapi_ingest``
wherever the environment installed it (an editable checkout or a wheel), and the dags folder
is put on ``sys.path`` by Airflow's ``BundleDagBag`` exactly as the DAG processor and the task
runner do it, which is where a DAG file that shadows a package breaks.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path


def main(dag_id: str) -> None:
    from airflow.dag_processing.dagbag import BundleDagBag

    folder = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    bag = BundleDagBag(dag_folder=str(folder), bundle_path=folder, bundle_name="dags-folder")
    if dag_id not in bag.dags:
        raise SystemExit(f"DAG {dag_id!r} not found; import errors: {bag.import_errors}")
    with contextlib.redirect_stdout(sys.stderr):  # Airflow logs to stdout; only our JSON line goes there
        run = bag.dags[dag_id].test()
        tasks = {(ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"): str(ti.state)
                 for ti in run.get_task_instances()}
    library = sys.modules.get("xapi_ingest")
    print(json.dumps({"dag_id": dag_id, "state": str(run.state), "tasks": tasks,
                      "library": getattr(library, "__file__", None)}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
