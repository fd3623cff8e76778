"""The fast path: typed decoding of the statements platforms send most, checked in one C pass.

The precise validator walks plain dicts in Python and costs more than parsing the JSON. Most
statements are alike, though: an Agent with one IFI does something to an Activity, with a score,
a duration, context activities and extensions. This module describes exactly that subset as
msgspec ``Struct`` types, with the validator's own regular expressions as constraints, so one
C-level decode both parses a statement and checks nearly all of its rules. The few rules that
span fields are checked here in Python on the decoded ``Struct``.

Everything outside the subset (Groups, SubStatements, StatementRefs, attachments, context
agents, a null anywhere, an unknown key, any error at all) fails the typed decode or the checks,
and the statement takes the precise path (:func:`~xapi_ingest.xapi.decode.decode_statement`,
then :class:`~xapi_ingest.xapi.validator.StatementValidator`), which finds its errors. So the
fast path only ever says "valid"; ``tests/xapi/test_fastpath.py`` holds it to the precise path's
verdict on the conformance corpus and on generated statements.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from xapi_ingest.xapi.decode import walk_needed
from xapi_ingest.xapi.validator import (
    COMPONENT_LISTS,
    COMPONENTS_FOR,
    DURATION,
    IRI,
    LANGTAG,
    MBOX,
    SHA1,
    UUID,
    VERSIONS,
    ValidationMode,
    timestamp_issues,
)
from xapi_ingest.xapi.vocabulary import VOIDED_VERB


def _anchored(pattern: re.Pattern[str]) -> str:
    """The validator's pattern for msgspec, which searches (the validator matches at the start)."""
    flags = "(?i)" if pattern.flags & re.IGNORECASE else ""
    return f"{flags}^(?:{pattern.pattern})"


Iri = Annotated[str, Meta(pattern=_anchored(IRI))]
Uuid = Annotated[str, Meta(pattern=_anchored(UUID))]
LanguageMap = dict[Annotated[str, Meta(pattern=_anchored(LANGTAG))], str]
Extensions = dict[Iri, Any]


class _Strict(Struct, forbid_unknown_fields=True, gc=False):
    """Unknown keys (even a case variant) leave the subset; the precise path names them. Decoded
    JSON holds no reference cycles, so the collector need not track these (it costs time per batch)."""


class Account(_Strict):
    homePage: Iri
    name: str


class Agent(_Strict):
    objectType: Literal["Agent"] | UnsetType = UNSET
    name: str | UnsetType = UNSET
    mbox: Annotated[str, Meta(pattern=_anchored(MBOX))] | UnsetType = UNSET
    mbox_sha1sum: Annotated[str, Meta(pattern=_anchored(SHA1))] | UnsetType = UNSET
    openid: Iri | UnsetType = UNSET
    account: Account | UnsetType = UNSET


class Verb(_Strict):
    id: Iri
    display: LanguageMap | UnsetType = UNSET


class Component(_Strict):
    id: str
    description: LanguageMap | UnsetType = UNSET


class Definition(_Strict):
    name: LanguageMap | UnsetType = UNSET
    description: LanguageMap | UnsetType = UNSET
    type: Iri | UnsetType = UNSET
    moreInfo: Iri | UnsetType = UNSET
    extensions: Extensions | UnsetType = UNSET
    interactionType: str | UnsetType = UNSET
    correctResponsesPattern: list[str] | UnsetType = UNSET
    choices: list[Component] | UnsetType = UNSET
    scale: list[Component] | UnsetType = UNSET
    source: list[Component] | UnsetType = UNSET
    target: list[Component] | UnsetType = UNSET
    steps: list[Component] | UnsetType = UNSET


class Activity(_Strict):
    id: Iri
    objectType: Literal["Activity"] | UnsetType = UNSET
    definition: Definition | UnsetType = UNSET


class Score(_Strict):
    scaled: int | float | UnsetType = UNSET
    raw: int | float | UnsetType = UNSET
    min: int | float | UnsetType = UNSET
    max: int | float | UnsetType = UNSET


class Result(_Strict):
    score: Score | UnsetType = UNSET
    success: bool | UnsetType = UNSET
    completion: bool | UnsetType = UNSET
    response: str | UnsetType = UNSET
    duration: Annotated[str, Meta(pattern=_anchored(DURATION))] | UnsetType = UNSET
    extensions: Extensions | UnsetType = UNSET


class StatementRef(_Strict):
    objectType: Literal["StatementRef"]
    id: Uuid


ContextActivity = list[Activity] | Activity | UnsetType


class ContextActivities(_Strict):
    parent: ContextActivity = UNSET
    grouping: ContextActivity = UNSET
    category: ContextActivity = UNSET
    other: ContextActivity = UNSET


class Context(_Strict):
    registration: Uuid | UnsetType = UNSET
    instructor: Agent | UnsetType = UNSET
    contextActivities: ContextActivities | UnsetType = UNSET
    revision: str | UnsetType = UNSET
    platform: str | UnsetType = UNSET
    language: Annotated[str, Meta(pattern=_anchored(LANGTAG))] | UnsetType = UNSET
    statement: StatementRef | UnsetType = UNSET
    extensions: Extensions | UnsetType = UNSET


class Statement(_Strict):
    """A statement of the hot subset; its object is always an Activity (so revision/platform fit)."""

    actor: Agent
    verb: Verb
    object: Activity
    id: Uuid | UnsetType = UNSET
    result: Result | UnsetType = UNSET
    context: Context | UnsetType = UNSET
    timestamp: str | UnsetType = UNSET
    stored: str | UnsetType = UNSET
    authority: Agent | UnsetType = UNSET
    version: str | UnsetType = UNSET


_decoder = msgspec.json.Decoder(Statement)


def fast_decode(raw: str) -> Statement | None:
    """The statement as a :class:`Statement` when it is in the subset and breaks no rule that does
    not depend on the xAPI version; ``None`` sends it to the precise path. Never raises."""
    data = raw.encode("utf-8", "surrogatepass")
    check_depth, check_ints = walk_needed(data)
    if check_depth or check_ints:
        return None
    try:
        statement = _decoder.decode(data)
    except (msgspec.DecodeError, RecursionError):  # ValidationError is a DecodeError
        return None
    return statement if _consistent(statement) else None


def _consistent(statement: Statement) -> bool:
    """The cross-field rules the types cannot say, in the order of their likely failure."""
    if statement.verb.id == VOIDED_VERB:  # needs a StatementRef object, which is outside the subset
        return False
    if not _one_ifi(statement.actor) or not _activity_ok(statement.object):
        return False
    authority = statement.authority
    if authority is not UNSET and not _one_ifi(authority):
        return False
    result = statement.result
    if result is not UNSET and result.score is not UNSET and not _score_ok(result.score):
        return False
    context = statement.context
    return context is UNSET or _context_ok(context)


def _one_ifi(agent: Agent) -> bool:
    return (
        (agent.mbox is not UNSET) + (agent.mbox_sha1sum is not UNSET)
        + (agent.openid is not UNSET) + (agent.account is not UNSET)
    ) == 1


def _score_ok(score: Score) -> bool:
    scaled, raw, low, high = score.scaled, score.raw, score.min, score.max
    if scaled is not UNSET and not -1 <= scaled <= 1:
        return False
    if low is not UNSET and high is not UNSET and not low < high:
        return False
    return raw is UNSET or ((low is UNSET or raw >= low) and (high is UNSET or raw <= high))


def _activity_ok(activity: Activity) -> bool:
    definition = activity.definition
    if definition is UNSET:
        return True
    interaction_type = definition.interactionType
    if interaction_type is UNSET:
        return definition.correctResponsesPattern is UNSET and all(
            getattr(definition, key) is UNSET for key in COMPONENT_LISTS
        )
    allowed = COMPONENTS_FOR.get(interaction_type)
    if allowed is None:
        return False
    for key in COMPONENT_LISTS:
        components = getattr(definition, key)
        if components is UNSET:
            continue
        ids = [component.id for component in components]
        if key not in allowed or "" in ids or len(set(ids)) != len(ids):
            return False
    return True


def _context_ok(context: Context) -> bool:
    if context.instructor is not UNSET and not _one_ifi(context.instructor):
        return False
    activities = context.contextActivities
    if activities is UNSET:
        return True
    for group in (activities.parent, activities.grouping, activities.category, activities.other):
        if type(group) is list:
            if not all(map(_activity_ok, group)):
                return False
        elif group is not UNSET and not _activity_ok(group):  # type: ignore[arg-type]  # an Activity here
            return False
    return True


def accepts(statement: Statement, mode: ValidationMode) -> bool:
    """Whether :class:`~xapi_ingest.xapi.validator.StatementValidator` in ``mode`` finds no issue.

    Only ``version`` and the date-times are judged differently by 1.0.3 and 2.0.0 within the
    subset; this follows the validator's ``auto`` choice between the two rule sets.
    """
    if mode != "auto":
        return _valid_under(statement, mode == "2.0.0")
    version = statement.version
    if version is not UNSET and version.startswith("2."):
        return _valid_under(statement, True)
    return _valid_under(statement, False) or (version is UNSET and _valid_under(statement, True))


def _valid_under(statement: Statement, v2: bool) -> bool:
    version = statement.version
    if version is not UNSET and VERSIONS[v2].match(version) is None:
        return False
    timestamp, stored = statement.timestamp, statement.stored
    return (timestamp is UNSET or not timestamp_issues(timestamp, v2)) and (
        stored is UNSET or not timestamp_issues(stored, v2)
    )
