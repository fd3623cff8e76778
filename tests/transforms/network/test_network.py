"""The network of the hand-built cluster (tests/transforms/network/world.py), every figure worked out by hand."""

from __future__ import annotations

import tomllib
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from devtools import REPO_ROOT
from tests.transforms.network import world
from transforms.network.plugin import NetworkConfig, plugin
from transforms.plugins.api import Outcome, RunContext
from xapi_ingest.lake.store import Lake
from xapi_ingest.publish.privacy import Pseudonymizer, load_key


def _run(lake: Lake, roster: Path, out: Path, key: str | None = world.KEY) -> Outcome:
    config = NetworkConfig(roster=roster, out=out, reports={"institution_languages": world.LANGUAGES})
    pseudonyms = Pseudonymizer(load_key(key)) if key else None
    return plugin.run(RunContext(lake, plugin.reads, plugin.name, plugin.version, lake.snapshot_ids(), pseudonyms),
                      config)


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Outcome]:
    folder = tmp_path_factory.mktemp("network")
    lake, roster = world.build(folder)
    return folder, _run(lake, roster, folder / "out")


def test_institution_edges_per_academic_year(ran) -> None:
    _, outcome = ran
    rows = duckdb.sql(f"SELECT academic_year, source_institution, target_institution, crosses, round(hours, 4), "
                      f"attendances, statements, statements_without_duration, facilitators, attendees "
                      f"FROM '{outcome.output_dir / 'edges_institutions.parquet'}' ORDER BY ALL").fetchall()
    assert rows == [
        (2024, "A", "A", False, 2.0, 1, 1, 0, 1, 1),  # A2 at A1's MC-1: 120 min
        (2024, "A", "B", True, 2.5, 2, 2, 0, 1, 2),  # MC-1: B1 90 min + B2 60 min (B2 at B on 2024-10-01)
        (2024, "A", "C", True, 2.0, 2, 2, 0, 1, 2),  # MC-1: C1 60 min (its second record voided) + MC-3: B2 60 min (at C by then)
        (2024, "B", "A", True, round(70 / 60, 4), 1, 2, 0, 1, 1),  # W-1: A1 30 + 40 min, two statements, one attendance
        (2024, "C", "A", True, 0.0, 1, 1, 1, 1, 1),  # R-1 shared by C1, read by A2: no duration, counted
        (2025, "A", "D", True, 2.0, 1, 1, 0, 1, 1),  # MC-2: D1 120 min
        (2025, "B", "C", True, 0.75, 1, 1, 0, 1, 1),  # W-2: C1 45 min
    ]
    assert outcome.summary["skipped_statements"] == 1  # the stranger at MC-1
    assert outcome.summary["self_led"] == 1  # B1 at B1's own webinar
    assert outcome.summary["facilitations"] == 10  # 13 with an instructor, 1 voided, 1 skipped, 1 self-led


def test_teacher_edges_carry_keys_not_names_or_accounts(ran) -> None:
    _, outcome = ran
    path = outcome.output_dir / "edges_teachers.parquet"
    table = pq.read_table(path)
    key = Pseudonymizer(world.KEY.encode()).teacher_key
    rows = sorted((r["academic_year"], r["source_teacher_key"], r["target_teacher_key"], r["source_institution"],
                   r["target_institution"], round(r["hours"], 4), r["attendances"]) for r in table.to_pylist())
    expected = [
        (2024, key("A1"), key("A2"), "A", "A", 2.0, 1),
        (2024, key("A1"), key("B1"), "A", "B", 1.5, 1),
        (2024, key("A1"), key("B2"), "A", "B", 1.0, 1),  # B2 at B on 2024-10-01 ...
        (2024, key("A1"), key("B2"), "A", "C", 1.0, 1),  # ... and at C on 2025-03-01: two edges
        (2024, key("A1"), key("C1"), "A", "C", 1.0, 1),
        (2024, key("B1"), key("A1"), "B", "A", round(70 / 60, 4), 1),
        (2024, key("C1"), key("A2"), "C", "A", 0.0, 1),
        (2025, key("A1"), key("D1"), "A", "D", 2.0, 1),
        (2025, key("B1"), key("C1"), "B", "C", 0.75, 1),
    ]
    assert rows == sorted(expected)
    written = b"".join(p.read_bytes() for p in outcome.output_dir.rglob("*") if p.suffix in (".parquet", ".html"))
    for secret in (b"Teacher ", b"account:", b"|a1", b"lms-a.example.kz", b"A1", b"B2"):  # names, IFIs, teacher ids
        assert secret not in written


def test_institution_measures(ran) -> None:
    _, outcome = ran
    path = outcome.output_dir / "institutions.parquet"
    got = {(r["academic_year"], r["institution_id"]): r for r in pq.read_table(path).to_pylist()}
    columns = ("hours_given", "hours_received", "hours_internal", "attendances_given", "attendances_received",
               "cross_share", "learns_from", "gives_to", "reciprocity", "hours_balance",
               "no_outgoing", "no_outgoing_years", "no_incoming", "no_incoming_years")
    expected = {
        # 2024. A gave 2.5 (B) + 2.0 (C) = 4.5 h; received 70/60 (B) + 0 (C) = 7/6 h; internal 2 h.
        # cross share (7/6) / (7/6 + 2) = 7/19; partners both ways {B, C}: reciprocity 2/2; balance (7/6)/4.5 = 7/27
        (2024, "A"): (4.5, 7 / 6, 2.0, 4, 2, 7 / 19, 2, 2, 1.0, 7 / 27, False, 0, False, 0),
        # B gave 7/6 h to A, received 2.5 h from A: cross share 2.5/2.5; balance (7/6)/2.5 = 7/15
        (2024, "B"): (7 / 6, 2.5, 0.0, 1, 2, 1.0, 1, 1, 1.0, 7 / 15, False, 0, False, 0),
        # C gave A one attendance without hours (a contribution all the same), received 2 h: balance 0/2
        (2024, "C"): (0.0, 2.0, 0.0, 1, 2, 1.0, 1, 1, 1.0, 0.0, False, 0, False, 0),
        # D: nothing either way; no hours and no ties, so the ratios are undefined
        (2024, "D"): (0.0, 0.0, 0.0, 0, 0, None, 0, 0, None, None, True, 1, True, 1),
        # 2025. A gave 2 h to D, received nothing: no incoming (first year), one-way tie: reciprocity 0/1
        (2025, "A"): (2.0, 0.0, 0.0, 1, 0, None, 0, 1, 0.0, 0.0, False, 0, True, 1),
        (2025, "B"): (0.75, 0.0, 0.0, 1, 0, None, 0, 1, 0.0, 0.0, False, 0, True, 1),
        # C received 0.75 h from B, gave nothing this year (it gave in 2024): no outgoing, one year
        (2025, "C"): (0.0, 0.75, 0.0, 0, 1, 1.0, 1, 0, 0.0, 0.0, True, 1, False, 0),
        # D received 2 h from A and gave nothing again: no outgoing for 2 years in a row
        (2025, "D"): (0.0, 2.0, 0.0, 0, 1, 1.0, 1, 0, 0.0, 0.0, True, 2, False, 0),
    }
    assert set(got) == set(expected)
    for where, values in expected.items():
        assert tuple(got[where][c] for c in columns) == pytest.approx(values), where
    # what the institutions gave each other is what they received (the network's own bookkeeping)
    totals = duckdb.sql(f"SELECT academic_year, sum(hours_given) - sum(hours_received) FROM '{path}' GROUP BY ALL").fetchall()
    assert all(abs(difference) < 1e-9 for _, difference in totals)


def test_pages_in_each_institutions_language_and_the_diagrams(ran) -> None:
    _, outcome = ran
    pages = {p.stem: p.read_text(encoding="utf-8") for p in (outcome.output_dir / "institutions").glob("*.html")}
    assert set(pages) == {"A", "B", "C", "D"}
    assert '<html lang="kk">' in pages["A"] and "Оқу желісі: A" in pages["A"]
    assert '<html lang="ru">' in pages["B"] and "Сеть обучения: B" in pages["B"]
    assert '<html lang="en">' in pages["C"] and "Learning network: C" in pages["C"]
    assert '<html lang="ru">' in pages["D"]  # the default language
    assert "36,8\u00a0%" in pages["A"]  # A's cross share 7/19 in Kazakh number format
    assert "учебных лет подряд: 2" in pages["D"]  # D gave nothing two years running
    diagrams = sorted(p.name for p in outcome.output_dir.glob("*.png"))
    assert diagrams == [f"network_{year}_{lang}.png" for year in (2024, 2025) for lang in ("en", "kk", "ru")]
    for name in ("network_2024_kk.png", "network_2025_ru.png"):
        assert f'src="../{name}"' in pages["A" if name.endswith("kk.png") else "B"]


def test_a_second_run_with_nothing_new_writes_nothing_and_new_statements_make_a_version(ran) -> None:
    folder, first = ran
    lake, roster = Lake(folder / "lake"), folder / "roster.csv"
    before = sorted(p.name for p in (folder / "out" / "versions").iterdir())
    again = _run(lake, roster, folder / "out")
    assert (again.new_version, again.version, again.output_dir) == (False, 1, first.output_dir)
    assert sorted(p.name for p in (folder / "out" / "versions").iterdir()) == before
    assert again.lines[0].startswith("network unchanged: v0001")
    world.one_more(folder)
    later = _run(Lake(folder / "lake"), roster, folder / "out")
    assert (later.new_version, later.version) == (True, 2)
    rows = duckdb.sql(f"SELECT round(hours, 4) FROM '{later.output_dir / 'edges_institutions.parquet'}' "
                      "WHERE academic_year = 2025 AND source_institution = 'B' AND target_institution = 'A'").fetchall()
    assert rows == [(0.5,)]  # A2 at W-2 for 30 min


def test_without_the_key_it_says_which_variable_to_set(ran) -> None:
    folder, _ = ran
    with pytest.raises(ValueError, match="XAPI_PSEUDONYM_KEY"):
        _run(Lake(folder / "lake"), folder / "roster.csv", folder / "other", key=None)
    assert not (folder / "other").exists()


def test_a_bad_academic_year_start_is_refused() -> None:
    with pytest.raises(ValueError, match="MM-DD"):
        NetworkConfig(roster=REPO_ROOT / "config/credit/roster.csv", out=Path("x"), academic_year_start="9-1")


def test_the_project_declares_the_entry_point() -> None:
    declared = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    assert declared["xapi_pipeline.analytics"]["network"] == "transforms.network.plugin:plugin"
