"""The behavioural transition diagram: codes as nodes, significant sequences as arrows.

Each node is a box holding the code, its label (wrapped) and its count, so a reader needs no
key to know what ``C3`` is; the box grows with its text, and the layout circle grows with the
boxes, so nothing overlaps whatever the labels. The axes are laid out in inches (one data unit
is one inch), so sizes measured on the renderer are the sizes placed. A self-loop sits outside
its node, pointing away from the centre, with its z beyond it; an arrow's z sits on the arrow,
moved along it when it would cover another label.

The SVG is shown in the report at its own size, so every font here is at least 9 pt as read.
Layout is fixed (codes on a circle in scheme order, clockwise from the top), and the files
carry no dates, so the same result always gives byte-identical images.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations, product
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.offsetbox import AnnotationBbox, TextArea, VPacker
from matplotlib.patches import FancyArrowPatch
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from transforms.reporting.i18n import Translator
from transforms.sequences.lsa import LsaResult

FONT_PT = 9.0  # the smallest text in the figure, as shown in the report
CURVE = 0.18  # arc3 bend of the arrows between two nodes
LABEL_CHARS = 16  # wrap width of a node label
CODE_CHARS = 12  # and of its code name
LABEL_LINES = 4  # longer labels end in "…" (the report's code table has them whole)
_LOOP_SPAN = 0.28  # inches between a loop's two ends on the node's edge
_LOOP_BEND = 1.6
_LOOP_CLEAR = 0.04  # inches between a loop's ends and its box, so the curve never cuts a corner of the text
_GAPS = (0.6, 0.8, 1.1, 1.5)  # inches between two node boxes, room for arrows and their z between them
_MARGIN = 0.12
_BANDS = ((0.001, 3.2, "p < .001"), (0.01, 2.3, "p < .01"), (0.05, 1.5, "p < .05"))
_ARROW = "#b03a2e"
_T_CANDIDATES = (0.5, 0.4, 0.6, 0.32, 0.68, 0.25, 0.75)


def _width(p: float) -> float:
    return next((width for limit, width, _ in _BANDS if p < limit), 1.0)


def wrap_code(code: str) -> str:
    """A long code name broken after its separators (``_ . - +``), never inside a word unless it must."""
    lines = [""]
    for token in re.findall(r"[^_.+-]+[_.+-]*|[_.+-]+", code):
        while len(token) > CODE_CHARS:
            lines.append(token[:CODE_CHARS])
            token = token[CODE_CHARS:]
        if len(lines[-1]) + len(token) > CODE_CHARS:
            lines.append("")
        lines[-1] += token
    return "\n".join(line for line in lines if line)


def wrap_label(label: str) -> str:
    lines = textwrap.wrap(label, LABEL_CHARS, break_long_words=True) or [""]
    if len(lines) > LABEL_LINES:
        lines = [*lines[:LABEL_LINES - 1], textwrap.shorten(" ".join(lines[LABEL_LINES - 1:]), LABEL_CHARS, placeholder="…")]
    return "\n".join(lines)


@dataclass
class _Node:
    x: float
    y: float
    half_w: float  # half the box, inches
    half_h: float

    def edge(self, dx: float, dy: float) -> float:
        """Distance from the centre to the box edge in direction (dx, dy) (a unit vector)."""
        return min(self.half_w / abs(dx) if dx else math.inf, self.half_h / abs(dy) if dy else math.inf)

    def inside(self, x: float, y: float, margin: float = 0.0) -> bool:
        return abs(x - self.x) < self.half_w + margin and abs(y - self.y) < self.half_h + margin

    @property
    def outward(self) -> tuple[float, float]:
        norm = math.hypot(self.x, self.y) or 1.0
        return self.x / norm, self.y / norm


def transition_figure(result: LsaResult, threshold: float, title: str, labels: Sequence[str],
                      node_counts: list[int] | None, t: Translator) -> Figure:
    """The diagram as a figure (``draw_transition_diagram`` saves it; tests measure it).

    When an arrow's z finds no free place, the nodes move further apart and the figure is drawn again.
    """
    for gap in _GAPS:
        figure, crowded = _figure(result, threshold, title, labels, node_counts, t, gap)
        if not crowded or gap == _GAPS[-1]:
            return figure
        plt.close(figure)
    raise AssertionError("unreachable: the last gap returns")


def _figure(result: LsaResult, threshold: float, title: str, labels: Sequence[str], node_counts: list[int] | None,
            t: Translator, gap: float) -> tuple[Figure, bool]:
    codes = result.codes
    figure = plt.figure(figsize=(8, 8))
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(-4, 4)
    axes.set_ylim(-4, 4)
    axes.axis("off")
    boxes = [_node_box(axes, code, label, None if node_counts is None else count, t)
             for code, label, count in zip(codes, labels, node_counts or [0] * len(codes), strict=True)]
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    to_inches = figure.dpi_scale_trans.inverted()
    sizes = [box.get_window_extent(renderer).transformed(to_inches) for box in boxes]
    radius = _layout_radius([(s.width, s.height) for s in sizes], gap)
    nodes = []
    for box, size, (x, y) in zip(boxes, sizes, _positions(len(codes), radius), strict=True):
        node = _Node(x, y, size.width / 2, size.height / 2)
        box.xybox = box.xy = (node.x, node.y)
        nodes.append(node)
    taken = [box.get_window_extent(renderer) for box in boxes]
    crowded = False
    for cell in sorted(result.significant(threshold), key=lambda c: (c.source != c.target, -c.z)):  # loops first
        i, j = codes.index(cell.source), codes.index(cell.target)
        width = _width(cell.p)
        if i == j:
            taken.append(_self_loop(axes, nodes[i], cell.z, width, t, renderer))
        else:
            extent, placed = _arrow(axes, nodes[i], nodes[j], cell.z, width, t, renderer, taken)
            taken.append(extent)
            crowded = crowded or not placed
    _fit(figure, axes, taken, title, threshold, t)
    return figure, crowded


def draw_transition_diagram(result: LsaResult, threshold: float, title: str, labels: Sequence[str],
                            node_counts: list[int] | None, out_stem: Path, t: Translator) -> list[Path]:
    """Write ``<out_stem>.png`` and ``.svg``; arrows only for z > threshold, labelled with z."""
    with plt.rc_context({"svg.hashsalt": "transition-diagram", "font.size": FONT_PT}):
        figure = transition_figure(result, threshold, title, labels, node_counts, t)
        out_stem.parent.mkdir(parents=True, exist_ok=True)
        written = [out_stem.with_suffix(".png"), out_stem.with_suffix(".svg")]
        figure.savefig(written[0], dpi=120, metadata={"Software": None})
        figure.savefig(written[1], metadata={"Date": None, "Creator": None})
        plt.close(figure)
    return written


def _node_box(axes: Axes, code: str, label: str, count: int | None, t: Translator) -> AnnotationBbox:
    lines: list[Artist] = [TextArea(wrap_code(code), textprops={"fontweight": "bold", "fontsize": FONT_PT + 1,
                                                                "ha": "center", "multialignment": "center"})]
    if label and label != code:
        lines.append(TextArea(wrap_label(label), textprops={"fontsize": FONT_PT, "ha": "center", "multialignment": "center"}))
    if count is not None:
        lines.append(TextArea(t("events: {count}", count=t.integer(count)),
                              textprops={"fontsize": FONT_PT, "color": "#444444", "ha": "center"}))
    box = AnnotationBbox(VPacker(children=lines, align="center", pad=0, sep=2), (0, 0), frameon=True, zorder=3,
                         bboxprops={"boxstyle": "round,pad=0.35", "facecolor": "#dbe9f6", "edgecolor": "#1f4e79",
                                    "linewidth": 1.5})
    axes.add_artist(box)
    return box


def _positions(count: int, radius: float) -> list[tuple[float, float]]:
    angles = [math.pi / 2 - 2 * math.pi * index / count for index in range(count)]
    return [(radius * math.cos(angle), radius * math.sin(angle)) for angle in angles]


def _layout_radius(sizes: list[tuple[float, float]], gap: float) -> float:
    """The smallest circle on which every arrow between two boxes has ``gap`` inches of its own, box edge to box edge."""
    radius = 1.2
    while True:
        nodes = [_Node(x, y, w / 2, h / 2) for (x, y), (w, h) in zip(_positions(len(sizes), radius), sizes, strict=True)]
        if all(_clearance(a, b) >= gap for a, b in combinations(nodes, 2)):
            return radius
        radius += 0.05


def _clearance(a: _Node, b: _Node) -> float:
    distance = math.hypot(b.x - a.x, b.y - a.y)
    ux, uy = (b.x - a.x) / distance, (b.y - a.y) / distance
    return distance - a.edge(ux, uy) - b.edge(ux, uy)


def _bezier(start: tuple[float, float], end: tuple[float, float], rad: float, at: float) -> tuple[float, float]:
    """A point of matplotlib's arc3 curve (a quadratic Bézier with control mid + rad · (dy, −dx))."""
    (x1, y1), (x2, y2) = start, end
    cx, cy = (x1 + x2) / 2 + rad * (y2 - y1), (y1 + y2) / 2 - rad * (x2 - x1)
    u = 1 - at
    return u * u * x1 + 2 * u * at * cx + at * at * x2, u * u * y1 + 2 * u * at * cy + at * at * y2


def _apart(box: Bbox, points: float = 3.0) -> Bbox:
    """``box`` grown by a few points (at 72 dpi; more pixels at a higher dpi): labels that touch read as one."""
    return Bbox.from_extents(box.x0 - points, box.y0 - points, box.x1 + points, box.y1 + points)


def _unit(start: tuple[float, float], end: tuple[float, float]) -> tuple[float, float]:
    length = math.hypot(end[0] - start[0], end[1] - start[1]) or 1.0
    return (end[0] - start[0]) / length, (end[1] - start[1]) / length


def _z_text(axes: Axes, x: float, y: float, z: float, t: Translator) -> Text:
    return axes.text(x, y, t.number(z, 2), ha="center", va="center", fontsize=FONT_PT, zorder=5,
                     bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none"})


def _arrow(axes: Axes, source: _Node, target: _Node, z: float, width: float, t: Translator, renderer: RendererBase,
           taken: list[Bbox]) -> tuple[Bbox, bool]:
    """The arrow, and its z at the first place along it that covers no other label or node (false: none did)."""
    start, end = (source.x, source.y), (target.x, target.y)
    control = _bezier(start, end, CURVE, 0.5)
    control = (2 * control[0] - (start[0] + end[0]) / 2, 2 * control[1] - (start[1] + end[1]) / 2)
    leaving, arriving = _unit(start, control), _unit(control, end)  # the curve's directions at its two ends
    arrow = FancyArrowPatch(start, end, connectionstyle=f"arc3,rad={CURVE}", arrowstyle="-|>", mutation_scale=14,
                            shrinkA=source.edge(*leaving) * 72 + 3, shrinkB=target.edge(*arriving) * 72 + 3,
                            linewidth=width, color=_ARROW, zorder=2)
    axes.add_patch(arrow)
    label = _z_text(axes, 0, 0, z, t)
    extent = Bbox.null()
    across = (-leaving[1], leaving[0])
    for at, aside in product(_T_CANDIDATES, (0.0, 0.1, -0.1)):
        x, y = _bezier(start, end, CURVE, at)
        label.set_position((x + across[0] * aside, y + across[1] * aside))
        extent = label.get_window_extent(renderer)
        if not any(_apart(extent).overlaps(other) for other in taken):
            return extent, True
    return extent, False


def _self_loop(axes: Axes, node: _Node, z: float, width: float, t: Translator, renderer: RendererBase) -> Bbox:
    """A loop leaving and re-entering the node's outer edge, with its z beyond it."""
    ux, uy = node.outward
    px, py = -uy * _LOOP_SPAN / 2, ux * _LOOP_SPAN / 2
    distance = node.edge(ux, uy)  # where the outward ray leaves the box; both ends must clear it
    while node.inside(node.x + ux * distance + px, node.y + uy * distance + py, _LOOP_CLEAR) or \
            node.inside(node.x + ux * distance - px, node.y + uy * distance - py, _LOOP_CLEAR):
        distance += 0.02
    bx, by = node.x + ux * distance, node.y + uy * distance
    loop = FancyArrowPatch((bx + px, by + py), (bx - px, by - py), connectionstyle=f"arc3,rad={-_LOOP_BEND}",
                           arrowstyle="-|>", mutation_scale=12, shrinkA=0, shrinkB=0, linewidth=width, color=_ARROW,
                           zorder=2, gid="self-loop")
    axes.add_patch(loop)
    reach = _LOOP_BEND * _LOOP_SPAN / 2  # the curve's furthest point from the box edge
    label = _z_text(axes, bx + ux * (reach + 0.2), by + uy * (reach + 0.2), z, t)
    return Bbox.union([label.get_window_extent(renderer), loop.get_window_extent(renderer)])


def _fit(figure: Figure, axes: Axes, drawn: list[Bbox], title: str, threshold: float, t: Translator) -> None:
    """Crop the axes to what is drawn, keeping one data unit per inch, and add the title and the legend."""
    to_data = axes.transData.inverted()
    box = Bbox.union(drawn).transformed(to_data)
    middle = (box.x0 + box.x1) / 2
    width, height = max(box.width + 2 * _MARGIN, 4.6), box.height + 2 * _MARGIN  # 4.6 in: room for the legend
    x0, x1 = middle - width / 2, middle + width / 2
    y0, y1 = box.y0 - _MARGIN, box.y1 + _MARGIN
    title_h, legend_h = 0.45, 0.9
    total = height + title_h + legend_h
    figure.set_size_inches(width, total)
    axes.set_position((0, legend_h / total, 1, height / total))
    axes.set_xlim(x0, x1)
    axes.set_ylim(y0, y1)
    figure.text(0.5, 1 - 0.25 / total, "\n".join(textwrap.wrap(title, int(width * 10))), ha="center", va="center",
                fontsize=FONT_PT + 2)
    handles = [Line2D([], [], color=_ARROW, linewidth=line) for _, line, _ in _BANDS]
    figure.legend(handles, [label for _, _, label in _BANDS], loc="lower center", ncol=3, frameon=False,
                  fontsize=FONT_PT, bbox_to_anchor=(0.5, 0.0), handlelength=2.5)
    note = t("Arrows: sequences with z > {threshold}; the number on an arrow is its z", threshold=t.number(threshold, 2))
    figure.text(0.5, 0.58 / total, "\n".join(textwrap.wrap(note, int(width * 13))), ha="center", va="center",
                fontsize=FONT_PT, color="#444444")
