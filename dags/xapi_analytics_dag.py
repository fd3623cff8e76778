"""Turn the statements lake into credit and behaviour sequences whenever the ingest DAG updates it.

Scheduled on the ``xapi_statements_lake`` Asset, so it runs after each ingest run that
published data, never on a clock of its own. ``apply_voids`` first rebuilds the void ledger
(voids can arrive before or after their targets, and some LRSs never apply them); then
``credit`` and ``sequences`` run side by side on the void-aware view. Both write new versioned
outputs and never edit earlier ones, so a re-run is safe. Each step is a function in
``xapi_ingest.app.steps``; ``xapi-pipeline credit`` and ``xapi-pipeline sequences`` run the
same code by hand.
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
    def credit() -> dict:
        return steps.run_credit(Settings.from_env())

    @task
    def sequences() -> dict:
        return steps.run_sequences(Settings.from_env())

    apply_voids() >> [credit(), sequences()]


xapi_analytics()
