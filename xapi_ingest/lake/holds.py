"""The gate's records in the lake: which ingest batches are checked, held and published.

Every commit of restricted statements is one *batch* (an ingest run ``B`` commits its
sub-batches ``B-00000``, ``B-00001``…), listed in the ledger's batch inventory with whether the
gate has checked it and with which pseudonym key it was published. A *hold* says why a batch
is kept out of the analyst zone; holding ``B`` holds all its sub-batches. Both live in the
catalog database (:mod:`xapi_ingest.lake.ledger`), so whoever publishes, from whichever worker,
sees them. The restricted data itself is never moved or deleted, so it stays there for
inspection; releasing (or a later passing check) just deletes the hold.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, exists, insert, or_, select, update

from xapi_ingest.lake import ledger
from xapi_ingest.lake.store import Lake

# Batch ids appear in messages, SQL examples and file names of reports: plain segments only.
_BATCH_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")


def check_batch_id(batch_id: str) -> str:
    if not _BATCH_ID.match(batch_id):
        raise ValueError(f"batch id {batch_id!r} must match [A-Za-z0-9][A-Za-z0-9._-]* (it is used in file names)")
    return batch_id


def batch_covers(batch_id: str, committed_batch: str) -> bool:
    return committed_batch == batch_id or committed_batch.startswith(batch_id + "-")


class BatchHolds:
    """The held batches of one lake."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake

    def hold(self, batch_id: str, reason: dict[str, Any]) -> None:
        """Record (or refresh) a hold."""
        text = json.dumps({"batch_id": check_batch_id(batch_id), **reason}, default=str)
        with self.lake.engine.begin() as connection:
            connection.execute(delete(ledger.HOLDS).where(ledger.HOLDS.c.batch_id == batch_id))
            connection.execute(insert(ledger.HOLDS).values(batch_id=batch_id, reason=text))

    def release(self, batch_id: str) -> bool:
        """Remove a hold; returns whether there was one."""
        with self.lake.engine.begin() as connection:
            return connection.execute(delete(ledger.HOLDS).where(ledger.HOLDS.c.batch_id == batch_id)).rowcount > 0

    def held(self) -> dict[str, dict[str, Any]]:
        """Every hold: batch id -> the recorded reason."""
        with self.lake.engine.connect() as connection:
            rows = connection.execute(select(ledger.HOLDS.c.batch_id, ledger.HOLDS.c.reason)
                                      .order_by(ledger.HOLDS.c.batch_id))
            return {batch_id: json.loads(reason) for batch_id, reason in rows}

    def matcher(self) -> Callable[[str], bool]:
        """A test "is this committed batch held?" over the holds as they are now."""
        held_ids = list(self.held())
        return lambda committed: any(batch_covers(batch_id, committed) for batch_id in held_ids)


@dataclass(frozen=True)
class CommittedBatch:
    batch_id: str
    source: str
    rows: int
    checked: bool
    published_key: str | None


class BatchInventory:
    """The restricted zone's committed batches and what the gate and publishing did with them.

    A batch is written in one commit, so the gate never sees part of one, and a batch published
    by a flag that skipped the gate is still found and checked by the next ``check``.
    """

    def __init__(self, lake: Lake) -> None:
        self.lake = lake

    def all(self) -> list[CommittedBatch]:
        table = ledger.BATCHES
        with self.lake.engine.connect() as connection:
            rows = connection.execute(select(table.c.batch_id, table.c.source, table.c.rows,
                                             table.c.checked_at.is_not(None), table.c.published_key)
                                      .order_by(table.c.batch_id))
            return [CommittedBatch(*row) for row in rows]

    def covered(self, batch_ids: Iterable[str]) -> dict[str, list[CommittedBatch]]:
        """The committed batches each id covers (an ingest run id covers its sub-batches)."""
        batches = self.all()
        return {batch_id: [b for b in batches if batch_covers(check_batch_id(batch_id), b.batch_id)]
                for batch_id in dict.fromkeys(batch_ids)}

    def unchecked(self) -> dict[str, list[CommittedBatch]]:
        return {b.batch_id: [b] for b in self.all() if not b.checked}

    def mark_checked(self, batch_ids: Iterable[str], checked_at: str) -> None:
        """Record batches as checked (whatever the verdict: holds say which ones failed)."""
        ids = list(batch_ids)
        with self.lake.engine.begin() as connection:
            for part in ledger.chunks(ids):
                connection.execute(update(ledger.BATCHES).where(ledger.BATCHES.c.batch_id.in_(part))
                                   .values(checked_at=checked_at))

    @staticmethod
    def set_published(batch_ids: list[str], key_id: str | None) -> ledger.Write:
        """A ledger write (for :meth:`Lake.commit`) recording batches as published with a key, or not at all."""
        def write(connection: Any) -> None:
            for part in ledger.chunks(batch_ids):
                connection.execute(update(ledger.BATCHES).where(ledger.BATCHES.c.batch_id.in_(part))
                                   .values(published_key=key_id))
        return write

    @staticmethod
    def claim_published(batch_ids: list[str], key_id: str, *, checked_only: bool) -> ledger.Write:
        """A ledger write marking batches published with a key, in the commit that adds their analyst rows.

        It raises :class:`~xapi_ingest.lake.ledger.ConcurrentChange` (rolling the commit back) unless
        every batch is, at that moment, unpublished, not held and (``checked_only``) checked: so two
        publishers never both add a batch, and a gate that holds a batch meanwhile always wins.
        """
        batches, holds = ledger.BATCHES, ledger.HOLDS
        held = exists().where(or_(holds.c.batch_id == batches.c.batch_id,
                                  batches.c.batch_id.startswith(holds.c.batch_id + "-", autoescape=False)))
        conditions = [batches.c.published_key.is_(None), ~held]
        if checked_only:
            conditions.append(batches.c.checked_at.is_not(None))

        def write(connection: Any) -> None:
            claimed = sum(connection.execute(update(batches).where(batches.c.batch_id.in_(part), *conditions)
                                             .values(published_key=key_id)).rowcount for part in ledger.chunks(batch_ids))
            if claimed != len(batch_ids):
                raise ledger.ConcurrentChange(f"{len(batch_ids) - claimed} of {len(batch_ids)} batch(es) were "
                                              "published, held or withdrawn by another process meanwhile")
        return write
