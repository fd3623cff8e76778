"""Per-source pull state, stored in the lake's catalog database next to the data it describes
(an LRS's watermarks here; a file drop's files in :mod:`~xapi_ingest.pull.files`).

The state is written in one transaction and only after the pages it covers are committed, so
whatever moment a run dies at, the state never claims more than the lake holds: the next run at
worst re-reads pages, and the upsert drops the repeats. Every worker sharing the lake sees it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec
from sqlalchemy import delete, insert, select

from xapi_ingest.lake.ledger import PULL_STATE
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


def read_state(lake: Lake, source: str) -> str | None:
    """A source's saved state as written by :func:`write_state`, whatever its kind (None before its first run)."""
    with lake.engine.connect() as connection:
        return connection.execute(select(PULL_STATE.c.state)
                                  .where(PULL_STATE.c.source == check_source_id(source))).scalar()


def write_state(lake: Lake, source: str, state: msgspec.Struct) -> None:
    """Replace a source's state in one transaction: a reader sees the old state or the new, never neither."""
    text = msgspec.json.encode(state).decode()
    with lake.engine.begin() as connection:
        connection.execute(delete(PULL_STATE).where(PULL_STATE.c.source == check_source_id(source)))
        connection.execute(insert(PULL_STATE).values(source=source, state=text))


def load_state(lake: Lake, source: str) -> PullState:
    text = read_state(lake, source)
    return PullState(source=source) if text is None else msgspec.json.decode(text, type=PullState)


def save_state(lake: Lake, state: PullState) -> None:
    write_state(lake, state.source, state)
