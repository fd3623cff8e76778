"""A real Ralph LRS on 127.0.0.1, for the demo, the tests and the benchmarks.

Ralph lives in its own virtual environment (``.venv-ralph``, made by ``make ralph``) because it
cannot share one with Airflow 3; this module only starts and stops that process. The password
is generated per instance and handed to callers in memory, never written to a log.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from devtools import REPO_ROOT

RALPH_VENV_ENV = "XAPI_RALPH_VENV"
LAUNCHER = Path(__file__).with_name("ralph_launcher.py")


class RalphUnavailable(RuntimeError):
    pass


def ralph_venv() -> Path:
    return Path(os.environ.get(RALPH_VENV_ENV, REPO_ROOT / ".venv-ralph"))


def ralph_python() -> Path:
    python = ralph_venv() / "bin" / "python"
    if not (ralph_venv() / "bin" / "ralph").exists():
        raise RalphUnavailable(f"Ralph's LRS is not installed in {ralph_venv()}: run 'make ralph' "
                               f"(or set {RALPH_VENV_ENV} to its virtual environment)")
    return python


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class LocalRalph:
    """``with LocalRalph(workdir) as lrs:`` gives a running LRS at ``lrs.endpoint``."""

    workdir: Path
    port: int = field(default_factory=free_port)
    username: str = "lms"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(16), repr=False)
    max_page: int = 1000
    # the agent Ralph writes as every statement's authority: (account name, homePage), or an mbox by default
    authority_account: tuple[str, str] | None = None
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.workdir = Path(self.workdir).resolve()  # Ralph runs in it, so relative paths would break

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/xAPI/"

    def _environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "RALPH_APP_DIR": str(self.workdir / "app"),
            "RALPH_AUTH_FILE": str(self.workdir / "auth.json"),
            "RALPH_RUNSERVER_BACKEND": "fs",
            "RALPH_RUNSERVER_MAX_SEARCH_HITS_COUNT": str(self.max_page),
            "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": str(self.workdir / "data"),
        }

    def start(self, timeout: float = 60.0) -> LocalRalph:
        python = ralph_python()
        (self.workdir / "data").mkdir(parents=True, exist_ok=True)
        env = self._environment()
        (self.workdir / "auth.json").unlink(missing_ok=True)
        agent = (["-A", *self.authority_account] if self.authority_account
                 else ["-M", f"mailto:{self.username}@example.org"])
        # The password goes through stdin (a command line is readable by every local user). Ralph asks
        # for it with getpass, which reads the controlling terminal when there is one, so in a
        # terminal it would wait there for typing: a new session has no controlling terminal, and
        # getpass then reads the pipe.
        made = subprocess.run(
            [str(python.with_name("ralph")), "auth", "-u", self.username, "-s", "all", *agent, "-w"],
            input=f"{self.password}\n{self.password}\n", env=env, capture_output=True, text=True,
            start_new_session=True, timeout=60,
        )
        if made.returncode:
            said = (made.stderr.strip() or made.stdout.strip() or "no output").splitlines()[-1][:300]
            raise RalphUnavailable(f"'ralph auth' exited with {made.returncode}: {said}")
        log = open(self.workdir / "ralph.log", "ab")  # noqa: SIM115 - lives as long as the process
        self._process = subprocess.Popen(
            [str(python), str(LAUNCHER), "--port", str(self.port)],
            env=env, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RalphUnavailable(f"Ralph exited with {self._process.returncode}; see {self.workdir / 'ralph.log'}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/__heartbeat__", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RalphUnavailable(f"Ralph did not answer on port {self.port} within {timeout:.0f} s")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def __enter__(self) -> LocalRalph:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def post(self, statements: list[dict], batch: int = 500) -> list[str]:
        """POST statements as an LMS would (in batches); returns the ids the LRS assigned or kept."""
        ids: list[str] = []
        with httpx.Client(auth=(self.username, self.password), timeout=60,
                          headers={"X-Experience-API-Version": "1.0.3"}) as client:
            for start in range(0, len(statements), batch):
                response = client.post(self.endpoint + "statements", json=statements[start:start + batch])
                response.raise_for_status()
                ids.extend(response.json())
        return ids

