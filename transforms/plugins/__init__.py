"""The analytics plugin API (docs/plugins.md): what a plugin declares, how it is found and configured.

A plugin package imports what it needs from here; the pipeline (DAG, CLI) finds plugins
through :mod:`transforms.plugins.discovery` and configures them with
:mod:`transforms.plugins.deployment`.
"""

from transforms.plugins.api import GROUP, AnalyticsPlugin, Outcome, PluginConfig, RunContext
from transforms.plugins.versions import write_version

__all__ = ["GROUP", "AnalyticsPlugin", "Outcome", "PluginConfig", "RunContext", "write_version"]
