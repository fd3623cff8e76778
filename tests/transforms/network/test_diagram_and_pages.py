"""The diagram as a reader sees it (labels measured on matplotlib's renderer) and the pages in every language."""

from __future__ import annotations

from itertools import combinations

import matplotlib.pyplot as plt
import pytest
from matplotlib.patches import FancyArrowPatch
from matplotlib.text import Text

from transforms.network.diagram import FONT_PT, SIZE_IN, draw_network, network_figure
from transforms.network.report import institution_page
from transforms.reporting.i18n import LANGUAGES, translator
from transforms.reporting.pages import page_html

NAMES = ["S-17", "S-42", "C-03", "COLLEGE-11", "S-105", "LYCEUM-7", "S-2", "GYM-44", "S-300", "C-12", "S-9", "S-88"]


def _edges(names: list[str]) -> list[dict]:
    """Every institution gives to the next two clockwise, the second also to the first (a reciprocal pair)."""
    hours = {(a, names[(i + step) % len(names)]): 1.0 + i + step for i, a in enumerate(names) for step in (1, 2)
             if names[(i + step) % len(names)] != a}
    hours.setdefault((names[1], names[0]), 0.5)
    return [{"source_institution": a, "target_institution": b, "hours": h, "attendances": 1} for (a, b), h in hours.items()]


@pytest.mark.parametrize("count", [2, 3, 6, 12])
@pytest.mark.parametrize("language", LANGUAGES)
def test_labels_never_collide_and_stay_inside_the_figure(count: int, language: str) -> None:
    names, t = NAMES[:count], translator(language)
    edges = _edges(names)
    figure = network_figure(names, edges, t("The cluster's learning network, {year}", year="2025-26"), t)
    try:
        figure.canvas.draw()
        renderer = figure.canvas.get_renderer()
        texts = [text for text in figure.findobj(Text) if text.get_visible() and text.get_text().strip()]
        assert set(names) <= {text.get_text() for text in texts}  # every institution labelled
        boxes = [text.get_window_extent(renderer) for text in texts]
        page = figure.bbox
        for text, box in zip(texts, boxes, strict=True):
            assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1, text.get_text()
            assert text.get_fontsize() >= FONT_PT, text.get_text()
        for (a, box_a), (b, box_b) in combinations(zip(texts, boxes, strict=True), 2):
            assert not box_a.overlaps(box_b), (a.get_text(), b.get_text())
        arrows = [patch for patch in figure.axes[0].patches if isinstance(patch, FancyArrowPatch)]
        assert len(arrows) == len(edges)
        widths = {arrow.get_gid(): arrow.get_linewidth() for arrow in arrows}
        heaviest = max(edges, key=lambda edge: edge["hours"])
        assert widths[f"{heaviest['source_institution']}->{heaviest['target_institution']}"] == max(widths.values())
        assert figure.get_size_inches()[0] <= SIZE_IN <= 8.0  # its reading size on an A4 page
    finally:
        plt.close(figure)
    assert t.missing == set()


def test_the_png_is_the_same_on_a_rerun(tmp_path) -> None:
    first = draw_network(NAMES[:4], _edges(NAMES[:4]), "2025-26", tmp_path / "a.png", translator("kk"))
    second = draw_network(NAMES[:4], _edges(NAMES[:4]), "2025-26", tmp_path / "b.png", translator("kk"))
    assert first.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_of_a_page_is_translated(language: str) -> None:
    flagged = {"academic_year": 2025, "institution_id": "S-17", "hours_received": 0.0, "hours_given": 0.0,
               "hours_internal": 0.0, "attendances_received": 0, "attendances_given": 0, "cross_share": None,
               "learns_from": 0, "gives_to": 0, "reciprocity": None, "hours_balance": None, "no_outgoing": True,
               "no_outgoing_years": 3, "no_incoming": True, "no_incoming_years": 1}
    active = {**flagged, "academic_year": 2024, "hours_received": 1.5, "attendances_received": 1, "cross_share": 1.0,
              "learns_from": 1, "reciprocity": 0.0, "hours_balance": 0.0, "no_incoming": False, "no_incoming_years": 0}
    edges = [{"academic_year": 2024, "source_institution": "S-42", "target_institution": "S-17", "crosses": True,
              "hours": 1.5, "attendances": 1}]
    t = translator(language)
    html = page_html(institution_page("S-17", [flagged, active], edges, t))
    network_figure(["S-17", "S-42"], [], "2025-26", t)  # the diagram's own messages, no edges
    plt.close("all")
    network_figure(["S-17", "S-42"], [{**edges[0], "hours": 0.0}], "2025-26", t)  # width by attendances
    plt.close("all")
    assert t.missing == set()
    assert html.index("2025-26") < html.index("2024-25")  # newest year first
    assert t.integer(3) in html and "S-42" in html
