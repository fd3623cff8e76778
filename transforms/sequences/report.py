"""The HTML report of a ``sequences`` run: one self-contained page an analyst can open or mail.

Diagrams are embedded as inline SVG, tables are plain HTML, and every number links back to a
CSV in the output folder, so the page is readable on its own and auditable against the files.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from transforms.reporting.i18n import Translator
from transforms.sequences.clusters import DESIGN_LABEL
from transforms.sequences.lsa import RESIDUAL_FORM_LABELS, ChiSquare, LsaResult
from transforms.sequences.results import DimensionResult, GroupResult
from transforms.sequences.scheme import Scheme
from transforms.sequences.tables import matrix_frame

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222;line-height:1.4}
h1{font-size:1.6em}h2{border-bottom:2px solid #1f4e79;padding-bottom:.2em;margin-top:2em}h3{margin-top:1.5em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#eef3f8}td.sig{background:#f6d5d1;font-weight:bold}td.inh{background:#d9e4f2}
.note{color:#555;font-size:.9em}.figs{display:flex;flex-wrap:wrap;gap:1em}.figs figure{margin:0}
.figs svg{width:24em;height:auto}
"""


def _e(value: object) -> str:
    return html.escape(str(value))


def _chi(chi: ChiSquare | None) -> str:
    if chi is None or not np.isfinite(chi.value):
        return "not computable (fewer than two units or groups with transitions)"
    return f"G² = {chi.value:.3f}, df = {chi.df}, p = {chi.p:.4g}"


def _z_table(result: LsaResult, threshold: float) -> str:
    z = matrix_frame(result, "adjusted_residuals")
    freq = matrix_frame(result, "freq")
    head = "".join(f"<th>{_e(c)}</th>" for c in result.codes)
    rows = []
    for source in result.codes:
        cells = []
        for target in result.codes:
            value = z.loc[source, target]
            css = "sig" if value > threshold else "inh" if value < -threshold else ""
            text = "—" if np.isnan(value) else f"{value:.2f}"
            cells.append(f'<td class="{css}" title="n = {freq.loc[source, target]}">{text}</td>')
        rows.append(f"<tr><th>{_e(source)}</th>{''.join(cells)}</tr>")
    return f"<table><tr><th>from \\ to</th>{head}</tr>{''.join(rows)}</table>"


def _svg(path: Path) -> str:
    text = path.read_text()
    return text[text.index("<svg"):]


def _figure(folder: Path, caption: str) -> str:
    return f"<figure>{_svg(folder / 'diagram.svg')}<figcaption>{_e(caption)}</figcaption></figure>"


def _significant_list(result: LsaResult, threshold: float) -> str:
    cells = result.significant(threshold)
    if not cells:
        return "<p>No sequence is significant.</p>"
    rows = "".join(f"<tr><td>{_e(c.source)} → {_e(c.target)}</td><td>{c.freq}</td><td>{c.expected:.2f}</td>"
                   f"<td>{c.transition_prob:.3f}</td><td>{c.z:.2f}</td><td>{c.p:.4f}</td><td>{c.yules_q:.3f}</td></tr>"
                   for c in sorted(cells, key=lambda c: -c.z))
    return ("<table><tr><th>sequence</th><th>observed</th><th>expected</th><th>p(to | from)</th><th>z</th>"
            f"<th>p (two-tailed)</th><th>Yule's Q</th></tr>{rows}</table>")


def _frame_html(frame: pd.DataFrame, digits: int = 3) -> str:
    return frame.to_html(float_format=lambda v: f"{v:.{digits}f}", border=0, na_rep="—")


def _groups_section(title: str, groups: list[GroupResult], threshold: float, unit_word: str) -> str:
    if not groups:
        return ""
    figures = "".join(_figure(Path(g.files[0]).parent, f"{g.name}: {g.n_units} {unit_word}, "
                                                      f"{g.result.n_transitions} transitions") for g in groups)
    lists = "".join(f"<h4>{_e(g.name)}</h4>{_significant_list(g.result, threshold)}" for g in groups)
    return f"<h3>{_e(title)}</h3><div class='figs'>{figures}</div>{lists}"


def _dimension_section(result: DimensionResult, root: Path, threshold: float) -> str:
    d = result.dimension
    folder = root / d.id
    codes = pd.DataFrame({"label": [c.label for c in d.codes], "events": result.code_counts},
                         index=pd.Index(d.code_names, name="code"))
    codes["share"] = codes["events"] / max(sum(result.code_counts), 1)
    uncoded = sum(result.uncoded_reasons.values())
    reasons = "; ".join(f"{_e(reason)}: {count}" for reason, count in result.uncoded_reasons.items())
    parts = [
        f"<h2>{_e(d.label)} <small>({_e(d.id)})</small></h2>",
        f"<p>{result.n_events} events in {result.n_units} units ({result.n_single_event_units} units with a single event), "
        f"{result.result.n_transitions} lag-{result.result.lag} transitions. "
        f"Residuals: {_e(RESIDUAL_FORM_LABELS[result.result.residual_form])}.</p>",
        f"<p><b>Uncoded statements: {uncoded}</b>{' (' + reasons + ')' if reasons else ''}. They keep their place in the "
        f"sequence, so no transition bridges them; {result.pairs_lost_to_uncoded} pairs were lost that way. "
        f"Examples: <a href='{_e(d.id)}/uncoded_examples.csv'>uncoded_examples.csv</a>.</p>",
        "<h3>Code frequencies</h3>", _frame_html(codes),
        f"<h3>Adjusted residuals (z; red: z &gt; {threshold}, blue: z &lt; −{threshold}; — undefined)</h3>",
        _z_table(result.result, threshold),
        f"<p>Likelihood-ratio χ² of the pooled table: {_chi(result.result.lr_chi2)}. "
        f"Homogeneity across units: {_chi(result.homogeneity_units)}.</p>",
        "<h3>Behavioural transition diagram and significant sequences</h3>",
        f"<div class='figs'>{_figure(folder, 'all units pooled')}</div>",
        _significant_list(result.result, threshold),
        f"<p class='note'>Tables: <a href='{_e(d.id)}/transitions.csv'>transitions.csv</a>, "
        f"<a href='{_e(d.id)}/freq.csv'>freq.csv</a>, <a href='{_e(d.id)}/expected.csv'>expected.csv</a>, "
        f"<a href='{_e(d.id)}/lsa.json'>lsa.json</a>.</p>",
    ]
    if result.groups:
        parts.append(_groups_section("Groups compared", result.groups, threshold, "units"))
        parts.append(f"<p>Homogeneity across groups: {_chi(result.homogeneity_groups)}. Side by side: "
                     f"<a href='{_e(d.id)}/groups/comparison.csv'>comparison.csv</a>.</p>")
    parts.append("<h3>Learner clusters</h3>")
    if result.clusters is None:
        parts.append(f"<p>Not clustered: {_e(result.cluster_note)}.</p>")
    else:
        c = result.clusters.clustering
        centroids = pd.DataFrame(c.centroid_proportions, columns=list(d.code_names), index=range(1, c.k + 1))
        centroids.index.name = "cluster"
        centroids.insert(0, "learners", c.sizes)
        above = [", ".join(f"{code} {'▲' if v > m else '▼'}" for code, v, m in zip(d.code_names, row, c.grand_mean, strict=True))
                 for row in c.centroid_proportions]
        centroids["profile vs grand mean"] = above
        parts += [
            f"<p class='note'>Design: {_e(DESIGN_LABEL)}. Features: each learner's share of each code, z-standardized.</p>",
            f"<p>k = {c.k} ({_e(c.k_chosen_by)}; Ward on {c.ward_sample_size} learners), "
            f"{result.clusters.learners_clustered} learners clustered, {result.clusters.learners_too_few_events} with too "
            "few coded events left out.</p>",
            _frame_html(centroids),
            _groups_section("Lag-sequential analysis per cluster (each learner's own sequence within each unit)",
                            result.clusters.per_cluster, threshold, "learners"),
        ]
    return "\n".join(parts)


def write_report(path: Path, scheme: Scheme, counts: dict[str, int], results: list[DimensionResult], zone: str,
                 t: Translator) -> Path:
    intro = (
        f"<p>{counts['statements']} statements in the {_e(zone)} zone: {counts['in_scope']} behaviours in scope, "
        f"{counts['out_of_scope']} out of scope, {counts['voided']} voided or voiding (excluded), "
        f"{counts['without_unit']} in scope but without a unit "
        "(<a href='without_unit_examples.csv'>examples</a>).</p>"
        f"<p class='note'>Units: {_e(' '.join(filter(None, (scheme.units.from_, scheme.units.key or scheme.units.prefix))))}. "
        "Events are ordered by timestamp, then statement id; transitions never cross units. A sequence is significant "
        f"when its adjusted residual z &gt; {scheme.threshold} (Bakeman &amp; Gottman; Hou's convention).</p>"
    )
    body = "\n".join(_dimension_section(result, path.parent, scheme.threshold) for result in results)
    path.write_text(
        f"<!doctype html><html lang='{t.language}'><head><meta charset='utf-8'><title>Behaviour sequences</title>"
        f"<style>{_STYLE}</style></head><body><h1>Collaborative-scenario behaviour sequences</h1>{intro}{body}</body></html>\n",
        encoding="utf-8",
    )
    return path
