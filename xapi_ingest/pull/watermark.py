"""Per-source pull state, stored in the lake next to the data it describes.

The state is rewritten atomically (temporary file, fsync, rename) and only after the pages it
covers are committed, so whatever moment a run dies at, the state on disk never claims more
than the lake holds: the next run at worst re-reads pages, and the upsert drops the repeats.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

import msgspec

from xapi_ingest.common.atomic import write_bytes_atomically
from xapi_ingest.lake.store import Lake, check_source_id

SinceField = Literal["unknown", "stored", "timestamp"]


class Cursor(msgspec.Struct):
    """Where a run stopped on its budget: resume here, or restart the query if the link expired."""

    more: str
    query_since: datetime | None
    max_stored: datetime | None
    max_timestamp: datetime | None
    consistent_through: datetime | None = None  # of the query's first response, not of the resumed page


class PullState(msgspec.Struct):
    source: str
    stored_watermark: datetime | None = None  # every statement stored at or before this is in the lake
    timestamp_watermark: datetime | None = None  # for LRSs that filter `since` on timestamp
    since_field: SinceField = "unknown"  # what this LRS's `since` was found to compare with
    sends_consistent_through: bool | None = None
    cursor: Cursor | None = None
    updated_at: datetime | None = None


def state_path(lake: Lake, source: str) -> Path:
    return lake.layout.pull_state(check_source_id(source))


def load_state(lake: Lake, source: str) -> PullState:
    path = state_path(lake, source)
    if not path.exists():
        return PullState(source=source)
    return msgspec.json.decode(path.read_bytes(), type=PullState)


def save_state(lake: Lake, state: PullState) -> None:
    write_bytes_atomically(msgspec.json.format(msgspec.json.encode(state)), state_path(lake, state.source))
