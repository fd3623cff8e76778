"""Where things live under a local lake folder: the one place that knows the folder layout::

    catalog.sqlite        the embedded catalog database (Iceberg metadata pointers, id registry,
                          batches, holds, pull state: see xapi_ingest.lake.ledger)
    warehouse/            the Iceberg tables' data and metadata files
    _quality/reports/     gate results (when no reports folder is set)

A lake on object storage has only the warehouse there; its catalog is a database elsewhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SOURCE_ID = re.compile(r"[a-z0-9][a-z0-9-]*\Z")
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


def check_source_id(source: str) -> str:
    """Source ids become partition values and file paths, so only ``[a-z0-9-]`` is accepted.

    It lives here, not in :mod:`~xapi_ingest.lake.store`, so that ingest worker processes can
    check a source without importing the storage stack (pyiceberg, SQLAlchemy, pandas)."""
    if not SOURCE_ID.match(source):
        raise ValueError(f"source id {source!r} must match [a-z0-9][a-z0-9-]* (it is used in paths)")
    return source
