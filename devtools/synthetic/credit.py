"""A deterministic synthetic cluster: roster, registry and the xAPI statements its platforms send.

Used by ``make demo`` (statements emitted to an LRS with tincan), the tests and the benchmark,
so all three exercise the same shapes: Moodle-like course completions without scores, Open
edX-like passes on a mirrored course, webinars with join/leave intervals and poll answers,
colleagues' master classes (the presenter is ``context.instructor``), Video Profile sessions
with played-segments, and digital resources with session durations, some of them shared by a
colleague of another institution (``context.instructor`` again). Presenters and sharers belong to
S-17 and S-42, which learn from each other; C-03 only learns, so the learning network
(``transforms.network``) has an institution that gives nothing. A few statements are voided,
one LRS credential is not on the allow-list, and one resource is missing from the registry.

Conventions the credit policy relies on: a statement's ``timestamp`` is the start of the
experience it reports and ``result.duration`` its length, so its interval is
[timestamp, timestamp + duration).
"""

from __future__ import annotations

import csv
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

NAMESPACE = uuid.UUID("5f0c2a57-8b7e-4d7b-9a51-2f8c1d3e4b6a")
MOODLE = "https://moodle.cluster.kz"
OPENEDX = "https://mooc.cluster.kz"
LRS_HOME = "https://lrs.cluster.kz"

VERB = {
    "completed": "http://adlnet.gov/expapi/verbs/completed",
    "passed": "http://adlnet.gov/expapi/verbs/passed",
    "failed": "http://adlnet.gov/expapi/verbs/failed",
    "attended": "http://adlnet.gov/expapi/verbs/attended",
    "answered": "http://adlnet.gov/expapi/verbs/answered",
    "experienced": "http://adlnet.gov/expapi/verbs/experienced",
    "terminated": "http://adlnet.gov/expapi/verbs/terminated",
    "voided": "http://adlnet.gov/expapi/verbs/voided",
}
TYPE = {
    "course": "http://adlnet.gov/expapi/activities/course",
    "webinar": "http://id.tincanapi.com/activitytype/webinar",
    "meeting": "http://adlnet.gov/expapi/activities/meeting",
    "question": "http://adlnet.gov/expapi/activities/question",
    "video": "https://w3id.org/xapi/video/activity-type/video",
    "link": "http://adlnet.gov/expapi/activities/link",
    "file": "http://adlnet.gov/expapi/activities/file",
}
PLAYED_SEGMENTS = "https://w3id.org/xapi/video/extensions/played-segments"
VIDEO_LENGTH = "https://w3id.org/xapi/video/extensions/length"
VIDEO_SESSION = "https://w3id.org/xapi/video/extensions/session-id"
MASTERY_SCORE = "https://w3id.org/xapi/cmi5/context/extensions/masteryscore"


def authority(account_name: str) -> dict[str, Any]:
    return {"objectType": "Agent", "account": {"homePage": LRS_HOME, "name": account_name}}


MOODLE_LRS, OPENEDX_LRS, FORMS_LRS, UNKNOWN_LRS = "lrs-moodle-prod", "lrs-openedx", "lrs-forms", "lrs-sandbox"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def duration(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"PT{hours}H{minutes}M{secs}S"


def statement_id(seed: str) -> str:
    return str(uuid.uuid5(NAMESPACE, seed))


def make_statement(
    seed: str, actor: dict[str, Any], verb: str, object_id: str, object_type: str, name: str, start: datetime,
    *, result: dict[str, Any] | None = None, context: dict[str, Any] | None = None, lrs: str = MOODLE_LRS,
    stored_after: timedelta = timedelta(minutes=5),
) -> dict[str, Any]:
    """One valid xAPI 1.0.3 statement, as an LRS would return it (with stored and authority)."""
    statement: dict[str, Any] = {
        "id": statement_id(seed),
        "actor": actor,
        "verb": {"id": VERB.get(verb, verb), "display": {"en-US": verb.rsplit("/", 1)[-1]}},
        "object": {"objectType": "Activity", "id": object_id,
                   "definition": {"type": object_type, "name": {"en-US": name}}},
        "timestamp": iso(start),
        "stored": iso(start + stored_after),
        "authority": authority(lrs),
        "version": "1.0.3",
    }
    if result:
        statement["result"] = result
    if context:
        statement["context"] = context
    return statement


def void(seed: str, target_id: str, actor: dict[str, Any], moment: datetime, lrs: str = MOODLE_LRS) -> dict[str, Any]:
    return {
        "id": statement_id(seed), "actor": actor,
        "verb": {"id": VERB["voided"], "display": {"en-US": "voided"}},
        "object": {"objectType": "StatementRef", "id": target_id},
        "timestamp": iso(moment), "stored": iso(moment), "authority": authority(lrs), "version": "1.0.3",
    }


def moodle_actor(user: str) -> dict[str, Any]:
    return {"objectType": "Agent", "account": {"homePage": MOODLE, "name": user}}


def openedx_actor(user: str) -> dict[str, Any]:
    return {"objectType": "Agent", "account": {"homePage": OPENEDX, "name": user}}


def course_completed(seed: str, actor: dict, iri: str, name: str, at: datetime, spent_s: float | None = None,
                     platform: str = "Moodle", lrs: str = MOODLE_LRS) -> dict[str, Any]:
    result = {"completion": True, **({"duration": duration(spent_s)} if spent_s else {})}
    return make_statement(seed, actor, "completed", iri, TYPE["course"], name, at, result=result,
                          context={"platform": platform}, lrs=lrs)


def course_assessed(seed: str, actor: dict, iri: str, name: str, at: datetime, scaled: float | None,
                    mastery: float | None = None, platform: str = "Moodle", lrs: str = MOODLE_LRS) -> dict[str, Any]:
    """``passed`` when the score reaches mastery (or there is no score), else ``failed`` (cmi5 rule)."""
    passed = scaled is None or mastery is None or scaled >= mastery
    result: dict[str, Any] = {"success": passed}
    if scaled is not None:
        result["score"] = {"scaled": scaled}
    context: dict[str, Any] = {"platform": platform}
    if mastery is not None:
        context["extensions"] = {MASTERY_SCORE: mastery}
    return make_statement(seed, actor, "passed" if passed else "failed", iri, TYPE["course"], name, at,
                          result=result, context=context, lrs=lrs)


def attended(seed: str, actor: dict, iri: str, name: str, start: datetime, minutes: float, kind: str = "webinar",
             instructor: dict | None = None, lrs: str = MOODLE_LRS) -> dict[str, Any]:
    context: dict[str, Any] = {"platform": "Moodle"}
    if instructor is not None:
        context["instructor"] = instructor
    return make_statement(seed, actor, "attended", iri, TYPE[kind], name, start,
                          result={"duration": duration(minutes * 60)}, context=context, lrs=lrs)


def answered(seed: str, actor: dict, event_iri: str, at: datetime, poll: int, lrs: str = MOODLE_LRS) -> dict[str, Any]:
    return make_statement(seed, actor, "answered", f"{event_iri}/poll/{poll}", TYPE["question"], f"Poll {poll}", at,
                          result={"response": "b"}, context={"contextActivities": {"parent": [{"id": event_iri}]}},
                          lrs=lrs)


def video_session(seed: str, actor: dict, iri: str, name: str, start: datetime, segments: list[tuple[float, float]],
                  length_s: float, platform: str = "Open edX", lrs: str = OPENEDX_LRS) -> dict[str, Any]:
    played = "[,]".join(f"{a:.3f}[.]{b:.3f}" for a, b in segments)
    return make_statement(
        seed, actor, "terminated", iri, TYPE["video"], name, start,
        result={"extensions": {PLAYED_SEGMENTS: played}},
        context={"platform": platform, "extensions": {VIDEO_LENGTH: length_s, VIDEO_SESSION: statement_id(seed + "/s")}},
        lrs=lrs,
    )


def resource_session(seed: str, actor: dict, iri: str, name: str, start: datetime, minutes: float | None,
                     kind: str = "link", lrs: str = MOODLE_LRS, shared_by: dict | None = None) -> dict[str, Any]:
    """``shared_by``: the colleague who shared or recommended the resource, sent as ``context.instructor``
    (the teacher the statement relates to who is not its actor); ``minutes`` None: no ``result.duration``."""
    context: dict[str, Any] = {"platform": "Moodle", **({"instructor": shared_by} if shared_by else {})}
    result = {"duration": duration(minutes * 60)} if minutes is not None else None
    return make_statement(seed, actor, "experienced", iri, TYPE[kind], name, start, result=result, context=context,
                          lrs=lrs)


# ----------------------------------------------------------------------------------------------
# The cluster


REGISTRY_FIELDS = ["credit_unit_id", "activity_iri", "same_as", "kind", "title", "provider_name", "notional_hours",
                   "scheduled_start", "scheduled_minutes", "estimated_minutes", "move_on", "mastery_scaled",
                   "repeatable", "approval_status", "approval_ref", "rating_mean", "rating_count", "valid_from",
                   "valid_to", "registry_version"]
ROSTER_FIELDS = ["teacher_id", "display_name", "institution_id", "ifis", "member_from", "member_to", "pd_cycle_start"]


@dataclass
class Cluster:
    roster: list[dict[str, Any]] = field(default_factory=list)
    registry: list[dict[str, Any]] = field(default_factory=list)
    statements: list[dict[str, Any]] = field(default_factory=list)

    def write_roster(self, path: Path) -> Path:
        return _write_csv(path, ROSTER_FIELDS, self.roster)

    def write_registry(self, path: Path) -> Path:
        return _write_csv(path, REGISTRY_FIELDS, self.registry)


def _write_csv(path: Path, fields: list[str], rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow({key: " ".join(value) if isinstance(value, list) else value for key, value in row.items()})
    return path


def registry_row(credit_unit_id: str, iri: str, kind: str, title: str, **values: Any) -> dict[str, Any]:
    row = {"credit_unit_id": credit_unit_id, "activity_iri": iri, "kind": kind, "title": title,
           "approval_status": "approved", "rating_mean": 4.5, "rating_count": 20, "valid_from": "2023-09-01"}
    row.update(values)
    return row


def roster_row(teacher_id: str, name: str, institution: str, ifis: list[str], pd_cycle_start: str = "2024-09-01",
               member_from: str = "2020-09-01", member_to: str | None = None) -> dict[str, Any]:
    return {"teacher_id": teacher_id, "display_name": name, "institution_id": institution, "ifis": ifis,
            "member_from": member_from, "member_to": member_to, "pd_cycle_start": pd_cycle_start}


_INSTITUTIONS = ["S-17", "S-42", "C-03"]
_FIRST = ["Aigerim", "Dana", "Yerlan", "Madina", "Nurlan", "Saule", "Timur", "Aliya", "Bauyrzhan", "Gulnara",
          "Arman", "Zhanar", "Daniyar", "Kamila", "Ruslan", "Asel"]
_LAST = ["Abenova", "Bekov", "Sadykova", "Omarov", "Nurpeisova", "Tulegenov", "Zhaksylykova", "Iskakov"]
_AY_START = datetime(2025, 9, 1, tzinfo=UTC)


def _cluster_registry(rng: random.Random) -> list[dict[str, Any]]:
    rows = []
    for n in range(8):
        iri = f"{MOODLE}/course/view.php?id={100 + n}"
        same_as = [f"{OPENEDX}/courses/course-v1:Cluster+PD{100 + n}+2025"] if n % 2 == 0 else []
        rows.append(registry_row(f"R-{100 + n}", iri, "mooc_course", f"MOOC {100 + n}", same_as=same_as,
                                 notional_hours=rng.choice([6, 8, 12, 16, 20]),
                                 move_on="Completed" if n % 2 else "CompletedOrPassed",
                                 rating_mean=rng.choice([4.6, 4.2, 3.6]), provider_name="Orleu (demo)"))
    for n in range(10):
        start = _AY_START + timedelta(days=10 + 25 * n, hours=10)
        rows.append(registry_row(f"W-{n}", f"{MOODLE}/mod/bigbluebuttonbn/view.php?id={200 + n}", "webinar",
                                 f"Webinar {n}", scheduled_start=iso(start), scheduled_minutes=90,
                                 rating_mean=rng.choice([4.5, 3.6])))
    for n in range(12):
        start = _AY_START + timedelta(days=20 + 20 * n, hours=14)
        rows.append(registry_row(f"MC-{n}", f"{MOODLE}/mod/facetoface/view.php?id={300 + n}", "master_class",
                                 f"Master class {n}", scheduled_start=iso(start), scheduled_minutes=rng.choice([60, 90, 120])))
    for n in range(15):
        rows.append(registry_row(f"V-{n}", f"{OPENEDX}/xblock/block-v1:Cluster+video+{n}", "video", f"Video {n}",
                                 estimated_minutes=rng.choice([10, 20, 30, 45])))
    for n in range(15):
        rating = 2.1 if n == 0 else rng.choice([4.4, 3.8, 3.2])
        rows.append(registry_row(f"A-{n}", f"{MOODLE}/mod/resource/view.php?id={400 + n}", "article", f"Article {n}",
                                 estimated_minutes=rng.choice([20, 30, 45, 60]), rating_mean=rating))
    return rows


def _iri_of(registry: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [row for row in registry if row["kind"] == kind]


def generate_cluster(teachers: int = 150, seed: int = 7, activity_scale: int = 1) -> Cluster:
    """The demo cluster (3 institutions); ``activity_scale`` multiplies each teacher's activity for benchmarks."""
    cluster, stream = cluster_stream(teachers, seed, activity_scale)
    cluster.statements = list(stream)
    return cluster


def cluster_stream(teachers: int = 150, seed: int = 7, activity_scale: int = 1) -> tuple[Cluster, Iterator[dict[str, Any]]]:
    """Roster and registry now, statements lazily: a million statements never sit in memory at once."""
    rng = random.Random(seed)
    cluster = Cluster(registry=_cluster_registry(rng))
    for t in range(teachers):
        name = f"{_FIRST[t % len(_FIRST)]} {_LAST[(t // len(_FIRST)) % len(_LAST)]}"
        ifis = [f"account:{MOODLE}|{1000 + t}", f"account:{OPENEDX}|teacher{t}"]
        cluster.roster.append(roster_row(f"T{t:05d}", name, _INSTITUTIONS[t % len(_INSTITUTIONS)], ifis,
                                         pd_cycle_start="2024-09-01" if (t // 3) % 3 == 2 else "2025-09-01"))
    return cluster, _statements(rng, cluster.registry, teachers, activity_scale)


def _statements(rng: random.Random, registry: list[dict[str, Any]], teachers: int,
                activity_scale: int) -> Iterator[dict[str, Any]]:
    moocs, webinars = _iri_of(registry, "mooc_course"), _iri_of(registry, "webinar")
    classes, videos, articles = (_iri_of(registry, kind) for kind in ("master_class", "video", "article"))
    presenters = {row["credit_unit_id"]: moodle_actor(str(1000 + _giver(rng.randrange(teachers)))) for row in classes}
    for t in range(teachers):
        moodle, edx = moodle_actor(str(1000 + t)), openedx_actor(f"teacher{t}")
        for k in range(rng.randint(0, 2) * activity_scale):
            course = rng.choice(moocs)
            at = _AY_START + timedelta(days=rng.randrange(280), hours=rng.randrange(8, 20))
            on_edx = bool(course["same_as"]) and rng.random() < 0.5
            actor, iri, platform, lrs = ((edx, course["same_as"][0], "Open edX", OPENEDX_LRS) if on_edx
                                         else (moodle, course["activity_iri"], "Moodle", MOODLE_LRS))
            completion = course_completed(f"c{t}-{k}", actor, iri, course["title"], at,
                                          rng.uniform(0.5, 1.2) * float(course["notional_hours"]) * 3600, platform, lrs)
            yield completion
            yield course_assessed(f"p{t}-{k}", actor, iri, course["title"], at + timedelta(minutes=3),
                                None if on_edx else round(rng.uniform(0.55, 1.0), 2), None if on_edx else 0.7, platform, lrs)
            if rng.random() < 0.03:
                yield void(f"v{t}-{k}", completion["id"], actor, at + timedelta(days=2), lrs)
        for k in range(rng.randint(1, 4) * activity_scale):
            event = rng.choice(webinars)
            start = datetime.fromisoformat(event["scheduled_start"].replace("Z", "+00:00"))
            joined = rng.choice([(0, 40, 45, 90), (0, 90, 90, 90), (10, 50, 55, 80), (0, 30, 30, 30)])
            lrs = UNKNOWN_LRS if rng.random() < 0.01 else MOODLE_LRS
            yield attended(f"w{t}-{k}a", moodle, event["activity_iri"], event["title"], start + timedelta(minutes=joined[0]),
                         joined[1] - joined[0], lrs=lrs)
            if joined[2] < joined[3]:
                yield attended(f"w{t}-{k}b", moodle, event["activity_iri"], event["title"],
                             start + timedelta(minutes=joined[2]), joined[3] - joined[2], lrs=lrs)
            for poll in range(rng.randint(2, 5)):
                yield answered(f"w{t}-{k}q{poll}", moodle, event["activity_iri"], start + timedelta(minutes=10 + 15 * poll),
                             poll, lrs=lrs)
        for k in range(rng.randint(0, 2) * activity_scale):
            mc = rng.choice(classes)
            start = datetime.fromisoformat(mc["scheduled_start"].replace("Z", "+00:00"))
            yield attended(f"m{t}-{k}", moodle, mc["activity_iri"], mc["title"], start, mc["scheduled_minutes"],
                         kind="meeting", instructor=presenters[mc["credit_unit_id"]], lrs=FORMS_LRS)
        for k in range(rng.randint(2, 6) * activity_scale):
            video = rng.choice(videos)
            length = video["estimated_minutes"] * 60
            at = _AY_START + timedelta(days=rng.randrange(280), hours=rng.randrange(8, 22))
            first = rng.uniform(0.3, 1.0) * length
            segments = [(0.0, first)] + ([(first * 0.8, length)] if rng.random() < 0.5 else [])
            yield video_session(f"vid{t}-{k}", edx, video["activity_iri"], video["title"], at, segments, length)
        for k in range(rng.randint(2, 6) * activity_scale):
            article = rng.choice(articles)
            at = _AY_START + timedelta(days=rng.randrange(280), hours=rng.randrange(8, 22))
            yield resource_session(f"art{t}-{k}", moodle, article["activity_iri"], article["title"], at,
                                 rng.choice([10, 20, 30, 45, 60]))
        if t % 10 == 0:
            at = _AY_START + timedelta(days=rng.randrange(280), hours=9)
            yield resource_session(f"blog{t}", moodle, "https://blog.example.kz/formative-feedback", "Formative feedback blog",
                                 at, 60)
    yield from _shared_resources(random.Random(f"shared-{rng.random()}"), articles, teachers, activity_scale)


def _giver(teacher: int) -> int:
    """A C-03 teacher's neighbour in S-42 instead (same draw, so the rest of the cluster is unchanged)."""
    return teacher - 1 if _INSTITUTIONS[teacher % len(_INSTITUTIONS)] == "C-03" else teacher


def _shared_resources(rng: random.Random, articles: list[dict[str, Any]], teachers: int,
                      activity_scale: int) -> Iterator[dict[str, Any]]:
    """Articles a colleague of another institution recommended, appended after everything else with
    their own random stream, so the statements above (and the figures built on them) stay as they were."""
    for t in range(teachers):
        for k in range((rng.random() < 0.4) * activity_scale):
            colleague = _giver(rng.randrange(teachers))
            if colleague % len(_INSTITUTIONS) == t % len(_INSTITUTIONS):
                continue  # a colleague of the same institution: not a cross function
            article = rng.choice(articles)
            at = _AY_START + timedelta(days=rng.randrange(280), hours=rng.randrange(8, 22))
            yield resource_session(f"shared{t}-{k}", moodle_actor(str(1000 + t)), article["activity_iri"],
                                   article["title"], at, rng.choice([None, 20, 30, 45]),
                                   shared_by=moodle_actor(str(1000 + colleague)))
