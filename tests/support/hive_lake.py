"""A lake folder in the hive layout of the lake before Apache Iceberg, for the migration tests.

The old writer is gone; this writes what its files looked like, directly with pyarrow: part
files per source and date (``coalesce(stored, ingested_at)`` as a UTC date), the quarantine,
pseudonymized analyst twins carrying their key id in the schema metadata, the void ledger and
the gate's and puller's JSON records.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from xapi_ingest.lake.normalize import StatementColumns
from xapi_ingest.lake.schema import QUARANTINE, VOID_LEDGER_COLUMNS
from xapi_ingest.publish.privacy import Pseudonymizer
from xapi_ingest.pull.watermark import Cursor, PullState
from xapi_ingest.xapi.samples import realistic_statements
from xapi_ingest.xapi.vocabulary import VOIDED_VERB

KEY = b"hive-layout-pseudonym-key-0123456789"


def statement_rows(statements: list[dict[str, Any]], batch_id: str, ingested_at: datetime) -> pa.Table:
    columns = StatementColumns()
    for statement in statements:
        columns.append(statement, json.dumps(statement), [], batch_id, ingested_at)
    return columns.to_table()


def write_partitioned(root: Path, zone: str, date_column: str, moment: str, source: str, batch_id: str,
                      rows: pa.Table) -> list[Path]:
    """One part file per UTC date of ``moment`` (``ingested_at`` where null), as the old writer split a batch."""
    days = pc.strftime(pc.coalesce(rows[moment], rows["ingested_at"]), format="%Y-%m-%d")
    paths = []
    for day in sorted(set(days.to_pylist())):
        path = root / zone / f"source={source}" / f"{date_column}={day}" / f"part-{batch_id}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(rows.filter(pc.equal(days, day)), path, compression="zstd")
        paths.append(path)
    return paths


def write_twin(root: Path, restricted: Path, key: bytes = KEY) -> Path:
    """The analyst twin of a restricted part file: same relative path, key id in the schema metadata."""
    pseudonymizer = Pseudonymizer(key)
    table = pseudonymizer.table(pq.read_table(restricted, partitioning=None))
    table = table.replace_schema_metadata({b"pseudonym_key_id": pseudonymizer.key_id.encode()})
    twin = root / "analyst" / restricted.relative_to(root)
    twin.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, twin)
    return twin


def quarantine_rows(source: str, batch_id: str, ingested_at: datetime, count: int) -> pa.Table:
    return pa.Table.from_pylist([{
        "quarantine_key": f"{source}-{batch_id}-{n}".ljust(64, "0")[:64], "statement_id": None,
        "origin": f"/data/{source}.ndjson", "record_index": n, "line": n + 1, "raw_json": '{"truncated": ',
        "errors": [{"path": "$", "rule": "json.malformed", "message": "bad JSON"}], "rules": ["json.malformed"],
        "batch_id": batch_id, "ingested_at": ingested_at,
    } for n in range(count)], schema=QUARANTINE)


def write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(msgspec.json.format(msgspec.json.encode(value)))


@dataclass
class OldLakeWorld:
    """What the built old lake holds, for the assertions."""

    root: Path
    ids: set[str] = field(default_factory=set)  # distinct statement ids of the restricted zone
    rows_by_batch: dict[str, int] = field(default_factory=dict)  # restricted rows per batch as written
    quarantine_rows: int = 0
    analyst_rows: int = 0  # of batches published whole
    conflict_id: str = ""
    voided_id: str = ""
    states: dict[str, PullState] = field(default_factory=dict)
    held: str = ""
    checked: set[str] = field(default_factory=set)  # batches the gate checked whole
    checked_in_part: str = ""
    published: set[str] = field(default_factory=set)  # batches published whole
    published_in_part: str = ""


MOODLE_1, MOODLE_2 = "20261001T090000-aaaa0001-00000", "20261001T090000-aaaa0001-00001"
EDX_1, EDX_2 = "20261002T100000-bbbb0002-00000", "20261003T110000-cccc0003-00000"


def _stored(statements: list[dict[str, Any]], days: list[int]) -> list[dict[str, Any]]:
    for n, statement in enumerate(statements):
        statement["stored"] = f"2026-10-{days[n % len(days)]:02d}T12:{n % 60:02d}:00.000Z"
    return statements


def build_old_lake(root: Path) -> OldLakeWorld:
    """Two sources, four batches over three days (two span two dates), a repeat and a conflicting copy,
    quarantine, a hold, check records (one in part), analyst twins (one batch in part), pull state, voids."""
    world = OldLakeWorld(root)
    sample = list(realistic_statements(100))
    repeat = dict(sample[0])
    conflict = {**sample[1], "verb": {"id": "http://adlnet.gov/expapi/verbs/failed", "display": {"en": "failed"}}}
    world.conflict_id = sample[1]["id"]
    target = sample[2]
    void = {"id": "0f0f0f0f-0000-4000-8000-000000000001", "actor": target["actor"],
            "verb": {"id": VOIDED_VERB, "display": {"en-US": "voided"}},
            "object": {"objectType": "StatementRef", "id": target["id"]}, "stored": "2026-10-03T13:00:00.000Z"}
    world.voided_id = target["id"]
    batches = {
        MOODLE_1: ("moodle-a", _stored(sample[:40], [1, 2]), datetime(2026, 10, 1, 9, tzinfo=UTC)),
        MOODLE_2: ("moodle-a", _stored(sample[40:60], [2]), datetime(2026, 10, 1, 9, 5, tzinfo=UTC)),
        EDX_1: ("edx-b", _stored([*sample[60:90], repeat, conflict], [2, 3]), datetime(2026, 10, 2, 10, tzinfo=UTC)),
        EDX_2: ("edx-b", [*_stored(sample[90:100], [3]), void], datetime(2026, 10, 3, 11, tzinfo=UTC)),
    }
    files: dict[str, list[Path]] = {}
    for batch_id, (source, statements, ingested_at) in batches.items():
        rows = statement_rows(statements, batch_id, ingested_at)
        files[batch_id] = write_partitioned(root, "statements", "stored_date", "stored", source, batch_id, rows)
        world.rows_by_batch[batch_id] = rows.num_rows
        world.ids |= set(rows["statement_id"].to_pylist())
    assert [len(files[b]) for b in batches] == [2, 1, 2, 1]

    for source, batch_id, count in (("moodle-a", MOODLE_1, 3), ("edx-b", EDX_1, 2)):
        ingested_at = batches[batch_id][2]
        write_partitioned(root, "quarantine", "ingest_date", "ingested_at", source, batch_id,
                          quarantine_rows(source, batch_id, ingested_at, count))
        world.quarantine_rows += count

    for batch_id in (MOODLE_1, MOODLE_2):
        for path in files[batch_id]:
            world.analyst_rows += pq.read_metadata(write_twin(root, path)).num_rows
    world.published = {MOODLE_1, MOODLE_2}
    write_twin(root, files[EDX_1][0])  # the batch's second file has no twin: published in part
    world.published_in_part = EDX_1

    checked_at = "2026-10-03T12:00:00+00:00"
    for batch_id, paths in ((MOODLE_1, files[MOODLE_1]), (MOODLE_2, files[MOODLE_2]), (EDX_1, files[EDX_1][:1])):
        write_json(root / "_quality" / "checked" / f"{batch_id}.json", {
            "batch_id": batch_id, "checked_at": checked_at,
            "files": [path.relative_to(root / "statements").as_posix() for path in paths]})
    world.checked, world.checked_in_part = {MOODLE_1, MOODLE_2}, EDX_1
    world.held = "20261003T110000-cccc0003"  # an ingest run id: holds its sub-batches
    write_json(root / "_quality" / "held" / f"{world.held}.json",
               {"batch_id": world.held, "failed": ["verb_id_is_iri"], "checked_at": checked_at})

    world.states = {
        "moodle-a": PullState("moodle-a", stored_watermark=datetime(2026, 10, 2, 12, 59, tzinfo=UTC),
                              since_field="stored", sends_consistent_through=True,
                              updated_at=datetime(2026, 10, 3, 9, tzinfo=UTC)),
        "edx-b": PullState("edx-b", stored_watermark=datetime(2026, 10, 3, 12, tzinfo=UTC), since_field="stored",
                           cursor=Cursor("/xAPI/statements?more=abc", datetime(2026, 10, 3, tzinfo=UTC),
                                         datetime(2026, 10, 3, 12, tzinfo=UTC), None)),
    }
    for source, state in world.states.items():
        write_json(root / "_state" / "pull" / f"{source}.json", state)

    void_schema = pa.schema([(name, dtype) for name, dtype, _ in VOID_LEDGER_COLUMNS])
    (root / "derived" / "voids").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist([{
        "target_id": target["id"], "voiding_statement_id": void["id"],
        "voided_at": datetime(2026, 10, 3, 13, tzinfo=UTC), "target_in_lake": True, "target_is_a_void": False,
    }], schema=void_schema), root / "derived" / "voids" / "voids.parquet")
    (root / "_quality" / "reports").mkdir(parents=True)
    (root / "_quality" / "reports" / "run.json").write_text("{}")
    (root / ".write.lock").touch()
    return world
