"""What an analytics plugin is: a name, a version, a typed configuration, what it reads and what it writes.

The API is data, not a base class to inherit: a plugin module exposes one
:class:`AnalyticsPlugin` value and names it in an entry point of the group
``xapi_pipeline.analytics``. The pipeline validates the plugin's section of the deployment's
``analytics.yaml`` into the plugin's own pydantic model (so a typo names file, line and
field before anything runs), hands the plugin a :class:`RunContext` over the lake, and records
the :class:`Outcome`. A plugin reads the lake and never writes it; it writes only under its
configured ``out`` folder, one version at a time (:func:`transforms.plugins.versions.write_version`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:  # listing plugins imports no DuckDB, pyarrow or pyiceberg
    import duckdb

    from xapi_ingest.lake.query import Zone
    from xapi_ingest.lake.store import Lake
    from xapi_ingest.publish.privacy import Pseudonymizer

GROUP = "xapi_pipeline.analytics"  # the entry-point group every analytics plugin registers in


class PluginConfig(BaseModel):
    """The options every plugin has; a plugin's model adds its own fields. Unknown keys are errors,
    so a misspelt option is reported instead of silently falling back to a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    out: Path = Field(description="output folder: each run that changes anything adds a version here")

    def sha256(self) -> str:
        """The options as validated (defaults filled in), so an edit that changes nothing is not a new input."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()


Config = TypeVar("Config", bound=PluginConfig)


@dataclass(frozen=True)
class RunContext:
    """What a run may read: the lake, pinned to the snapshots taken when the run started, in one zone."""

    lake: Lake
    zone: Zone
    plugin: str
    plugin_version: str
    snapshots: Mapping[str, int | None]
    # The analyst zone's keyed pseudonyms (``teacher_key``, ``pseudonym``), when the deployment has a key: a
    # plugin that writes people writes these, which analysts can join to the analyst zone and nobody to a name.
    pseudonyms: Pseudonymizer | None = field(default=None, repr=False)

    def connect(self) -> duckdb.DuckDBPyConnection:
        """DuckDB over the zone's views at the pinned snapshots: ``statements``, ``voided_ids`` and
        ``effective_statements`` (statements without voided ones and without the voids themselves)."""
        from xapi_ingest.lake.query import connect

        return connect(self.lake, self.zone, snapshots=dict(self.snapshots))

    def inputs(self, config: PluginConfig) -> dict[str, Any]:
        """What an output version depends on, for its manifest: same inputs, same outputs, nothing written."""
        return {"plugin": self.plugin, "plugin_version": self.plugin_version, "zone": self.zone,
                "config_sha256": config.sha256(), "lake_snapshots": dict(sorted(self.snapshots.items()))}


@dataclass(frozen=True)
class Outcome:
    """What one run did. ``summary`` is JSON-able (it becomes the task's XCom); ``lines`` are what
    the CLI prints, ``warnings`` what it prints to stderr and the DAG logs as warnings."""

    output_dir: Path  # the version folder written, or the latest one when nothing changed
    version: int | None  # None: the plugin's outputs are not versioned (yet)
    new_version: bool
    summary: Mapping[str, Any] = field(default_factory=dict)
    lines: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"output_dir": str(self.output_dir), "version": self.version, "new_version": self.new_version,
                **{key: str(value) if isinstance(value, Path) else value for key, value in self.summary.items()}}


@dataclass(frozen=True)
class AnalyticsPlugin(Generic[Config]):
    """One analysis. ``reads`` is the zone it reads: ``analyst`` (pseudonymized) unless it needs real
    identities; ``run`` must not write anywhere but ``config.out``."""

    name: str
    version: str
    description: str
    config: type[Config]
    reads: Zone
    run: Callable[[RunContext, Config], Outcome]
