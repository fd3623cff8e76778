"""Who an actor is in the roster, told to analysts only as a teacher key and an institution.

A teacher's accounts on Moodle and Open edX are different IFIs, so they get different actor
pseudonyms; the roster knows they are one person. The analyst zone carries a keyed pseudonym of
the roster's teacher id (never the id or the name) and the institution the roster places the
teacher in on the statement's date, so analysts can follow a teacher across platforms and compare
institutions without learning who anyone is.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from xapi_ingest.common.roster import load_roster


class RosterLookup:
    """Resolves actors as credit does: an exact match of the canonical IFI (an ``mbox`` also by
    its SHA-1 form), and the membership with ``member_from <= day < member_to``, first in roster order."""

    def __init__(self, identities: pa.Table, memberships: pa.Table) -> None:
        self._ifis = identities["ifi"].combine_chunks()
        self._teachers = identities["teacher_id"].combine_chunks()
        self._periods: dict[str, list[tuple[date, date, str]]] = {}
        for row in memberships.to_pylist():
            self._periods.setdefault(row["teacher_id"], []).append(
                (row["member_from"], row["member_to"], row["institution_id"]))
        self._institution = cache(self._institution_uncached)

    @classmethod
    def load(cls, path: Path | str) -> RosterLookup:
        return cls(*load_roster(path))

    def teacher_ids(self, actor_ifis: pa.Array | pa.ChunkedArray) -> pa.Array:
        """The roster's teacher id of each actor; null where the roster does not know it."""
        return pc.take(self._teachers, pc.index_in(actor_ifis, value_set=self._ifis))

    def institutions(self, teacher_ids: pa.Array, days: pa.Array | pa.ChunkedArray) -> pa.Array:
        """Each teacher's institution on the day; null without a teacher, a day or a membership then."""
        pairs = zip(teacher_ids.to_pylist(), days.to_pylist(), strict=True)
        return pa.array([self._institution(teacher, day) if teacher and day else None for teacher, day in pairs],
                        pa.string())

    def _institution_uncached(self, teacher_id: str, day: date) -> str | None:
        return next((institution for start, end, institution in self._periods.get(teacher_id, ())
                     if start <= day < end), None)
