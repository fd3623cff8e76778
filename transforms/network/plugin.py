"""The learning network as an analytics plugin: the ``network`` entry point.

It reads the restricted zone, as credit does, because the facilitator of a statement is known
only by the IFI in ``context.instructor``, which the roster resolves; what it writes carries
institution ids and teacher keys only: the analyst zone's keyed pseudonym
(:attr:`RunContext.pseudonyms <transforms.plugins.api.RunContext.pseudonyms>`, made with the key
publishing uses), so an analyst can join a network edge to the analyst zone's ``teacher_key`` and
nobody can join it to a name.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import Field, FilePath

from transforms.plugins.api import AnalyticsPlugin, Outcome, PluginConfig, RunContext
from transforms.plugins.versions import write_version
from transforms.reporting.i18n import ReportLanguages
from xapi_ingest.common.config import MonthDay
from xapi_ingest.common.defaults import PSEUDONYM_KEY_ENV


class NetworkConfig(PluginConfig):
    roster: FilePath = Field(description="teacher roster (CSV): the one credit and the analyst zone use")
    academic_year_start: MonthDay = Field("09-01", description="MM-DD on which each academic year starts (as in the "
                                                              "credit policy's periods.academic_year_start)")
    reports: ReportLanguages = Field(ReportLanguages(), description="the language of each institution's page")


def run(context: RunContext, config: NetworkConfig) -> Outcome:
    from transforms.network.outputs import write_network  # DuckDB, pyarrow and matplotlib load when it runs
    from xapi_ingest.common.roster import load_roster
    from xapi_ingest.publish.teachers import RosterLookup

    pseudonymizer = context.pseudonyms
    if pseudonymizer is None:
        raise ValueError(f"network writes teacher keys: set {PSEUDONYM_KEY_ENV}, the analyst zone's pseudonym key")
    identities, memberships = load_roster(config.roster)
    inputs: dict[str, Any] = {**context.inputs(config), "pseudonym_key_id": pseudonymizer.key_id,
                              "roster_sha256": hashlib.sha256(Path(config.roster).read_bytes()).hexdigest()}
    outcome = write_version(config.out, inputs,
                            lambda folder: write_network(context, config, RosterLookup(identities, memberships),
                                                          memberships, pseudonymizer.teacher_key, folder))
    summary = outcome.summary
    verb = "wrote" if outcome.new_version else "unchanged:"
    line = (f"network {verb} v{outcome.version:04d}: {summary['facilitations']} facilitation statement(s), "
            f"{summary['institution_edges']} institution edge(s) over {summary['academic_years']} academic year(s) "
            f"in {outcome.output_dir}")
    skipped = summary["skipped_statements"]
    warnings = (f"{skipped} statement(s) name an instructor but the roster does not place the actor or the "
                "instructor in an institution on that day; they are left out",) if skipped else ()
    return replace(outcome, lines=(line,), warnings=warnings)


plugin = AnalyticsPlugin(
    name="network", version=metadata.version("xapi-pipeline"), config=NetworkConfig, reads="restricted", run=run,
    description="the cluster's learning network: who learns from whom across institutions, per academic year",
)
