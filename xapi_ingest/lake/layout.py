"""Where things live under a local lake folder: the one place that knows the folder layout::

    catalog.sqlite        the embedded catalog database (Iceberg metadata pointers, id registry,
                          batches, holds, pull state: see xapi_ingest.lake.ledger)
    warehouse/            the Iceberg tables' data and metadata files
    _quality/reports/     gate results (when no reports folder is set)

A lake on object storage has only the warehouse there; its catalog is a database elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CATALOG = "catalog.sqlite"
WAREHOUSE = "warehouse"
QUALITY_REPORTS = "_quality/reports"


@dataclass(frozen=True)
class LakeLayout:
    root: Path

    @property
    def catalog(self) -> Path:
        return self.root / CATALOG

    @property
    def warehouse(self) -> Path:
        return self.root / WAREHOUSE

    @property
    def quality_reports(self) -> Path:
        return self.root / QUALITY_REPORTS
