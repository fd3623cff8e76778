"""A lake whose root is a URI (``s3://bucket/prefix`` or any pyarrow filesystem), worked on locally.

Writers need a POSIX filesystem (atomic renames, the writer lock, DuckDB's upsert scan), so a
remote lake is used through :func:`working_lake`: it brings a local cache up to date
(:func:`pull_down`), lets the step run on it, and uploads only what that step changed
(:func:`push`). Part files are immutable with unique names, so caches share them safely;
pull state and quality holds are snapshotted *before* the data files are listed and uploaded
*after* them, so the remote watermark never runs ahead of the remote data. Analysts read the
remote lake directly with :func:`remote_dataset` (pyarrow, DuckDB over Arrow, or Spark).

S3 settings come from the URI (``?endpoint_override=host:port&scheme=http&region=...``) and
credentials from the standard ``AWS_*`` variables, never from the lake path.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.fs as pafs

from xapi_ingest.lake.layout import (
    ANALYST_STATEMENTS,
    METADATA_PREFIXES,
    QUARANTINE,
    REWRITTEN_PREFIXES,
    STATEMENTS,
    WRITE_LOCK,
)
from xapi_ingest.lake.store import Lake

_LAST = METADATA_PREFIXES  # uploaded after the data they describe
_REWRITTEN = REWRITTEN_PREFIXES  # small files rewritten in place; everything else is written once
_SKIPPED_NAMES = (WRITE_LOCK,)

Snapshot = dict[str, tuple[int, int]]  # relative path -> (size, mtime in ns)


@dataclass
class SyncResult:
    copied: int = 0
    unchanged: int = 0
    deleted: int = 0
    bytes: int = 0


def is_remote(location: str | Path) -> bool:
    return "://" in str(location) and not str(location).startswith("file://")


def add_lake_argument(parser: argparse.ArgumentParser, what: str = "") -> None:
    """The ``--lake`` option every command shares: a directory or a URI (``what`` adds what is read),
    kept as text because ``Path`` would fold a URI's ``//``."""
    parser.add_argument("--lake", required=True, type=str,
                        help=f"lake root: a directory or a URI such as s3://bucket/lake{what}")


def filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    """The filesystem and base path of a lake URI (a plain path means the local filesystem)."""
    if not is_remote(uri):
        return pafs.LocalFileSystem(), str(Path(uri.removeprefix("file://")).resolve())
    fs, path = pafs.FileSystem.from_uri(uri)
    return fs, path.rstrip("/")


def _local_files(root: Path) -> dict[str, pafs.FileInfo]:
    if not root.exists():
        return {}
    selector = pafs.FileSelector(str(root), recursive=True)
    return {
        os.path.relpath(info.path, root): info
        for info in pafs.LocalFileSystem().get_file_info(selector)
        if info.type == pafs.FileType.File and not info.base_name.startswith(".") and info.base_name not in _SKIPPED_NAMES
    }


def _remote_files(fs: pafs.FileSystem, base: str) -> dict[str, pafs.FileInfo]:
    selector = pafs.FileSelector(base, recursive=True, allow_not_found=True)
    return {info.path[len(base) + 1:]: info for info in fs.get_file_info(selector) if info.type == pafs.FileType.File}


def snapshot(lake: Lake) -> Snapshot:
    return {relative: (info.size, info.mtime_ns) for relative, info in _local_files(lake.root).items()}


def _same(relative: str, source: pafs.FileInfo, target: pafs.FileInfo | None) -> bool:
    """Part files are rewritten only when repeated ids are settled, and that shrinks them, so a copy of the same size
    is the same file; the few small files rewritten in place are always copied (object stores
    keep modification times only to the second, too coarse to compare)."""
    return target is not None and target.size == source.size and not relative.startswith(_REWRITTEN)


def _parent(base: str, relative: str) -> str:
    return f"{base}/{os.path.dirname(relative)}".rstrip("/")


def push(lake: Lake, uri: str, since: Snapshot | None = None, full: bool = False) -> SyncResult:
    """Upload lake files to ``uri``: data first, then pull state and holds.

    With ``since`` (a :func:`snapshot` taken after :func:`pull_down`), only what changed since
    is sent and only what was deleted since is deleted, so a step never overwrites another
    worker's newer state with its stale copy. Without it, every new or changed file is sent and
    remote state or holds missing locally are deleted (a whole-lake mirror). ``full`` re-sends
    every file: use it after ``publish --rebuild``, which rewrites analyst files in place.
    """
    fs, base = filesystem(uri)
    local_fs = pafs.LocalFileSystem()

    def wanted(relative: str, info: pafs.FileInfo) -> bool:
        return since is None or full or since.get(relative) != (info.size, info.mtime_ns)

    state = {relative: local_fs.open_input_stream(info.path).read()
             for relative, info in _local_files(lake.root).items() if relative.startswith(_LAST) and wanted(relative, info)}
    data = {relative: info for relative, info in _local_files(lake.root).items() if not relative.startswith(_LAST)}
    remote = _remote_files(fs, base)
    result = SyncResult()
    for relative in sorted(data):
        info = data[relative]
        if not wanted(relative, info) or (not full and _same(relative, info, remote.get(relative))):
            result.unchanged += 1
            continue
        fs.create_dir(_parent(base, relative), recursive=True)
        pafs.copy_files(info.path, f"{base}/{relative}", source_filesystem=local_fs, destination_filesystem=fs)
        result.copied += 1
        result.bytes += info.size
    for relative, content in sorted(state.items()):
        fs.create_dir(_parent(base, relative), recursive=True)
        with fs.open_output_stream(f"{base}/{relative}") as out:
            out.write(content)
        result.copied += 1
        result.bytes += len(content)
    present = set(_local_files(lake.root))
    gone = (set(since) - present) if since is not None else {r for r in set(remote) - present if r.startswith(_REWRITTEN)}
    for relative in sorted(gone & set(remote)):
        fs.delete_file(f"{base}/{relative}")
        result.deleted += 1
    return result


def pull_down(uri: str, lake: Lake) -> SyncResult:
    """Bring a local copy up to date with the remote lake; each file lands whole (temporary name, rename)."""
    fs, base = filesystem(uri)
    local = _local_files(lake.root)
    result = SyncResult()
    remote = _remote_files(fs, base)
    for relative in sorted(remote, key=lambda r: (r.startswith(_LAST), r)):
        info = remote[relative]
        if _same(relative, info, local.get(relative)):
            result.unchanged += 1
            continue
        target = lake.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")  # caches may be shared
        pafs.copy_files(f"{base}/{relative}", str(temporary), source_filesystem=fs,
                        destination_filesystem=pafs.LocalFileSystem())
        os.replace(temporary, target)
        result.copied += 1
        result.bytes += info.size
    for relative in sorted(set(local) - set(remote)):
        if relative.startswith(_REWRITTEN):  # e.g. a hold released elsewhere
            (lake.root / relative).unlink()
            result.deleted += 1
    return result


DEFAULT_CACHE = Path.home() / ".cache" / "xapi-pipeline"


def cache_dir(uri: str, cache_root: Path = DEFAULT_CACHE) -> Path:
    """A per-lake local cache: ``<cache_root>/<hash of the URI>`` (the app sets ``XAPI_LAKE_CACHE``)."""
    return cache_root / hashlib.sha256(uri.encode()).hexdigest()[:16]


@contextmanager
def working_lake(location: str | Path, *, write: bool = True, cache_root: Path = DEFAULT_CACHE) -> Iterator[Lake]:
    """The lake at ``location`` as a local :class:`Lake`; for a URI, a synced cache whose changes
    are pushed back when the block ends, even by an error (every commit is consistent on its own)."""
    if not is_remote(location):
        yield Lake(location)
        return
    uri = str(location)
    lake = Lake(cache_dir(uri, cache_root))
    pull_down(uri, lake)
    on_remote = set(_remote_files(*filesystem(uri)))
    # files only in the cache (an earlier step's push failed) count as changed, so they go up now
    before = {relative: stamp for relative, stamp in snapshot(lake).items() if relative in on_remote}
    try:
        yield lake
    finally:  # a failed step's commits are consistent (data before state), so they are pushed too
        if write:
            push(lake, uri, since=before)


def remote_dataset(uri: str, zone: str = "analyst") -> ds.Dataset:
    """The statements (or the ``quarantine``) of a remote lake as a pyarrow dataset (hive partitions become columns)."""
    fs, base = filesystem(uri)
    folder = {"analyst": ANALYST_STATEMENTS, "restricted": STATEMENTS, "quarantine": QUARANTINE}[zone]
    return ds.dataset(f"{base}/{folder}", filesystem=fs, format="parquet", partitioning="hive")
