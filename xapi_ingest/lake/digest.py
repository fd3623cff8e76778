"""Content digests: what tells a repeated statement id apart as a duplicate or a conflict.

Kept apart from the store so that ingest worker processes, which judge statements and never
write, can compute them without importing the storage stack: the digest costs a decode and an
encode of every statement, a large share of the single writer's time if it were done there.
"""

from __future__ import annotations

import hashlib

import msgspec
import pyarrow as pa

from xapi_ingest.xapi.vocabulary import LRS_ASSIGNED

# A column of a batch table on its way to the writer, never persisted (the lake's schema drops it).
DIGEST = "content_sha256"


def content_digest(raw: str) -> str:
    """What must match for a repeat to be a duplicate: not what an LRS assigns on storing, and
    not the letter case of the id (UUIDs compare case-insensitively), nor the order of keys."""
    value = msgspec.json.decode(raw)
    if type(value) is dict:
        for key in LRS_ASSIGNED:
            value.pop(key, None)
        if type(value.get("id")) is str:
            value["id"] = value["id"].lower()
    return hashlib.sha256(msgspec.json.encode(value, order="sorted")).hexdigest()


def with_digests(rows: pa.Table) -> pa.Table:
    """``rows`` with the :data:`DIGEST` of each row's ``raw_json``, computed where the rows were judged."""
    digests = [content_digest(raw) for raw in rows["raw_json"].to_pylist()]
    return rows.append_column(DIGEST, pa.array(digests, pa.string()))


def digests(rows: pa.Table) -> list[str]:
    """Each row's digest: the one the rows carry, or computed now (rows read back by a migration)."""
    if DIGEST in rows.column_names:
        return rows[DIGEST].to_pylist()
    return [content_digest(raw) for raw in rows["raw_json"].to_pylist()]
