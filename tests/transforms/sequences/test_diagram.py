"""The transition diagram as a reader sees it: labels measured on matplotlib's renderer."""

from __future__ import annotations

from itertools import combinations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.patches import FancyArrowPatch
from matplotlib.text import Text

from transforms.reporting.i18n import translator
from transforms.sequences.diagram import FONT_PT, draw_transition_diagram, transition_figure, wrap_code, wrap_label
from transforms.sequences.lsa import analyse

LONG_LABELS = {
    "C1": "Sharing and comparing information between all members of the group",
    "C2": "Discovering and exploring dissonance or inconsistency among ideas and statements",
    "C3": "Negotiating meaning and co-construction of knowledge",
    "C4": "Testing and modifying the proposed synthesis against experience, data or literature",
    "C5": "Applying newly constructed meaning (metacognitive statements)",
    "C6_very_long_code_name_x": "Off-topic",
    "C7": "Sharing resources",
    "C8": "Asking for help",
}


def _result(codes: tuple[str, ...]):
    """Every code follows itself more often than chance (a loop on every node), and chords are significant too."""
    k = len(codes)
    table = np.full((k, k), 2)
    np.fill_diagonal(table, 40)
    for i in range(k):
        table[i, (i + 1) % k] = 45
        table[i, (i + 2) % k] = 38
    result = analyse(table, codes)
    assert {(c.source, c.target) for c in result.significant(1.96)} >= {(c, c) for c in codes}
    return result


def _texts(figure) -> list[Text]:
    return [text for text in figure.findobj(Text) if text.get_visible() and text.get_text().strip()]


@pytest.mark.parametrize("count", [5, 8])
@pytest.mark.parametrize("language", ["en", "ru"])
def test_labels_never_collide_and_stay_inside_the_figure(count, language):
    codes = tuple(list(LONG_LABELS)[:count])
    result = _result(codes)
    t = translator(language)
    figure = transition_figure(result, 1.96, "Knowledge construction (Gunawardena, Lowe & Anderson 1997): all units",
                               [LONG_LABELS[c] for c in codes], [100 + i for i in range(count)], t)
    try:
        figure.canvas.draw()
        renderer = figure.canvas.get_renderer()
        page = figure.bbox
        texts = _texts(figure)
        shown = {text.get_text() for text in texts}
        assert {wrap_code(c) for c in codes} <= shown  # each node shows its code ...
        assert wrap_code("C6_very_long_code_name_x") == "C6_very_\nlong_code_\nname_x"
        assert {wrap_label(LONG_LABELS[c]) for c in codes} <= shown  # ... and its label, wrapped
        assert all("\n" in wrap_label(LONG_LABELS[c]) for c in ("C1", "C2"))
        assert t.integer(104) in " ".join(shown)  # the counts

        boxes = {id(text): text.get_window_extent(renderer) for text in texts}
        for text in texts:
            box = boxes[id(text)]
            assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1, text.get_text()
            assert text.get_fontsize() >= FONT_PT, text.get_text()  # legend and labels alike
        for a, b in combinations(texts, 2):
            assert not boxes[id(a)].overlaps(boxes[id(b)]), (a.get_text(), b.get_text())
        arrows = [patch for patch in figure.axes[0].patches if isinstance(patch, FancyArrowPatch)]
        assert len(arrows) == len(result.significant(1.96))
        loops = [patch for patch in arrows if patch.get_gid() == "self-loop"]
        assert len(loops) == count
        for loop in loops:  # no loop crosses a label (the count lines above all): its drawn curve, flattened
            drawn = loop.get_transform().transform_path(loop.get_path())
            points = np.concatenate(drawn.to_polygons(closed_only=False))
            assert not any(box.contains(x, y) for box in boxes.values() for x, y in points)
        assert figure.get_size_inches()[0] <= 8.0  # shown at its own size on an A4 page or a laptop
    finally:
        plt.close(figure)


def test_the_images_are_written_and_identical_on_a_rerun(tmp_path):
    result = _result(("C1", "C2", "C3", "C4", "C5"))
    labels = [LONG_LABELS[c] for c in result.codes]
    first = draw_transition_diagram(result, 1.96, "all units", labels, None, tmp_path / "a" / "diagram", translator("kk"))
    second = draw_transition_diagram(result, 1.96, "all units", labels, None, tmp_path / "b" / "diagram", translator("kk"))
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    assert b"<svg" in first[1].read_bytes()
