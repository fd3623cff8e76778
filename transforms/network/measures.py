"""Facilitations → the edge tables and the per-institution measures of each academic year.

Hours are the sum of the statements' ``result.duration`` (a webinar attended in two pieces adds
both); a statement without a duration adds no hours but still counts: ``attendances`` (distinct
attendee × activity) and ``statements`` do not depend on durations. Edges within one institution
are kept (``crosses`` false): they are the denominator of the share of learning that crosses
institutions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

import duckdb
import pyarrow as pa

_EDGE_SQL = """
SELECT academic_year, {source} AS source, {target} AS target, {extra}
       coalesce(sum(seconds), 0) / 3600.0 AS hours,
       count(DISTINCT (target_teacher, activity)) AS attendances,
       count(*) AS statements,
       count(*) FILTER (WHERE seconds IS NULL) AS statements_without_duration
FROM f GROUP BY ALL ORDER BY ALL
"""

def year_label(start_year: int) -> str:
    """``2025`` → ``2025-26``, the label credit's ledger uses."""
    return f"{start_year}-{(start_year + 1) % 100:02d}"


def institution_edges(facilitations: pa.Table) -> pa.Table:
    """academic_year, source_institution, target_institution, crosses, hours, attendances, statements,
    statements_without_duration, facilitators, attendees."""
    table = _edges(facilitations, "source_institution", "target_institution",
                   "source_institution <> target_institution AS crosses, count(DISTINCT source_teacher) AS facilitators, "
                   "count(DISTINCT target_teacher) AS attendees,")
    return table.rename_columns(["academic_year", "source_institution", "target_institution",
                                 *table.column_names[3:]])


def teacher_edges(facilitations: pa.Table, teacher_key: Callable[[str], str]) -> pa.Table:
    """academic_year, source_teacher_key, target_teacher_key, source_institution, target_institution, hours, …:
    teacher ids are replaced by their keys here, so no id leaves this function."""
    table = _edges(facilitations, "source_teacher", "target_teacher", "source_institution, target_institution,")
    keys = {teacher: teacher_key(teacher) for teacher in {*table["source"].to_pylist(), *table["target"].to_pylist()}}
    return table.set_column(1, "source_teacher_key", pa.array([keys[t] for t in table["source"].to_pylist()], pa.string())
                            ).set_column(2, "target_teacher_key", pa.array([keys[t] for t in table["target"].to_pylist()],
                                                                           pa.string()))


def _edges(facilitations: pa.Table, source: str, target: str, extra: str) -> pa.Table:
    con = duckdb.connect()
    con.register("f", facilitations)
    table = con.sql(_EDGE_SQL.format(source=source, target=target, extra=extra)).to_arrow_table()
    con.close()
    return table


def members_by_year(memberships: pa.Table, years: Iterable[int], year_start: str) -> dict[int, list[str]]:
    """The institutions with at least one roster membership overlapping each academic year."""
    month, day = int(year_start[:2]), int(year_start[3:])
    spans = [(row["member_from"], row["member_to"], row["institution_id"]) for row in memberships.to_pylist()]
    return {year: sorted({institution for start, end, institution in spans
                          if start < date(year + 1, month, day) and end > date(year, month, day)})
            for year in years}


def institutions(edges: pa.Table, members: dict[int, list[str]]) -> pa.Table:
    """One row per institution and academic year it had members in (the columns of ``_INSTITUTIONS``).

    ``cross_share``: hours received from other institutions over all hours received from facilitators
    (own institution included); null without hours. ``reciprocity``: of the institutions it is tied
    to in either direction, the share tied in both (the directed-network reciprocity of its ties);
    null without ties. ``hours_balance``: min(given, received) / max(given, received) hours. The
    ``*_years`` columns count the consecutive academic years, ending with this one, that carry the flag.
    """
    by_year: dict[int, list[dict]] = {}
    for edge in edges.to_pylist():
        by_year.setdefault(edge["academic_year"], []).append(edge)
    rows: list[dict] = []
    streaks: dict[tuple[str, str], tuple[int, int]] = {}
    for year in sorted(members):
        for institution in members[year]:
            mine = by_year.get(year, [])
            given = [e for e in mine if e["crosses"] and e["source_institution"] == institution]
            received = [e for e in mine if e["crosses"] and e["target_institution"] == institution]
            internal = sum(e["hours"] for e in mine if not e["crosses"] and e["target_institution"] == institution)
            hours_given, hours_received = sum(e["hours"] for e in given), sum(e["hours"] for e in received)
            to, source = {e["target_institution"] for e in given}, {e["source_institution"] for e in received}
            row = {
                "academic_year": year, "institution_id": institution, "hours_received": hours_received,
                "hours_given": hours_given, "hours_internal": internal,
                "attendances_received": sum(e["attendances"] for e in received),
                "attendances_given": sum(e["attendances"] for e in given),
                "cross_share": _ratio(hours_received, hours_received + internal),
                "learns_from": len(source), "gives_to": len(to),
                "reciprocity": _ratio(len(to & source), len(to | source)),
                "hours_balance": _ratio(min(hours_given, hours_received), max(hours_given, hours_received)),
                "no_outgoing": not given, "no_incoming": not received,
            }
            for flag in ("no_outgoing", "no_incoming"):  # a year without members breaks the run
                streak = streaks.get((institution, flag))
                run = (streak[1] + 1 if streak and streak[0] == year - 1 else 1) if row[flag] else 0
                streaks[(institution, flag)] = (year, run)
                row[f"{flag}_years"] = run
            rows.append(row)
    return pa.Table.from_pylist(rows, schema=_INSTITUTIONS)


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


_INSTITUTIONS = pa.schema([
    ("academic_year", pa.int64()), ("institution_id", pa.string()), ("hours_received", pa.float64()),
    ("hours_given", pa.float64()), ("hours_internal", pa.float64()), ("attendances_received", pa.int64()),
    ("attendances_given", pa.int64()), ("cross_share", pa.float64()), ("learns_from", pa.int64()),
    ("gives_to", pa.int64()), ("reciprocity", pa.float64()), ("hours_balance", pa.float64()),
    ("no_outgoing", pa.bool_()), ("no_outgoing_years", pa.int64()), ("no_incoming", pa.bool_()),
    ("no_incoming_years", pa.int64()),
])
