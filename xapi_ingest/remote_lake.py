"""Mirror the lake to object storage (``s3://bucket/prefix`` or any pyarrow filesystem URI) and back.

Writers keep a local working lake, because atomic renames, the writer lock and DuckDB's upsert
scan need a POSIX filesystem; :func:`push` then uploads what changed. Data files go up before
pull state and quality holds, so the remote copy never has a watermark ahead of its data, and
part files are immutable, so an interrupted push is simply repeated. :func:`pull_down`
restores a working copy on a fresh worker; analysts read the remote copy directly with
:func:`remote_dataset` (pyarrow, DuckDB over Arrow, or Spark on the same paths).

S3 settings come from the URI (``?endpoint_override=host:port&scheme=http&region=...``) and
credentials from the standard ``AWS_*`` variables, never from the lake path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.fs as pafs

from xapi_ingest.lake import Lake

_LAST = ("_state/", "_quality/")  # uploaded after the data they describe
_REWRITTEN = (*_LAST, "derived/")  # small files rewritten in place; everything else is written once
_SKIPPED_NAMES = (".write.lock",)


@dataclass
class SyncResult:
    copied: int = 0
    unchanged: int = 0
    deleted: int = 0
    bytes: int = 0


def filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    """The filesystem and base path of a lake URI (a plain path means the local filesystem)."""
    if "://" not in uri:
        return pafs.LocalFileSystem(), str(Path(uri).resolve())
    fs, path = pafs.FileSystem.from_uri(uri)
    return fs, path.rstrip("/")


def _local_files(root: Path) -> dict[str, pafs.FileInfo]:
    local = pafs.LocalFileSystem()
    if not root.exists():
        return {}
    selector = pafs.FileSelector(str(root), recursive=True)
    return {
        os.path.relpath(info.path, root): info
        for info in local.get_file_info(selector)
        if info.type == pafs.FileType.File and not info.base_name.startswith(".") and info.base_name not in _SKIPPED_NAMES
    }


def _remote_files(fs: pafs.FileSystem, base: str) -> dict[str, pafs.FileInfo]:
    selector = pafs.FileSelector(base, recursive=True, allow_not_found=True)
    return {info.path[len(base) + 1:]: info for info in fs.get_file_info(selector) if info.type == pafs.FileType.File}


def _download_order(relative: str) -> tuple[bool, str]:
    return relative.startswith(_LAST), relative


def _same(relative: str, source: pafs.FileInfo, target: pafs.FileInfo | None) -> bool:
    """Part files are never rewritten (their names are unique per batch), so a copy of the same size
    is the same file; the few small files rewritten in place are always copied (object stores
    keep modification times only to the second, too coarse to compare)."""
    return target is not None and target.size == source.size and not relative.startswith(_REWRITTEN)


def push(lake: Lake, uri: str, full: bool = False) -> SyncResult:
    """Upload new and changed lake files to ``uri``; data before state.

    Pull state and holds are read *before* the data files are listed, so a pull committing
    during the push can only add data the uploaded state does not yet claim. ``full`` re-sends
    every file: use it after ``publish --rebuild``, which rewrites analyst files in place.
    Remote state and holds that no longer exist locally (a released hold) are deleted.
    """
    fs, base = filesystem(uri)
    local_fs = pafs.LocalFileSystem()
    snapshot = {relative: local_fs.open_input_stream(info.path).read()
                for relative, info in _local_files(lake.root).items() if relative.startswith(_LAST)}
    remote = _remote_files(fs, base)
    local = {relative: info for relative, info in _local_files(lake.root).items() if not relative.startswith(_LAST)}
    result = SyncResult()
    for relative in sorted(local):
        info = local[relative]
        if not full and _same(relative, info, remote.get(relative)):
            result.unchanged += 1
            continue
        fs.create_dir(_parent(base, relative), recursive=True)
        pafs.copy_files(info.path, f"{base}/{relative}", source_filesystem=local_fs, destination_filesystem=fs)
        result.copied += 1
        result.bytes += info.size
    for relative, content in sorted(snapshot.items()):
        fs.create_dir(_parent(base, relative), recursive=True)
        with fs.open_output_stream(f"{base}/{relative}") as out:
            out.write(content)
        result.copied += 1
        result.bytes += len(content)
    for relative in sorted(set(remote) - set(snapshot) - set(local)):
        if relative.startswith(_REWRITTEN):
            fs.delete_file(f"{base}/{relative}")
            result.deleted += 1
    return result


def _parent(base: str, relative: str) -> str:
    return f"{base}/{os.path.dirname(relative)}".rstrip("/")


def pull_down(uri: str, lake: Lake) -> SyncResult:
    """Copy the remote lake into a local working lake; each file lands whole (temporary name, rename)."""
    fs, base = filesystem(uri)
    local = _local_files(lake.root)
    result = SyncResult()
    remote = _remote_files(fs, base)
    for relative in sorted(remote, key=_download_order):
        info = remote[relative]
        if _same(relative, info, local.get(relative)):
            result.unchanged += 1
            continue
        target = lake.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.tmp")
        pafs.copy_files(f"{base}/{relative}", str(temporary), source_filesystem=fs,
                        destination_filesystem=pafs.LocalFileSystem())
        os.replace(temporary, target)
        result.copied += 1
        result.bytes += info.size
    return result


def remote_dataset(uri: str, zone: str = "analyst") -> ds.Dataset:
    """The statements of a remote lake as a pyarrow dataset (hive partitions become columns)."""
    fs, base = filesystem(uri)
    folder = {"analyst": "analyst/statements", "restricted": "statements"}[zone]
    return ds.dataset(f"{base}/{folder}", filesystem=fs, format="parquet", partitioning="hive")
