"""What a ``sequences`` version records, and when a run is new enough to write one.

A version's results depend on the scheme file, the lake snapshots it read, the report
language asked for, and the code that turns them into files (:data:`RESULTS_VERSION`). The
fingerprint covers exactly these, so a run with nothing new is recognised before any data is
read, and writes nothing. The folder layout, lock and commit are shared with credit
(:mod:`transforms.reporting.versions`).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from transforms.reporting.versions import manifest_entries

# Bump when a run of the same inputs would write different files (a new table, a changed layout).
RESULTS_VERSION = "2"


@dataclass(frozen=True)
class SequencesVersion:
    version: int
    run_id: str
    computed_at: str
    fingerprint: str
    scheme_sha256: str
    lake_snapshots: dict[str, int | None]  # table -> Iceberg snapshot read (None: the table was empty)
    zone: str
    language: str | None  # the --language asked for; None: the scheme's languages
    results_version: str
    supersedes_version: int | None


def read_manifest(out_dir: Path) -> list[SequencesVersion]:
    return [SequencesVersion(**entry) for entry in manifest_entries(out_dir)]


def fingerprint(scheme_sha256: str, lake_snapshots: dict[str, int | None], zone: str, language: str | None) -> str:
    document = {"scheme": scheme_sha256, "snapshots": lake_snapshots, "zone": zone, "language": language,
                "results": RESULTS_VERSION}
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def new_run_id() -> tuple[str, datetime]:
    now = datetime.now(UTC)
    return f"sequences-{now:%Y%m%dT%H%M%S%f}-{secrets.token_hex(2)}", now
