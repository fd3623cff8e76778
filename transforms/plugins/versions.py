"""Versioned output folders for plugins that have none of their own.

The layout, lock and atomic commit are :mod:`transforms.reporting.versions` (credit and sequences
use them too): ``OUT/versions/vNNNN/``, ``OUT/versions.json`` with each version's inputs (plugin
version, config hash, lake snapshots) and ``OUT/LATEST``. What this adds is the rule every
plugin wants: a run whose inputs match the latest version's writes nothing.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from transforms.plugins.api import Outcome
from transforms.reporting.versions import (
    commit_version,
    exclusive_versions,
    manifest_entries,
    staging_dir,
    version_dir,
)


@dataclass(frozen=True)
class PluginVersion:
    version: int
    fingerprint: str
    written_at: str
    inputs: dict[str, Any]
    summary: dict[str, Any]


def write_version(out: Path, inputs: Mapping[str, Any],
                  write: Callable[[Path], Mapping[str, Any]]) -> Outcome:
    """Call ``write(folder)`` to fill a new version, unless the latest version had the same ``inputs``.

    ``write`` returns a JSON-able summary, kept in the manifest and in the outcome.
    """
    recorded: dict[str, Any] = json.loads(json.dumps(inputs, sort_keys=True, default=str))
    fingerprint = hashlib.sha256(json.dumps(recorded, sort_keys=True).encode()).hexdigest()
    with exclusive_versions(out):
        entries = manifest_entries(out)
        latest = entries[-1] if entries else None
        if latest is not None and latest["fingerprint"] == fingerprint:
            return Outcome(version_dir(out, latest["version"]), latest["version"], False, latest["summary"])
        version = latest["version"] + 1 if latest else 1
        staging = staging_dir(out, uuid.uuid4().hex)
        staging.mkdir()
        summary = json.loads(json.dumps(dict(write(staging)), default=str))
        record = PluginVersion(version, fingerprint, datetime.now(UTC).isoformat(), recorded, summary)
        return Outcome(commit_version(out, staging, record), version, True, summary)
