"""One short page per institution, in its language: what it gave to and received from the others.

Each academic year (newest first) has the institution's figures, its partners and the year's
diagram; a flag (nothing given, nothing received) says for how many years in a row it has held.
"""

from __future__ import annotations

from transforms.network.measures import year_label
from transforms.reporting.i18n import N_, Translator
from transforms.reporting.pages import Figure, Heading, Page, Table, Text

_FIGURES = (
    ("hours_received", N_("Hours learned from other institutions"), "hours"),
    ("hours_given", N_("Hours other institutions learned from it"), "hours"),
    ("hours_internal", N_("Hours learned from its own colleagues"), "hours"),
    ("attendances_received", N_("Attendances at other institutions' sessions and resources"), "count"),
    ("attendances_given", N_("Attendances of other institutions at its sessions and resources"), "count"),
    ("cross_share", N_("Share of its learning that crosses institutions"), "share"),
    ("learns_from", N_("Institutions it learns from"), "count"),
    ("gives_to", N_("Institutions that learn from it"), "count"),
    ("reciprocity", N_("Reciprocity: share of its partners with ties both ways"), "share"),
    ("hours_balance", N_("Balance: smaller of hours given and received over the larger"), "share"),
)


def diagram_name(year: int, language: str) -> str:
    return f"network_{year}_{language}.png"


def institution_page(institution: str, rows: list[dict], edges: list[dict], t: Translator,
                     diagram_prefix: str = "../") -> Page:
    """``rows``: the institution's rows of the institution table; ``edges``: every crossing edge."""
    page = Page(t("Learning network: {institution}", institution=institution), t.language,
                t("Teachers of one institution learning from teachers of another: master classes, webinars "
                  "and shared resources whose statements name the facilitator."))
    for row in sorted(rows, key=lambda row: row["academic_year"], reverse=True):
        year = row["academic_year"]
        page.blocks.append(Heading(t("Academic year {year}", year=year_label(year))))
        page.blocks.append(Table([t("Measure"), t("Value")],
                                 [[t(label), _value(row[name], kind, t)] for name, label, kind in _FIGURES],
                                 numeric=frozenset({1}), widths=(3, 1)))
        for flag, message in (("no_outgoing", N_("No other institution learned from it: academic years in a row: {count}")),
                              ("no_incoming", N_("It learned from no other institution: academic years in a row: {count}"))):
            if row[flag]:
                page.blocks.append(Text(t(message, count=t.integer(row[f"{flag}_years"]))))
        partners = _partners(institution, [edge for edge in edges if edge["academic_year"] == year])
        if partners:
            page.blocks.append(Table(
                [t("Institution"), t("Hours received from it"), t("Hours given to it"), t("Attendances received"),
                 t("Attendances given")],
                [[partner, t.number(values[0]), t.number(values[1]), t.integer(values[2]), t.integer(values[3])]
                 for partner, values in sorted(partners.items())],
                numeric=frozenset({1, 2, 3, 4})))
        page.blocks.append(Figure(diagram_prefix + diagram_name(year, t.language),
                                  t("The cluster's learning network, {year}", year=year_label(year))))
    return page


def _partners(institution: str, edges: list[dict]) -> dict[str, list[float]]:
    """partner → [hours received from it, hours given to it, attendances received, attendances given]."""
    partners: dict[str, list[float]] = {}
    for edge in edges:
        if edge["target_institution"] == institution and edge["crosses"]:
            values = partners.setdefault(edge["source_institution"], [0.0, 0.0, 0, 0])
            values[0] += edge["hours"]
            values[2] += edge["attendances"]
        elif edge["source_institution"] == institution and edge["crosses"]:
            values = partners.setdefault(edge["target_institution"], [0.0, 0.0, 0, 0])
            values[1] += edge["hours"]
            values[3] += edge["attendances"]
    return partners


def _value(value: float | int | None, kind: str, t: Translator) -> str:
    if value is None:
        return "—"  # no ties, no hours: the measure is undefined, not zero
    if kind == "share":
        return t.percent(100 * value)
    return t.number(value) if kind == "hours" else t.integer(value)
