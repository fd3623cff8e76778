"""What a ``credit`` run produces, as plain data: the CLI prints it, the DAG logs it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CreditRunSummary:
    version: int
    new_version: bool  # False when nothing changed since the latest version (nothing written)
    supersedes_version: int | None
    output_dir: Path
    run_id: str
    ledger_rows: int
    teachers: int
    institutions: int
    credited_hours: float
    status_counts: dict[str, int]
    unmatched_actors: int
    unlisted_resources: int
    teachers_flagged_gap: int
    elapsed_seconds: float

    def lines(self) -> list[str]:
        state = "new version" if self.new_version else "unchanged; latest version"
        statuses = ", ".join(f"{name} {count}" for name, count in sorted(self.status_counts.items()))
        return [
            f"{state} v{self.version:04d}" + (f" (supersedes v{self.supersedes_version:04d})"
                                              if self.new_version and self.supersedes_version else ""),
            f"ledger rows {self.ledger_rows}: {statuses}",
            f"teachers {self.teachers} in {self.institutions} institution(s); credited {self.credited_hours:,.2f} h; "
            f"flagged for a gap {self.teachers_flagged_gap}",
            f"unmatched actors {self.unmatched_actors}; unlisted resources for review {self.unlisted_resources}",
            f"outputs: {self.output_dir} ({self.elapsed_seconds:.1f} s)",
        ]

    def warnings(self) -> list[str]:
        """What a person should look at before trusting the figures (the CLI and the DAG both show it)."""
        if self.ledger_rows == 0 and self.unmatched_actors:
            return [f"warning: no statement's actor matches the roster; the {self.unmatched_actors} unmatched actors "
                    f"are listed in {self.output_dir / 'unmatched_actors.csv'} (check the roster's IFIs)"]
        if self.ledger_rows == 0:  # a lake holding only quarantined statements, or none a rule credits
            return ["warning: the lake holds no statement to credit, so every summary is empty "
                    "(ingest or pull statements first; rejected ones are kept in the lake's quarantine)"]
        return []
