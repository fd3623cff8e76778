"""``make airflow``: Airflow 3 with its UI on 127.0.0.1, the project's DAGs and the demo's LRSs.

What a data engineer needs to watch the pipeline as it runs in production, on one machine:
the API server (UI and REST API), scheduler, DAG processor and triggerer as separate
processes, SQLite metadata and the LocalExecutor in ``<out>/airflow``, and one Ralph LRS per
demo platform filled with the demo cluster. Both DAGs start unpaused: trigger ``xapi_ingest``
in the UI and ``xapi_analytics`` follows from the lake Asset. Every component listens on
127.0.0.1 only (the log servers are skipped: the UI reads task logs from the same disk), and
Ctrl-C stops them all and the LRSs.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
from rich.console import Console

from devtools.airflow_local import airflow_environment, migrate
from devtools.demo import start_platforms
from devtools.local_lrs import RalphUnavailable, free_port

COMPONENTS = {
    "api-server": ["api-server", "--host", "127.0.0.1", "--port", "{port}"],
    "scheduler": ["scheduler", "--skip-serve-logs"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer", "--skip-serve-logs"],
}


def airflow_settings(home: Path, port: int, extra: dict[str, str]) -> dict[str, str]:
    base_url = f"http://127.0.0.1:{port}"
    return airflow_environment(home, {
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",  # LocalExecutor forks this many workers (default 32: gigabytes)
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",  # no login: bound to 127.0.0.1, for one person
        "AIRFLOW__API__BASE_URL": base_url,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
        # components start plain `airflow`, so this environment's must come first
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        **extra,
    })


@contextmanager
def running_airflow(env: dict[str, str], port: int, logs: Path,
                    timeout: float = 300) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    """Start the API server, then (once it answers: tasks report to it from their first second) the
    other components, each in its own session so stopping takes its children too; stop all on exit."""
    logs.mkdir(parents=True, exist_ok=True)
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, args in COMPONENTS.items():
            with open(logs / f"{name}.log", "ab") as log:
                processes[name] = subprocess.Popen(
                    [sys.executable, "-m", "airflow", *(arg.format(port=port) for arg in args)],
                    env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            if name == "api-server":
                _wait_for(lambda: httpx.get(f"http://127.0.0.1:{port}/api/v2/version", timeout=2).is_success,
                          processes, logs, timeout, "the API server did not answer")
        _wait_for(lambda: _all_healthy(port), processes, logs, timeout, "Airflow did not become healthy")
        _wait_for(lambda: _dags_parsed(port, env), processes, logs, timeout, "the DAG processor did not load the DAGs")
        yield processes
    finally:
        for process in processes.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()


def _all_healthy(port: int) -> bool:
    health = httpx.get(f"http://127.0.0.1:{port}/api/v2/monitor/health", timeout=2).json()
    return all(part.get("status") == "healthy" for part in health.values() if isinstance(part, dict))


def _dags_parsed(port: int, env: dict[str, str]) -> bool:
    """Every DAG file is serialized (or has an import error the UI shows): what a user needs to see first."""
    api = f"http://127.0.0.1:{port}/api/v2"
    files = len(list(Path(env["AIRFLOW__CORE__DAGS_FOLDER"]).glob("*.py")))
    loaded = httpx.get(f"{api}/dags", timeout=5).json()["total_entries"]
    broken = httpx.get(f"{api}/importErrors", timeout=5).json()["total_entries"]
    return loaded + broken >= files


def _wait_for(ready: Callable[[], bool], processes: dict[str, subprocess.Popen[bytes]], logs: Path,
              timeout: float, failure: str) -> None:
    """Poll ``ready`` until it holds; a component that exits meanwhile is an error naming its log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, process in processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"Airflow's {name} exited with {process.returncode}; see {logs / (name + '.log')}")
        with contextlib.suppress(httpx.TransportError, ValueError):
            if ready():
                return
        time.sleep(1)
    raise RuntimeError(f"{failure} within {timeout:.0f} s; see the logs in {logs}")


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("airflow-local"), help="working folder (default: %(default)s)")
    parser.add_argument("--teachers", type=int, default=50, help="size of the demo cluster (default: %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="UI and API port on 127.0.0.1 (default: a free one)")
    args = parser.parse_args(argv)
    console, out = Console(stderr=True), args.out.resolve()
    port = args.port or free_port()
    stop = {"asked": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(asked=True))
    try:
        with ExitStack() as stack:
            _, settings = start_platforms(out, args.teachers, console, stack)
            env = airflow_settings(out / "airflow", port, settings)
            with console.status("preparing Airflow's SQLite metadata"):
                migrate(env, out / "airflow" / "migrate.log")
            with console.status("starting Airflow: API server, scheduler, DAG processor, triggerer"):
                processes = stack.enter_context(running_airflow(env, port, out / "airflow" / "components"))
            console.print(f"Airflow UI and REST API: [bold]http://127.0.0.1:{port}[/bold] (no login; local only)")
            console.print("trigger xapi_ingest there; xapi_analytics starts from the lake Asset when it finishes")
            console.print(f"lake: {out / 'lake'}   reports: {out / 'reports'}   logs: {out / 'airflow'}")
            console.print("press Ctrl-C to stop Airflow and the LRSs")
            while not stop["asked"] and all(process.poll() is None for process in processes.values()):
                time.sleep(1)
    except KeyboardInterrupt:
        pass
    except (RalphUnavailable, RuntimeError, OSError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        return 2
    console.print("stopped: Airflow and the LRSs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
