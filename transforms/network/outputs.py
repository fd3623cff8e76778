"""One version of the network's outputs: the Parquet tables, the diagrams and the institutions' pages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from transforms.network.diagram import draw_network
from transforms.network.evidence import STATEMENTS_SQL, YEARS_SQL, academic_year, facilitations
from transforms.network.measures import institution_edges, institutions, members_by_year, teacher_edges, year_label
from transforms.network.plugin import NetworkConfig
from transforms.network.report import diagram_name, institution_page
from transforms.plugins.api import RunContext
from transforms.reporting.i18n import translator
from transforms.reporting.pages import page_html
from xapi_ingest.publish.teachers import RosterLookup


def write_network(context: RunContext, config: NetworkConfig, roster: RosterLookup, memberships: pa.Table,
                  teacher_key: Callable[[str], str], folder: Path) -> dict[str, Any]:
    with context.connect() as con:
        statements = con.sql(STATEMENTS_SQL).to_arrow_table()
        first, last = con.execute(YEARS_SQL).fetchone() or (None, None)
    found = facilitations(statements, roster, config.academic_year_start)
    edges = institution_edges(found.rows)
    years = (range(academic_year(first.date(), config.academic_year_start),
                   academic_year(last.date(), config.academic_year_start) + 1)
             if first is not None and last is not None else range(0))
    members = members_by_year(memberships, years, config.academic_year_start)
    table = institutions(edges, members)
    pq.write_table(edges, folder / "edges_institutions.parquet")
    pq.write_table(teacher_edges(found.rows, teacher_key), folder / "edges_teachers.parquet")
    pq.write_table(table, folder / "institutions.parquet")

    rows, edge_rows = table.to_pylist(), edges.to_pylist()
    languages = sorted({config.reports.language_of(row["institution_id"]) for row in rows})
    for year, names in members.items():
        crossing = [edge for edge in edge_rows if edge["academic_year"] == year and edge["crosses"]]
        for language in languages:
            t = translator(language)
            draw_network(names, crossing, t("The cluster's learning network, {year}", year=year_label(year)),
                         folder / diagram_name(year, language), t)
    pages = folder / "institutions"
    pages.mkdir()
    named = sorted({row["institution_id"] for row in rows})
    for institution in named:
        t = translator(config.reports.language_of(institution))
        page = institution_page(institution, [row for row in rows if row["institution_id"] == institution],
                                edge_rows, t)
        (pages / f"{institution}.html").write_text(page_html(page), encoding="utf-8")
    return {"facilitations": found.rows.num_rows, "skipped_statements": found.skipped, "self_led": found.self_led,
            "institution_edges": edges.num_rows, "academic_years": len(members), "institutions": len(named)}
