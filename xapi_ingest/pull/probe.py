"""Find out whether an LRS compares ``since`` with ``stored`` (the spec) or ``timestamp`` (Ralph).

The difference only shows on a statement whose ``timestamp`` is well before its ``stored``: ask
for that actor's statements in a window that holds the statement's ``stored`` but not its
``timestamp``. An LRS that filters on ``stored`` returns it; one that filters on ``timestamp``
does not. Until the lake holds such a statement the answer stays ``unknown`` and the probe is
repeated on later runs.
"""

from __future__ import annotations

import json
import logging

from xapi_ingest.lake.query import connect
from xapi_ingest.lake.store import Lake
from xapi_ingest.pull.client import LRSClient
from xapi_ingest.pull.watermark import SinceField
from xapi_ingest.xapi.timestamps import xapi_timestamp

log = logging.getLogger(__name__)

MIN_GAP_SECONDS = 2
MAX_PROBE_PAGES = 3


def probe_since_field(lake: Lake, source: str, client: LRSClient) -> SinceField:
    """``stored``, ``timestamp`` or ``unknown``; never raises, since a failed probe must not stop the pull."""
    try:
        return _probe(lake, source, client)
    except Exception as exc:  # the next run probes again
        log.warning("%s: could not probe how `since` is filtered: %s: %s", source, type(exc).__name__, exc)
        return "unknown"


def _probe(lake: Lake, source: str, client: LRSClient) -> SinceField:
    con = connect(lake, "restricted")
    row = con.execute(
        """
        SELECT statement_id, raw_json, timestamp + (stored - timestamp) / 2 AS middle, stored
        FROM statements
        WHERE source = ? AND stored - timestamp > to_seconds(?) AND voided_statement_id IS NULL
          -- a conformant LRS no longer returns a voided statement, which would read as "timestamp"
          AND statement_id NOT IN (SELECT voided_statement_id FROM statements WHERE voided_statement_id IS NOT NULL)
        ORDER BY stored - timestamp DESC, statement_id
        LIMIT 1
        """,
        [source, MIN_GAP_SECONDS],
    ).fetchone()
    if row is None:
        return "unknown"
    statement_id, raw_json, middle, stored = row
    actor = json.loads(raw_json)["actor"]
    page = client.query(middle, {"agent": json.dumps(actor, separators=(",", ":")), "until": xapi_timestamp(stored)})
    for _ in range(MAX_PROBE_PAGES):
        if any(json.loads(raw).get("id") == statement_id for raw in page.statements):
            return "stored"
        if not page.more:
            return "timestamp"
        page = client.follow(page.more)
    return "unknown"
