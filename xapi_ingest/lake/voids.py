"""The void ledger: which statements are voided, by which voiding statement, and whether the target is here.

Ralph and older Learning Lockers return voided statements, and a conformant LRS may already
have handed us a statement before its void arrived, so voids are applied in the lake rather
than trusted to the LRS (``xapi-rules.md`` §4.6). Statements stay immutable: the ledger is a
separate table, rebuilt from scratch on each run (a void can arrive before its target), and the
``effective_statements`` view in :mod:`xapi_ingest.lake.query` subtracts it.
"""

from __future__ import annotations

from dataclasses import dataclass

from xapi_ingest.lake.query import connect
from xapi_ingest.lake.store import Lake
from xapi_ingest.xapi.vocabulary import VOIDED_VERB


@dataclass(frozen=True)
class VoidSummary:
    voiding_statements: int
    voided_in_lake: int
    targets_not_yet_seen: int
    table: str


def apply_voids(lake: Lake) -> VoidSummary:
    """Rebuild the void ledger from every voiding statement in the lake (idempotent)."""
    con = connect(lake, "restricted")
    ledger = con.sql(
        """
        WITH voids AS (
            SELECT voided_statement_id AS target_id, statement_id AS voiding_statement_id, stored AS voided_at,
                   row_number() OVER (PARTITION BY voided_statement_id ORDER BY stored, statement_id) AS nth
            FROM statements
            WHERE verb_id = ? AND voided_statement_id IS NOT NULL
        )
        SELECT v.target_id, v.voiding_statement_id, v.voided_at,
               t.statement_id IS NOT NULL AS target_in_lake,
               -- a voiding statement cannot itself be voided (xAPI Data 2.3.2)
               coalesce(t.verb_id = ?, false) AS target_is_a_void
        FROM voids v LEFT JOIN statements t ON t.statement_id = v.target_id
        WHERE v.nth = 1
        ORDER BY v.target_id
        """,
        params=[VOIDED_VERB, VOIDED_VERB],
    ).to_arrow_table()
    lake.replace("void_ledger", ledger)
    in_lake = sum(ledger["target_in_lake"].to_pylist())
    return VoidSummary(ledger.num_rows, in_lake, ledger.num_rows - in_lake, "void_ledger")
