"""The reference's three worked examples (credit-model.md §7) as a small cluster, plus a few
teachers for the other rules. Statements are built with the same builders as the demo, so they
are valid xAPI and go through the real ingest into a real lake."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from devtools import REPO_ROOT
from devtools.synthetic import credit as x
from xapi_ingest.lake.ingest import Ingestor
from xapi_ingest.lake.store import Lake
from xapi_ingest.xapi.reader import read_records

POLICY = REPO_ROOT / "config" / "credit" / "policy.yaml"
LMS, MOOC = "https://lms-a.example.kz", "https://mooc-b.example.kz"
T3_MBOX = "mailto:t3@school.example.kz"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def lms(user: str) -> dict[str, Any]:
    return {"objectType": "Agent", "account": {"homePage": LMS, "name": user}}


def mooc(user: str) -> dict[str, Any]:
    return {"objectType": "Agent", "account": {"homePage": MOOC, "name": user}}


IRI = {
    "R-101": f"{LMS}/course/101", "R-101b": f"{MOOC}/courses/course-v1:PD+101", "R-102": f"{LMS}/course/102",
    "P-1": f"{LMS}/resource/p1", "P-2": f"{LMS}/resource/p2", "P-3": f"{LMS}/resource/p3",
    "W-55": f"{LMS}/webinar/55", "V-77": f"{MOOC}/video/77", "V-80": f"{MOOC}/video/80",
    "MC-1": f"{LMS}/masterclass/1", "MC-9": f"{LMS}/masterclass/9", "MC-12": f"{LMS}/masterclass/12",
    "R-330": f"{LMS}/resource/330", "blog": "https://blog.example.kz/formative-feedback",
}

REGISTRY = [
    x.registry_row("R-101", IRI["R-101"], "mooc_course", "Formative assessment in practice", same_as=[IRI["R-101b"]],
                   notional_hours=20, rating_mean=4.6, rating_count=38, provider_name="Orleu"),
    x.registry_row("R-102", IRI["R-102"], "mooc_course", "AI tools in the classroom", notional_hours=12,
                   mastery_scaled=0.70, rating_mean=4.2, rating_count=30),
    x.registry_row("P-1", IRI["P-1"], "article", "Reading list 1", estimated_minutes=1200),
    x.registry_row("P-2", IRI["P-2"], "article", "Reading list 2", estimated_minutes=570),
    x.registry_row("P-3", IRI["P-3"], "article", "Reading list 3", estimated_minutes=900),
    x.registry_row("W-55", IRI["W-55"], "webinar", "Webinar W-55", scheduled_start="2025-03-10T15:00:00+00:00",
                   scheduled_minutes=90, rating_mean=3.6, rating_count=12),
    x.registry_row("V-77", IRI["V-77"], "video", "Video V-77", estimated_minutes=60),
    x.registry_row("V-80", IRI["V-80"], "video", "Video V-80", estimated_minutes=30),
    x.registry_row("MC-1", IRI["MC-1"], "master_class", "Master class MC-1", scheduled_start="2023-10-05T09:00:00+00:00",
                   scheduled_minutes=390),
    x.registry_row("MC-9", IRI["MC-9"], "master_class", "Master class MC-9", scheduled_start="2025-04-15T14:00:00+00:00",
                   scheduled_minutes=120),
    x.registry_row("MC-12", IRI["MC-12"], "master_class", "Master class MC-12",
                   scheduled_start="2025-05-20T10:00:00+00:00", scheduled_minutes=90),
    x.registry_row("R-330", IRI["R-330"], "article", "Article R-330", estimated_minutes=45, rating_mean=2.1),
]
BLOG_LISTED = x.registry_row("BLOG-1", IRI["blog"], "article", "Formative feedback blog", estimated_minutes=60,
                             approval_status="listed", rating_mean=3.4, rating_count=8)


def roster() -> list[dict[str, Any]]:
    def ids(user: str) -> list[str]:
        return [f"account:{LMS}|{user}", f"account:{MOOC}|{user}"]

    return [
        x.roster_row("T1", "Teacher One", "S-17", ids("t1")),
        x.roster_row("T2", "Teacher Two", "S-99", ids("t2"), member_to="2025-01-01"),
        x.roster_row("T2", "Teacher Two", "S-17", ids("t2"), member_from="2025-01-01"),
        x.roster_row("T3", "Teacher Three", "S-17", [*ids("t3"), f"mbox:{T3_MBOX}"], pd_cycle_start="2023-09-01"),
        x.roster_row("T9", "Colleague Nine", "S-99", ids("t9")),
        x.roster_row("T2V", "Variant Sixty", "S-99", ids("t2v")),
        x.roster_row("T2E", "Variant Polls", "S-99", ids("t2e")),
        x.roster_row("T4", "Teacher Four", "S-42", ids("t4")),
        x.roster_row("T5", "Teacher Five", "S-42", ids("t5")),
        x.roster_row("T6", "Teacher Six", "S-42", ids("t6")),
        x.roster_row("T7", "Teacher Seven", "S-42", ids("t7")),
    ]


def _webinar(teacher: str, spans: list[tuple[int, int]], polls: int) -> list[dict[str, Any]]:
    start = at("2025-03-10T15:00:00")
    out = [x.attended(f"{teacher}-w55-{a}", lms(teacher), IRI["W-55"], "Webinar W-55", start + timedelta(minutes=a), b - a)
           for a, b in spans]
    out += [x.answered(f"{teacher}-w55-poll{n}", lms(teacher), IRI["W-55"], start + timedelta(minutes=10 + 20 * n), n)
            for n in range(polls)]
    return out


def statements() -> dict[str, dict[str, Any]]:
    """Named statements; the names follow the reference (s1…s6) where it names them."""
    m, e = x.MOODLE_LRS, x.OPENEDX_LRS
    s: dict[str, dict[str, Any]] = {
        # Example 1: T1
        "s1": x.course_completed("s1", lms("t1"), IRI["R-101"], "Formative", at("2024-10-12T10:00:00"), 14 * 3600 + 600),
        "s2": x.course_assessed("s2", lms("t1"), IRI["R-101"], "Formative", at("2024-10-12T10:05:00"), 0.82, 0.70),
        "s3": x.course_completed("s3", mooc("t1"), IRI["R-101b"], "Formative", at("2024-11-03T09:00:00"), 15 * 3600,
                                 "Open edX", e),
        "s4": x.course_assessed("s4", mooc("t1"), IRI["R-101b"], "Formative", at("2024-11-03T09:05:00"), None, None,
                                "Open edX", e),
        "s5": x.course_completed("s5", lms("t1"), IRI["R-102"], "AI tools", at("2025-02-20T10:00:00"), 9 * 3600),
        "s6": x.course_assessed("s6", lms("t1"), IRI["R-102"], "AI tools", at("2025-02-20T10:05:00"), 0.64, 0.70),
        # Example 2: T2 (29.5 h informal before, at the previous school)
        "p1": x.resource_session("t2-p1", lms("t2"), IRI["P-1"], "Reading 1", at("2024-10-01T08:00:00"), 1200),
        "p2": x.resource_session("t2-p2", lms("t2"), IRI["P-2"], "Reading 2", at("2024-11-01T08:00:00"), 570),
        "v77": x.video_session("t2-v77", mooc("t2"), IRI["V-77"], "Video V-77", at("2025-03-12T18:00:00"),
                               [(0, 1200), (900, 2400), (2400, 3000)], 3600),
        # Example 3: T3 (13 h presenting earlier in the PD cycle: MC-1, 390 min x 2)
        "mc1": x.attended("t9-mc1", lms("t9"), IRI["MC-1"], "MC-1", at("2023-10-05T09:00:00"), 390, kind="meeting",
                          instructor=lms("t3"), lrs=x.FORMS_LRS),
        "mc9": x.attended("t3-mc9", lms("t3"), IRI["MC-9"], "MC-9", at("2025-04-15T14:00:00"), 120, kind="meeting",
                          instructor=lms("t9"), lrs=x.FORMS_LRS),
        "v80": x.video_session("t3-v80", mooc("t3"), IRI["V-80"], "Video V-80", at("2025-04-15T15:00:00"), [(0, 1800)], 1800),
        "mc12": x.attended("t9-mc12", lms("t9"), IRI["MC-12"], "MC-12", at("2025-05-20T10:00:00"), 90, kind="meeting",
                           instructor=lms("t3"), lrs=x.FORMS_LRS),
        "r330": x.resource_session("t3-r330", lms("t3"), IRI["R-330"], "R-330", at("2025-05-02T10:00:00"), 45),
        "blog": x.resource_session(
            "t3-blog", {"objectType": "Agent", "mbox_sha1sum": hashlib.sha1(T3_MBOX.encode()).hexdigest()},
            IRI["blog"], "Blog", at("2025-05-03T10:00:00"), 60),
        # Untrusted: T4's MOOC arrives through a credential that is not on the allow-list
        "t4c": x.course_completed("t4c", lms("t4"), IRI["R-102"], "AI tools", at("2025-01-10T10:00:00"), 10 * 3600,
                                  lrs=x.UNKNOWN_LRS),
        "t4p": x.course_assessed("t4p", lms("t4"), IRI["R-102"], "AI tools", at("2025-01-10T10:05:00"), 0.9, 0.7,
                                 lrs=x.UNKNOWN_LRS),
        # T5: a credited MOOC whose completion a later run sees voided
        "t5c": x.course_completed("t5c", lms("t5"), IRI["R-102"], "AI tools", at("2025-01-15T10:00:00"), 10 * 3600, lrs=m),
        "t5p": x.course_assessed("t5p", lms("t5"), IRI["R-102"], "AI tools", at("2025-01-15T10:05:00"), 0.9, 0.7, lrs=m),
        # T6: caps in date order: the later activity is sent first
        "t6late": x.resource_session("t6-p1", lms("t6"), IRI["P-1"], "Reading 1", at("2024-10-01T08:00:00"), 1200),
        "t6early": x.resource_session("t6-p3", lms("t6"), IRI["P-3"], "Reading 3", at("2024-09-15T08:00:00"), 900),
    }
    for n in range(6):  # T7: the same session reported six times (an LMS resending with new ids)
        s[f"t7-mc9-{n}"] = x.attended(f"t7-mc9-{n}", lms("t7"), IRI["MC-9"], "MC-9", at("2025-04-15T14:00:00"), 120,
                                      kind="meeting", instructor=lms("t9"), lrs=x.FORMS_LRS)
    for n, statement in enumerate(_webinar("t2", [(0, 40), (45, 90)], 4)):
        s[f"w55-{n}"] = statement
    for n, statement in enumerate(_webinar("t2v", [(0, 60)], 4)):
        s[f"w55v-{n}"] = statement
    for n, statement in enumerate(_webinar("t2e", [(0, 90)], 3)):
        s[f"w55e-{n}"] = statement
    return s


def ingest(lake_dir: Path, items: list[dict[str, Any]], name: str = "batch"):
    path = lake_dir.parent / f"{name}.ndjson"
    path.write_text("".join(json.dumps(item) + "\n" for item in items))
    return Ingestor(Lake(lake_dir), "cluster").ingest((str(path), record) for record in read_records(path))


def write_config(folder: Path, registry: list[dict[str, Any]] | None = None) -> tuple[Path, Path]:
    cluster = x.Cluster(roster=roster(), registry=REGISTRY if registry is None else registry)
    return cluster.write_registry(folder / "registry.csv"), cluster.write_roster(folder / "roster.csv")
