"""The gate's records in the lake: batches held back from the analyst zone, and files checked.

A hold is a small JSON file, ``<lake>/_quality/held/<batch_id>.json``, that says why the batch
is held. It lives in the lake rather than in Airflow or in a report folder because the lake is
what :func:`xapi_ingest.publish.privacy.publish` reads: whoever publishes, from whichever machine, sees
the hold. The restricted data itself is never moved or deleted, so it stays there for
inspection; releasing (or a later passing check) just deletes the hold file.

A hold id covers a restricted file ``part-<file batch>.parquet`` when the file's batch equals
the id or extends it with ``-<suffix>``: one ingest run ``B`` writes its sub-batches as
``B-00000``, ``B-00001``…, and holding ``B`` holds them all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from xapi_ingest.common.atomic import write_bytes_atomically
from xapi_ingest.lake.store import Lake

# Batch ids become file names here, so they must be plain path segments.
_BATCH_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")


def check_batch_id(batch_id: str) -> str:
    if not _BATCH_ID.match(batch_id):
        raise ValueError(f"batch id {batch_id!r} must match [A-Za-z0-9][A-Za-z0-9._-]* (it is used in file names)")
    return batch_id


def file_batch_id(path: Path) -> str:
    """The batch a lake file belongs to, from its name ``part-<batch>.parquet``."""
    return path.name.removeprefix("part-").removesuffix(".parquet")


def batch_covers(batch_id: str, file_batch: str) -> bool:
    return file_batch == batch_id or file_batch.startswith(batch_id + "-")


class BatchHolds:
    """The held batches of one lake."""

    def __init__(self, lake: Lake) -> None:
        self.directory = lake.layout.held_batches

    def _path(self, batch_id: str) -> Path:
        return self.directory / f"{check_batch_id(batch_id)}.json"

    def hold(self, batch_id: str, reason: dict[str, Any]) -> Path:
        """Record (or refresh) a hold; written to a temporary name and renamed, never half-written."""
        path = self._path(batch_id)
        write_bytes_atomically(json.dumps({"batch_id": batch_id, **reason}, indent=2, default=str).encode(), path)
        return path

    def release(self, batch_id: str) -> bool:
        """Remove a hold; returns whether there was one."""
        try:
            self._path(batch_id).unlink()
        except FileNotFoundError:
            return False
        return True

    def held(self) -> dict[str, dict[str, Any]]:
        """Every hold: batch id -> the recorded reason."""
        if not self.directory.exists():
            return {}
        holds = {}
        for path in sorted(self.directory.glob("*.json")):
            holds[path.stem] = json.loads(path.read_text(encoding="utf-8"))
        return holds

    def matcher(self) -> Callable[[Path], bool]:
        """A test "is this restricted lake file in a held batch?" over the holds as they are now."""
        held_ids = list(self.held())
        return lambda path: any(batch_covers(batch_id, file_batch_id(path)) for batch_id in held_ids)


class CheckedFiles:
    """Which restricted statements files the gate has checked: ``_quality/checked/<file batch>.json``.

    Publishing reads this, not the absence of an analyst twin, to decide what has passed the
    gate, so a batch published by a flag that skipped the gate is still found and checked by
    the next ``check``. The record lists the files by name, because a batch's files are
    written one by one: a check that ran while a batch was being written covers only the files
    it saw.
    """

    def __init__(self, lake: Lake) -> None:
        self.lake = lake
        self.directory = lake.layout.checked_batches

    def _record(self, file_batch: str) -> Path:
        return self.directory / f"{check_batch_id(file_batch)}.json"

    def _checked(self, file_batch: str) -> set[str]:
        try:
            return set(json.loads(self._record(file_batch).read_text(encoding="utf-8"))["files"])
        except FileNotFoundError:
            return set()

    def _name(self, path: Path) -> str:
        return path.relative_to(self.lake.statements_dir).as_posix()

    def mark(self, paths: list[Path], checked_at: str) -> None:
        """Record ``paths`` as checked (whatever the verdict: holds say which ones failed)."""
        by_batch: dict[str, list[Path]] = {}
        for path in paths:
            by_batch.setdefault(file_batch_id(path), []).append(path)
        for file_batch, files in by_batch.items():
            names = sorted(self._checked(file_batch) | {self._name(path) for path in files})
            record = {"batch_id": file_batch, "checked_at": checked_at, "files": names}
            write_bytes_atomically(json.dumps(record, indent=2).encode(), self._record(file_batch))

    def matcher(self) -> Callable[[Path], bool]:
        """A test "has the gate checked this restricted file?" over the records as they are now."""
        cache: dict[str, set[str]] = {}

        def is_checked(path: Path) -> bool:
            file_batch = file_batch_id(path)
            if file_batch not in cache:
                cache[file_batch] = self._checked(file_batch)
            return self._name(path) in cache[file_batch]

        return is_checked
