"""Does the lake agree with its ledger? The invariants the commit protocol keeps, counted.

Every statements commit registers its ids and its batch in the same transaction, so the table
and the ledger can only disagree if something wrote the tables around this package (another
Iceberg writer, a hand-made fix). ``xapi-pipeline verify`` counts both sides so an operator
finds that out before an analysis does.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
from sqlalchemy import func, select

from xapi_ingest.lake import ledger
from xapi_ingest.lake.schema import ANALYST_TABLE
from xapi_ingest.lake.store import Lake


@dataclass(frozen=True)
class Agreement:
    what: str
    table: int  # counted in the Iceberg table
    ledger: int  # counted in the catalog database

    @property
    def holds(self) -> bool:
        return self.table == self.ledger


def audit(lake: Lake) -> list[Agreement]:
    snapshots = lake.snapshot_ids()
    with duckdb.connect(config={"temp_directory": ""}) as con:
        con.register("statements", lake.dataset("statements", snapshots["statements"]))
        rows, distinct = con.execute("SELECT count(*), count(DISTINCT statement_id) FROM statements").fetchall()[0]
    batches = ledger.BATCHES
    with lake.engine.connect() as connection:
        registered = connection.execute(select(func.count()).select_from(ledger.STATEMENT_IDS)).scalar() or 0
        keys = connection.execute(select(func.count()).select_from(ledger.QUARANTINE_KEYS)).scalar() or 0
        inventory = connection.execute(select(func.coalesce(func.sum(batches.c.rows), 0))).scalar() or 0
        published = connection.execute(select(func.coalesce(func.sum(batches.c.rows), 0))
                                       .where(batches.c.published_key.is_not(None))).scalar() or 0
    return [
        Agreement("statement rows / registered ids", rows, registered),
        Agreement("distinct statement ids / registered ids", distinct, registered),
        Agreement("statement rows / rows of the batch inventory", rows, inventory),
        Agreement("quarantine rows / quarantine keys", lake.dataset("quarantine", snapshots["quarantine"]).count_rows(),
                  keys),
        Agreement("analyst rows / rows of published batches",
                  lake.dataset(ANALYST_TABLE, snapshots[ANALYST_TABLE]).count_rows(), published),
    ]
