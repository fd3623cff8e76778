"""Loading plugins named by entry points, with one-line errors that name the plugin and its package.

Entry points are listed without importing anything, so a broken plugin costs only itself: it
fails when it is loaded, with one line naming it, its entry point and the package that installed it.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import metadata
from typing import TypeVar

T = TypeVar("T")


class PluginError(Exception):
    """A plugin that cannot be used: not installed, not importable, or not of the expected type."""


def entry_points(group: str) -> dict[str, metadata.EntryPoint]:
    """Plugin name -> entry point, as installed (when two packages claim one name, :func:`find` refuses it)."""
    installed: dict[str, metadata.EntryPoint] = {}
    for entry in metadata.entry_points(group=group):
        installed.setdefault(entry.name, entry)
    return dict(sorted(installed.items()))


def where(entry: metadata.EntryPoint) -> str:
    package = f" of {entry.dist.name} {entry.dist.version}" if entry.dist is not None else ""
    return f"entry point '{entry.name} = {entry.value}'{package}"


def load(entry: metadata.EntryPoint, expected: type[T], what: str) -> T:
    """Import the plugin an entry point names; any failure is a :class:`PluginError` of one line.
    ``expected`` must have a ``name`` equal to the entry point's."""
    try:
        plugin = entry.load()
    except Exception as exc:  # whatever a third party's import raises, it is that plugin's failure only
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "no message"
        raise PluginError(f"{what} {entry.name!r} cannot be imported ({where(entry)}): "
                          f"{type(exc).__name__}: {reason}") from exc
    if not isinstance(plugin, expected):
        raise PluginError(f"{what} {entry.name!r} ({where(entry)}) is a {type(plugin).__name__}, "
                          f"not a {expected.__module__}.{expected.__qualname__}")
    name = getattr(plugin, "name", None)
    if name != entry.name:
        raise PluginError(f"{what} {entry.name!r} ({where(entry)}) calls itself {name!r}: "
                          "the entry point's name and the plugin's must be the same")
    return plugin


def find(group: str, name: str, expected: type[T], what: str,
         installed: Mapping[str, metadata.EntryPoint] | None = None) -> T:
    """The plugin ``name`` of ``group``, loaded (``installed``: the entry points already listed)."""
    installed = entry_points(group) if installed is None else installed
    if name not in installed:
        raise PluginError(f"no {what} {name!r} is installed (entry point group {group}; installed: "
                          f"{', '.join(installed) or 'none'}); install its package, or after editing a "
                          "pyproject.toml reinstall it (pip install -e .)")
    claims = sorted(metadata.entry_points(group=group, name=name), key=lambda claim: claim.value)
    if len(claims) > 1:  # which one would run depends on the order of sys.path: refuse rather than guess
        raise PluginError(f"{what} {name!r} is provided by {len(claims)} packages: "
                          f"{'; '.join(map(where, claims))}; uninstall all but one")
    return load(installed[name], expected, what)
