"""Versioned output folders for plugins that have none of their own: the credit pattern, minimal.

``OUT/versions/vNNNN/`` holds each version's files, ``OUT/versions.json`` lists every version
with its inputs (plugin version, config hash, lake snapshots) and ``OUT/LATEST`` names the
newest. A run writes into a hidden staging folder and renames it into place only when the
plugin's ``write`` returned, so a reader never sees half a version; a run whose inputs match
the latest version's writes nothing. A lock keeps two runs from staging into one folder at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from transforms.plugins.api import Outcome
from xapi_ingest.common.atomic import write_text_atomically

MANIFEST = "versions.json"
_STAGING = ".staging"


def _entries(out: Path) -> list[dict[str, Any]]:
    path = out / MANIFEST
    return json.loads(path.read_text())["versions"] if path.exists() else []


def write_version(out: Path, inputs: Mapping[str, Any],
                  write: Callable[[Path], Mapping[str, Any]]) -> Outcome:
    """Call ``write(folder)`` to fill a new version, unless the latest version had the same ``inputs``.

    ``write`` returns a JSON-able summary, kept in the manifest and in the outcome.
    """
    fingerprint = hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()
    out.mkdir(parents=True, exist_ok=True)
    with open(out / ".versions.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        entries = _entries(out)
        latest = entries[-1] if entries else None
        if latest is not None and latest["fingerprint"] == fingerprint:
            return Outcome(out / "versions" / f"v{latest['version']:04d}", latest["version"], False, latest["summary"])
        version = latest["version"] + 1 if latest else 1
        staging = out / _STAGING
        shutil.rmtree(staging, ignore_errors=True)  # a killed run's leftovers: the lock says no run is staging
        staging.mkdir()
        summary = dict(write(staging))
        target = out / "versions" / f"v{version:04d}"
        target.parent.mkdir(exist_ok=True)
        shutil.rmtree(target, ignore_errors=True)  # renamed by a killed run that never reached the manifest
        os.replace(staging, target)
        entry = {"version": version, "fingerprint": fingerprint, "written_at": datetime.now(UTC).isoformat(),
                 "inputs": dict(inputs), "summary": summary}
        write_text_atomically(json.dumps({"versions": [*entries, entry]}, indent=2, default=str), out / MANIFEST)
        write_text_atomically(f"v{version:04d}\n", out / "LATEST")
        return Outcome(target, version, True, summary)
