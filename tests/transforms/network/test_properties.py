"""Invariants of the network on generated rosters and statement sets (the lake's columns, without a lake)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.network.evidence import facilitations
from transforms.network.measures import institution_edges, institutions, members_by_year
from xapi_ingest.common.roster import load_roster
from xapi_ingest.publish.teachers import RosterLookup

HOME = "https://lms.example.kz"
INSTITUTIONS = ["A", "B", "C", "D"]
START = datetime(2023, 9, 1, tzinfo=UTC)
STATEMENTS = pa.schema([("statement_id", pa.string()), ("timestamp", pa.timestamp("us", "UTC")),
                        ("actor_ifi", pa.string()), ("context_instructor_ifi", pa.string()), ("object_id", pa.string()),
                        ("result_duration_seconds", pa.float64())])


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[tuple[str, str, str | None, str | None]], pa.Table]:
    teachers = draw(st.integers(2, 8))
    memberships = []  # teacher, institution, member_from, member_to: some teachers move once
    for n in range(teachers):
        first = draw(st.sampled_from(INSTITUTIONS))
        if draw(st.booleans()):
            moved = (START + timedelta(days=draw(st.integers(1, 700)))).date().isoformat()
            memberships += [(f"T{n}", first, "2020-09-01", moved),
                            (f"T{n}", draw(st.sampled_from(INSTITUTIONS)), moved, None)]
        else:
            memberships.append((f"T{n}", first, "2020-09-01", None))
    people = st.integers(0, teachers)  # teachers + one account the roster does not know
    rows = draw(st.lists(st.tuples(people, people, st.integers(0, 800), st.integers(0, 5),
                                   st.one_of(st.none(), st.floats(0, 4 * 3600))), max_size=40))
    statements = pa.table({
        "statement_id": [f"s{i}" for i in range(len(rows))],
        "timestamp": [START + timedelta(days=day) for _, _, day, _, _ in rows],
        "actor_ifi": [f"account:{HOME}|u{a}" for a, _, _, _, _ in rows],
        "context_instructor_ifi": [f"account:{HOME}|u{i}" for _, i, _, _, _ in rows],
        "object_id": [f"{HOME}/event/{e}" for _, _, _, e, _ in rows],
        "result_duration_seconds": [s for *_, s in rows],
    }, schema=STATEMENTS)
    return memberships, statements


@settings(max_examples=60, deadline=None)
@given(worlds())
def test_what_institutions_give_is_what_others_receive_and_shares_are_shares(tmp_path_factory, world) -> None:
    memberships, statements = world
    roster = tmp_path_factory.mktemp("roster") / "roster.csv"
    roster.write_text("teacher_id,display_name,institution_id,ifis,member_from,member_to,pd_cycle_start\n" + "".join(
        f"{t},Name {t},{i},account:{HOME}|u{t[1:]},{start},{end or ''},2024-09-01\n" for t, i, start, end in memberships))
    identities, members_table = load_roster(roster)
    found = facilitations(statements, RosterLookup(identities, members_table), "09-01")
    assert found.rows.num_rows + found.skipped + found.self_led == statements.num_rows
    edges = institution_edges(found.rows)
    assert abs(sum(edges["hours"].to_pylist()) - sum(s or 0 for s in found.rows["seconds"].to_pylist()) / 3600) < 1e-6
    years = sorted(set(found.rows["academic_year"].to_pylist())) or [2023]
    span = range(years[0], years[-1] + 1)  # years between the first and last facilitation count too
    table = institutions(edges, members_by_year(members_table, span, "09-01")).to_pylist()
    for year in {row["academic_year"] for row in table}:
        mine = [row for row in table if row["academic_year"] == year]
        assert abs(sum(r["hours_given"] for r in mine) - sum(r["hours_received"] for r in mine)) < 1e-6
        assert sum(r["attendances_given"] for r in mine) == sum(r["attendances_received"] for r in mine)
    for row in table:
        for share in ("cross_share", "reciprocity", "hours_balance"):
            assert row[share] is None or 0 <= row[share] <= 1 + 1e-12, (share, row)
        assert 0 <= row["learns_from"] <= len(INSTITUTIONS) - 1 and 0 <= row["gives_to"] <= len(INSTITUTIONS) - 1
        assert row["no_outgoing"] == (row["attendances_given"] == 0) and row["no_incoming"] == (row["attendances_received"] == 0)
        assert (row["no_outgoing_years"] > 0) == row["no_outgoing"] and row["no_outgoing_years"] <= len(span)
        assert date(row["academic_year"], 9, 1) <= date(years[-1] + 1, 9, 1)
