"""A hand-built cluster of four institutions whose network every test works out by hand.

Teachers (roster, academic years start on 1 September):
  A1, A2 at A;  B1 at B;  B2 at B until 2025-01-01, then at C;  C1 at C;  D1 at D from 2024-09-01.

Academic year 2024 (2024-25):
  MC-1  2024-10-01, presenter A1: B1 90 min, B2 60 min (B2 is at B then), C1 60 min, A2 120 min (internal)
        and C1 once more (voided: it does not count)
  W-1   2024-11-05, presenter B1: A1 in two pieces, 30 + 40 min (two statements, one attendance)
  R-1   2025-02-01, shared by C1: A2 read it; the statement has no duration (counts, adds no hours)
  MC-3  2025-03-01, presenter A1: B2 60 min (B2 is at C now)
  W-1   B1 is both actor and instructor (self-led: left out); an unknown account attends MC-1 (skipped)
  D gives and receives nothing.
Academic year 2025 (2025-26):
  MC-2  2025-10-10, presenter A1: D1 120 min
  W-2   2025-11-01, presenter B1: C1 45 min
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from devtools.synthetic import credit as x
from tests.support.credit_world import LMS, at, ingest, lms
from xapi_ingest.lake.store import Lake
from xapi_ingest.lake.voids import apply_voids

KEY = "a-test-key-of-at-least-16-bytes"
LANGUAGES = {"A": "kk", "B": "ru", "C": "en"}  # D: the default (ru)
IRI = {name: f"{LMS}/network/{name}" for name in ("MC-1", "MC-2", "MC-3", "W-1", "W-2", "R-1")}


def roster() -> list[dict[str, Any]]:
    def row(teacher: str, institution: str, **dates: str) -> dict[str, Any]:
        return x.roster_row(teacher, f"Teacher {teacher}", institution, [f"account:{LMS}|{teacher.lower()}"], **dates)

    return [row("A1", "A"), row("A2", "A"), row("B1", "B"), row("B2", "B", member_to="2025-01-01"),
            row("B2", "C", member_from="2025-01-01"), row("C1", "C"), row("D1", "D", member_from="2024-09-01")]


def _attended(seed: str, who: str, event: str, start: str, minutes: float, presenter: str) -> dict[str, Any]:
    kind = "meeting" if event.startswith("MC") else "webinar"
    return x.attended(seed, lms(who), IRI[event], event, at(start), minutes, kind=kind, instructor=lms(presenter))


def statements() -> list[dict[str, Any]]:
    voided = _attended("mc1-c1-again", "c1", "MC-1", "2024-10-01T14:00:00", 60, "a1")
    return [
        _attended("mc1-b1", "b1", "MC-1", "2024-10-01T14:00:00", 90, "a1"),
        _attended("mc1-b2", "b2", "MC-1", "2024-10-01T14:00:00", 60, "a1"),
        _attended("mc1-c1", "c1", "MC-1", "2024-10-01T14:00:00", 60, "a1"),
        _attended("mc1-a2", "a2", "MC-1", "2024-10-01T14:00:00", 120, "a1"),
        voided, x.void("mc1-c1-void", voided["id"], lms("c1"), at("2024-10-02T09:00:00")),
        _attended("mc1-stranger", "stranger", "MC-1", "2024-10-01T14:00:00", 90, "a1"),
        _attended("w1-a1-first", "a1", "W-1", "2024-11-05T10:00:00", 30, "b1"),
        _attended("w1-a1-second", "a1", "W-1", "2024-11-05T10:40:00", 40, "b1"),
        _attended("w1-b1-self", "b1", "W-1", "2024-11-05T10:00:00", 90, "b1"),
        x.resource_session("r1-a2", lms("a2"), IRI["R-1"], "R-1", at("2025-02-01T09:00:00"), None, shared_by=lms("c1")),
        _attended("mc3-b2", "b2", "MC-3", "2025-03-01T14:00:00", 60, "a1"),
        _attended("mc2-d1", "d1", "MC-2", "2025-10-10T14:00:00", 120, "a1"),
        _attended("w2-c1", "c1", "W-2", "2025-11-01T10:00:00", 45, "b1"),
    ]


def build(folder: Path) -> tuple[Lake, Path]:
    """The lake (voids applied, as the DAG does before any plugin) and the roster file."""
    lake_dir = folder / "lake"
    ingest(lake_dir, statements())
    lake = Lake(lake_dir)
    apply_voids(lake)
    return lake, x.Cluster(roster=roster()).write_roster(folder / "roster.csv")


def one_more(folder: Path) -> None:
    """A later statement in the lake ``build(folder)`` made: the next run has new inputs."""
    ingest(folder / "lake", [_attended("w2-a2", "a2", "W-2", "2025-11-01T10:00:00", 30, "b1")], name="later")
    apply_voids(Lake(folder / "lake"))
