"""Keep the lake fast and its storage bounded: once a day, compact, expire old snapshots, clean up.

Every ingest commit adds small files; ``compact`` rewrites each partition's small files into
files of about 128 MiB, expires snapshots older than the retention (7 days of time travel;
snapshots tagged by credit versions are kept) and deletes files no snapshot needs once they are
a day old. It is safe beside running ingests and queries (see ``xapi_ingest.lake.maintenance``),
so it has no schedule ties to the other DAGs. ``xapi-pipeline compact`` runs the same code by hand.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from xapi_ingest.app import steps
from xapi_ingest.app.settings import Settings

SETTINGS = Settings.from_env()


@dag(schedule="@daily", **steps.dag_defaults(SETTINGS), tags=["xapi", "maintenance"], doc_md=__doc__)
def xapi_maintenance():
    @task
    def compact() -> list[dict]:
        return steps.compact_lake(Settings.from_env())

    compact()


xapi_maintenance()
