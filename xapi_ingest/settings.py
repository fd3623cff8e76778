"""Where things are, read from the environment: the same variables in the DAGs, the CLI and compose.

Defaults point into the repository so a checkout runs as is; production sets the variables
(see ``docker-compose.yml`` and ``.env.example``). Secrets are not settings: LRS credentials
come from the variables or Airflow connections that ``sources.yaml`` names, and the pseudonym
key from ``XAPI_PSEUDONYM_KEY`` (read by :mod:`xapi_ingest.privacy` when it is needed).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG = REPO_ROOT / "config"


def _path(name: str, default: Path) -> Path:
    return Path(os.environ.get(name) or default)


def _optional(name: str, kind: type[int] | type[float]) -> int | float | None:
    value = os.environ.get(name)
    try:
        return kind(value) if value else None
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a{'n integer' if kind is int else ' number'}") from None


@dataclass(frozen=True)
class Settings:
    sources: Path
    lake: str  # a local path or a URI such as s3://bucket/lake (see xapi_ingest.remote_lake)
    reports: Path
    credit_policy: Path
    credit_registry: Path
    credit_roster: Path
    sequences_scheme: Path
    pull_max_pages: int | None
    pull_max_minutes: float | None

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            sources=_path("XAPI_SOURCES", CONFIG / "sources.yaml"),
            lake=os.environ.get("XAPI_LAKE") or str(REPO_ROOT / "lake"),
            reports=_path("XAPI_REPORTS", REPO_ROOT / "reports"),
            credit_policy=_path("XAPI_CREDIT_POLICY", CONFIG / "credit" / "policy.yaml"),
            credit_registry=_path("XAPI_CREDIT_REGISTRY", CONFIG / "credit" / "registry.csv"),
            credit_roster=_path("XAPI_CREDIT_ROSTER", CONFIG / "credit" / "roster.csv"),
            sequences_scheme=_path("XAPI_SEQUENCES_SCHEME", CONFIG / "sequences" / "scheme.yaml"),
            pull_max_pages=_optional("XAPI_PULL_MAX_PAGES", int),
            pull_max_minutes=_optional("XAPI_PULL_MAX_MINUTES", float),
        )
