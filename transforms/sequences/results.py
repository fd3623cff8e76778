"""What a ``sequences`` run produces, as plain data: the report renders it, the DAG logs its summary."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from transforms.sequences import clusters as clustering
from transforms.sequences.lsa import ChiSquare, LsaResult
from transforms.sequences.scheme import Dimension


@dataclass
class GroupResult:
    name: str
    n_units: int  # units for a comparison group, learners for a cluster
    result: LsaResult
    files: list[str]


@dataclass
class ClusterReport:
    clustering: clustering.Clustering
    learners_clustered: int
    learners_too_few_events: int
    per_cluster: list[GroupResult]


@dataclass
class DimensionResult:
    dimension: Dimension
    n_events: int
    n_coded: int
    uncoded_reasons: dict[str, int]
    uncoded_examples: pd.DataFrame
    n_units: int
    n_single_event_units: int
    pairs_lost_to_uncoded: int
    code_counts: list[int]
    result: LsaResult
    homogeneity_units: ChiSquare
    groups: list[GroupResult]
    homogeneity_groups: ChiSquare | None
    clusters: ClusterReport | None
    files: list[str]


@dataclass
class DimensionSummary:
    id: str
    events: int
    coded: int
    uncoded: int
    units: int
    transitions: int
    significant: list[dict[str, object]]
    clusters_k: int | None


@dataclass
class SequencesSummary:
    """What the ``sequences`` command prints and the analytics DAG records."""

    out_dir: str
    zone: str
    statements: int
    voided: int
    out_of_scope: int
    in_scope: int
    without_unit: int
    dimensions: list[DimensionSummary]
    report: str
    elapsed_seconds: float
    files: list[str] = field(default_factory=list)
    lake_snapshot_id: int | None = None  # the Iceberg snapshot of the zone's statements table that was read
    version: int = 0
    new_version: bool = True  # false: nothing changed since ``version``, and nothing was written
    notes: list[str] = field(default_factory=list)  # one line each: what the run could not do, and why
    language: str = "en"  # of the cluster-wide report
    untranslated: list[str] = field(default_factory=list)  # messages the reports had to print in English
    institutions: list[dict[str, Any]] = field(default_factory=list)  # institution_id, language, report, in_scope

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, document: dict[str, Any], **changes: Any) -> SequencesSummary:
        """A version's ``summary.json`` read back (``changes``: what differs for this run)."""
        dimensions = [DimensionSummary(**d) for d in document["dimensions"]]
        return cls(**{**document, "dimensions": dimensions, **changes})

    def describe(self) -> str:
        if not self.new_version:
            return f"unchanged; latest version v{self.version:04d} ({self.out_dir}): no new statements and the same scheme"
        lines = [
            f"{self.statements} statements ({self.zone} zone): {self.in_scope} in scope, {self.out_of_scope} out of scope, "
            f"{self.voided} voided or voiding, {self.without_unit} in scope without a unit",
        ]
        for d in self.dimensions:
            shown = ", ".join(f"{s['from']}->{s['to']} (z={s['z']:.2f})" for s in d.significant) or "none"
            clusters = f"; {d.clusters_k} learner clusters" if d.clusters_k else ""
            lines.append(f"  {d.id}: {d.events} events in {d.units} units, {d.uncoded} uncoded, "
                         f"{d.transitions} transitions; significant: {shown}{clusters}")
        lines += [f"  institution {i['institution_id']} ({i['language']}): {i['in_scope']} in scope; {i['report']}"
                  for i in self.institutions]
        lines += self.notes
        lines.append(f"version v{self.version:04d}; report: {self.report}  ({self.elapsed_seconds:.1f} s)")
        return "\n".join(lines)
