"""The fast path: typed decoding of the statements platforms send most, checked in one C pass.

The precise validator walks plain dicts in Python and costs more than parsing the JSON. Most
statements are alike, though: an Agent with one IFI does something to an Activity, with a score,
a duration, context activities and extensions. This module describes exactly that subset as
msgspec ``Struct`` types, so one C-level decode both parses a statement and checks its shape and
types. The formats (IRIs, UUIDs, language tags, mbox, SHA-1, duration) and the rules that span
fields are checked here in Python on the decoded ``Struct``: msgspec's ``pattern`` constraints
call :mod:`re` once per string, which cost about 80 % of the typed decode, while the same strings
(verbs, activity types, extension keys, home pages, language tags) recur from statement to
statement, so a set of strings already seen to match answers most of them at a hash lookup.

Everything outside the subset (Groups, SubStatements, StatementRefs, attachments, context
agents, a null anywhere, an unknown key, any error at all) fails the typed decode or the checks,
and the statement takes the precise path (:func:`~xapi_ingest.xapi.decode.decode_statement`,
then :class:`~xapi_ingest.xapi.validator.StatementValidator`), which finds its errors. So the
fast path only ever says "valid"; ``tests/xapi/test_fastpath.py`` holds it to the precise path's
verdict on the conformance corpus and on generated statements.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Literal

import msgspec
from msgspec import UNSET, Struct, UnsetType

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


class KnownMatches:
    """Whether strings match one of the validator's patterns, remembering those that did.

    Only matches are remembered, so a hit is always the validator's own answer; a miss asks the
    compiled pattern. The memory is cleared when it reaches ``limit`` strings, which bounds it
    and lets it follow what a long ingest currently sends.
    """

    __slots__ = ("_known", "_limit", "_match")

    def __init__(self, pattern: re.Pattern[str], limit: int = 4096) -> None:
        self._match = pattern.match
        self._known: set[str] = set()
        self._limit = limit

    def __call__(self, text: str) -> bool:
        known = self._known
        if text in known:
            return True
        if self._match(text) is None:
            return False
        if len(known) >= self._limit:
            known.clear()
        known.add(text)
        return True

    def every(self, texts: Iterable[str]) -> bool:
        """All of ``texts`` (such as a map's keys) match; one C-level pass when all are known."""
        return self._known.issuperset(texts) or all(map(self, texts))


# Every string field below that the validator checks with a pattern is checked with these by
# :func:`_consistent`; ``tests/xapi/test_fastpath.py`` puts a bad value into each such position.
_IRI, _LANGTAG, _MBOX, _SHA1, _DURATION = (
    KnownMatches(IRI), KnownMatches(LANGTAG), KnownMatches(MBOX), KnownMatches(SHA1), KnownMatches(DURATION)
)
_uuid = UUID.match  # statement ids are unique, so remembering them would only evict the rest

Iri = str
Uuid = str
LanguageMap = dict[str, str]
Extensions = dict[str, Any]


class _Strict(Struct, forbid_unknown_fields=True, gc=False):
    """Unknown keys (even a case variant) leave the subset; the precise path names them. Decoded
    JSON holds no reference cycles, so the collector need not track these (it costs time per batch)."""


class Account(_Strict):
    homePage: Iri
    name: str


class Agent(_Strict):
    objectType: Literal["Agent"] | UnsetType = UNSET
    name: str | UnsetType = UNSET
    mbox: str | UnsetType = UNSET
    mbox_sha1sum: str | UnsetType = UNSET
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
    duration: str | UnsetType = UNSET
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
    language: str | UnsetType = UNSET
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
    not depend on the xAPI version (formats included); ``None`` sends it to the precise path. Never raises."""
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
    """The formats and the cross-field rules the types cannot say, in the order of their likely failure."""
    verb = statement.verb
    if verb.id == VOIDED_VERB:  # needs a StatementRef object, which is outside the subset
        return False
    if not _IRI(verb.id) or (verb.display is not UNSET and not _LANGTAG.every(verb.display)):
        return False
    if not _agent_ok(statement.actor) or not _activity_ok(statement.object):
        return False
    if statement.id is not UNSET and _uuid(statement.id) is None:
        return False
    authority = statement.authority
    if authority is not UNSET and not _agent_ok(authority):
        return False
    result = statement.result
    if result is not UNSET and not _result_ok(result):
        return False
    context = statement.context
    return context is UNSET or _context_ok(context)


def _agent_ok(agent: Agent) -> bool:
    """One IFI, well formed."""
    mbox, sha1, openid, account = agent.mbox, agent.mbox_sha1sum, agent.openid, agent.account
    if (mbox is not UNSET) + (sha1 is not UNSET) + (openid is not UNSET) + (account is not UNSET) != 1:
        return False
    if mbox is not UNSET:
        return _MBOX(mbox)
    if sha1 is not UNSET:
        return _SHA1(sha1)
    if openid is not UNSET:
        return _IRI(openid)
    return _IRI(account.homePage)  # type: ignore[union-attr]  # the one IFI left


def _language_map_ok(value: LanguageMap | UnsetType) -> bool:
    return value is UNSET or _LANGTAG.every(value)


def _extensions_ok(value: Extensions | UnsetType) -> bool:
    return value is UNSET or _IRI.every(value)


def _result_ok(result: Result) -> bool:
    if result.score is not UNSET and not _score_ok(result.score):
        return False
    if result.duration is not UNSET and not _DURATION(result.duration):
        return False
    return _extensions_ok(result.extensions)


def _score_ok(score: Score) -> bool:
    scaled, raw, low, high = score.scaled, score.raw, score.min, score.max
    if scaled is not UNSET and not -1 <= scaled <= 1:
        return False
    if low is not UNSET and high is not UNSET and not low < high:
        return False
    return raw is UNSET or ((low is UNSET or raw >= low) and (high is UNSET or raw <= high))


def _activity_ok(activity: Activity) -> bool:
    if not _IRI(activity.id):
        return False
    definition = activity.definition
    if definition is UNSET:
        return True
    if not (_language_map_ok(definition.name) and _language_map_ok(definition.description)
            and _extensions_ok(definition.extensions)):
        return False
    if (definition.type is not UNSET and not _IRI(definition.type)) or (
        definition.moreInfo is not UNSET and not _IRI(definition.moreInfo)
    ):
        return False
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
        if not all(_language_map_ok(component.description) for component in components):
            return False
    return True


def _context_ok(context: Context) -> bool:
    if context.registration is not UNSET and _uuid(context.registration) is None:
        return False
    if context.statement is not UNSET and _uuid(context.statement.id) is None:
        return False
    if context.language is not UNSET and not _LANGTAG(context.language):
        return False
    if context.instructor is not UNSET and not _agent_ok(context.instructor):
        return False
    if not _extensions_ok(context.extensions):
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
