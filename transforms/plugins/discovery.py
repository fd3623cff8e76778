"""Finding analytics plugins: every installed package's entry points in :data:`~transforms.plugins.api.GROUP`.

Entry points are listed without importing anything, so a broken plugin costs only itself: it
fails when it is loaded (by ``analytics run NAME``, by its own DAG task, or when ``analytics
list`` shows it as broken), with one line naming the plugin, its entry point and its package.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from transforms.plugins.api import GROUP, AnalyticsPlugin


class PluginError(Exception):
    """A plugin that cannot be used: not installed, not importable, or not an :class:`AnalyticsPlugin`."""


def entry_points() -> dict[str, metadata.EntryPoint]:
    """Plugin name -> entry point, as installed (when two packages claim one name, :func:`find` refuses it)."""
    found: dict[str, metadata.EntryPoint] = {}
    for entry in metadata.entry_points(group=GROUP):
        found.setdefault(entry.name, entry)
    return dict(sorted(found.items()))


def where(entry: metadata.EntryPoint) -> str:
    package = f" of {entry.dist.name} {entry.dist.version}" if entry.dist is not None else ""
    return f"entry point '{entry.name} = {entry.value}'{package}"


def load(entry: metadata.EntryPoint) -> AnalyticsPlugin[Any]:
    """Import the plugin an entry point names; any failure is a :class:`PluginError` of one line."""
    try:
        plugin = entry.load()
    except Exception as exc:  # whatever a third party's import raises, it is that plugin's failure only
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "no message"
        raise PluginError(f"analytics plugin {entry.name!r} cannot be imported ({where(entry)}): "
                          f"{type(exc).__name__}: {reason}") from exc
    if not isinstance(plugin, AnalyticsPlugin):
        raise PluginError(f"analytics plugin {entry.name!r} ({where(entry)}) is a {type(plugin).__name__}, "
                          "not a transforms.plugins.AnalyticsPlugin")
    if plugin.name != entry.name:
        raise PluginError(f"analytics plugin {entry.name!r} ({where(entry)}) calls itself {plugin.name!r}: "
                          "the entry point's name and the plugin's must be the same")
    return plugin


def find(name: str, installed: dict[str, metadata.EntryPoint] | None = None) -> AnalyticsPlugin[Any]:
    """The installed plugin ``name``, loaded."""
    installed = entry_points() if installed is None else installed
    if name not in installed:
        known = ", ".join(installed) or "none"
        raise PluginError(f"no analytics plugin {name!r} is installed (entry point group {GROUP}; installed: {known}); "
                          "install its package, or after editing a pyproject.toml reinstall it (pip install -e .)")
    claims = sorted(metadata.entry_points(group=GROUP, name=name), key=lambda entry: entry.value)
    if len(claims) > 1:  # which one would run depends on the order of sys.path: refuse rather than guess
        raise PluginError(f"analytics plugin {name!r} is provided by {len(claims)} packages: "
                          f"{'; '.join(map(where, claims))}; uninstall all but one")
    return load(installed[name])
