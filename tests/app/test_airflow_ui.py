"""`make airflow` as a data engineer uses it: the UI's REST API lists both DAGs, a triggered ingest
runs on the scheduler, the analytics DAG follows from the lake Asset, and Ctrl-C leaves nothing running."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from devtools import REPO_ROOT
from devtools.airflow_cluster import AirflowApi
from devtools.local_lrs import free_port
from xapi_ingest.lake.store import Lake

pytestmark = pytest.mark.integration  # real processes: see [tool.pytest.ini_options] markers


def _processes_with_home(home: Path) -> list[int]:
    """PIDs whose environment names this Airflow home (reading /proc: we run as the same user)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if f"AIRFLOW_HOME={home}".encode() in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _wait(what: str, check, timeout: float, interval: float = 3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out waiting for {what}")


def test_make_airflow_runs_both_dags_and_stops_cleanly(tmp_path: Path) -> None:
    out, port = tmp_path / "airflow-local", free_port()
    launcher = subprocess.Popen(
        [sys.executable, "-m", "devtools.airflow_ui", "--out", str(out), "--teachers", "8", "--port", str(port)],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    printed: list[str] = []
    threading.Thread(target=lambda: printed.extend(line.decode(errors="replace") for line in launcher.stdout),
                     daemon=True).start()
    try:
        _wait("the launcher to print the UI address", lambda: any(f"127.0.0.1:{port}" in line for line in printed)
              or launcher.poll() is not None, timeout=900)
        assert launcher.poll() is None, "".join(printed)
        password = re.search(r"login: admin / (\S+)", "".join(printed)).group(1)
        api = AirflowApi.login(f"http://127.0.0.1:{port}", "admin", password)
        assert api.dag_ids() == ["xapi_analytics", "xapi_ingest", "xapi_maintenance"] and api.import_errors() == []
        run_id = api.trigger("xapi_ingest")
        assert api.wait_for_run("xapi_ingest", run_id, timeout=900) == "success"

        def analytics_done() -> list[str]:
            return [run["state"] for run in api.runs("xapi_analytics")
                    if run["run_type"] == "asset_triggered" and run["state"] in ("success", "failed")]

        assert "success" in _wait("an Asset-triggered analytics run", analytics_done, timeout=900)
        assert Lake(out / "lake").dataset("analyst_statements").count_rows() > 0
    finally:
        os.killpg(launcher.pid, signal.SIGINT)  # Ctrl-C in the launcher's terminal
        launcher.wait(timeout=120)
    assert launcher.returncode == 0, "".join(printed)[-3000:]
    assert "stopped" in "".join(printed)
    assert _processes_with_home(out / "airflow" / "airflow") == []
