"""Atomic file replacement, the one way every module writes a file that others may read.

A reader sees the old file or the new one, never half of one: write under a hidden temporary
name, fsync, rename. The temporary name is unique per process and call, so two processes
writing the same target (two ingests, two workers sharing a cache) never collide on it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path


class WriteError(OSError):
    """A file could not be written (a full disk, a read-only mount): names the file; the old one is intact."""


def write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """Call ``write(temporary)`` then move the result onto ``path``; the temporary never outlives a failure.

    Any OS error on the way (``ENOSPC`` most often) becomes a :class:`WriteError` naming ``path``,
    so a command can say which file failed instead of showing a traceback.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(temporary)
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except WriteError:
        raise
    except OSError as exc:
        raise WriteError(exc.errno, exc.strerror or str(exc), str(path)) from exc
    finally:
        temporary.unlink(missing_ok=True)


def write_bytes_atomically(data: bytes, path: Path) -> None:
    write_atomically(path, lambda temporary: temporary.write_bytes(data))


def write_text_atomically(text: str, path: Path) -> None:
    write_bytes_atomically(text.encode("utf-8"), path)
