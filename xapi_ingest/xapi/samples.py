"""Deterministic, realistic statements in the shapes Moodle and Open edX emit.

The benchmark, the tests and the bundled sample file all draw from here, so every measurement
is made on the same kind of statement the cluster's platforms produce (ids, context
activities, extensions, scores, durations), not on toy records.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

_NAMESPACE = uuid.UUID("0b3f7c9e-5d1a-4a8e-9f2b-6c4d8e1a2b3c")
_VERBS = [
    ("http://adlnet.gov/expapi/verbs/completed", "completed"),
    ("http://adlnet.gov/expapi/verbs/attempted", "attempted"),
    ("http://adlnet.gov/expapi/verbs/attended", "attended"),
    ("http://adlnet.gov/expapi/verbs/answered", "answered"),
    ("https://w3id.org/xapi/video/verbs/played", "played"),
    ("http://id.tincanapi.com/verb/viewed", "viewed"),
]
_START = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _moodle_statement(rng: random.Random, n: int) -> dict[str, Any]:
    verb_id, verb_name = _VERBS[n % len(_VERBS)]
    teacher = rng.randrange(10_000)
    course = rng.randrange(200)
    moment = _START + timedelta(seconds=n * 7 + rng.randrange(5))
    statement: dict[str, Any] = {
        "id": str(uuid.uuid5(_NAMESPACE, f"moodle-{n}")),
        "actor": {"objectType": "Agent", "name": f"Teacher {teacher}",
                  "account": {"homePage": "https://moodle.example.edu", "name": str(teacher)}},
        "verb": {"id": verb_id, "display": {"en": verb_name}},
        "object": {
            "objectType": "Activity",
            "id": f"https://moodle.example.edu/mod/quiz/view.php?id={course * 10 + n % 10}",
            "definition": {"type": "http://adlnet.gov/expapi/activities/assessment",
                           "name": {"en": f"Quiz {course}"},
                           "extensions": {"https://moodle.org/xapi/extensions/module_type": "quiz"}},
        },
        "timestamp": _iso(moment),
        "stored": _iso(moment + timedelta(seconds=2)),
        "context": {
            "platform": "Moodle",
            "language": "en",
            "registration": str(uuid.uuid5(_NAMESPACE, f"session-{teacher}-{n // 50}")),
            "contextActivities": {
                "grouping": [{"id": f"https://moodle.example.edu/course/view.php?id={course}",
                              "definition": {"type": "http://id.tincanapi.com/activitytype/lms/course"}}],
                "category": [{"id": "http://moodle.org",
                              "definition": {"type": "http://id.tincanapi.com/activitytype/source"}}],
            },
            "extensions": {"http://lrs.learninglocker.net/define/extensions/info": {"moodle": "4.3"}},
        },
        "version": "1.0.3",
    }
    if verb_id.endswith(("completed", "answered")):
        raw = rng.randrange(0, 11)
        statement["result"] = {"score": {"raw": raw, "min": 0, "max": 10, "scaled": raw / 10},
                               "success": raw >= 5, "completion": True, "response": "",
                               "duration": f"PT{rng.randrange(1, 90)}M{rng.randrange(60)}S"}
    return statement


def _openedx_statement(rng: random.Random, n: int) -> dict[str, Any]:
    learner = rng.randrange(10_000)
    moment = _START + timedelta(seconds=n * 7 + rng.randrange(5))
    return {
        "id": str(uuid.uuid5(_NAMESPACE, f"openedx-{n}")),
        "actor": {"objectType": "Agent",
                  "account": {"homePage": "https://courses.example.org", "name": f"learner-{learner}"}},
        "verb": {"id": "https://w3id.org/xapi/video/verbs/played", "display": {"en-US": "played"}},
        "object": {
            "objectType": "Activity",
            "id": f"https://courses.example.org/xblock/block-v1:Cluster+PD101+2026+type@video+block@{n % 97}",
            "definition": {"type": "https://w3id.org/xapi/video/activity-type/video",
                           "name": {"en-US": "Formative assessment in practice"}},
        },
        "timestamp": moment.isoformat(timespec="microseconds"),
        "stored": _iso(moment + timedelta(seconds=1)),
        "result": {"extensions": {"https://w3id.org/xapi/video/extensions/time": round(rng.uniform(0, 900), 3)}},
        "context": {
            "contextActivities": {"parent": [{"id": "https://courses.example.org/course/course-v1:Cluster+PD101+2026",
                                              "objectType": "Activity",
                                              "definition": {"type": "http://adlnet.gov/expapi/activities/course"}}]},
            "extensions": {"https://w3id.org/xapi/openedx/extension/transformer-version": "event-routing-backends@7.0.1",
                           "https://w3id.org/xapi/video/extensions/length": 612.0,
                           "https://w3id.org/xapi/openedx/extensions/session-id": f"{learner:032x}"},
        },
        "version": "1.0.3",
    }


def realistic_statements(count: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    """``count`` valid statements, alternating Moodle-like and Open edX-like, always the same."""
    rng = random.Random(seed)
    for n in range(count):
        yield _moodle_statement(rng, n) if n % 2 == 0 else _openedx_statement(rng, n)
