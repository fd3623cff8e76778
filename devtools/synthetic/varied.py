"""Varied xAPI statements for benchmarks: every shape the spec allows, drawn at random.

``xapi_ingest.xapi.samples`` gives two fixed shapes (Moodle- and Open edX-like), which flatter any
code tuned on them: the same keys in the same order, the same branches taken. These statements
vary what real producers vary (actor identifiers and Groups, Agent, StatementRef and SubStatement
objects, interaction definitions, every contextActivities kind, instructors and teams,
attachments, 2.0 context agents, language maps in several languages, extension payloads of mixed
types, timestamp offsets and precisions, declared and undeclared versions), at 1-2 KB each.

A fraction of them (``invalid_share``) carries one realistic defect (a numeric duration, a
lower-case objectType, a missing IFI, ...), so the quarantine path is measured too. Each run of a
benchmark draws a fresh seed unless one is given, so no code path can be tuned to one data set.
"""

from __future__ import annotations

import hashlib
import random
import string
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

_VERBS = (
    "http://adlnet.gov/expapi/verbs/completed", "http://adlnet.gov/expapi/verbs/attempted",
    "http://adlnet.gov/expapi/verbs/answered", "http://adlnet.gov/expapi/verbs/attended",
    "http://adlnet.gov/expapi/verbs/commented", "http://adlnet.gov/expapi/verbs/shared",
    "https://w3id.org/xapi/video/verbs/played", "https://w3id.org/xapi/video/verbs/paused",
    "http://id.tincanapi.com/verb/viewed", "https://w3id.org/xapi/dod-isd/verbs/registered",
)
_LANGUAGES = ("en-US", "ru-RU", "kk-KZ", "en", "ru", "kk", "de-DE", "zh-Hans-CN")
_HOMES = ("https://moodle.cluster.kz", "https://mooc.cluster.kz", "https://webinar.cluster.kz",
          "https://lib.cluster.kz", "https://courses.edx.org")
_ACTIVITY_TYPES = ("http://adlnet.gov/expapi/activities/course", "http://adlnet.gov/expapi/activities/assessment",
                   "http://adlnet.gov/expapi/activities/meeting", "https://w3id.org/xapi/video/activity-type/video",
                   "http://id.tincanapi.com/activitytype/webinar", "http://adlnet.gov/expapi/activities/cmi.interaction")
_INTERACTIONS = ("true-false", "choice", "fill-in", "long-fill-in", "matching", "performance", "sequencing",
                 "likert", "numeric", "other")
_WORDS = ("урок", "сабақ", "formative", "assessment", "педагог", "мұғалім", "inquiry", "обучение",
          "оқыту", "digital", "literacy", "методика", "әдістеме", "collaboration", "reflection")


class _Draw:
    """One statement's random choices, with helpers for the pieces statements share."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def text(self, words: int) -> str:
        return " ".join(self.rng.choice(_WORDS) for _ in range(words))

    def uuid(self) -> str:
        value = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        return value.upper() if self.chance(0.05) else value

    def iri(self, home: str | None = None) -> str:
        home = home or self.rng.choice(_HOMES)
        return f"{home}/{self.rng.choice(('course', 'mod/quiz', 'xblock', 'resource', 'event'))}/{self.rng.randrange(10**6)}"

    def language_map(self, words: int = 3) -> dict[str, str]:
        tags = self.rng.sample(_LANGUAGES, self.rng.randint(1, 3))
        return {tag: self.text(words) for tag in tags}

    def moment(self) -> datetime:
        return datetime(2025, 9, 1, tzinfo=UTC) + timedelta(seconds=self.rng.randrange(400 * 86400),
                                                            microseconds=self.rng.randrange(10**6))

    def timestamp(self, offset_required: bool) -> str:
        moment = self.moment()
        shape = self.rng.randrange(5 if offset_required else 6)
        if shape == 0:
            return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        if shape == 1:
            return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        if shape == 2:
            return moment.astimezone(timezone(timedelta(hours=5))).isoformat(timespec="microseconds")
        if shape == 3:
            return moment.astimezone(timezone(timedelta(hours=-3, minutes=-30))).isoformat(timespec="seconds")
        if shape == 4:
            return moment.isoformat(timespec="milliseconds")
        return moment.replace(tzinfo=None).isoformat(timespec="milliseconds")  # 1.0.3 allows no offset

    def extensions(self, entries: int) -> dict[str, Any]:
        values: list[Callable[[], Any]] = [
            lambda: self.rng.randrange(10**9), lambda: round(self.rng.uniform(-1e4, 1e4), 4), lambda: self.text(4),
            lambda: self.chance(0.5), lambda: None, lambda: [self.rng.randrange(100) for _ in range(5)],
            lambda: {"nested": {"depth": [self.text(2), self.rng.random()]}, "id": self.uuid()},
        ]
        return {f"{self.rng.choice(_HOMES)}/xapi/ext/{self.rng.choice(string.ascii_lowercase)}{n}":
                self.rng.choice(values)() for n in range(entries)}

    # -- actors ---------------------------------------------------------------------------
    def agent(self, named: float = 0.7) -> dict[str, Any]:
        person = self.rng.randrange(20_000)
        agent: dict[str, Any] = {"objectType": "Agent"} if self.chance(0.6) else {}
        if self.chance(named):
            agent["name"] = f"{self.text(1).title()} {person}"
        kind = self.rng.randrange(4)
        if kind == 0:
            agent["mbox"] = f"mailto:teacher{person}@school{person % 90}.kz"
        elif kind == 1:
            agent["mbox_sha1sum"] = hashlib.sha1(f"mailto:t{person}@x.kz".encode()).hexdigest()
        elif kind == 2:
            agent["openid"] = f"https://id.cluster.kz/{person}"
        else:
            agent["account"] = {"homePage": self.rng.choice(_HOMES), "name": f"user-{person}"}
        return agent

    def group(self, identified: bool) -> dict[str, Any]:
        group: dict[str, Any] = {"objectType": "Group", "name": f"Team {self.rng.randrange(500)}",
                                 "member": [self.agent() for _ in range(self.rng.randint(2, 5))]}
        if identified:
            group["account"] = {"homePage": self.rng.choice(_HOMES), "name": f"group-{self.rng.randrange(500)}"}
        return group

    def actor(self) -> dict[str, Any]:
        return self.group(self.chance(0.5)) if self.chance(0.08) else self.agent()

    # -- objects ----------------------------------------------------------------------------
    def activity(self, full: bool) -> dict[str, Any]:
        activity: dict[str, Any] = {"id": self.iri()}
        if self.chance(0.7):
            activity["objectType"] = "Activity"
        if full and self.chance(0.85):
            definition: dict[str, Any] = {"name": self.language_map(), "type": self.rng.choice(_ACTIVITY_TYPES)}
            if self.chance(0.5):
                definition["description"] = self.language_map(5)
            if self.chance(0.3):
                definition["moreInfo"] = self.iri()
            if self.chance(0.4):
                definition["extensions"] = self.extensions(self.rng.randint(1, 3))
            if self.chance(0.2):
                definition.update(self.interaction())
            activity["definition"] = definition
        return activity

    def interaction(self) -> dict[str, Any]:
        kind = self.rng.choice(_INTERACTIONS)
        components = {"choice": ("choices",), "sequencing": ("choices",), "likert": ("scale",),
                      "matching": ("source", "target"), "performance": ("steps",)}.get(kind, ())
        interaction: dict[str, Any] = {"interactionType": kind,
                                       "correctResponsesPattern": [self.text(1) for _ in range(self.rng.randint(1, 2))]}
        for key in components:
            interaction[key] = [{"id": f"{key}-{n}", "description": self.language_map(2)}
                                for n in range(self.rng.randint(2, 5))]
        return interaction

    def statement_object(self, in_substatement: bool) -> dict[str, Any]:
        roll = self.rng.random()
        if roll < 0.05:
            return {"objectType": "StatementRef", "id": self.uuid()}
        if roll < 0.09:
            return {"objectType": "Agent", **{k: v for k, v in self.agent().items() if k != "objectType"}}
        if roll < 0.12 and not in_substatement:
            return self.substatement()
        return self.activity(full=True)

    def substatement(self) -> dict[str, Any]:
        sub: dict[str, Any] = {"objectType": "SubStatement", "actor": self.agent(),
                               "verb": {"id": self.rng.choice(_VERBS), "display": self.language_map(1)},
                               "object": self.statement_object(in_substatement=True)}
        if self.chance(0.5):
            sub["timestamp"] = self.timestamp(offset_required=True)
        return sub

    # -- result, context, attachments ---------------------------------------------------------
    def result(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        if self.chance(0.6):
            low, high = sorted(self.rng.sample(range(-10, 200), 2))
            raw = self.rng.randint(low, high)
            score: dict[str, Any] = {"raw": raw, "min": low, "max": high}
            if self.chance(0.7):
                score["scaled"] = round(self.rng.uniform(-1, 1), 3)
            result["score"] = score
        for key in ("success", "completion"):
            if self.chance(0.5):
                result[key] = self.chance(0.5)
        if self.chance(0.4):
            result["response"] = self.text(self.rng.randint(1, 12))
        if self.chance(0.6):
            result["duration"] = self.rng.choice((
                f"PT{self.rng.randrange(1, 600)}S", f"PT{self.rng.randrange(1, 9)}H{self.rng.randrange(60)}M",
                f"P{self.rng.randrange(1, 30)}D", f"PT{self.rng.uniform(0, 99):.2f}S", f"P{self.rng.randrange(1, 5)}W"))
        if self.chance(0.5):
            result["extensions"] = self.extensions(self.rng.randint(1, 4))
        return result

    def context(self, object_is_activity: bool, v2: bool) -> dict[str, Any]:
        context: dict[str, Any] = {}
        if self.chance(0.6):
            context["registration"] = self.uuid()
        if self.chance(0.2):
            context["instructor"] = self.agent()
        if self.chance(0.1):
            context["team"] = self.group(identified=self.chance(0.5))
        if object_is_activity:
            if self.chance(0.5):
                context["platform"] = self.rng.choice(("Moodle", "Open edX", "BigBlueButton", "Ralph"))
            if self.chance(0.3):
                context["revision"] = f"r{self.rng.randrange(100)}"
        if self.chance(0.5):
            context["language"] = self.rng.choice(_LANGUAGES)
        if self.chance(0.1):
            context["statement"] = {"objectType": "StatementRef", "id": self.uuid()}
        if self.chance(0.8):
            kinds = self.rng.sample(("parent", "grouping", "category", "other"), self.rng.randint(1, 4))
            context["contextActivities"] = {
                kind: ([self.activity(full=self.chance(0.5)) for _ in range(self.rng.randint(1, 2))]
                       if self.chance(0.9) else self.activity(full=False))
                for kind in kinds}
        if self.chance(0.6):
            context["extensions"] = self.extensions(self.rng.randint(1, 3))
        if v2 and self.chance(0.3):
            context["contextAgents"] = [{"objectType": "contextAgent", "agent": {"objectType": "Agent", **self.agent()},
                                         "relevantTypes": [self.iri()]}]
        return context

    def attachment(self) -> dict[str, Any]:
        return {"usageType": "http://adlnet.gov/expapi/attachments/signature", "display": self.language_map(1),
                "contentType": "application/pdf", "length": self.rng.randrange(1, 10**7),
                "sha2": hashlib.sha256(self.text(3).encode()).hexdigest(), "fileUrl": self.iri()}

    def statement(self) -> dict[str, Any]:
        version = self.rng.choice(("1.0.3", "1.0.0", "2.0.0", None, None))
        v2 = version == "2.0.0"
        statement_object = self.statement_object(in_substatement=False)
        verb = self.rng.choice(_VERBS)
        statement: dict[str, Any] = {"actor": self.actor(), "verb": {"id": verb, "display": self.language_map(1)},
                                     "object": statement_object}
        if self.chance(0.97):
            statement["id"] = self.uuid()
        if self.chance(0.6):
            statement["result"] = self.result()
        if self.chance(0.9):
            is_activity = statement_object.get("objectType", "Activity") == "Activity"
            statement["context"] = self.context(is_activity, v2)
        statement["timestamp"] = self.timestamp(offset_required=v2)
        statement["stored"] = self.timestamp(offset_required=True)
        if self.chance(0.3):
            statement["authority"] = {"objectType": "Agent", "name": "LRS",
                                      "account": {"homePage": "https://lrs.cluster.kz", "name": f"key-{self.rng.randrange(9)}"}}
        if self.chance(0.03):
            statement["attachments"] = [self.attachment()]
        if version is not None:
            statement["version"] = version
        return statement


def _break_one_rule(draw: _Draw, statement: dict[str, Any]) -> None:
    """One defect real producers ship (the kinds the reference's user-pain list names)."""
    defect = draw.rng.randrange(6)
    if defect == 0:
        statement.setdefault("result", {})["duration"] = draw.rng.randrange(1, 5000)  # seconds as a number
    elif defect == 1:
        statement["actor"] = {"name": "no identifier"}
    elif defect == 2:
        statement["object"]["objectType"] = "activity"  # case matters
    elif defect == 3:
        statement["timestamp"] = "2026-13-45T25:61:00Z"
    elif defect == 4:
        statement["verb"] = {"id": "completed"}  # not an IRI
    else:
        statement["id"] = "not-a-uuid"


def varied_statements(count: int, seed: int, invalid_share: float = 0.02) -> Iterator[dict[str, Any]]:
    """``count`` statements of varied shape; about ``invalid_share`` of them break one rule."""
    rng = random.Random(seed)
    draw = _Draw(rng)
    for _ in range(count):
        statement = draw.statement()
        if rng.random() < invalid_share:
            _break_one_rule(draw, statement)
        yield statement
