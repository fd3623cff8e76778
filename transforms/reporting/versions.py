"""Versioned output folders, shared by every analysis that publishes results people cite.

``OUT/versions.json`` lists every version (what each analysis records about its inputs),
``OUT/versions/vNNNN/`` holds each version's files, and ``OUT/LATEST`` names the newest. A run
writes into a hidden staging folder and renames it into place only when every file is written,
then appends to the manifest, so a reader never sees half a version and a killed run leaves
no version behind. A lock keeps two runs from staging into one folder at once.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any, ClassVar, Protocol

from xapi_ingest.common.atomic import write_text_atomically

MANIFEST = "versions.json"
LATEST = "LATEST"
STAGING_PREFIX = ".staging-"
_LOCK = ".versions.lock"


class Record(Protocol):
    """A manifest entry: a dataclass with at least the version number."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    @property
    def version(self) -> int: ...


def manifest_entries(out_dir: Path) -> list[dict[str, Any]]:
    """The manifest's entries, oldest first, as written (each analysis reads them into its record type)."""
    path = out_dir / MANIFEST
    if not path.exists():
        return []
    entries: list[dict[str, Any]] = json.loads(path.read_text())["versions"]
    return entries


def version_dir(out_dir: Path, version: int) -> Path:
    return out_dir / "versions" / f"v{version:04d}"


def staging_dir(out_dir: Path, run_id: str) -> Path:
    return out_dir / f"{STAGING_PREFIX}{run_id}"


@contextmanager
def exclusive_versions(out_dir: Path) -> Iterator[None]:
    """Hold the output folder for one run: read the manifest, stage, commit.

    With the lock held no other run is staging, so any ``.staging-*`` folder found is what a
    killed run left behind, and it is removed.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / _LOCK, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        for stale in out_dir.glob(STAGING_PREFIX + "*"):
            shutil.rmtree(stale, ignore_errors=True)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def commit_version(out_dir: Path, staging: Path, record: Record) -> Path:
    """Move a fully written staging folder into place, then append to the manifest atomically."""
    target = version_dir(out_dir, record.version)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():  # a crashed run left it but never reached the manifest: it is not a version
        shutil.rmtree(target)
    os.replace(staging, target)
    entries = [*manifest_entries(out_dir), asdict(record)]
    write_text_atomically(json.dumps({"versions": entries}, indent=2), out_dir / MANIFEST)
    write_text_atomically(f"v{record.version:04d}\n", out_dir / LATEST)
    return target
