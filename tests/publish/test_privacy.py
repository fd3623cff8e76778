"""The analyst zone: no raw JSON or names, stable keyed pseudonyms, no mixing across keys."""

from __future__ import annotations

import hashlib
import json

import pyarrow.parquet as pq
import pytest

from xapi_ingest.lake.holds import BatchHolds, BatchInventory
from xapi_ingest.lake.ingest import Ingestor
from xapi_ingest.lake.ledger import ConcurrentChange
from xapi_ingest.lake.query import connect
from xapi_ingest.lake.store import Lake
from xapi_ingest.publish.privacy import Pseudonymizer, publish
from xapi_ingest.xapi.reader import read_records

KEY = b"test-key-0123456789abcdef"


def _ingest(lake, tmp_path, source, statements):
    path = tmp_path / f"{source}.ndjson"
    path.write_text("".join(json.dumps(s) + "\n" for s in statements))
    Ingestor(lake, source).ingest((str(path), r) for r in read_records(path))


def test_analyst_zone_has_pseudonyms_only(tmp_path, statement):
    lake = Lake(tmp_path / "lake")
    email = statement["actor"]["mbox"]
    # The same teacher on another platform, known only by the SHA-1 of the mailto IRI.
    other = {**statement, "id": "0c0a3b8e-4c2f-4a59-9d1e-6e1f7b8c9d0a",
             "actor": {"mbox_sha1sum": hashlib.sha1(email.encode()).hexdigest()},
             "context": {"instructor": {"mbox": "mailto:mentor@school.example.kz", "name": "Mentor"}}}
    agent_object = {**statement, "id": "1d1b4c9f-5d3a-4b6a-8e2f-7f2a8c9d0e1b",
                    "object": {"objectType": "Agent", "mbox": "mailto:colleague@school.example.kz"}}
    _ingest(lake, tmp_path, "moodle-a", [statement, agent_object])
    _ingest(lake, tmp_path, "edx-b", [other])
    assert len(publish(lake, Pseudonymizer(KEY), include_unchecked=True)) == 2
    with connect(lake, "analyst") as con:
        columns = [row[0] for row in con.execute("DESCRIBE statements").fetchall()]
        rows = con.execute("SELECT actor_ifi, context_instructor_ifi, object_type, object_id FROM statements").fetchall()
    assert "raw_json" not in columns and "actor_name" not in columns
    actors = {row[0] for row in rows}
    assert len(actors) == 1 and next(iter(actors)).startswith("p_")  # one person, one pseudonym
    # every file of the analyst table, data (decoded) and metadata (manifests hold column bounds) alike
    files = [p for p in (lake.layout.warehouse / "xapi" / "analyst_statements").rglob("*") if p.is_file()]
    text = "".join(str(pq.read_table(p).to_pylist()) if p.suffix == ".parquet" else p.read_bytes().decode("latin-1")
                   for p in files)
    assert any(p.suffix == ".parquet" for p in files) and any(p.suffix == ".avro" for p in files)
    for secret in ("aigerim", "mentor@", "colleague@", "Aigerim", "Mentor"):
        assert secret not in text
    agent_row = next(row for row in rows if row[2] == "Agent")
    assert agent_row[3].startswith("p_")
    assert any(row[3] == statement["object"]["id"] for row in rows)  # activity ids stay readable


def test_publish_is_idempotent_and_refuses_mixed_keys(tmp_path, statement):
    lake = Lake(tmp_path / "lake")
    _ingest(lake, tmp_path, "moodle-a", [statement])
    assert len(publish(lake, Pseudonymizer(KEY), include_unchecked=True)) == 1
    assert publish(lake, Pseudonymizer(KEY), include_unchecked=True) == []
    rotated = Pseudonymizer(b"rotated-key-0123456789abcdef")
    with pytest.raises(ValueError, match="another key"):
        publish(lake, rotated, include_unchecked=True)
    assert len(publish(lake, rotated, rebuild=True, include_unchecked=True)) == 1
    table = lake.dataset("analyst_statements").to_table()
    assert table.num_rows == 1
    assert table["actor_ifi"][0].as_py() == rotated.pseudonym("mbox:" + statement["actor"]["mbox"])
    assert table["actor_ifi"][0].as_py() != Pseudonymizer(KEY).pseudonym("mbox:" + statement["actor"]["mbox"])


def test_a_batch_is_claimed_once_and_never_while_held(tmp_path, statement):
    """What keeps two publishers (or a publisher and the gate) from both acting on one batch: the mark
    is taken in the commit that adds the rows, only for batches unpublished and not held right then."""
    lake = Lake(tmp_path / "lake")
    _ingest(lake, tmp_path, "moodle-a", [statement])
    (batch,) = BatchInventory(lake).all()
    rows = Pseudonymizer(KEY).table(lake.read_batches("statements", [batch.batch_id]))
    key = Pseudonymizer(KEY).key_id

    BatchHolds(lake).hold(batch.batch_id.rsplit("-", 1)[0], {"why": "the gate held the ingest run meanwhile"})
    with pytest.raises(ConcurrentChange, match="1 of 1"):
        lake.append("analyst_statements", rows, [BatchInventory.claim_published([batch.batch_id], key, checked_only=False)])
    assert lake.dataset("analyst_statements").count_rows() == 0  # the rows rolled back with the refused mark

    BatchHolds(lake).release(batch.batch_id.rsplit("-", 1)[0])
    lake.append("analyst_statements", rows, [BatchInventory.claim_published([batch.batch_id], key, checked_only=False)])
    with pytest.raises(ConcurrentChange):  # a second publisher that saw the batch unpublished before
        lake.append("analyst_statements", rows, [BatchInventory.claim_published([batch.batch_id], key, checked_only=False)])
    assert lake.dataset("analyst_statements").count_rows() == 1
    assert publish(lake, Pseudonymizer(KEY), include_unchecked=True) == []
