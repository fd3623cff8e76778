"""Source kind ``files``: xAPI files that a platform without an LRS drops in a folder or an S3 prefix.

Each file is taken once, by its path under ``location`` and the sha256 of its bytes: a new file,
or one re-exported with other content, is read; one taken before is skipped. A file whose path,
size and modification time are those recorded is skipped without being downloaded again; any
other is copied to a local scratch file while it is hashed, so the statements read are exactly
the bytes hashed, and then read by :func:`~xapi_ingest.xapi.reader.read_records` (NDJSON, JSON
arrays, concatenated objects, gzip by content) into the same :class:`~xapi_ingest.lake.ingest.Ingestor`
as every other input: same validation, ``tolerate``, quarantine and upsert by statement id.

A file's record in the source's state (next to the LRS watermarks, one transaction) is written
only after its statements are committed: a run killed mid-file reads that file again, and the
upsert turns the repeats into duplicates. A file that is not JSON, a corrupt gzip or a truncated
array is quarantined with its reason and recorded as taken (a fixed file has another hash, so it
is read again); a file that cannot be downloaded is reported as failed and retried next run.
Neither stops the other files. Files modified in the last ``settle_seconds`` are left for the
next run: they may still be being written.
"""

from __future__ import annotations

import fnmatch
import hashlib
import logging
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import msgspec
from pydantic import Field, field_validator

from xapi_ingest.lake.ingest import Ingestor, new_batch_id
from xapi_ingest.lake.location import folder_filesystem, is_remote, safe_location
from xapi_ingest.lake.store import Lake
from xapi_ingest.pull.kinds import Progress, SourceConfig, SourceKind
from xapi_ingest.pull.summary import Budget, FileCounts, PullSummary
from xapi_ingest.pull.watermark import read_state, write_state
from xapi_ingest.xapi.decode import MALFORMED
from xapi_ingest.xapi.reader import UNREADABLE, InputError, RawRecord, open_text, read_records

if TYPE_CHECKING:
    import pyarrow.fs as pafs

log = logging.getLogger(__name__)

PATTERNS = tuple(f"*.{ext}{gz}" for gz in ("", ".gz") for ext in ("json", "ndjson", "jsonl"))
_CHUNK = 1 << 20
_EVIDENCE = 1 << 20  # how much of a file that is not JSON its quarantine row keeps


class FilesSource(SourceConfig):
    """Kind ``files``: statement files landing in a folder or under an S3 prefix."""

    kind: Literal["files"] = "files"
    location: str = Field(min_length=1, description="a folder, or s3://bucket/prefix?endpoint_override=host:port"
                                                    "&scheme=http&region=... (credentials from AWS_*)")
    patterns: tuple[str, ...] = Field(PATTERNS, min_length=1,
                                      description="globs matched against each file's path under location")
    settle_seconds: float = Field(60.0, ge=0, description="leave files modified more recently for the next run")

    @field_validator("location")
    @classmethod
    def _folder_or_s3(cls, location: str) -> str:
        if is_remote(location) and not location.startswith("s3://"):
            raise ValueError("must be a folder or an s3:// URI")
        if "@" in location.split("?", 1)[0].split("://", 1)[-1].split("/", 1)[0]:
            raise ValueError("must not contain credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead")
        return location

    def where(self) -> str:
        return safe_location(self.location)


class TakenFile(msgspec.Struct):
    sha256: str
    size: int | None
    mtime_ns: int | None
    taken_at: datetime


class FileDropState(msgspec.Struct):
    files: dict[str, TakenFile] = msgspec.field(default_factory=dict)  # path under location -> what was taken


def load_files_state(lake: Lake, source: str) -> FileDropState:
    text = read_state(lake, source)
    return FileDropState() if text is None else msgspec.json.decode(text, type=FileDropState)


def _listing(fs: pafs.FileSystem, base: str, patterns: tuple[str, ...], remote: bool) -> list[tuple[str, pafs.FileInfo]]:
    """``(path under base, info)`` of every matching file, in path order. An S3 prefix holding nothing
    yet is empty; a local folder that does not exist is a configuration error (``FileNotFoundError``)."""
    import pyarrow.fs as pafs

    found = []
    for info in fs.get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=remote)):
        name = info.path[len(base):].lstrip("/")
        if info.type == pafs.FileType.File and any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns):
            found.append((name, info))
    return sorted(found, key=lambda item: item[0])


def _snapshot(fs: pafs.FileSystem, path: str, copy: Path) -> str:
    """Copy the file's bytes (no decompression: gzip is detected by content when it is read) and hash them."""
    digest = hashlib.sha256()
    with fs.open_input_stream(path, compression=None) as stream, open(copy, "wb") as out:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def _records(copy: Path, origin: str) -> Iterator[tuple[str, RawRecord]]:
    """The file's records; a file that is not JSON at all becomes one quarantined record saying why."""
    try:
        for record in read_records(copy, origin):
            yield origin, record
    except InputError as exc:
        try:
            with open_text(copy) as text:
                evidence = text.read(_EVIDENCE)
        except UNREADABLE:
            evidence = copy.read_bytes()[:_EVIDENCE].decode("utf-8", "replace")
        yield origin, RawRecord(0, 1, evidence, error=str(exc), rule=MALFORMED)


def _left_alone(info: pafs.FileInfo, taken: TakenFile | None, settled_before_ns: int) -> bool:
    """Still being written, or unchanged since it was taken (same size and time: not even downloaded)."""
    if info.mtime_ns is None:  # no time to go by: the hash decides
        return False
    return info.mtime_ns > settled_before_ns or (
        taken is not None and (taken.size, taken.mtime_ns) == (info.size, info.mtime_ns))


def pull_files(source: FilesSource, lake: Lake, budget: Budget, progress: Progress | None) -> PullSummary:
    started = time.monotonic()
    remote = is_remote(source.location)
    fs, base = folder_filesystem(source.location)
    files = FileCounts()
    summary = PullSummary(source.id, files=files)
    state = load_files_state(lake, source.id)
    ingestor = Ingestor(lake, source.id, "auto", source.tolerate)
    run_id = new_batch_id()
    settled_before_ns = time.time_ns() - int(source.settle_seconds * 1e9)
    listing = _listing(fs, base, source.patterns, remote)
    listed = {name for name, _ in listing}
    # files moved away (to an archive) are forgotten with the next file taken, so the state stays the size of the drop
    state.files = {name: taken for name, taken in state.files.items() if name in listed}
    with tempfile.TemporaryDirectory(prefix="xapi-files-") as scratch:
        copy = Path(scratch) / "file"
        for number, (name, info) in enumerate(listing):
            taken = state.files.get(name)
            if _left_alone(info, taken, settled_before_ns):
                files.skipped += 1
                continue
            if files.read and budget.exhausted(files.read, started):  # like an LRS page: one file at least
                summary.backlog_remaining = True
                break
            try:
                sha256 = _snapshot(fs, info.path, copy)
            except OSError as exc:
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                files.failed.append((name, reason))
                log.warning("%s: %s: not read: %s", source.id, name, reason)
                continue
            if taken is None or taken.sha256 != sha256:
                origin = f"s3://{info.path}" if remote else info.path
                summary.counts.add(ingestor.ingest(_records(copy, origin), f"{run_id}-f{number:05d}"))
                files.read += 1
            else:
                files.skipped += 1  # touched, not changed: remember its new time so it is not hashed again
            state.files[name] = TakenFile(sha256, info.size, info.mtime_ns,
                                          taken.taken_at if taken and taken.sha256 == sha256 else datetime.now(UTC))
            write_state(lake, source.id, state)  # only now: the file's statements are committed
            if progress:
                progress(summary)
    summary.elapsed_seconds = time.monotonic() - started
    return summary


kind = SourceKind(name="files", description="xAPI files (NDJSON, JSON arrays, gzip) landing in a folder or S3 prefix",
                  config=FilesSource, pull=pull_files)
