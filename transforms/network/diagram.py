"""The network diagram of one academic year: institutions on a circle, an arrow from the facilitators'
institution to the attendees', as wide as the hours attended.

Institutions sit clockwise from the top in id order, on a circle that grows with their number so
their labels never touch; two institutions that learn from each other get two arrows bent to
opposite sides. Widths are relative to the year's largest edge (by attendances when no statement
carried a duration). The PNG is written at its reading size (7 inches wide, no text under 9 pt) and
without a date, so the same figures give the same bytes.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch

from transforms.reporting.i18n import Translator

FONT_PT = 10.0  # the smallest text in the figure
SIZE_IN = 7.0
_MAX_WIDTH_PT = 9.0
_ARROW = "#2f6f9f"


def network_figure(institutions: list[str], edges: list[dict], title: str, t: Translator) -> Figure:
    """``edges``: the year's crossing edges (source_institution, target_institution, hours, attendances)."""
    figure = plt.figure(figsize=(SIZE_IN, SIZE_IN), dpi=100)
    axes = figure.add_axes((0, 0, 1, 0.9))
    axes.set_xlim(-SIZE_IN / 2, SIZE_IN / 2)
    axes.set_ylim(-SIZE_IN * 0.45, SIZE_IN * 0.45)
    axes.set_aspect("equal")
    axes.axis("off")
    radius = min(2.4, max(1.8, 0.32 * len(institutions)))
    place = {name: (radius * math.sin(2 * math.pi * i / len(institutions)),
                    radius * math.cos(2 * math.pi * i / len(institutions))) for i, name in enumerate(institutions)}
    by_hours = any(edge["hours"] > 0 for edge in edges)
    weight = "hours" if by_hours else "attendances"
    largest = max((edge[weight] for edge in edges), default=0) or 1
    for edge in edges:
        width = 1.0 + (_MAX_WIDTH_PT - 1.0) * edge[weight] / largest
        axes.add_patch(FancyArrowPatch(
            place[edge["source_institution"]], place[edge["target_institution"]], connectionstyle="arc3,rad=0.18",
            arrowstyle="-|>", mutation_scale=10 + 2 * width, linewidth=width, color=_ARROW, alpha=0.8,
            shrinkA=24, shrinkB=24, gid=f"{edge['source_institution']}->{edge['target_institution']}"))
    for name, (x, y) in place.items():
        axes.text(x, y, name, ha="center", va="center", fontsize=FONT_PT + 1, zorder=3,
                  bbox={"boxstyle": "round,pad=0.4", "facecolor": "#e6edf3", "edgecolor": "#56606b"})
    figure.suptitle(title, fontsize=FONT_PT + 2, y=0.97)
    figure.text(0.5, 0.915, t("Arrow: from the facilitators' institution to the attendees'; width: hours attended")
                if by_hours else t("Arrow: from the facilitators' institution to the attendees'; width: attendances"),
                ha="center", fontsize=FONT_PT, wrap=True)
    if not edges:
        axes.text(0, 0, t("No learning crossed institutions this year."), ha="center", va="center", fontsize=FONT_PT)
    return figure


def draw_network(institutions: list[str], edges: list[dict], title: str, path: Path, t: Translator) -> Path:
    figure = network_figure(institutions, edges, title, t)
    try:
        figure.savefig(path, format="png", metadata={"Software": None})
    finally:
        plt.close(figure)
    return path
