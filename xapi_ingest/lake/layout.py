"""Where everything lives under a lake root: the one place that knows the folder layout.

Every other module asks a :class:`LakeLayout` for a path, and the remote sync asks it which
relative paths are rewritten in place and which describe data (and so travel after it)::

    statements/source=<id>/stored_date=<YYYY-MM-DD>/part-<batch>.parquet   restricted zone
    quarantine/source=<id>/ingest_date=<YYYY-MM-DD>/part-<batch>.parquet   restricted zone
    analyst/statements/source=<id>/stored_date=<...>/part-<batch>.parquet  pseudonymized zone
    derived/voids/voids.parquet                                            the void ledger
    _state/pull/<source>.json                                              pull watermarks
    _quality/held/<batch>.json                                             batches held by the gate
    _quality/checked/<batch>.json                                          files the gate has checked
    _quality/reports/                                                      gate results (when no reports folder is set)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

STATEMENTS = "statements"
QUARANTINE = "quarantine"
ANALYST_STATEMENTS = "analyst/statements"
VOID_LEDGER = "derived/voids/voids.parquet"
PULL_STATE = "_state/pull"
QUALITY_HOLDS = "_quality/held"
QUALITY_CHECKED = "_quality/checked"
QUALITY_REPORTS = "_quality/reports"
WRITE_LOCK = ".write.lock"

# Small files that describe the data (watermarks, holds): a sync sends them after the data so a
# remote watermark never runs ahead of the remote data.
METADATA_PREFIXES = ("_state/", "_quality/")
# Files rewritten in place often (everything else is written under a unique name, and rewritten only
# when repeated statement ids are settled: a rare, smaller file).
REWRITTEN_PREFIXES = (*METADATA_PREFIXES, "derived/")


@dataclass(frozen=True)
class LakeLayout:
    root: Path

    @property
    def statements(self) -> Path:
        return self.root / STATEMENTS

    @property
    def quarantine(self) -> Path:
        return self.root / QUARANTINE

    @property
    def analyst_statements(self) -> Path:
        return self.root / ANALYST_STATEMENTS

    @property
    def void_ledger(self) -> Path:
        return self.root / VOID_LEDGER

    @property
    def write_lock(self) -> Path:
        return self.root / WRITE_LOCK

    @property
    def held_batches(self) -> Path:
        return self.root / QUALITY_HOLDS

    @property
    def checked_batches(self) -> Path:
        return self.root / QUALITY_CHECKED

    @property
    def quality_reports(self) -> Path:
        return self.root / QUALITY_REPORTS

    def pull_state(self, source: str) -> Path:
        """Callers check ``source`` first (it becomes a file name)."""
        return self.root / PULL_STATE / f"{source}.json"
