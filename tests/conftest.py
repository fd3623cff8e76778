"""Shared fixtures: the conformance corpus location and small statement builders."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest

CONFORMANCE_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "xapi-conformance"


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
    from xapi_ingest.local_lrs import LocalRalph, RalphUnavailable

    lrs = LocalRalph(tmp_path / "ralph")
    try:
        lrs.start()
    except RalphUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Ralph's LRS is required in CI: {exc}")
        pytest.skip(str(exc))
    yield lrs
    lrs.stop()
