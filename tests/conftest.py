"""Shared fixtures: the conformance corpus location and small statement builders."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from devtools import REPO_ROOT

CONFORMANCE_DIR = REPO_ROOT.parent / "shared" / "xapi-conformance"
# One headless browser for the session: Playwright's sync API allows one at a time, so the fixture is defined once here
# rather than imported by each test module (each import would be a fixture of its own, started side by side).
pytest_plugins = ("tests.reporting.browser",)


@pytest.fixture(scope="session")
def conformance_dir() -> Path:
    if not (CONFORMANCE_DIR / "manifest.csv").exists():
        if os.environ.get("CI"):
            pytest.fail(f"the conformance corpus is missing at {CONFORMANCE_DIR} (CI must not skip it)")
        pytest.skip(f"conformance corpus not found at {CONFORMANCE_DIR}")
    return CONFORMANCE_DIR


BASE_STATEMENT: dict[str, Any] = {
    "id": "fd41c918-b88b-4b20-a0a5-a4c32391aaa0",
    "actor": {"objectType": "Agent", "name": "Aigerim", "mbox": "mailto:aigerim@school.example.kz"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "completed"}},
    "object": {"id": "https://mooc.example.org/course/pd-101", "objectType": "Activity"},
    "timestamp": "2026-10-01T09:30:00.000+06:00",
}


@pytest.fixture
def statement() -> dict[str, Any]:
    """A fresh valid statement that a test may change freely."""
    return copy.deepcopy(BASE_STATEMENT)


@pytest.fixture
def ralph(tmp_path: Path):
    """A real Ralph LRS process on 127.0.0.1 (its own virtual environment), stopped after the test."""
    from devtools.local_lrs import LocalRalph, RalphUnavailable

    lrs = LocalRalph(tmp_path / "ralph")
    try:
        lrs.start()
    except RalphUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Ralph's LRS is required in CI: {exc}")
        pytest.skip(str(exc))
    yield lrs
    lrs.stop()


@pytest.fixture(scope="session")
def s3_uri(tmp_path_factory):
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ACCESS_KEY_ID", "testing")  # moto accepts any credentials; pyarrow needs some
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        yield from _moto_lake(tmp_path_factory)


def _moto_lake(tmp_path_factory):
    """A real S3-compatible server (moto in server mode) on 127.0.0.1, with an empty lake bucket."""
    import pyarrow.fs as pafs

    from devtools.local_lrs import free_port

    port = free_port()
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "wb")  # noqa: SIM115
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline:
                server.kill()
                pytest.fail("moto server did not start")
            time.sleep(0.2)
    uri = f"s3://xapi-lake/lake?endpoint_override=127.0.0.1:{port}&scheme=http&region=us-east-1"
    pafs.FileSystem.from_uri(uri + "&allow_bucket_creation=true")[0].create_dir("xapi-lake")
    yield uri
    server.terminate()
    server.wait()
    log.close()
