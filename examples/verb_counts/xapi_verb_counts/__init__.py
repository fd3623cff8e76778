"""verb_counts: how many (non-voided) statements each verb had per month or year, as Parquet.

The smallest useful analytics plugin: a typed option, a query over the analyst zone's
void-aware view, and a versioned output folder that a run with the same inputs leaves alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pyarrow.parquet as pq
from pydantic import Field

from transforms.plugins import AnalyticsPlugin, Outcome, PluginConfig, RunContext, write_version

_FORMATS = {"month": "%Y-%m", "year": "%Y"}


class VerbCountsConfig(PluginConfig):
    period: Literal["month", "year"] = Field("month", description="count per calendar month or year")


def run(context: RunContext, config: VerbCountsConfig) -> Outcome:
    def write(folder: Path) -> dict[str, Any]:
        with context.connect() as con:
            table = con.sql(
                f"SELECT verb_id, strftime(timestamp, '{_FORMATS[config.period]}') AS period, count(*) AS statements "
                "FROM effective_statements GROUP BY ALL ORDER BY ALL").to_arrow_table()
        pq.write_table(table, folder / "verb_counts.parquet")
        return {"rows": table.num_rows, "statements": sum(table.column("statements").to_pylist())}

    return write_version(config.out, context.inputs(config), write)


plugin = AnalyticsPlugin(name="verb_counts", version="0.1.0", config=VerbCountsConfig, reads="analyst", run=run,
                         description="statements per verb per month (or year), from the analyst zone")
