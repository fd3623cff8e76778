"""``xapi-pipeline sources``: the installed source kinds, and each configured source with its kind."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from xapi_ingest.common.exit_codes import ExitCode


def add_sources_parser(commands: argparse._SubParsersAction) -> None:
    sources = commands.add_parser(
        "sources", help="list the installed source kinds and the configured sources",
        description="Source kinds are found through the entry point group xapi_pipeline.sources (lrs and files "
                    "ship with the project; docs/plugins.md). With a sources.yaml, validate it and list each source "
                    "with its kind and where it reads from. Exit 2 when the file is invalid, 1 when a kind is broken.",
    )
    sources.add_argument("--config", type=Path, metavar="FILE",
                         help="sources.yaml (default: XAPI_SOURCES when set, else only the kinds are listed)")


def cmd_sources(args: argparse.Namespace) -> int:
    from xapi_ingest.app.settings import Settings
    from xapi_ingest.common.config import ConfigError
    from xapi_ingest.common.plugins import PluginError
    from xapi_ingest.pull.kinds import find_kind, installed
    from xapi_ingest.pull.sources import load_sources

    broken = False
    print("kinds:")
    for name in installed():
        try:
            print(f"  {name:<12} {find_kind(name).description}")
        except PluginError as exc:
            print(f"  {name:<12} BROKEN: {exc}")
            broken = True
    try:
        settings = Settings.from_env()
        config = args.config or (settings.sources if "sources" in settings.model_fields_set else None)
        if config is not None:
            sources = load_sources(config).sources
            print(f"sources ({config}):")
            width = max(len(source.id) for source in sources)
            for source in sources:
                print(f"  {source.id:<{width}} {source.kind:<12} {source.where()}")
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.UNUSABLE
    return ExitCode.FINDINGS if broken else ExitCode.OK
