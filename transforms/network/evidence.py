"""Statements → facilitations: one row per statement in which a roster teacher learned from another.

The evidence is a statement whose ``context.instructor`` is a roster teacher other than its actor:
the presenter of a master class or webinar, or the colleague a platform names as the one who
shared or recommended a resource (the synthetic cluster sends both). Both people are resolved as
credit resolves actors (exact canonical IFI, the roster membership in force on the statement's UTC
date: :class:`~xapi_ingest.publish.teachers.RosterLookup`), so the network and the credit ledger
agree on who belonged where. A statement either side of which the roster does not know is
counted as skipped, not guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from xapi_ingest.publish.teachers import RosterLookup

# The columns read from the restricted zone's void-aware view: real IFIs are needed to resolve
# the instructor, who has no teacher key in the analyst zone.
STATEMENTS_SQL = """
SELECT statement_id, timestamp, actor_ifi, context_instructor_ifi, object_id, result_duration_seconds
FROM effective_statements
WHERE context_instructor_ifi IS NOT NULL AND actor_ifi IS NOT NULL
ORDER BY statement_id
"""
YEARS_SQL = "SELECT min(timestamp), max(timestamp) FROM effective_statements"

FACILITATIONS = pa.schema([
    ("academic_year", pa.int64()), ("source_teacher", pa.string()), ("target_teacher", pa.string()),
    ("source_institution", pa.string()), ("target_institution", pa.string()), ("activity", pa.string()),
    ("seconds", pa.float64()),
])


@dataclass(frozen=True)
class Facilitations:
    rows: pa.Table  # FACILITATIONS: teacher ids still real; replaced by keys before anything is written
    skipped: int  # statements with an instructor that the roster could not place (either side, that day)
    self_led: int  # the instructor is the actor: a presenter's own record, not learning from a colleague


def academic_year(day: date, start: str) -> int:
    """The calendar year in which the academic year holding ``day`` began (``start`` is MM-DD)."""
    return day.year - (f"{day:%m-%d}" < start)


def facilitations(statements: pa.Table, roster: RosterLookup, year_start: str) -> Facilitations:
    """``statements`` has the columns of :data:`STATEMENTS_SQL`."""
    days = pc.cast(statements["timestamp"], pa.date32())
    learners = roster.teacher_ids(statements["actor_ifi"])
    facilitators = roster.teacher_ids(statements["context_instructor_ifi"])
    targets, sources = roster.institutions(learners, days), roster.institutions(facilitators, days)
    placed = pc.and_(pc.is_valid(targets), pc.is_valid(sources))
    self_led = pc.and_(placed, pc.equal(learners, facilitators))
    keep = pc.and_(placed, pc.invert(self_led))
    kept_days = pc.filter(days, keep).to_pylist()
    rows = pa.table({
        "academic_year": pa.array([academic_year(day, year_start) for day in kept_days], pa.int64()),
        "source_teacher": pc.filter(facilitators, keep), "target_teacher": pc.filter(learners, keep),
        "source_institution": pc.filter(sources, keep), "target_institution": pc.filter(targets, keep),
        "activity": pc.filter(statements["object_id"], keep),
        "seconds": pc.filter(statements["result_duration_seconds"], keep),
    }, schema=FACILITATIONS)
    return Facilitations(rows, statements.num_rows - pc.sum(placed).as_py() if statements.num_rows else 0,
                         pc.sum(self_led).as_py() or 0)
