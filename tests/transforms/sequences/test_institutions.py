"""Per-institution sequences reports: each holds only its learners, in its language, and reads whole in Chromium."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from devtools import REPO_ROOT
from devtools.synthetic.sequences import collaborative_discussions
from tests.reporting.browser import page_problems
from transforms.sequences.run import run_sequences
from xapi_ingest.lake.ingest import Ingestor
from xapi_ingest.lake.store import Lake
from xapi_ingest.publish.privacy import Pseudonymizer, publish
from xapi_ingest.publish.teachers import RosterLookup
from xapi_ingest.xapi.reader import RawRecord

SCHEME = REPO_ROOT / "config" / "sequences" / "scheme.yaml"
KEY = b"test-key-for-sequences-0123456789"
LANGUAGES = "\nreports:\n  default_language: en\n  institution_languages: {S-17: kk, C-03: ru}\n"


def _ifi(statement: dict) -> str:
    account = statement["actor"]["account"]
    return f"account:{account['homePage']}|{account['name']}"


@pytest.fixture(scope="module")
def lake_and_roster(tmp_path_factory):
    root = tmp_path_factory.mktemp("institutions")
    statements = list(collaborative_discussions(16, seed=8))
    actors = sorted({_ifi(s) for s in statements})
    places = {ifi: ("S-17", "C-03")[index % 2] for index, ifi in enumerate(actors)}
    roster = root / "roster.csv"
    roster.write_text("teacher_id,display_name,institution_id,ifis,member_from,member_to,pd_cycle_start\n" + "".join(
        f"T{index:05d},Teacher {index},{places[ifi]},{ifi},2000-01-01,,2025-09-01\n" for index, ifi in enumerate(actors)))
    target = next(s for s in statements if places[_ifi(s)] == "S-17")
    void = {"id": str(uuid.uuid4()), "actor": {"mbox": "mailto:moderator@cluster.example.kz"},  # in no institution
            "verb": {"id": "http://adlnet.gov/expapi/verbs/voided", "display": {"en-US": "voided"}},
            "object": {"objectType": "StatementRef", "id": target["id"]}, "timestamp": target["timestamp"]}
    lake = Lake(root / "lake")
    Ingestor(lake, "moodle-a").ingest(("t", RawRecord(i, i + 1, json.dumps(s), s))
                                      for i, s in enumerate([*statements, void]))
    pseudonymizer = Pseudonymizer(KEY, roster=RosterLookup.load(roster))
    publish(lake, pseudonymizer, include_unchecked=True)
    scheme = root / "scheme.yaml"
    scheme.write_text(SCHEME.read_text() + LANGUAGES)
    learners = {place: {pseudonymizer.pseudonym(ifi) for ifi, p in places.items() if p == place} for place in ("S-17", "C-03")}
    return lake, scheme, statements, learners, root, target["id"]


@pytest.fixture(scope="module")
def run(lake_and_roster):
    lake, scheme, _, _, root, _ = lake_and_roster
    return run_sequences(lake, scheme, root / "out")


def test_one_report_per_institution_with_only_its_learners(run, lake_and_roster):
    _, _, statements, learners, _, voided = lake_and_roster
    out = Path(run.out_dir)
    assert [(i["institution_id"], i["language"]) for i in run.institutions] == [("C-03", "ru"), ("S-17", "kk")]
    assert run.notes == [] and run.untranslated == []
    # every actor placed once; the statement voided by a moderator of no institution is gone from its institution too
    assert sum(i["in_scope"] for i in run.institutions) == run.in_scope == len(statements) - 1
    for place in ("S-17", "C-03"):
        folder = out / "institutions" / place
        events = pq.read_table(folder / "coded_events.parquet").to_pandas()
        assert set(events["learner"]) <= learners[place] and len(events) > 0 and voided not in set(events["statement_id"])
        assert (folder / "knowledge-construction" / "diagram.svg").stat().st_size > 0
        assert (folder / "interaction" / "transitions.csv").stat().st_size > 0
        profiles = (folder / "interaction" / "clusters" / "profiles.csv").read_text()
        assert not any(learner in profiles for learner in learners[{"S-17": "C-03", "C-03": "S-17"}[place]])
    kazakh = (out / "institutions" / "S-17" / "report.html").read_text()
    russian = (out / "institutions" / "C-03" / "report.html").read_text()
    assert "<html lang='kk'>" in kazakh and "Мінез-құлық тізбектері: S-17" in kazakh
    assert "<html lang='ru'>" in russian and "Последовательности поведения: C-03" in russian
    assert "<html lang='en'>" in (out / "report.html").read_text()
    cluster = pq.read_table(out / "coded_events.parquet").num_rows
    assert cluster == sum(pq.read_table(out / "institutions" / p / "coded_events.parquet").num_rows for p in ("S-17", "C-03"))


def test_without_institution_ids_the_run_says_why_in_one_line(lake_and_roster, tmp_path, capsys):
    lake, scheme, *_ = lake_and_roster
    restricted = run_sequences(lake, scheme, tmp_path / "restricted", zone="restricted")
    assert restricted.institutions == [] and len(restricted.notes) == 1 and "restricted zone" in restricted.notes[0]
    assert not (Path(restricted.out_dir) / "institutions").exists()
    assert restricted.notes[0] in restricted.describe().splitlines()
    unplaced = Lake(tmp_path / "no-roster")  # published without a roster: the column is there, and empty
    discussion = list(collaborative_discussions(2, seed=3))
    Ingestor(unplaced, "moodle-a").ingest(("t", RawRecord(i, i + 1, json.dumps(s), s)) for i, s in enumerate(discussion))
    publish(unplaced, Pseudonymizer(KEY), include_unchecked=True)
    summary = run_sequences(unplaced, scheme, tmp_path / "unplaced")
    assert summary.institutions == [] and summary.notes == [summary.notes[0]] and "--roster" in summary.notes[0]


def test_the_cluster_and_an_institution_report_read_whole_in_a_browser(run, browser, tmp_path):
    out = Path(run.out_dir)
    for page in (out / "report.html", out / "institutions" / "S-17" / "report.html"):
        assert page_problems(browser, page, tmp_path / "shots" / page.parent.name) == []
