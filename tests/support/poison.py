"""Poison JSON cases shared by the decode, ingest and CLI tests: each payload and the rule it must get."""

from __future__ import annotations

import json

from xapi_ingest.xapi.decode import MAX_DEPTH

GOOD = {"actor": {"mbox": "mailto:a@example.org"}, "verb": {"id": "http://x.org/v"}, "object": {"id": "http://x.org/o"}}


def with_extension(payload: str) -> str:
    """A statement whose one extension value is ``payload``, spliced in as raw JSON text."""
    statement = {**GOOD, "result": {"extensions": {"http://x.org/e": "__PAYLOAD__"}}}
    return json.dumps(statement).replace('"__PAYLOAD__"', payload)


POISON = {
    "401-digit integer": ("9" * 401, "json.number-range"),
    "2**63": (str(2**63), "json.number-range"),
    "-2**63 - 1": (str(-(2**63) - 1), "json.number-range"),
    "5000-digit integer": ("9" * 5000, "json.number-range"),
    "1e400": ("1e400", "json.number-range"),
    "-1e400": ("-1e400", "json.number-range"),
    "lone high surrogate": ('"\\ud800"', "json.surrogate"),
    "lone low surrogate": ('"a\\udc00b"', "json.surrogate"),
    f"{MAX_DEPTH + 1} levels": ("[" * MAX_DEPTH + "]" * MAX_DEPTH, "json.depth"),  # + the statement's own levels
    "5000 levels": ("[" * 5000 + "]" * 5000, "json.depth"),
    "NaN": ("NaN", "json.malformed"),
}
