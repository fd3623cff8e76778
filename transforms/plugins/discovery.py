"""Finding analytics plugins: every installed package's entry points in :data:`~transforms.plugins.api.GROUP`.

The loading and its one-line errors are shared with source kinds (:mod:`xapi_ingest.common.plugins`):
a broken plugin fails when it is loaded (by ``analytics run NAME``, by its own DAG task, or when
``analytics list`` shows it as broken), naming the plugin, its entry point and its package.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import metadata
from typing import Any

from transforms.plugins.api import GROUP, AnalyticsPlugin
from xapi_ingest.common import plugins
from xapi_ingest.common.plugins import PluginError

__all__ = ["PluginError", "entry_points", "find", "load"]

_WHAT = "analytics plugin"


def entry_points() -> dict[str, metadata.EntryPoint]:
    return plugins.entry_points(GROUP)


def load(entry: metadata.EntryPoint) -> AnalyticsPlugin[Any]:
    return plugins.load(entry, AnalyticsPlugin, _WHAT)


def find(name: str, installed: Mapping[str, metadata.EntryPoint] | None = None) -> AnalyticsPlugin[Any]:
    return plugins.find(GROUP, name, AnalyticsPlugin, _WHAT, installed)
