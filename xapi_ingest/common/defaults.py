"""The defaults a user can tune from the command line, apart from the code that applies them.

``xapi-pipeline --help`` shows them, and help must not import pyarrow, pyiceberg or pandas to
print a number: every command would pay a second of imports before it starts.
"""

from __future__ import annotations

import os
from datetime import timedelta

DEFAULT_BATCH_SIZE = 20_000  # per lake commit; bounds memory (varied statements: 0.77 GiB peak, 1.43 GiB at 50,000)
PSEUDONYM_KEY_ENV = "XAPI_PSEUDONYM_KEY"  # the analyst zone's key; named in messages, read by the app's settings

DEFAULT_TARGET_FILE_BYTES = 128 * 1024 * 1024  # compaction's file size
DEFAULT_RETENTION = timedelta(days=7)  # how far back analysts can read the lake "as of" a snapshot
DEFAULT_GRACE = timedelta(days=1)  # longer than any query or commit runs


def usable_cores() -> int:
    """The cores this process may run on (a container or ``taskset`` may allow fewer than the machine
    has): ``ingest-file``'s default number of workers."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
