"""Pull every configured source into the statements lake, check the new batches, publish them.

One mapped ``pull`` task per source in ``sources.yaml`` ($XAPI_SOURCES), whatever its kind (an
LRS, a file drop, an installed source plugin): a failing source fails and retries only its own
task. ``quality`` runs when all pulls are done (whatever their outcome), checks the batches
that landed against ``expectations/statements.json``, publishes the passing ones to the
pseudonymized analyst zone and updates the lake Asset, which schedules the analytics DAG.
``all_sources_pulled`` then fails the run if any source failed, so the run's colour tells the
truth while the good sources' data still flows.

Scheduling: hourly by default ($XAPI_INGEST_SCHEDULE, a cron or preset). No catch-up: each
pull starts from its source's saved state (an LRS's watermark, a file drop's files taken), so
one run takes whatever is new, however long the scheduler was down; a backfill run is harmless
(writes are upserts) but adds nothing. ``max_active_runs=1`` keeps two runs from pulling the
same source at once. A pull stops at $XAPI_PULL_MAX_MINUTES and leaves the backlog to the next
run. Failed pulls are retried $XAPI_TASK_RETRIES times (default 3) with exponential back-off.
All logic is in ``xapi_ingest.app.steps``; ``xapi-pipeline pull`` runs the same code by hand.
"""

from __future__ import annotations

from airflow.sdk import Asset, TriggerRule, dag, task

from xapi_ingest.app import steps
from xapi_ingest.app.settings import Settings

SETTINGS = Settings.from_env()

STATEMENTS_LAKE = Asset(steps.STATEMENTS_ASSET)


@dag(
    schedule=SETTINGS.ingest_schedule,
    **steps.dag_defaults(SETTINGS),
    tags=["xapi", "ingest"],
    doc_md=__doc__,
)
def xapi_ingest():
    @task
    def sources() -> list[str]:
        return steps.list_sources(Settings.from_env())

    @task(max_active_tis_per_dagrun=4)
    def pull(source_id: str) -> dict:
        return steps.pull_one(Settings.from_env(), source_id)

    @task(trigger_rule=TriggerRule.ALL_DONE, outlets=[STATEMENTS_LAKE], retries=0)
    def quality(summaries: list[dict]) -> dict:
        return steps.check_and_publish(Settings.from_env(), list(summaries))

    @task(trigger_rule=TriggerRule.ALL_DONE, retries=0)
    def all_sources_pulled(source_ids: list[str], summaries: list[dict]) -> None:
        steps.require_all_pulled(source_ids, list(summaries))

    source_ids = sources()
    summaries = pull.expand(source_id=source_ids)
    quality(summaries)
    all_sources_pulled(source_ids, summaries)


xapi_ingest()
