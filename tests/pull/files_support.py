"""Writing statement files the way LMS exports come (NDJSON, JSON arrays, gzip), and reading a lake back."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any, Literal

from tests.support.lake import lake_ids
from xapi_ingest.lake.query import connect
from xapi_ingest.lake.store import Lake

Form = Literal["ndjson", "array", "gzip"]


def encode(statements: list[dict[str, Any]], form: Form) -> bytes:
    if form == "array":
        return json.dumps(statements, indent=1).encode()
    text = "".join(json.dumps(statement) + "\n" for statement in statements).encode()
    return gzip.compress(text, mtime=0) if form == "gzip" else text


def quarantine(lake: Lake) -> list[tuple[str, list[str], str]]:
    """``(origin, rules, first error)`` of every quarantined record."""
    if not lake.exists():
        return []
    with connect(lake) as con:
        rows = con.execute("SELECT origin, rules, errors FROM quarantine ORDER BY origin, record_index").fetchall()
    return [(origin, list(rules), errors[0]["message"]) for origin, rules, errors in rows]


def ids(lake: Lake) -> list[str]:
    return sorted(lake_ids(lake)) if lake.exists() else []


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
