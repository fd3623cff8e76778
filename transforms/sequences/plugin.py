"""Behaviour sequences as an analytics plugin: the ``sequences`` entry point, a thin adapter over :func:`run_sequences`."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from pydantic import Field, FilePath

from transforms.plugins.api import AnalyticsPlugin, Outcome, PluginConfig, RunContext
from transforms.reporting.i18n import Language


class SequencesConfig(PluginConfig):
    scheme: FilePath = Field(description="behaviour coding scheme (YAML)")
    memory_limit: str | None = Field(None, description="DuckDB's memory limit, past which sorting spills to disk "
                                                       "(default: run_sequences' own)")
    language: Language | None = Field(None, description="kk, ru or en for the cluster report (default: the "
                                                        "scheme's reports.default_language)")


def run(context: RunContext, config: SequencesConfig) -> Outcome:
    from transforms.sequences.run import run_sequences

    summary = run_sequences(context.lake, config.scheme, config.out, zone=context.zone, language=config.language,
                            **({} if config.memory_limit is None else {"memory_limit": config.memory_limit}))
    document = summary.as_dict()
    version = document.get("version")  # versioned runs say which; an unversioned one rewrote OUT
    return Outcome(Path(summary.out_dir), version if isinstance(version, int) else None,
                   bool(document.get("new_version", True)), document, (summary.describe(),))


plugin = AnalyticsPlugin(
    name="sequences", version=metadata.version("xapi-pipeline"), config=SequencesConfig, reads="analyst", run=run,
    description="lag-sequential analysis of coded behaviour: transition tables, diagrams, clusters, report",
)
