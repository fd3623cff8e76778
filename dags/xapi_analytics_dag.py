"""Run every enabled analytics plugin whenever the ingest DAG updates the statements lake.

Scheduled on the ``xapi_statements_lake`` Asset, so it runs after each ingest run that
published data, never on a clock of its own. ``apply_voids`` first rebuilds the void ledger
(voids can arrive before or after their targets, and some LRSs never apply them); then one
task per plugin enabled in ``XAPI_ANALYTICS`` (credit and sequences when that file does not
exist) runs on the void-aware view. The tasks are generated when the file is parsed, so each
is named after its plugin, fails alone, and updates an Asset of its own
(``xapi_analytics_<name>``) that downstream DAGs can be scheduled on; the event's extra says
which output version the run wrote. Plugins write new versioned outputs and never edit earlier
ones, so a re-run is safe. ``xapi-pipeline analytics run NAME`` runs the same code by hand.
"""

from __future__ import annotations

from airflow.sdk import Asset, dag, task

from xapi_ingest.app import steps
from xapi_ingest.app.settings import Settings

SETTINGS = Settings.from_env()


@dag(
    schedule=[Asset(steps.STATEMENTS_ASSET)],
    **steps.dag_defaults(SETTINGS),
    tags=["xapi", "analytics"],
    doc_md=__doc__,
)
def xapi_analytics():
    @task
    def apply_voids() -> dict:
        return steps.apply_lake_voids(Settings.from_env())

    @task
    def analysis(name: str, *, outlet_events=None) -> dict:
        outcome = steps.run_analytics(Settings.from_env(), name)
        event = outlet_events[Asset(steps.analytics_asset(name))]
        event.extra = {key: outcome[key] for key in ("version", "new_version", "output_dir")}
        return outcome

    voids = apply_voids()
    for name in steps.enabled_analytics(SETTINGS):
        voids >> analysis.override(task_id=name, outlets=[Asset(steps.analytics_asset(name))])(name)


xapi_analytics()
