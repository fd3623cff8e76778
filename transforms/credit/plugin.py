"""Credit as an analytics plugin: the ``credit`` entry point, a thin adapter over :func:`run_credit`."""

from __future__ import annotations

from dataclasses import asdict
from importlib import metadata

from pydantic import Field, FilePath

from transforms.plugins.api import AnalyticsPlugin, Outcome, PluginConfig, RunContext


class CreditConfig(PluginConfig):
    policy: FilePath = Field(description="credit policy (YAML)")
    registry: FilePath = Field(description="resource registry (CSV)")
    roster: FilePath = Field(description="teacher roster (CSV)")
    statements_of_participation: bool = Field(True, description="write each teacher's statement of participation")


def run(context: RunContext, config: CreditConfig) -> Outcome:
    from transforms.credit.run import run_credit  # pandas and the reports load when credit runs, not when listed

    summary = run_credit(context.lake, config.policy, config.registry, config.roster, config.out,
                         statements_of_participation=config.statements_of_participation)
    return Outcome(summary.output_dir, summary.version, summary.new_version, asdict(summary),
                   tuple(summary.lines()), tuple(summary.warnings()))


plugin = AnalyticsPlugin(
    name="credit", version=metadata.version("xapi-pipeline"), config=CreditConfig, reads="restricted", run=run,
    description="informal-learning credit: ledger, teacher and institution summaries, continuity, reports",
)
