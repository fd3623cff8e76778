"""``sources.yaml``: the sources to pull, each validated by its kind's model before any request is made.

An entry without ``kind:`` is an LRS (:class:`Source`, kind ``lrs``), so files written before
there were kinds load unchanged; the ``files`` kind is :mod:`xapi_ingest.pull.files`.

Credentials are never written in the file: it names environment variables or an Airflow
connection, and :func:`resolve_credentials` reads them at run time into a value whose ``repr``
hides the password, so a logged config or a traceback cannot leak it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from xapi_ingest.common.config import ConfigError, line_of, located_errors, read_yaml
from xapi_ingest.common.plugins import PluginError
from xapi_ingest.pull.kinds import DEFAULT_KIND, SourceConfig, find_kind

_HUMAN_DURATION = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*(s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?)\s*$", re.IGNORECASE)
_SECONDS_PER_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _iso_duration(seconds: float) -> str:
    """``PT5M`` for 300 seconds: the spelling sources.yaml expects, for error messages."""
    days, rest = divmod(round(seconds), 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    time = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (secs, "S")) if n)
    return ("P" + (f"{days}D" if days else "") + (f"T{time}" if time else "")) if days or time else "PT0S"


def _duration(value: Any) -> Any:
    """Durations are ISO 8601 (``PT5M``); ``5 minutes``, ``5m`` or a bare ``300`` get the spelling to use instead."""
    if isinstance(value, bool):
        return value  # pydantic's own error
    if isinstance(value, int | float):
        problem = f"a bare number is ambiguous; write an ISO 8601 duration, e.g. {_iso_duration(value)} for {value} seconds"
    elif not isinstance(value, str) or value.lstrip("-").upper().startswith("P"):
        return value  # ISO 8601, or pydantic's own error
    elif human := _HUMAN_DURATION.match(value):
        seconds = float(human[1]) * _SECONDS_PER_UNIT[human[2][0].lower()]
        problem = f"write durations in ISO 8601: {_iso_duration(seconds)} for {value!r}"
    else:
        problem = f"{value!r} is not an ISO 8601 duration; write e.g. PT5M for 5 minutes, PT2H for 2 hours, P3D for 3 days"
    raise PydanticCustomError("duration", problem)


Duration = Annotated[timedelta, BeforeValidator(_duration)]


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


class Source(SourceConfig):
    """Kind ``lrs``: an xAPI statements endpoint, pulled incrementally from its watermark."""

    kind: Literal["lrs"] = "lrs"
    endpoint: str = Field(pattern=r"^https?://[^/\s]+(/\S*)?$", description="the xAPI base; statements = endpoint + 'statements'")
    version: Literal["1.0.3", "2.0.0"] = "1.0.3"
    auth: BasicAuthEnv | AirflowConnectionAuth | None = None
    page_size: int = Field(500, ge=1, le=10_000)
    overlap: Duration = Field(timedelta(minutes=5), ge=timedelta(0))
    since_field: Literal["auto", "stored", "timestamp"] = Field(
        "auto", description="what the LRS compares `since` with; 'auto' probes it")
    late_arrival: Duration | None = Field(
        None, description="for an LRS that filters `since` on timestamp: how late a statement may arrive; "
                          "null rescans the whole LRS each run (slow but never misses one)")
    commit_every: int = Field(5_000, ge=1, description="statements per lake commit (and watermark step)")
    timeout_seconds: float = Field(30.0, gt=0)

    @field_validator("endpoint")
    @classmethod
    def _with_trailing_slash(cls, endpoint: str) -> str:
        if "@" in urlsplit(endpoint).netloc:  # it would travel into logs, `more` URLs and quarantine origins
            raise ValueError("must not contain credentials; name them in `auth` instead")
        return endpoint if endpoint.endswith("/") else endpoint + "/"

    @property
    def statements_url(self) -> str:
        return self.endpoint + "statements"

    def where(self) -> str:
        return self.statements_url


class _Document(_Strict):
    """The file's shape; each entry is then validated by its kind's own model."""

    sources: list[dict[str, Any]] = Field(min_length=1)


class SourcesFile(_Strict):
    sources: list[SourceConfig] = Field(min_length=1)  # each an instance of its kind's model

    @model_validator(mode="after")
    def _unique_ids(self) -> SourcesFile:
        ids = [source.id for source in self.sources]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"source ids must be unique; repeated: {', '.join(repeated)}")
        return self

    def get(self, source_id: str) -> SourceConfig:
        for source in self.sources:
            if source.id == source_id:
                return source
        raise KeyError(f"no source {source_id!r} in the configuration (known: {', '.join(s.id for s in self.sources)})")


def load_sources(path: Path | str) -> SourcesFile:
    """Validate every entry by its kind's model (``kind:``, default ``lrs``); a :class:`ConfigError`
    lists every problem of every entry, each with its line, including a kind that is not installed
    or cannot be imported. Only the kinds the file names are imported."""
    data, tree = read_yaml(path)
    try:
        document = _Document.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise located_errors(path, exc, tree) from None
    configs: list[SourceConfig] = []
    problems: list[str] = []
    for n, entry in enumerate(document.sources):
        name = entry.get("kind", DEFAULT_KIND)
        try:
            kind = find_kind(name) if isinstance(name, str) else None
        except PluginError as exc:
            problems.append(f"{path}:{line_of(tree, ('sources', n, 'kind'))}: sources[{n}].kind: {exc}")
            continue
        try:
            configs.append((kind.config if kind is not None else SourceConfig).model_validate(entry))
        except ValidationError as exc:
            problems.append(str(located_errors(path, exc, tree, ("sources", n))))
    if problems:
        raise ConfigError("\n".join(problems))
    try:
        return SourcesFile(sources=configs)
    except ValidationError as exc:
        raise located_errors(path, exc, tree) from None


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password=***)"


class MissingCredentialsError(RuntimeError):
    """The secret the config names is not there; the message says where it was looked for (the reporter adds the source)."""


def resolve_credentials(source: Source) -> Credentials | None:
    """Read the secret named by the config; the error names where it was looked for, never a value."""
    auth = source.auth
    if auth is None:
        return None
    if isinstance(auth, BasicAuthEnv):
        missing = [name for name in (auth.username_env, auth.password_env) if not os.environ.get(name)]
        if missing:
            raise MissingCredentialsError(f"environment variable(s) not set: {', '.join(missing)}")
        return Credentials(os.environ[auth.username_env], os.environ[auth.password_env])
    try:
        from airflow.sdk import Connection
    except ImportError as exc:
        raise MissingCredentialsError(
            f"auth uses Airflow connection {auth.airflow_conn_id!r} but Airflow is not installed"
        ) from exc
    try:
        connection = Connection.get(auth.airflow_conn_id)
    except Exception as exc:  # the SDK raises different types inside and outside a task
        raise MissingCredentialsError(
            f"Airflow connection {auth.airflow_conn_id!r} could not be read ({type(exc).__name__}; "
            "the message is withheld in case it holds a secret)"
        ) from None
    if not connection.login:
        raise MissingCredentialsError(f"Airflow connection {auth.airflow_conn_id!r} has no login")
    return Credentials(connection.login, connection.password or "")
