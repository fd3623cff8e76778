"""The behavioural transition diagram: codes as nodes, significant sequences as arrows.

Layout is fixed (codes on a circle in scheme order, clockwise from the top), and the files
carry no dates, so the same result always gives byte-identical images.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import Arc, Circle, FancyArrowPatch

from transforms.sequences.lsa import LsaResult

NODE_RADIUS = 0.13
CURVE = 0.18
_BANDS = ((0.001, 3.2, "p < .001"), (0.01, 2.3, "p < .01"), (0.05, 1.5, "p < .05"))


def _position(index: int, count: int) -> tuple[float, float]:
    angle = math.pi / 2 - 2 * math.pi * index / count
    return math.cos(angle), math.sin(angle)


def _width(p: float) -> float:
    return next((width for limit, width, _ in _BANDS if p < limit), 1.0)


def draw_transition_diagram(
    result: LsaResult, threshold: float, title: str, node_counts: list[int] | None, out_stem: Path
) -> list[Path]:
    """Write ``<out_stem>.png`` and ``.svg``; edges only for z > threshold, labelled with z."""
    codes = result.codes
    positions = [_position(i, len(codes)) for i in range(len(codes))]
    counts = node_counts or [0] * len(codes)
    biggest = max(max(counts), 1)
    with plt.rc_context({"svg.hashsalt": "transition-diagram", "font.size": 10}):
        figure, axes = plt.subplots(figsize=(6.4, 6.4))
        axes.set_xlim(-1.45, 1.45)
        axes.set_ylim(-1.45, 1.5)
        axes.set_aspect("equal")
        axes.axis("off")
        for (x, y), code, count in zip(positions, codes, counts, strict=True):
            radius = NODE_RADIUS * (0.75 + 0.5 * math.sqrt(count / biggest))
            axes.add_patch(Circle((x, y), radius, facecolor="#dbe9f6", edgecolor="#1f4e79", linewidth=1.5, zorder=3))
            axes.text(x, y, code, ha="center", va="center", fontweight="bold", zorder=4)
            if node_counts is not None:
                axes.text(x, y - radius - 0.07, f"n={count}", ha="center", va="top", fontsize=8, color="#555555", zorder=4)
        for cell in result.significant(threshold):
            i, j = codes.index(cell.source), codes.index(cell.target)
            if i == j:
                _self_loop(axes, positions[i], cell.z, _width(cell.p))
            else:
                _arrow(axes, positions[i], positions[j], cell.z, _width(cell.p))
        axes.set_title(title, fontsize=11)
        legend = "  ".join(f"{label}: width {width}" for _, width, label in _BANDS)
        figure.text(0.5, 0.03, f"arrows: z > {threshold} (label = adjusted residual z); {legend}",
                    ha="center", fontsize=7, color="#555555")
        out_stem.parent.mkdir(parents=True, exist_ok=True)
        written = [out_stem.with_suffix(".png"), out_stem.with_suffix(".svg")]
        figure.savefig(written[0], dpi=120, metadata={"Software": None})
        figure.savefig(written[1], metadata={"Date": None, "Creator": None})
        plt.close(figure)
    return written


def _arrow(axes, start: tuple[float, float], end: tuple[float, float], z: float, width: float) -> None:
    arrow = FancyArrowPatch(start, end, connectionstyle=f"arc3,rad={CURVE}", arrowstyle="-|>", mutation_scale=14,
                            shrinkA=26, shrinkB=26, linewidth=width, color="#b03a2e", zorder=2)
    axes.add_patch(arrow)
    (x1, y1), (x2, y2) = start, end
    # midpoint of matplotlib's arc3 quadratic Bézier: mid + rad/2 · (dy, −dx)
    label_x = (x1 + x2) / 2 + CURVE / 2 * (y2 - y1)
    label_y = (y1 + y2) / 2 - CURVE / 2 * (x2 - x1)
    axes.text(label_x, label_y, f"{z:.2f}", ha="center", va="center", fontsize=8, zorder=5,
              bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none"})


def _self_loop(axes, centre: tuple[float, float], z: float, width: float) -> None:
    x, y = centre
    norm = math.hypot(x, y) or 1.0
    ux, uy = x / norm, y / norm  # outwards from the centre of the layout
    loop_x, loop_y = x + ux * 0.2, y + uy * 0.2
    axes.add_patch(Arc((loop_x, loop_y), 0.2, 0.2, angle=math.degrees(math.atan2(uy, ux)), theta1=-140, theta2=140,
                       linewidth=width, color="#b03a2e", zorder=2))
    tip_angle = math.atan2(uy, ux) + math.radians(140)
    tip = (loop_x + 0.1 * math.cos(tip_angle), loop_y + 0.1 * math.sin(tip_angle))
    axes.annotate("", xy=(x + 0.1 * math.cos(tip_angle - 0.9), y + 0.1 * math.sin(tip_angle - 0.9)), xytext=tip,
                  arrowprops={"arrowstyle": "-|>", "color": "#b03a2e", "linewidth": width, "mutation_scale": 12})
    axes.text(x + ux * 0.42, y + uy * 0.42, f"{z:.2f}", ha="center", va="center", fontsize=8, zorder=5,
              bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none"})
