"""Deterministic synthetic collaborative-scenario discussions as valid xAPI statements.

Used by ``make demo`` (emitted to an LRS with tincan), by the tests and by the benchmarks. The
behaviour is not random noise: knowledge-construction codes follow a Markov chain whose
transition matrix differs between the two scenario designs, each speaker's codes lean towards
one of three behaviour styles, and the interaction verbs follow their own chain, so the
analysis finds real significant sequences, design differences and learner clusters.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

KC_CODES = ("C1", "C2", "C3", "C4", "C5")
KC_EXTENSION = "https://w3id.org/xapi/hou/extensions/kc-code"
DESIGN_EXTENSION = "https://w3id.org/xapi/hou/extensions/scenario-design"
DISCUSSION_TYPE = "http://id.tincanapi.com/activitytype/discussion"
SCENARIO_TYPE = "http://adlnet.gov/expapi/activities/simulation"
INTERACTION_VERBS = (
    ("http://adlnet.gov/expapi/verbs/asked", "asked"),
    ("http://adlnet.gov/expapi/verbs/responded", "responded"),
    ("http://adlnet.gov/expapi/verbs/commented", "commented"),
    ("http://adlnet.gov/expapi/verbs/shared", "shared"),
)
DESIGNS = ("given-scenario", "role-play")

# Rows = current phase, columns = next phase. Given scenarios mostly circle in C1/C2;
# role-play moves on through negotiation (C3) to testing (C4) and application (C5).
KC_CHAINS = {
    "given-scenario": np.array([
        [0.50, 0.30, 0.12, 0.05, 0.03],
        [0.40, 0.30, 0.20, 0.06, 0.04],
        [0.35, 0.25, 0.25, 0.10, 0.05],
        [0.30, 0.20, 0.25, 0.15, 0.10],
        [0.45, 0.20, 0.15, 0.10, 0.10],
    ]),
    "role-play": np.array([
        [0.30, 0.35, 0.25, 0.06, 0.04],
        [0.15, 0.20, 0.50, 0.10, 0.05],
        [0.10, 0.10, 0.25, 0.45, 0.10],
        [0.10, 0.05, 0.20, 0.25, 0.40],
        [0.40, 0.15, 0.20, 0.10, 0.15],
    ]),
}
# Speakers' styles: what a speaker says when they do not follow the chain.
STYLES = np.array([
    [0.60, 0.25, 0.10, 0.03, 0.02],  # informers
    [0.10, 0.20, 0.50, 0.15, 0.05],  # negotiators
    [0.05, 0.05, 0.20, 0.35, 0.35],  # synthesizers
])
STYLE_WEIGHT = 0.35
# ask → respond is the backbone of a discussion; sharing prompts comments.
VERB_CHAIN = np.array([
    [0.05, 0.75, 0.15, 0.05],
    [0.30, 0.20, 0.35, 0.15],
    [0.25, 0.30, 0.30, 0.15],
    [0.10, 0.20, 0.60, 0.10],
])
_NAMESPACE = uuid.UUID("6c1d4a0e-2f7b-4e39-9a51-3d8e7b2c5f10")
_START = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Teacher:
    home_page: str
    name: str


def default_teachers(count: int = 60, home_page: str = "https://moodle.cluster.example.kz") -> list[Teacher]:
    return [Teacher(home_page, f"teacher-{n:04d}") for n in range(count)]


def collaborative_discussions(
    n_discussions: int = 40,
    teachers: Sequence[Teacher] | None = None,
    messages: tuple[int, int] = (12, 40),
    uncoded_rate: float = 0.02,
    seed: int = 2011,
    platform_home: str = "https://moodle.cluster.example.kz",
) -> Iterator[dict[str, Any]]:
    """Statements of ``n_discussions`` scenario discussions, in time order within each.

    Each discussion has its own ``context.registration`` (the unit), a grouping activity for
    its scenario, the scenario design in a context extension, and per message a verb (the
    interaction dimension) and a knowledge-construction code in a result extension; about
    ``uncoded_rate`` of the messages carry no code (raters left them uncoded), as real data does.
    The same arguments always give the same statements.
    """
    rng = np.random.default_rng(seed)
    teachers = list(teachers or default_teachers())
    styles = rng.integers(0, len(STYLES), size=len(teachers))
    for discussion in range(n_discussions):
        design = DESIGNS[discussion % len(DESIGNS)]
        members = rng.choice(len(teachers), size=min(len(teachers), int(rng.integers(3, 6))), replace=False)
        registration = str(uuid.uuid5(_NAMESPACE, f"discussion-{seed}-{discussion}"))
        scenario = f"https://scenarios.cluster.example.kz/scenario/{design}/{discussion % 7}"
        thread = f"{platform_home}/mod/forum/discuss.php?d={1000 + discussion}"
        moment = _START + timedelta(hours=int(rng.integers(0, 24 * 45)))
        kc, verb = int(rng.integers(0, 2)), 0  # discussions open by sharing or questioning
        for message in range(int(rng.integers(messages[0], messages[1] + 1))):
            speaker = int(rng.choice(members))
            if message:
                mix = (1 - STYLE_WEIGHT) * KC_CHAINS[design][kc] + STYLE_WEIGHT * STYLES[styles[speaker]]
                kc = int(rng.choice(len(KC_CODES), p=mix))
                verb = int(rng.choice(len(INTERACTION_VERBS), p=VERB_CHAIN[verb]))
            moment += timedelta(minutes=int(rng.integers(1, 240)))
            coded = rng.random() >= uncoded_rate
            yield _statement(teachers[speaker], registration, scenario, thread, design, message, moment,
                             INTERACTION_VERBS[verb], KC_CODES[kc] if coded else None, platform_home)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _statement(
    teacher: Teacher, registration: str, scenario: str, thread: str, design: str, message: int,
    moment: datetime, verb: tuple[str, str], kc_code: str | None, platform_home: str,
) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "id": str(uuid.uuid5(_NAMESPACE, f"{registration}-{message}")),
        "actor": {"objectType": "Agent", "name": teacher.name.replace("-", " ").title(),
                  "account": {"homePage": teacher.home_page, "name": teacher.name}},
        "verb": {"id": verb[0], "display": {"en-US": verb[1]}},
        "object": {"objectType": "Activity", "id": f"{thread}#message-{message}",
                   "definition": {"type": DISCUSSION_TYPE, "name": {"en-US": f"Scenario discussion message {message}"}}},
        "timestamp": _iso(moment),
        "context": {
            "registration": registration,
            "platform": "Moodle",
            "language": "en",
            "contextActivities": {
                "parent": [{"objectType": "Activity", "id": thread, "definition": {"type": DISCUSSION_TYPE}}],
                "grouping": [{"objectType": "Activity", "id": scenario, "definition": {"type": SCENARIO_TYPE}}],
            },
            "extensions": {DESIGN_EXTENSION: design},
        },
        "version": "1.0.3",
    }
    if kc_code is not None:
        statement["result"] = {"extensions": {KC_EXTENSION: kc_code}}
    return statement
