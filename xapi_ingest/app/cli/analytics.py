"""``xapi-pipeline analytics list|run``: the analytics plugins by hand, through the code the DAG's tasks run."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from xapi_ingest.common.exit_codes import ExitCode
from xapi_ingest.lake.location import add_lake_argument

if TYPE_CHECKING:
    from transforms.plugins.deployment import Deployment
    from xapi_ingest.app.settings import Settings

_CONFIG_HELP = "analytics.yaml: the plugins enabled here and their options (default: XAPI_ANALYTICS; without that " \
               "file, credit and sequences from XAPI_CREDIT_*, XAPI_SEQUENCES_SCHEME and XAPI_REPORTS)"


def add_analytics_parsers(commands: argparse._SubParsersAction) -> None:
    analytics = commands.add_parser(
        "analytics", help="list and run analytics plugins (credit, sequences, installed third-party ones)",
        description="Analytics plugins are found through the entry point group xapi_pipeline.analytics and "
                    "enabled per deployment in analytics.yaml (docs/plugins.md). The analytics DAG runs one task "
                    "per enabled plugin; these commands run the same code by hand.",
    )
    actions = analytics.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="every installed plugin: name, version, enabled?, zone, description",
                                 description="List the installed plugins and those the configuration names. Exit 1 "
                                             "when an enabled plugin is missing or cannot be imported.")
    listing.add_argument("--config", type=Path, metavar="FILE", help=_CONFIG_HELP)
    run = actions.add_parser("run", help="run one plugin on the lake",
                             description="Validate the plugin's options, then run it on the lake; a run that "
                                         "changes anything writes a new version of its outputs, an unchanged run "
                                         "writes nothing.")
    run.add_argument("name", metavar="NAME", help="plugin name, as `analytics list` shows it")
    run.add_argument("--config", type=Path, metavar="FILE", help=_CONFIG_HELP)
    add_lake_argument(run)
    run.add_argument("--format", choices=("text", "json"), default="text", help="json: the outcome as one JSON object")


def _deployment(args: argparse.Namespace, settings: Settings) -> Deployment:
    from transforms.plugins.deployment import Deployment
    from xapi_ingest.app.steps import analytics_deployment

    return Deployment.load(args.config) if args.config else analytics_deployment(settings)


def cmd_analytics(args: argparse.Namespace) -> int:
    from transforms.plugins.discovery import PluginError
    from xapi_ingest.app.settings import Settings
    from xapi_ingest.common.config import ConfigError

    try:
        settings: Settings = getattr(args, "settings", None) or Settings.from_env()
        deployment = _deployment(args, settings)
        return _list(deployment) if args.action == "list" else _run(args, deployment, settings)
    except (PluginError, ConfigError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.UNUSABLE


def _list(deployment: Deployment) -> int:
    from transforms.plugins.discovery import PluginError, entry_points, load

    installed = entry_points()
    rows, broken = [], False
    for name in sorted({*installed, *deployment.sections}):
        enabled = "yes" if name in deployment.enabled else "no"
        if name not in installed:
            rows.append((name, "-", enabled, "-", "NOT INSTALLED (no entry point in group xapi_pipeline.analytics)"))
            broken |= enabled == "yes"
            continue
        try:
            plugin = load(installed[name])
        except PluginError as exc:
            rows.append((name, "-", enabled, "-", f"BROKEN: {exc}"))
            broken |= enabled == "yes"
            continue
        rows.append((name, plugin.version, enabled, plugin.reads, plugin.description))
    widths = [max(len(row[column]) for row in [("NAME", "VERSION", "ENABLED", "ZONE", ""), *rows]) for column in range(4)]
    for row in [("NAME", "VERSION", "ENABLED", "ZONE", "DESCRIPTION"), *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[4])
    return ExitCode.FINDINGS if broken else ExitCode.OK


def _run(args: argparse.Namespace, deployment: Deployment, settings: Settings) -> int:
    from xapi_ingest.app.steps import plugin_pseudonyms, run_plugin
    from xapi_ingest.publish.privacy import MissingKeyError

    try:
        outcome = run_plugin(args.lake, deployment, args.name, plugin_pseudonyms(settings))
    except (ValueError, MissingKeyError) as exc:  # data the plugin's configuration forbids (a scheme's structural zeros, ...)
        print(f"error: analytics plugin {args.name!r}: {exc}", file=sys.stderr)
        return ExitCode.UNUSABLE
    if args.format == "json":
        print(json.dumps(outcome.as_dict(), default=str))
    else:
        state = "new version" if outcome.new_version else "unchanged, nothing written"
        version = f"v{outcome.version:04d} " if outcome.version is not None else ""
        print("\n".join([f"{args.name}: {version}{state}: {outcome.output_dir}", *outcome.lines]))
    for warning in outcome.warnings:
        print(warning, file=sys.stderr)
    return ExitCode.OK
