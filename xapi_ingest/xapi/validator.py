"""Strict validation of xAPI statements, 1.0.3 and 2.0.0 (IEEE 9274.1.1).

LRSs do not validate for us (Ralph's POST checks three keys), and real producers ship invalid
statements, so every statement is checked here before it reaches the lake. The checks are
hand-written over plain ``dict``/``list`` values rather than expressed as a pydantic model:
pydantic's lax coercions are exactly the bugs the conformance suite catches (numeric
durations, ``"max": "100"``), and a direct walk is several times faster, which matters at
100,000 statements/s. Every problem is collected (not only the first), each with a JSON path
and a stable rule id from :mod:`xapi_ingest.xapi.rules`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from xapi_ingest.xapi.timestamps import DATETIME, datetime_from_match
from xapi_ingest.xapi.vocabulary import IFI_KEYS, VOIDED_VERB

SpecVersion = Literal["1.0.3", "2.0.0"]
ValidationMode = Literal["auto", "1.0.3", "2.0.0"]


@dataclass(frozen=True, slots=True)
class Issue:
    """One reason a statement is invalid."""

    path: str
    rule: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "rule": self.rule, "message": self.message}


UUID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}\Z"
)
# An absolute IRI: a scheme, then no white space, controls or the characters RFC 3987 excludes;
# '%' only as a percent-encoded octet, and at most one '#' (RFC 3987 §2.2: the fragment holds none).
_IRI_RUN = r"[^\s<>\"{}|\\^`\x00-\x1f\x7f%#]*(?:%[0-9A-Fa-f]{2}[^\s<>\"{}|\\^`\x00-\x1f\x7f%#]*)*"
IRI = re.compile(rf"[A-Za-z][A-Za-z0-9+.\-]*:{_IRI_RUN}(?:#{_IRI_RUN})?\Z")
MBOX = re.compile(r"mailto:[^@\s]+@[^@\s]+\.[^@\s]+\Z")
SHA1 = re.compile(r"[0-9a-fA-F]{40}\Z")
SHA2 = re.compile(r"(?:[0-9a-fA-F]{56}|[0-9a-fA-F]{64}|[0-9a-fA-F]{96}|[0-9a-fA-F]{128})\Z")
DURATION = re.compile(
    r"P(?:\d+(?:[.,]\d+)?W"
    r"|(?=\d|T\d)(?:\d+Y)?(?:\d+M)?(?:\d+D)?"
    r"(?:T(?=\d)(?:\d+H)?(?:\d+M)?(?:\d+(?:[.,]\d+)?S)?)?)\Z"
)
_GRANDFATHERED = (
    "en-GB-oed|i-ami|i-bnn|i-default|i-enochian|i-hak|i-klingon|i-lux|i-mingo|i-navajo|i-pwn|"
    "i-tao|i-tay|i-tsu|sgn-BE-FR|sgn-BE-NL|sgn-CH-DE|art-lojban|cel-gaulish|no-bok|no-nyn|"
    "zh-guoyu|zh-hakka|zh-min|zh-min-nan|zh-xiang"
)
LANGTAG = re.compile(
    r"(?:(?:[A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3}|[A-Za-z]{4,8})"
    r"(?:-[A-Za-z]{4})?"
    r"(?:-(?:[A-Za-z]{2}|[0-9]{3}))?"
    r"(?:-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*"
    r"(?:-[0-9A-WY-Za-wy-z](?:-[A-Za-z0-9]{2,8})+)*"
    r"(?:-[xX](?:-[A-Za-z0-9]{1,8})+)?"
    r"|[xX](?:-[A-Za-z0-9]{1,8})+"
    rf"|(?:{_GRANDFATHERED}))\Z",
    re.IGNORECASE,
)
# The ``version`` values each rule set accepts, keyed by ``v2``.
VERSIONS = {False: re.compile(r"1\.0(?:\.\d+)?\Z"), True: re.compile(r"(?:1|2)\.0(?:\.\d+)?\Z")}

_STATEMENT_KEYS = frozenset(
    ("id", "actor", "verb", "object", "result", "context", "timestamp", "stored",
     "authority", "version", "attachments")
)
_SUBSTATEMENT_KEYS = frozenset(
    ("objectType", "actor", "verb", "object", "result", "context", "timestamp", "attachments")
)
_SUBSTATEMENT_FORBIDDEN = ("id", "stored", "version", "authority")
_REQUIRED = ("actor", "verb", "object")
_AGENT_KEYS = frozenset(("objectType", "name", *IFI_KEYS))
_GROUP_KEYS = _AGENT_KEYS | {"member"}
_ACCOUNT_KEYS = frozenset(("homePage", "name"))
_VERB_KEYS = frozenset(("id", "display"))
_ACTIVITY_KEYS = frozenset(("objectType", "id", "definition"))
_STATEMENT_REF_KEYS = frozenset(("objectType", "id"))
COMPONENT_LISTS = ("choices", "scale", "source", "target", "steps")
_DEFINITION_KEYS = frozenset(
    ("name", "description", "type", "moreInfo", "extensions", "interactionType",
     "correctResponsesPattern", *COMPONENT_LISTS)
)
COMPONENTS_FOR = {
    "true-false": (), "fill-in": (), "long-fill-in": (), "numeric": (), "other": (),
    "choice": ("choices",), "sequencing": ("choices",), "likert": ("scale",),
    "matching": ("source", "target"), "performance": ("steps",),
}
_COMPONENT_KEYS = frozenset(("id", "description"))
_RESULT_KEYS = frozenset(("score", "success", "completion", "response", "duration", "extensions"))
_SCORE_KEYS = frozenset(("scaled", "raw", "min", "max"))
_CONTEXT_KEYS = frozenset(
    ("registration", "instructor", "team", "contextActivities", "revision", "platform",
     "language", "statement", "extensions", "contextAgents", "contextGroups")
)
_CONTEXT_ACTIVITY_KEYS = frozenset(("parent", "grouping", "category", "other"))
_CONTEXT_AGENT_KEYS = frozenset(("objectType", "agent", "relevantTypes"))
_CONTEXT_GROUP_KEYS = frozenset(("objectType", "group", "relevantTypes"))
_ATTACHMENT_KEYS = frozenset(
    ("usageType", "display", "description", "contentType", "length", "sha2", "fileUrl")
)
_ATTACHMENT_REQUIRED = ("usageType", "display", "contentType", "length", "sha2")

_JSON_TYPE_NAMES = {
    dict: "an object", list: "an array", str: "a string", bool: "a boolean",
    int: "a number", float: "a number", type(None): "null",
}


def _is_number(value: Any) -> bool:
    cls = type(value)
    return cls is int or cls is float


def timestamp_issues(value: str, v2: bool) -> list[tuple[str, str]]:
    """The ``(rule, message)`` pairs a date-time string breaks under 1.0.3 or (``v2``) 2.0.0 rules.

    A function of the text alone, so the typed fast path (:mod:`xapi_ingest.xapi.fastpath`) asks
    the very same question as the walk.
    """
    issues: list[tuple[str, str]] = []
    match = DATETIME.match(value)
    if match is None or datetime_from_match(match) is None:
        return [("timestamp.format", f"{value!r} is not a valid ISO 8601 date-time")]
    part = match.group
    sign = part("sign")
    if sign == "-" and int(part("offset_hour")) == 0 and int(part("offset_minute") or 0) == 0:
        issues.append(("timestamp.offset", f"{value!r}: the offset -00/-0000/-00:00 is not allowed"))
    if v2:  # RFC 3339: extended format, seconds, and an offset with a colon
        if not (part("zulu") or sign):
            issues.append(("timestamp.offset", f"{value!r}: xAPI 2.0 (RFC 3339) requires an offset"))
        elif not part("extended") or part("second") is None or (sign and ":" not in value[match.start("sign"):]):
            issues.append(("timestamp.format", f"{value!r} is not an RFC 3339 date-time"))
    elif part("separator") != "T":
        issues.append(("timestamp.format", f"{value!r}: ISO 8601 separates date and time with 'T'"))
    return issues


class _Walk:
    """One pass over one statement, collecting issues; ``v2`` selects the 2.0.0 rules."""

    __slots__ = ("issues", "v2")

    def __init__(self, v2: bool) -> None:
        self.issues: list[Issue] = []
        self.v2 = v2

    # -- generic helpers ---------------------------------------------------------------
    def add(self, path: str, rule: str, message: str) -> None:
        self.issues.append(Issue(path, rule, message))

    def wrong_type(self, path: str, value: Any, expected: str) -> None:
        if value is None:
            self.add(path, "value.null", f"null is not allowed here; expected {expected}")
        else:
            got = _JSON_TYPE_NAMES.get(type(value), type(value).__name__)
            self.add(path, "value.type", f"expected {expected}, got {got}")

    def obj(self, value: Any, path: str, allowed: frozenset[str], required: Iterable[str] = ()) -> bool:
        """Check that ``value`` is an object with only ``allowed`` and all ``required`` keys."""
        if type(value) is not dict:
            self.wrong_type(path, value, "an object")
            return False
        if not value.keys() <= allowed:
            for key in value:
                if key not in allowed:
                    hint = next((k for k in allowed if k.lower() == str(key).lower()), None)
                    extra = f" (did you mean '{hint}'? keys are case-sensitive)" if hint else ""
                    self.add(f"{path}.{key}", "key.unknown", f"'{key}' is not allowed here{extra}")
        for key in required:
            if key not in value:
                self.add(f"{path}.{key}", "key.required", f"'{key}' is required")
        return True

    def string(self, value: Any, path: str) -> bool:
        if type(value) is str:
            return True
        self.wrong_type(path, value, "a string")
        return False

    def boolean(self, value: Any, path: str) -> None:
        if type(value) is not bool:
            self.wrong_type(path, value, "a boolean")

    def formatted(self, value: Any, path: str, pattern: re.Pattern[str], rule: str, what: str) -> None:
        """A string that must match ``pattern``; ``what`` completes "… is not <what>"."""
        if self.string(value, path) and pattern.match(value) is None:
            self.add(path, rule, f"{value!r} is not {what}")

    def iri(self, value: Any, path: str) -> None:
        self.formatted(value, path, IRI, "iri.invalid", "an absolute IRI")

    def uuid(self, value: Any, path: str) -> None:
        self.formatted(value, path, UUID, "uuid.invalid", "a UUID")

    def language(self, value: Any, path: str) -> None:
        if self.string(value, path) and LANGTAG.match(value) is None:
            self.add(path, "language.tag", f"{value!r} is not an RFC 5646 language tag")

    def language_map(self, value: Any, path: str) -> None:
        if type(value) is not dict:
            self.wrong_type(path, value, "a language map")
            return
        for tag, text in value.items():
            if LANGTAG.match(tag) is None:
                self.add(f"{path}.{tag}", "language.tag", f"{tag!r} is not an RFC 5646 language tag")
            if type(text) is not str:
                self.wrong_type(f"{path}.{tag}", text, "a string")

    def extensions(self, value: Any, path: str) -> None:
        if type(value) is not dict:
            self.wrong_type(path, value, "an object")
            return
        for key in value:
            if IRI.match(key) is None:
                self.add(f"{path}.{key}", "extensions.key", f"extension key {key!r} is not an IRI")

    def timestamp(self, value: Any, path: str) -> None:
        if self.string(value, path):
            for rule, message in timestamp_issues(value, self.v2):
                self.add(path, rule, message)

    def version(self, value: Any) -> None:
        if self.string(value, "$.version") and VERSIONS[self.v2].match(value) is None:
            self.add("$.version", "version.unsupported",
                     f"version {value!r} is not accepted by xAPI {'2.0.0' if self.v2 else '1.0.3'}")

    # -- actors -------------------------------------------------------------------------
    def agent(self, value: Any, path: str, place: str) -> None:
        """Validate an Agent or Group; ``place`` decides which objectTypes fit there."""
        if type(value) is not dict:
            self.wrong_type(path, value, "an Agent or Group object")
            return
        object_type = value.get("objectType", "Agent")
        allowed_types = _AGENT_PLACES[place]
        if object_type not in allowed_types:
            self.add(f"{path}.objectType", "agent.object-type",
                     f"objectType {object_type!r} is not allowed here; expected "
                     + " or ".join(repr(t) for t in allowed_types))
            return
        is_group = object_type == "Group"
        self.obj(value, path, _GROUP_KEYS if is_group else _AGENT_KEYS)
        if "name" in value:
            self.string(value["name"], f"{path}.name")
        ifis = [key for key in IFI_KEYS if key in value]
        if is_group:
            if len(ifis) > 1:
                self.add(path, "agent.ifi-count", f"a Group may have at most one IFI, found {ifis}")
            if not ifis and "member" not in value:
                self.add(f"{path}.member", "group.member-required", "an anonymous Group needs 'member'")
            if "member" in value:
                self.members(value["member"], f"{path}.member")
        elif len(ifis) != 1:
            self.add(path, "agent.ifi-count", f"an Agent needs exactly one IFI, found {len(ifis)}")
        for key in ifis:
            self.ifi(key, value[key], f"{path}.{key}")

    def members(self, value: Any, path: str) -> None:
        if type(value) is not list:
            self.wrong_type(path, value, "an array of Agents")
            return
        if not value:
            self.add(path, "group.member-invalid", "'member' must not be empty")
        for index, member in enumerate(value):
            if type(member) is dict and member.get("objectType") == "Group":
                self.add(f"{path}[{index}]", "group.member-invalid", "a Group member cannot be a Group")
            else:
                self.agent(member, f"{path}[{index}]", "member")

    def ifi(self, key: str, value: Any, path: str) -> None:
        if key == "account":
            if self.obj(value, path, _ACCOUNT_KEYS, _ACCOUNT_KEYS):
                if "homePage" in value:
                    self.iri(value["homePage"], f"{path}.homePage")
                if "name" in value:
                    self.string(value["name"], f"{path}.name")
        elif key == "mbox":
            self.formatted(value, path, MBOX, "agent.mbox", "'mailto:' plus an email address")
        elif key == "mbox_sha1sum":
            self.formatted(value, path, SHA1, "agent.mbox-sha1sum", "a hex SHA-1")
        else:
            self.iri(value, path)

    def authority(self, value: Any, path: str) -> None:
        self.agent(value, path, "authority")
        if type(value) is dict and value.get("objectType") == "Group":
            members = value.get("member")
            if any(key in value for key in IFI_KEYS) or type(members) is not list or len(members) != 2:
                self.add(path, "authority.group",
                         "an authority Group must be anonymous with exactly two Agents (OAuth)")

    # -- verb and objects ---------------------------------------------------------------
    def verb(self, value: Any, path: str, statement_object: Any) -> None:
        if not self.obj(value, path, _VERB_KEYS, ("id",)):
            return
        if "id" in value:
            self.iri(value["id"], f"{path}.id")
            if value["id"] == VOIDED_VERB and not (
                type(statement_object) is dict and statement_object.get("objectType") == "StatementRef"
            ):
                self.add(path, "verb.voided-object", "the voided verb requires a StatementRef object")
        if "display" in value:
            self.language_map(value["display"], f"{path}.display")

    def statement_object(self, value: Any, path: str, in_substatement: bool) -> None:
        if type(value) is not dict:
            self.wrong_type(path, value, "an object")
            return
        object_type = value.get("objectType", "Activity")
        if object_type == "Activity":
            self.activity(value, path)
        elif object_type in ("Agent", "Group"):
            self.agent(value, path, "object")
        elif object_type == "StatementRef":
            self.statement_ref(value, path)
        elif object_type == "SubStatement":
            if in_substatement:
                self.add(f"{path}.objectType", "substatement.nested",
                         "a SubStatement cannot contain a SubStatement")
            else:
                self.substatement(value, path)
        else:
            self.add(f"{path}.objectType", "object-type.invalid",
                     f"objectType {object_type!r} is not an xAPI object type")
            # Still check the rest as an Activity, so a tolerated type keeps its other checks.
            self.activity(value, path, check_object_type=False)

    def statement_ref(self, value: Any, path: str) -> None:
        if not self.obj(value, path, _STATEMENT_REF_KEYS, ("objectType", "id")):
            return
        if value.get("objectType", "StatementRef") != "StatementRef":
            self.add(f"{path}.objectType", "object-type.invalid", "objectType must be 'StatementRef'")
        if "id" in value:
            self.uuid(value["id"], f"{path}.id")

    def activity(self, value: Any, path: str, check_object_type: bool = True) -> None:
        if not self.obj(value, path, _ACTIVITY_KEYS, ("id",)):
            return
        if check_object_type and value.get("objectType", "Activity") != "Activity":
            self.add(f"{path}.objectType", "object-type.invalid",
                     f"objectType {value['objectType']!r} is not 'Activity'")
        if "id" in value:
            self.iri(value["id"], f"{path}.id")
        if "definition" in value:
            self.definition(value["definition"], f"{path}.definition")

    def definition(self, value: Any, path: str) -> None:
        if not self.obj(value, path, _DEFINITION_KEYS):
            return
        for key in ("name", "description"):
            if key in value:
                self.language_map(value[key], f"{path}.{key}")
        for key in ("type", "moreInfo"):
            if key in value:
                self.iri(value[key], f"{path}.{key}")
        if "extensions" in value:
            self.extensions(value["extensions"], f"{path}.extensions")
        self.interaction(value, path)

    def interaction(self, definition: dict[str, Any], path: str) -> None:
        present = [key for key in COMPONENT_LISTS if key in definition]
        interaction_type = definition.get("interactionType")
        if interaction_type is None:
            if "interactionType" in definition:
                self.wrong_type(f"{path}.interactionType", None, "a string")
            if present or "correctResponsesPattern" in definition:
                self.add(f"{path}.interactionType", "interaction.components",
                         "interaction components and correctResponsesPattern need an interactionType")
        elif type(interaction_type) is not str:
            self.wrong_type(f"{path}.interactionType", interaction_type, "a string")
        elif interaction_type not in COMPONENTS_FOR:
            self.add(f"{path}.interactionType", "interaction.type",
                     f"{interaction_type!r} is not an xAPI interaction type")
        else:
            allowed = COMPONENTS_FOR[interaction_type]
            for key in present:
                if key not in allowed:
                    self.add(f"{path}.{key}", "interaction.components",
                             f"'{key}' is not allowed with interactionType {interaction_type!r}")
        if "correctResponsesPattern" in definition:
            pattern = definition["correctResponsesPattern"]
            if type(pattern) is not list:
                self.wrong_type(f"{path}.correctResponsesPattern", pattern, "an array of strings")
            else:
                for index, answer in enumerate(pattern):
                    self.string(answer, f"{path}.correctResponsesPattern[{index}]")
        for key in present:
            self.components(definition[key], f"{path}.{key}")

    def components(self, value: Any, path: str) -> None:
        if type(value) is not list:
            self.wrong_type(path, value, "an array of interaction components")
            return
        seen: set[str] = set()
        for index, component in enumerate(value):
            item = f"{path}[{index}]"
            if not self.obj(component, item, _COMPONENT_KEYS, ("id",)):
                continue
            component_id = component.get("id")
            if "id" in component and self.string(component_id, f"{item}.id"):
                if not component_id or component_id in seen:
                    self.add(f"{item}.id", "interaction.component-id",
                             f"component id {component_id!r} is empty or repeated")
                seen.add(component_id)
            if "description" in component:
                self.language_map(component["description"], f"{item}.description")

    def substatement(self, value: dict[str, Any], path: str) -> None:
        for key in _SUBSTATEMENT_FORBIDDEN:
            if key in value:
                self.add(f"{path}.{key}", "substatement.forbidden-key",
                         f"a SubStatement must not have '{key}'")
        allowed = _SUBSTATEMENT_KEYS.union(_SUBSTATEMENT_FORBIDDEN)
        self.obj(value, path, allowed, _REQUIRED)
        self.body(value, path, in_substatement=True)

    # -- result, context, attachments ---------------------------------------------------
    def result(self, value: Any, path: str) -> None:
        if not self.obj(value, path, _RESULT_KEYS):
            return
        for key in ("success", "completion"):
            if key in value:
                self.boolean(value[key], f"{path}.{key}")
        if "response" in value:
            self.string(value["response"], f"{path}.response")
        if "duration" in value:
            self.formatted(value["duration"], f"{path}.duration", DURATION, "duration.format",
                           "an ISO 8601 duration")
        if "extensions" in value:
            self.extensions(value["extensions"], f"{path}.extensions")
        if "score" in value:
            self.score(value["score"], f"{path}.score")

    def score(self, value: Any, path: str) -> None:
        if not self.obj(value, path, _SCORE_KEYS):
            return
        numbers: dict[str, float] = {}
        for key in ("scaled", "raw", "min", "max"):
            if key in value:
                if _is_number(value[key]):
                    numbers[key] = value[key]
                else:
                    self.wrong_type(f"{path}.{key}", value[key], "a number")
        # Compare with `in`, never truthiness: 0 is a real score on every side.
        if "scaled" in numbers and not -1 <= numbers["scaled"] <= 1:
            self.add(f"{path}.scaled", "score.scaled-range", f"scaled {numbers['scaled']} is outside [-1, 1]")
        if "min" in numbers and "max" in numbers and not numbers["min"] < numbers["max"]:
            self.add(path, "score.min-max", f"min {numbers['min']} is not below max {numbers['max']}")
        if "raw" in numbers:
            raw = numbers["raw"]
            if ("min" in numbers and raw < numbers["min"]) or ("max" in numbers and raw > numbers["max"]):
                self.add(f"{path}.raw", "score.raw-range", f"raw {raw} is outside [min, max]")

    def context(self, value: Any, path: str, statement_object: Any) -> None:
        if not self.obj(value, path, _CONTEXT_KEYS):
            return
        if not self.v2:
            for key in ("contextAgents", "contextGroups"):
                if key in value:
                    self.add(f"{path}.{key}", "context.version", f"'{key}' exists only in xAPI 2.0")
        if "registration" in value:
            self.uuid(value["registration"], f"{path}.registration")
        if "instructor" in value:
            self.agent(value["instructor"], f"{path}.instructor", "instructor")
        if "team" in value:
            team = value["team"]
            if type(team) is dict and team.get("objectType") != "Group":
                self.add(f"{path}.team", "context.team", "context.team must be a Group")
            else:
                self.agent(team, f"{path}.team", "team")
        object_is_activity = (
            type(statement_object) is dict
            and statement_object.get("objectType", "Activity") == "Activity"
        )
        for key in ("revision", "platform"):
            if key in value:
                self.string(value[key], f"{path}.{key}")
                if not object_is_activity:
                    self.add(f"{path}.{key}", "context.activity-only",
                             f"'{key}' is allowed only when the object is an Activity")
        if "language" in value:
            self.language(value["language"], f"{path}.language")
        if "statement" in value:
            self.statement_ref(value["statement"], f"{path}.statement")
        if "contextActivities" in value:
            self.context_activities(value["contextActivities"], f"{path}.contextActivities")
        if "extensions" in value:
            self.extensions(value["extensions"], f"{path}.extensions")
        if self.v2:
            self.context_actors(value, path)

    def context_activities(self, value: Any, path: str) -> None:
        if not self.obj(value, path, _CONTEXT_ACTIVITY_KEYS):
            return
        for key, activities in value.items():
            if key not in _CONTEXT_ACTIVITY_KEYS:
                continue
            if type(activities) is list:
                for index, activity in enumerate(activities):
                    self.activity(activity, f"{path}.{key}[{index}]")
            else:
                self.activity(activities, f"{path}.{key}")

    def context_actors(self, context: dict[str, Any], path: str) -> None:
        for key, keys, inner, kind, place in (
            ("contextAgents", _CONTEXT_AGENT_KEYS, "agent", "contextAgent", "contextAgent"),
            ("contextGroups", _CONTEXT_GROUP_KEYS, "group", "contextGroup", "contextGroup"),
        ):
            if key not in context:
                continue
            entries = context[key]
            if type(entries) is not list:
                self.wrong_type(f"{path}.{key}", entries, "an array")
                continue
            for index, entry in enumerate(entries):
                item = f"{path}.{key}[{index}]"
                if not self.obj(entry, item, keys, ("objectType", inner)):
                    continue
                if "objectType" in entry and entry["objectType"] != kind:
                    self.add(f"{item}.objectType", "context.agents", f"objectType must be {kind!r}")
                if inner in entry:
                    self.agent(entry[inner], f"{item}.{inner}", place)
                if "relevantTypes" in entry:
                    types = entry["relevantTypes"]
                    if type(types) is not list or not types:
                        self.add(f"{item}.relevantTypes", "context.agents",
                                 "relevantTypes must be a non-empty array of IRIs")
                    else:
                        for position, iri in enumerate(types):
                            self.iri(iri, f"{item}.relevantTypes[{position}]")

    def attachments(self, value: Any, path: str) -> None:
        if type(value) is not list:
            self.wrong_type(path, value, "an array")
            return
        for index, attachment in enumerate(value):
            item = f"{path}[{index}]"
            if not self.obj(attachment, item, _ATTACHMENT_KEYS, _ATTACHMENT_REQUIRED):
                continue
            if "usageType" in attachment:
                self.iri(attachment["usageType"], f"{item}.usageType")
            if "fileUrl" in attachment:
                self.iri(attachment["fileUrl"], f"{item}.fileUrl")
            for key in ("display", "description"):
                if key in attachment:
                    self.language_map(attachment[key], f"{item}.{key}")
            if "contentType" in attachment:
                self.string(attachment["contentType"], f"{item}.contentType")
            if "length" in attachment:
                length = attachment["length"]
                if type(length) is not int or length < 0:
                    self.add(f"{item}.length", "attachment.length", f"{length!r} is not a non-negative integer")
            if "sha2" in attachment:
                self.formatted(attachment["sha2"], f"{item}.sha2", SHA2, "attachment.sha2", "a hex SHA-2 digest")

    # -- statement ----------------------------------------------------------------------
    def body(self, value: dict[str, Any], path: str, in_substatement: bool) -> None:
        """The parts a Statement and a SubStatement share."""
        statement_object = value.get("object")
        if "actor" in value:
            self.agent(value["actor"], f"{path}.actor", "actor")
        if "verb" in value:
            self.verb(value["verb"], f"{path}.verb", statement_object)
        if "object" in value:
            self.statement_object(statement_object, f"{path}.object", in_substatement)
        if "result" in value:
            self.result(value["result"], f"{path}.result")
        if "context" in value:
            self.context(value["context"], f"{path}.context", statement_object)
        if "timestamp" in value:
            self.timestamp(value["timestamp"], f"{path}.timestamp")
        if "attachments" in value:
            self.attachments(value["attachments"], f"{path}.attachments")

    def statement(self, value: Any) -> None:
        if type(value) is not dict:
            self.add("$", "statement.not-object", "a statement must be a JSON object")
            return
        self.obj(value, "$", _STATEMENT_KEYS, _REQUIRED)
        if "id" in value:
            self.uuid(value["id"], "$.id")
        if "stored" in value:
            self.timestamp(value["stored"], "$.stored")
        if "version" in value:
            self.version(value["version"])
        if "authority" in value:
            self.authority(value["authority"], "$.authority")
        self.body(value, "$", in_substatement=False)


_AGENT_PLACES: dict[str, tuple[str, ...]] = {
    "actor": ("Agent", "Group"),
    "object": ("Agent", "Group"),
    "member": ("Agent",),
    "instructor": ("Agent", "Group"),
    "team": ("Group",),
    "authority": ("Agent", "Group"),
    "contextAgent": ("Agent",),
    "contextGroup": ("Group",),
}


class StatementValidator:
    """Validates statements against one xAPI version, or per statement in ``auto`` mode.

    ``auto`` judges a statement that declares ``version`` by that version's rules; one that
    does not is valid when it is valid under either 1.0.3 or 2.0.0, and otherwise gets the
    shorter of the two lists of issues. This is what a file of unknown origin needs: 1.0.3
    producers may omit time-zone offsets, 2.0 producers may add ``contextAgents``.
    """

    def __init__(self, mode: ValidationMode = "auto") -> None:
        if mode not in ("auto", "1.0.3", "2.0.0"):
            raise ValueError(f"unknown xAPI version {mode!r}; expected auto, 1.0.3 or 2.0.0")
        self.mode = mode

    def validate(self, statement: Any) -> list[Issue]:
        """Return every issue found; an empty list means the statement is valid."""
        if self.mode != "auto":
            return self._run(statement, self.mode == "2.0.0")
        declared = statement.get("version") if type(statement) is dict else None
        if type(declared) is str and declared.startswith("2."):
            return self._run(statement, True)
        issues = self._run(statement, False)
        if not issues or declared is not None:
            return issues
        issues_v2 = self._run(statement, True)
        return issues_v2 if len(issues_v2) < len(issues) else issues

    @staticmethod
    def _run(statement: Any, v2: bool) -> list[Issue]:
        walk = _Walk(v2)
        walk.statement(statement)
        return walk.issues
