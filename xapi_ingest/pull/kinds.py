"""What a source kind is: a name (``kind:`` in sources.yaml), a typed configuration and a pull function.

The API is data, like the analytics plugins' (:mod:`transforms.plugins.api`): a package exposes
one :class:`SourceKind` value and names it in an entry point of the group ``xapi_pipeline.sources``.
Each entry of ``sources.yaml`` is validated by its kind's own pydantic model (a subclass of
:class:`SourceConfig`, so ids, ``tolerate`` and the ban on inline secrets are the same for every
kind); the runner then calls ``pull(config, lake, budget, progress)``. A pull writes statements only
through :class:`~xapi_ingest.lake.ingest.Ingestor` (same validation, quarantine and upsert as any
other input) and moves its own state only after what it covers is committed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from xapi_ingest.common import plugins
from xapi_ingest.lake.ingest import check_tolerated_rules
from xapi_ingest.lake.layout import SOURCE_ID
from xapi_ingest.pull.summary import Budget, PullSummary

if TYPE_CHECKING:
    from xapi_ingest.lake.store import Lake

GROUP = "xapi_pipeline.sources"  # the entry-point group every source kind registers in
DEFAULT_KIND = "lrs"  # what an entry without `kind:` is, so sources.yaml files older than kinds keep working

_SECRET_KEY = re.compile(r"pass(word)?|passwd|secret|token", re.IGNORECASE)


def _secret_keys(value: Any, path: str = "") -> list[str]:
    """Paths of keys that hold a secret inline (``auth.password``); ``password_env`` only names a variable."""
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if _SECRET_KEY.search(str(key)) and not str(key).endswith("_env"):
                found.append(here)
            found += _secret_keys(item, here)
        return found
    if isinstance(value, list):
        return [key for n, item in enumerate(value) for key in _secret_keys(item, f"{path}[{n}]")]
    return []


class SourceConfig(BaseModel):
    """The options every source has; a kind's model adds its own. Unknown keys are errors, so an
    option of another kind (``endpoint`` on a files source) is reported, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern="^" + SOURCE_ID.pattern.removesuffix(r"\Z") + "$", description="used in lake paths")
    kind: str = DEFAULT_KIND
    tolerate: tuple[str, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _no_inline_secrets(cls, data: Any) -> Any:
        # Checked before anything else so that a password yields this one message, not a list of
        # schema mismatches, and the value itself never reaches an error message.
        secrets = _secret_keys(data)
        if secrets:
            raise PydanticCustomError(
                "inline_secret",
                f"{', '.join(secrets)}: a password must not be written in sources.yaml; name an environment variable "
                "(auth: {type: basic, username_env: LRS_USER, password_env: LRS_PASSWORD}) or an Airflow "
                "connection (auth: {airflow_conn_id: my_lrs}) instead",
            )
        return data

    @field_validator("tolerate")
    @classmethod
    def _known_rules(cls, rules: tuple[str, ...]) -> tuple[str, ...]:
        check_tolerated_rules(rules)
        return rules

    def where(self) -> str:
        """Where the statements come from, fit for a listing (no credential)."""
        return ""


Config = TypeVar("Config", bound=SourceConfig)
Progress = Callable[[PullSummary], None]  # called after each commit with the summary so far


@dataclass(frozen=True)
class SourceKind(Generic[Config]):
    """One kind of source. ``pull`` brings what is new since its last run into the lake and returns
    what it did; it raises only when the whole source cannot be pulled (the runner reports that and
    pulls the others). ``expected_errors`` are failures whose message says it all (no traceback)."""

    name: str
    description: str
    config: type[Config]
    pull: Callable[[Config, Lake, Budget, Progress | None], PullSummary]
    expected_errors: tuple[type[Exception], ...] = ()


def installed() -> list[str]:
    return list(plugins.entry_points(GROUP))


def find_kind(name: str) -> SourceKind[Any]:
    """The installed kind ``name``, loaded; a :class:`~xapi_ingest.common.plugins.PluginError` of one line if not."""
    return plugins.find(GROUP, name, SourceKind, "source kind")
