"""One deployment's ``analytics.yaml``: which plugins run, each with its own validated options.

    plugins:
      credit: {policy: config/credit/policy.yaml, registry: ..., roster: ..., out: reports/credit}
      verb_counts: {out: reports/verb_counts, enabled: false}

A plugin listed is enabled unless ``enabled: false``; an installed plugin not listed does not
run. Each section is validated by its plugin's own model only when that plugin runs, so one
plugin's bad options fail that plugin, named with the file, line and field; relative paths
are relative to the working directory, as in the ``XAPI_*`` settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from transforms.plugins.api import AnalyticsPlugin, Config
from xapi_ingest.common.config import ConfigError, field_path, located_errors, read_yaml

PluginName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]  # an entry point's name


class _Section(BaseModel):
    model_config = ConfigDict(extra="allow")  # the rest is the plugin's, validated by its own model

    enabled: bool = True


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plugins: dict[PluginName, _Section] = Field(default_factory=dict)


@dataclass(frozen=True)
class Deployment:
    sections: Mapping[str, Mapping[str, Any]]  # plugin name -> its options, as written
    enabled: tuple[str, ...]
    source: str  # the file, or what stood in for it, for error messages
    tree: yaml.Node | None = None

    @classmethod
    def load(cls, path: Path | str) -> Deployment:
        data, tree = read_yaml(path)
        try:
            document = _File.model_validate(data if data is not None else {})
        except ValidationError as exc:
            raise located_errors(path, exc, tree) from None
        return cls({name: section.model_extra or {} for name, section in document.plugins.items()},
                   tuple(name for name, section in document.plugins.items() if section.enabled), str(path), tree)

    @classmethod
    def of(cls, sections: Mapping[str, Mapping[str, Any]], source: str) -> Deployment:
        """A deployment without a file: every section enabled."""
        return cls(sections, tuple(sections), source)

    def config(self, plugin: AnalyticsPlugin[Config]) -> Config:
        """The plugin's section validated by its model; a :class:`ConfigError` names file, line and field."""
        if plugin.name not in self.sections:
            raise ConfigError(f"{self.source}: plugins.{plugin.name}: not configured")
        try:
            return plugin.config.model_validate(self.sections[plugin.name])
        except ValidationError as exc:
            if self.tree is None:  # no file, so no line: the value says which setting it came from
                raise ConfigError("\n".join(
                    f"{self.source}: plugins.{plugin.name}.{field_path(item['loc'])}={str(item['input'])!r}: {item['msg']}"
                    for item in exc.errors(include_url=False))) from None
            raise located_errors(self.source, exc, self.tree, ("plugins", plugin.name)) from None

