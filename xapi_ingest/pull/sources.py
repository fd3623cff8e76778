"""``sources.yaml``: the LRSs to pull, validated into models before any request is made.

Credentials are never written in the file: it names environment variables or an Airflow
connection, and :func:`resolve_credentials` reads them at run time into a value whose ``repr``
hides the password, so a logged config or a traceback cannot leak it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from xapi_ingest.common.config import load_yaml_model
from xapi_ingest.lake.ingest import check_tolerated_rules
from xapi_ingest.lake.store import SOURCE_ID


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BasicAuthEnv(_Strict):
    """HTTP basic auth whose user name and password come from environment variables."""

    type: Literal["basic"] = "basic"
    username_env: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    password_env: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")


class AirflowConnectionAuth(_Strict):
    """HTTP basic auth from an Airflow connection (login and password), when running under Airflow."""

    airflow_conn_id: str = Field(min_length=1)


class Source(_Strict):
    id: str = Field(pattern="^" + SOURCE_ID.pattern.removesuffix(r"\Z") + "$", description="used in lake paths")
    endpoint: str = Field(pattern=r"^https?://[^/\s]+(/\S*)?$", description="the xAPI base; statements = endpoint + 'statements'")
    version: Literal["1.0.3", "2.0.0"] = "1.0.3"
    auth: BasicAuthEnv | AirflowConnectionAuth | None = None
    page_size: int = Field(500, ge=1, le=10_000)
    overlap: timedelta = Field(timedelta(minutes=5), ge=timedelta(0))
    since_field: Literal["auto", "stored", "timestamp"] = Field(
        "auto", description="what the LRS compares `since` with; 'auto' probes it")
    late_arrival: timedelta | None = Field(
        None, description="for an LRS that filters `since` on timestamp: how late a statement may arrive; "
                          "null rescans the whole LRS each run (slow but never misses one)")
    commit_every: int = Field(5_000, ge=1, description="statements per lake commit (and watermark step)")
    timeout_seconds: float = Field(30.0, gt=0)
    tolerate: tuple[str, ...] = ()

    @field_validator("endpoint")
    @classmethod
    def _with_trailing_slash(cls, endpoint: str) -> str:
        if "@" in urlsplit(endpoint).netloc:  # it would travel into logs, `more` URLs and quarantine origins
            raise ValueError("must not contain credentials; name them in `auth` instead")
        return endpoint if endpoint.endswith("/") else endpoint + "/"

    @field_validator("tolerate")
    @classmethod
    def _known_rules(cls, rules: tuple[str, ...]) -> tuple[str, ...]:
        check_tolerated_rules(rules)
        return rules

    @property
    def statements_url(self) -> str:
        return self.endpoint + "statements"


class SourcesFile(_Strict):
    sources: list[Source] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> SourcesFile:
        ids = [source.id for source in self.sources]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"source ids must be unique; repeated: {', '.join(repeated)}")
        return self

    def get(self, source_id: str) -> Source:
        for source in self.sources:
            if source.id == source_id:
                return source
        raise KeyError(f"no source {source_id!r} in the configuration (known: {', '.join(s.id for s in self.sources)})")


def load_sources(path: Path | str) -> SourcesFile:
    return load_yaml_model(path, SourcesFile)


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password=***)"


class MissingCredentialsError(RuntimeError):
    pass


def resolve_credentials(source: Source) -> Credentials | None:
    """Read the secret named by the config; the error names where it was looked for, never a value."""
    auth = source.auth
    if auth is None:
        return None
    if isinstance(auth, BasicAuthEnv):
        missing = [name for name in (auth.username_env, auth.password_env) if not os.environ.get(name)]
        if missing:
            raise MissingCredentialsError(f"source {source.id}: environment variable(s) not set: {', '.join(missing)}")
        return Credentials(os.environ[auth.username_env], os.environ[auth.password_env])
    try:
        from airflow.sdk import Connection
    except ImportError as exc:
        raise MissingCredentialsError(
            f"source {source.id}: auth uses Airflow connection {auth.airflow_conn_id!r} but Airflow is not installed"
        ) from exc
    try:
        connection = Connection.get(auth.airflow_conn_id)
    except Exception as exc:  # the SDK raises different types inside and outside a task
        raise MissingCredentialsError(
            f"source {source.id}: Airflow connection {auth.airflow_conn_id!r} could not be read ({type(exc).__name__}; "
            "the message is withheld in case it holds a secret)"
        ) from None
    if not connection.login:
        raise MissingCredentialsError(f"source {source.id}: Airflow connection {auth.airflow_conn_id!r} has no login")
    return Credentials(connection.login, connection.password or "")
