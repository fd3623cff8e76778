"""Every ``XAPI_*`` variable, read once into one validated object: the DAGs, the CLI and compose agree.

Library code below :mod:`xapi_ingest.app` never reads the environment: it is handed paths and
options by the steps and commands that build a :class:`Settings`. Relative paths are relative
to the working directory (a checkout run from its root finds ``config/`` as it is); an
installed deployment sets the variables (``docker-compose.yml``, ``.env.example``). Secrets are
held as :class:`~pydantic.SecretStr`, so printing the settings never shows them; LRS
credentials are not settings at all: ``sources.yaml`` names the variables or Airflow
connections that hold them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from xapi_ingest.common.config import ConfigError

if TYPE_CHECKING:
    from xapi_ingest.lake.store import Lake

PREFIX = "XAPI_"
_SECRETS = ("pseudonym_key", "lake_catalog")  # never echoed in error messages


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    sources: Path = Field(Path("config/sources.yaml"), description="sources.yaml: the sources to pull (LRSs, file drops)")
    lake: str = Field("lake", description="lake root: a directory or a URI such as s3://bucket/lake")
    lake_catalog: SecretStr | None = Field(
        None, description="the lake's catalog database, a SQLAlchemy URL (e.g. postgresql+psycopg2://user:pw@host/lake); "
                          "default <lake>/catalog.sqlite, required for a lake on object storage")
    reports: Path = Field(Path("reports"), description="Data Docs, quality results, credit and sequence outputs")
    expectations: Path | None = Field(None, description="folder of GX suites (default: the suites shipped in the package)")
    credit_policy: Path = Field(Path("config/credit/policy.yaml"), description="credit policy (YAML)")
    credit_registry: Path = Field(Path("config/credit/registry.csv"), description="credit unit registry (CSV)")
    credit_roster: Path = Field(Path("config/credit/roster.csv"),
                                description="teacher roster (CSV): credit, and the analyst zone's teacher_key")
    sequences_scheme: Path = Field(Path("config/sequences/scheme.yaml"), description="behaviour coding scheme (YAML)")
    analytics: Path = Field(Path("config/analytics.yaml"),
                            description="analytics plugins enabled here, with their options (YAML); without the file, "
                                        "credit, sequences and the network run from XAPI_CREDIT_*, XAPI_SEQUENCES_SCHEME "
                                        "and XAPI_REPORTS")
    pseudonym_key: SecretStr | None = Field(None, description="secret key of the analyst zone's pseudonyms (>= 16 bytes)")
    analyst_drop_extensions: tuple[str, ...] = Field(
        (), description="extension keys (IRIs, comma-separated) removed from the analyst zone's extensions")
    pull_max_pages: int | None = Field(None, gt=0, description="stop a pull after this many pages (the next run resumes)")
    pull_max_minutes: float | None = Field(None, gt=0, description="stop a pull after this many minutes")
    task_retries: int = Field(3, ge=0, description="Airflow retries of a failed task")
    ingest_schedule: str = Field("@hourly", description="the ingest DAG's schedule: a cron expression or preset")

    @field_validator("analyst_drop_extensions", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return tuple(item.strip() for item in value.split(",") if item.strip()) if isinstance(value, str) else value

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``XAPI_*`` variables (empty ones count as unset); errors name the variable."""
        environ = os.environ if environ is None else environ
        values = {name: environ[PREFIX + name.upper()] for name in cls.model_fields
                  if environ.get(PREFIX + name.upper())}
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = [f"{PREFIX}{str(error['loc'][0]).upper()}={values.get(str(error['loc'][0]), '')!r}: {error['msg']}"
                        if error["loc"][0] not in _SECRETS else f"{PREFIX}{str(error['loc'][0]).upper()}: {error['msg']}"
                        for error in exc.errors(include_url=False)]
            raise ConfigError("\n".join(problems)) from None

    def file(self, name: str) -> Path:
        """The path setting ``name``, which must name an existing file: an installed package has no
        configuration of its own to fall back on, so a missing one is a one-line error naming its variable."""
        path = getattr(self, name)
        if not Path(path).is_file():
            where = "" if Path(path).is_absolute() else f" (relative to {Path.cwd()})"
            raise ConfigError(f"{PREFIX}{name.upper()}={str(path)!r}: no such file{where}; "
                              f"set {PREFIX}{name.upper()} to the file's path")
        return Path(path)

    def optional_file(self, name: str) -> Path | None:
        """A path setting a step can do without: when set it must name a file (:meth:`file`); the
        default counts only where it exists, so a deployment without one is not an error."""
        if name in self.model_fields_set:
            return self.file(name)
        path = Path(getattr(self, name))
        return path if path.is_file() else None

    def open_lake(self, location: str | None = None, catalog: str | None = None) -> Lake:
        """The lake of ``XAPI_LAKE`` and ``XAPI_LAKE_CATALOG`` (or of the given overrides)."""
        from xapi_ingest.lake.store import Lake

        default_catalog = self.lake_catalog.get_secret_value() if self.lake_catalog else None
        return Lake(location or self.lake, catalog or default_catalog)

    @property
    def suite_path(self) -> Path | None:
        """The statements suite of ``XAPI_EXPECTATIONS``, or None for the shipped one."""
        return self.expectations / "statements.json" if self.expectations else None

    @classmethod
    def variables(cls) -> dict[str, str]:
        """Variable name -> meaning, for documentation and ``--help``."""
        return {PREFIX + name.upper(): field.description or "" for name, field in cls.model_fields.items()}
