"""Flatten validated statements into the columns of :data:`xapi_ingest.lake.schema.STATEMENTS`.

Rows are gathered column by column in plain lists and turned into one Arrow table per batch;
that keeps the per-statement cost to a few dictionary look-ups, which is what lets ingest run
near JSON-parsing speed. A statement comes either as the precise path's dict
(:meth:`StatementColumns.append`, any valid or tolerated statement) or as the fast path's typed
decode (:meth:`StatementColumns.append_fast`, attribute reads, valid ones only); both give the
same row, which ``tests/xapi/test_fastpath.py`` checks statement by statement.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

import msgspec
import pyarrow as pa
from msgspec import UNSET

from xapi_ingest.lake.schema import STATEMENTS, UTC_TIMESTAMP
from xapi_ingest.xapi import fastpath as fp
from xapi_ingest.xapi.timestamps import parse_timestamp
from xapi_ingest.xapi.vocabulary import VOIDED_VERB

# Namespace for ids derived from content, so a statement without an id gets the same id on
# every re-ingest (and upserts stay idempotent).
DERIVED_ID_NAMESPACE = uuid.UUID("6f1d0d64-7f9c-4f63-9a55-3c2f3f8e1a10")
_DURATION_PARTS = re.compile(
    r"P(?:(?P<W>[\d.,]+)W|(?:(?P<Y>[\d.,]+)Y)?(?:(?P<Mo>[\d.,]+)M)?(?:(?P<D>[\d.,]+)D)?"
    r"(?:T(?:(?P<H>[\d.,]+)H)?(?:(?P<Mi>[\d.,]+)M)?(?:(?P<S>[\d.,]+)S)?)?)\Z"
)
_SECONDS = {"W": 604800, "Y": 31536000, "Mo": 2592000, "D": 86400, "H": 3600, "Mi": 60, "S": 1}
_encode = msgspec.json.encode


def duration_seconds(text: str) -> float | None:
    """Seconds in an ISO 8601 duration; years and months use 365 and 30 days."""
    match = _DURATION_PARTS.match(text)
    if match is None:
        return None
    return sum(
        float(value.replace(",", ".")) * _SECONDS[unit]
        for unit, value in match.groupdict().items()
        if value is not None
    )


def canonical_ifi(agent: Any) -> str | None:
    """The canonical IFI string of an Agent or identified Group (``None`` if it has none)."""
    if type(agent) is not dict:
        return None
    if (mbox := agent.get("mbox")) is not None:
        return "mbox:" + mbox.lower()
    if (sha1 := agent.get("mbox_sha1sum")) is not None:
        return "mbox_sha1sum:" + sha1.lower()
    if (openid := agent.get("openid")) is not None:
        return "openid:" + openid
    account = agent.get("account")
    if type(account) is dict:
        return f"account:{account.get('homePage')}|{account.get('name')}"
    return None


def member_ifis(agent: Any) -> list[str] | None:
    if type(agent) is not dict or "member" not in agent:
        return None
    return [ifi for member in agent["member"] if (ifi := canonical_ifi(member)) is not None]


def _authority_ifi(authority: Any) -> str | None:
    if type(authority) is dict and authority.get("objectType") == "Group" and "member" in authority:
        return "group:" + ",".join(sorted(member_ifis(authority) or ()))
    return canonical_ifi(authority)


def _pick_language(language_map: Any) -> str | None:
    if type(language_map) is not dict or not language_map:
        return None
    for tag in ("en-US", "en", "en-GB"):
        if tag in language_map:
            return language_map[tag]
    return next(iter(language_map.values()))


def _activity_ids(value: Any) -> list[str] | None:
    if value is None:
        return None
    activities = value if type(value) is list else [value]
    return [activity["id"] for activity in activities if type(activity) is dict and "id" in activity]


def _json_text(value: Any) -> str | None:
    return None if value is None else _encode(value).decode()


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _uuid_key(value: Any) -> Any:
    """UUIDs compare case-insensitively (RFC 4122 §3), so key columns hold them in lower case;
    ``raw_json`` keeps what was sent."""
    return value.lower() if type(value) is str else value


def _present(value: Any) -> Any:
    """A typed field's value, or ``None`` where the JSON had no such key."""
    return None if value is UNSET else value


def _agent_ifi(agent: fp.Agent | None) -> str | None:
    """:func:`canonical_ifi` of a typed Agent."""
    if agent is None:
        return None
    if agent.mbox is not UNSET:
        return "mbox:" + agent.mbox.lower()
    if agent.mbox_sha1sum is not UNSET:
        return "mbox_sha1sum:" + agent.mbox_sha1sum.lower()
    if agent.openid is not UNSET:
        return "openid:" + agent.openid
    account = agent.account
    return None if account is UNSET else f"account:{account.homePage}|{account.name}"


def _typed_activity_ids(value: fp.ContextActivity) -> list[str] | None:
    if value is UNSET:
        return None
    return [activity.id for activity in value] if type(value) is list else [value.id]  # type: ignore[union-attr]


def _typed_json_text(value: Any) -> str | None:
    return None if value is UNSET else _encode(value).decode()


def _typed_number(value: Any) -> float | None:
    return None if value is UNSET else float(value)


# Stand-ins for absent parts, so a missing result or context reads as all-absent fields.
_NO_RESULT, _NO_SCORE, _NO_CONTEXT = fp.Result(), fp.Score(), fp.Context()
_NO_ACTIVITIES, _NO_DEFINITION = fp.ContextActivities(), fp.Definition()


def derived_statement_id(raw: str) -> str:
    """A stable id for a statement that came without one, from its exact text."""
    return str(uuid.uuid5(DERIVED_ID_NAMESPACE, raw))


class StatementColumns:
    """Accumulates normalized rows for one batch; :meth:`to_table` emits the Arrow table."""

    def __init__(self) -> None:
        self.columns: dict[str, list[Any]] = {name: [] for name in STATEMENTS.names}

    def __len__(self) -> int:
        return len(self.columns["statement_id"])

    def append(
        self,
        statement: dict[str, Any],
        raw: str,
        tolerated_rules: list[str],
        batch_id: str,
        ingested_at: datetime,
    ) -> None:
        c = self.columns
        get = statement.get
        statement_id = get("id")
        c["id_generated"].append(statement_id is None)
        c["statement_id"].append(derived_statement_id(raw) if statement_id is None else statement_id.lower())
        c["stored"].append(get("stored"))  # text until to_table() converts the column at once
        timestamp = get("timestamp")
        c["timestamp"].append(timestamp)
        c["timestamp_raw"].append(timestamp)

        actor = statement["actor"]
        actor_ifi = canonical_ifi(actor)
        c["actor_type"].append(actor.get("objectType", "Agent"))
        c["actor_ifi_type"].append(None if actor_ifi is None else actor_ifi.split(":", 1)[0])
        c["actor_ifi"].append(actor_ifi)
        c["actor_name"].append(actor.get("name"))
        c["actor_member_ifis"].append(member_ifis(actor))

        verb = statement["verb"]
        c["verb_id"].append(verb.get("id"))
        c["verb_display"].append(_pick_language(verb.get("display")))

        obj = statement["object"]
        object_type = obj.get("objectType", "Activity")
        definition = obj.get("definition") if type(obj.get("definition")) is dict else {}
        c["object_type"].append(object_type)
        c["object_id"].append(
            canonical_ifi(obj) if object_type in ("Agent", "Group")
            else _uuid_key(obj.get("id")) if object_type == "StatementRef"
            else obj.get("id")
        )
        c["object_definition_type"].append(definition.get("type"))
        c["object_name"].append(_pick_language(definition.get("name")))
        c["object_interaction_type"].append(definition.get("interactionType"))
        c["voided_statement_id"].append(
            obj.get("id", "").lower() or None
            if verb.get("id") == VOIDED_VERB and object_type == "StatementRef"
            else None
        )

        result = get("result") or {}
        score = result.get("score") or {}
        duration = result.get("duration")
        c["result_success"].append(result.get("success"))
        c["result_completion"].append(result.get("completion"))
        c["result_score_scaled"].append(_number(score.get("scaled")))
        c["result_score_raw"].append(_number(score.get("raw")))
        c["result_score_min"].append(_number(score.get("min")))
        c["result_score_max"].append(_number(score.get("max")))
        c["result_duration_seconds"].append(None if duration is None else duration_seconds(duration))
        c["result_duration_raw"].append(duration)
        c["result_response"].append(result.get("response"))
        c["result_extensions"].append(_json_text(result.get("extensions")))

        context = get("context") or {}
        activities = context.get("contextActivities") or {}
        team = context.get("team")
        context_statement = context.get("statement")
        c["context_registration"].append(_uuid_key(context.get("registration")))
        c["context_platform"].append(context.get("platform"))
        c["context_language"].append(context.get("language"))
        c["context_revision"].append(context.get("revision"))
        c["context_instructor_ifi"].append(canonical_ifi(context.get("instructor")))
        c["context_team_ifi"].append(canonical_ifi(team))
        c["context_team_member_ifis"].append(member_ifis(team))
        c["context_parent_ids"].append(_activity_ids(activities.get("parent")))
        c["context_grouping_ids"].append(_activity_ids(activities.get("grouping")))
        c["context_category_ids"].append(_activity_ids(activities.get("category")))
        c["context_other_ids"].append(_activity_ids(activities.get("other")))
        c["context_statement_id"].append(
            _uuid_key(context_statement.get("id")) if type(context_statement) is dict else None
        )
        c["context_extensions"].append(_json_text(context.get("extensions")))

        self._close_row(_authority_ifi(get("authority")), get("version"), raw, tolerated_rules, batch_id, ingested_at)

    def append_fast(self, statement: fp.Statement, raw: str, batch_id: str, ingested_at: datetime) -> None:
        """The row :meth:`append` makes of the same statement's dict, from the fast path's typed decode.

        The subset fixes some columns: the actor is an identified Agent, the object an Activity
        (so no voided id), there is no team.
        """
        c = self.columns
        statement_id = statement.id
        c["id_generated"].append(statement_id is UNSET)
        c["statement_id"].append(derived_statement_id(raw) if statement_id is UNSET else statement_id.lower())
        c["stored"].append(_present(statement.stored))
        timestamp = _present(statement.timestamp)
        c["timestamp"].append(timestamp)
        c["timestamp_raw"].append(timestamp)

        actor = statement.actor
        actor_ifi = _agent_ifi(actor)
        c["actor_type"].append("Agent")
        c["actor_ifi_type"].append(None if actor_ifi is None else actor_ifi.split(":", 1)[0])
        c["actor_ifi"].append(actor_ifi)
        c["actor_name"].append(_present(actor.name))
        c["actor_member_ifis"].append(None)

        verb = statement.verb
        c["verb_id"].append(verb.id)
        c["verb_display"].append(_pick_language(verb.display))

        obj = statement.object
        definition = obj.definition or _NO_DEFINITION
        c["object_type"].append("Activity")
        c["object_id"].append(obj.id)
        c["object_definition_type"].append(_present(definition.type))
        c["object_name"].append(_pick_language(definition.name))
        c["object_interaction_type"].append(_present(definition.interactionType))
        c["voided_statement_id"].append(None)

        result = statement.result or _NO_RESULT
        score = result.score or _NO_SCORE
        duration = _present(result.duration)
        c["result_success"].append(_present(result.success))
        c["result_completion"].append(_present(result.completion))
        c["result_score_scaled"].append(_typed_number(score.scaled))
        c["result_score_raw"].append(_typed_number(score.raw))
        c["result_score_min"].append(_typed_number(score.min))
        c["result_score_max"].append(_typed_number(score.max))
        c["result_duration_seconds"].append(None if duration is None else duration_seconds(duration))
        c["result_duration_raw"].append(duration)
        c["result_response"].append(_present(result.response))
        c["result_extensions"].append(_typed_json_text(result.extensions))

        context = statement.context or _NO_CONTEXT
        activities = context.contextActivities or _NO_ACTIVITIES
        context_statement = context.statement
        c["context_registration"].append(_uuid_key(_present(context.registration)))
        c["context_platform"].append(_present(context.platform))
        c["context_language"].append(_present(context.language))
        c["context_revision"].append(_present(context.revision))
        c["context_instructor_ifi"].append(_agent_ifi(_present(context.instructor)))
        c["context_team_ifi"].append(None)
        c["context_team_member_ifis"].append(None)
        c["context_parent_ids"].append(_typed_activity_ids(activities.parent))
        c["context_grouping_ids"].append(_typed_activity_ids(activities.grouping))
        c["context_category_ids"].append(_typed_activity_ids(activities.category))
        c["context_other_ids"].append(_typed_activity_ids(activities.other))
        c["context_statement_id"].append(None if context_statement is UNSET else context_statement.id.lower())
        c["context_extensions"].append(_typed_json_text(context.extensions))

        self._close_row(_agent_ifi(_present(statement.authority)), _present(statement.version), raw, [],
                        batch_id, ingested_at)

    def _close_row(self, authority_ifi: str | None, version: str | None, raw: str, tolerated_rules: list[str],
                   batch_id: str, ingested_at: datetime) -> None:
        c = self.columns
        c["authority_ifi"].append(authority_ifi)
        c["version"].append(version)
        c["validation_status"].append("tolerated" if tolerated_rules else "valid")
        c["tolerated_rules"].append(tolerated_rules)
        c["raw_json"].append(raw)
        c["batch_id"].append(batch_id)
        c["ingested_at"].append(ingested_at)

    def to_table(self) -> pa.Table:
        columns = dict(self.columns)
        for name in ("stored", "timestamp"):
            columns[name] = utc_timestamps(columns[name])
        return pa.Table.from_pydict(columns, schema=STATEMENTS)


def utc_timestamps(texts: list[str | None]) -> pa.Array:
    """Convert validated timestamp strings to UTC in one vectorized cast.

    Arrow's parser covers the usual shapes; a batch holding one it does not (no offset, a
    leap second, more than 9 fraction digits) falls back to the validator's parser.
    """
    try:
        return pa.array(texts, pa.string()).cast(UTC_TIMESTAMP)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array([None if text is None else parse_timestamp(text) for text in texts], UTC_TIMESTAMP)
