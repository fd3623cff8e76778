"""The HTML report of a ``sequences`` run: one self-contained page an analyst or a methodologist can open or mail.

Diagrams are embedded as inline SVG at their own size (their fonts are sized for that), tables
are plain HTML (wide ones scroll inside their box, never the page), and every number links
back to a CSV in the output folder, so the page is readable on its own and auditable against
the files. Every sentence goes through the translator ``t`` (Kazakh, Russian or English).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from transforms.reporting.i18n import N_, Translator
from transforms.sequences.clusters import DESIGN_LABEL
from transforms.sequences.lsa import ChiSquare, LsaResult, ResidualForm
from transforms.sequences.results import DimensionResult, GroupResult
from transforms.sequences.scheme import Scheme
from transforms.sequences.tables import matrix_frame

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:70em;padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.6em}h2{border-bottom:2px solid #1f4e79;padding-bottom:.2em;margin-top:2em}h3{margin-top:1.5em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#eef3f8}td.sig{background:#f6d5d1;font-weight:bold}td.inh{background:#d9e4f2}td.text{text-align:left}
.note{color:#555;font-size:.9em}.figs{display:flex;flex-wrap:wrap;gap:1em}.figs figure{margin:0;max-width:100%}
.figs svg{max-width:100%;height:auto}.scroll{overflow-x:auto;max-width:100%}
p,li,figcaption{overflow-wrap:anywhere}
@media print{.figs figure{break-inside:avoid}h2{break-after:avoid}}
"""
# Reader-facing names of the residual forms (lsa.RESIDUAL_FORM_LABELS are the technical ones, in lsa.json).
_RESIDUAL_FORMS: dict[ResidualForm, str] = {
    "table-margins": N_("adjusted residuals from the table's margins (GSEQ; Bakeman and Quera)"),
    "quasi-independence": N_("adjusted residuals with structural zeros (quasi-independence)"),
    "allison-liker": N_("Allison–Liker z with simple code probabilities (chosen instead of the GSEQ default)"),
}
ZONES = {"analyst": N_("analyst zone"), "restricted": N_("restricted zone")}


@dataclass(frozen=True)
class Scope:
    """Whose statements a report covers: the whole cluster, or one institution's learners."""

    title: str
    zone: str
    counts: dict[str, int]


def _e(value: object) -> str:
    return html.escape(str(value))


def _chi(chi: ChiSquare | None, t: Translator) -> str:
    if chi is None or not np.isfinite(chi.value):
        return t("not computable (fewer than two units or groups with transitions)")
    p = "p " + (_p(chi.p, t) if chi.p < 0.0001 else "= " + _p(chi.p, t))
    return t("G² = {value}, df = {df}, {p}", value=t.number(chi.value, 3), df=t.integer(chi.df), p=p)


def _p(p: float, t: Translator) -> str:
    return "< " + t.number(0.0001, 4) if p < 0.0001 else t.number(p, 4)


def _table(head: list[str], rows: list[list[str]]) -> str:
    """A table in a box that scrolls on a narrow page (the page itself never does)."""
    header = "".join(f"<th>{cell}</th>" for cell in head)
    body = "".join("<tr>" + "".join(row) + "</tr>" for row in rows)
    return f"<div class='scroll'><table><tr>{header}</tr>{body}</table></div>"


def _z_table(result: LsaResult, threshold: float, t: Translator) -> str:
    z = matrix_frame(result, "adjusted_residuals")
    freq = matrix_frame(result, "freq")
    rows = []
    for source in result.codes:
        cells = [f"<th>{_e(source)}</th>"]
        for target in result.codes:
            value = z.loc[source, target]
            css = "sig" if value > threshold else "inh" if value < -threshold else ""
            text = "—" if np.isnan(value) else t.number(value, 2)
            cells.append(f'<td class="{css}" title="n = {t.integer(freq.loc[source, target])}">{text}</td>')
        rows.append(cells)
    return _table([_e(t("from \\ to")), *(_e(c) for c in result.codes)], rows)


def _svg(path: Path) -> str:
    text = path.read_text()
    return text[text.index("<svg"):]


def _figure(folder: Path, caption: str) -> str:
    return f"<figure>{_svg(folder / 'diagram.svg')}<figcaption>{_e(caption)}</figcaption></figure>"


def _significant_list(result: LsaResult, threshold: float, t: Translator) -> str:
    cells = result.significant(threshold)
    if not cells:
        return _tag("p", t("No sequence is significant."))
    rows = [[f"<td class='text'>{_e(c.source)} → {_e(c.target)}</td>", f"<td>{t.integer(c.freq)}</td>",
             f"<td>{t.number(c.expected, 2)}</td>", f"<td>{t.number(c.transition_prob, 3)}</td>",
             f"<td>{t.number(c.z, 2)}</td>", f"<td>{_p(c.p, t)}</td>", f"<td>{t.number(c.yules_q, 3)}</td>"]
            for c in sorted(cells, key=lambda c: -c.z)]
    head = [t("sequence"), t("observed"), t("expected"), t("p(to | from)"), "z", t("p (two-tailed)"), t("Yule's Q")]
    return _table([_e(h) for h in head], rows)


def _groups_section(title: str, groups: list[GroupResult], names: list[str], threshold: float, unit_word: str,
                    t: Translator) -> str:
    if not groups:
        return ""
    figures = "".join(
        _figure(Path(g.files[0]).parent, t("{name}: {units} {unit_word}, {transitions} transitions", name=name,
                                           units=t.integer(g.n_units), unit_word=unit_word,
                                           transitions=t.integer(g.result.n_transitions)))
        for g, name in zip(groups, names, strict=True))
    lists = "".join(f"<h4>{_e(name)}</h4>{_significant_list(g.result, threshold, t)}"
                    for g, name in zip(groups, names, strict=True))
    return f"<h3>{_e(title)}</h3><div class='figs'>{figures}</div>{lists}"


def _tag(name: str, text: str) -> str:
    return f"<{name}>{_e(text)}</{name}>"


def _link(href: str, text: str) -> str:
    return f"<a href='{_e(href)}'>{_e(text)}</a>"


def _dimension_section(result: DimensionResult, scheme: Scheme, root: Path, t: Translator) -> str:
    d = result.dimension
    threshold = scheme.threshold
    folder = root / d.id
    total = max(sum(result.code_counts), 1)
    code_rows = [[f"<th>{_e(code.code)}</th>", f"<td class='text'>{_e(code.label_in(t.language))}</td>",
                  f"<td>{t.integer(count)}</td>", f"<td>{t.percent(100 * count / total)}</td>"]
                 for code, count in zip(d.codes, result.code_counts, strict=True)]
    uncoded = sum(result.uncoded_reasons.values())
    reasons = "; ".join(f"{_e(t(reason))}: {t.integer(count)}" for reason, count in result.uncoded_reasons.items())
    lsa = result.result
    parts = [
        f"<h2>{_e(d.label_in(t.language))} <small>({_e(d.id)})</small></h2>",
        "<p>" + _e(t("{events} events in {units} units ({single} units with a single event), {transitions} lag-{lag} "
                     "transitions.", events=t.integer(result.n_events), units=t.integer(result.n_units),
                     single=t.integer(result.n_single_event_units), transitions=t.integer(lsa.n_transitions),
                     lag=lsa.lag))
        + " " + _e(t("Residuals: {form}.", form=t(_RESIDUAL_FORMS[lsa.residual_form]))) + "</p>",
        "<p>" + _tag("b", t("Uncoded statements: {count}", count=t.integer(uncoded))) + (f" ({reasons})" if reasons else "")
        + ". "
        + _e(t("They keep their place in the sequence, so no transition bridges them; {pairs} pairs were lost that way.",
               pairs=t.integer(result.pairs_lost_to_uncoded)))
        + " " + _e(t("Examples:")) + " " + _link(f"{d.id}/uncoded_examples.csv", "uncoded_examples.csv") + ".</p>",
        _tag("h3", t("Code frequencies")),
        _table([_e(t("code")), _e(t("label")), _e(t("events")), _e(t("share"))], code_rows),
        "<h3>" + _e(t("Adjusted residuals (z; red: z > {threshold}, blue: z < −{threshold}; — undefined)",
                      threshold=t.number(threshold, 2))) + "</h3>",
        _z_table(lsa, threshold, t),
        "<p>" + _e(t("Likelihood-ratio χ² of the pooled table: {chi}.", chi=_chi(lsa.lr_chi2, t))) + " "
        + _e(t("Homogeneity across units: {chi}.", chi=_chi(result.homogeneity_units, t))) + "</p>",
        _tag("h3", t("Behavioural transition diagram and significant sequences")),
        "<div class='figs'>" + _figure(folder, t("all units pooled")) + "</div>",
        _significant_list(lsa, threshold, t),
        "<p class='note'>" + _e(t("Tables:")) + " " + ", ".join(
            _link(f"{d.id}/{name}", name) for name in ("transitions.csv", "freq.csv", "expected.csv", "lsa.json")) + ".</p>",
    ]
    if result.groups:
        parts.append(_groups_section(t("Groups compared"), result.groups, [g.name for g in result.groups], threshold,
                                     t("units"), t))
        parts.append("<p>" + _e(t("Homogeneity across groups: {chi}.", chi=_chi(result.homogeneity_groups, t)))
                     + " " + _e(t("Side by side:")) + " " + _link(f"{d.id}/groups/comparison.csv", "comparison.csv") + ".</p>")
    parts.append(_tag("h3", t("Learner clusters")))
    parts += _clusters_section(result, scheme, t)
    return "\n".join(parts)


def _clusters_section(result: DimensionResult, scheme: Scheme, t: Translator) -> list[str]:
    d = result.dimension
    if result.clusters is None:
        reason = (t("clustering is disabled in the scheme") if not scheme.clusters.enabled else
                  t("too few learners with at least {events} coded events", events=t.integer(scheme.clusters.min_events)))
        return [_tag("p", t("Not clustered: {reason}.", reason=reason))]
    c = result.clusters.clustering
    rows = []
    for number, (size, row) in enumerate(zip(c.sizes, c.centroid_proportions, strict=True), start=1):
        profile = ", ".join(f"{code} {'▲' if v > m else '▼'}" for code, v, m in zip(d.code_names, row, c.grand_mean, strict=True))
        rows.append([f"<th>{number}</th>", f"<td>{t.integer(size)}</td>", *(f"<td>{t.number(v, 3)}</td>" for v in row),
                     f"<td class='text'>{_e(profile)}</td>"])
    head = [_e(t("cluster")), _e(t("learners")), *(_e(code) for code in d.code_names), _e(t("profile vs grand mean"))]
    names = [t("cluster {number}", number=number) for number in range(1, len(result.clusters.per_cluster) + 1)]
    return [
        "<p class='note'>" + _e(t("Design: {design}. Features: each learner's share of each code, z-standardized.",
                                  design=t(DESIGN_LABEL))) + "</p>",
        "<p>" + _e(t("k = {k} ({chosen_by}; Ward on {sample} learners), {clustered} learners clustered, {left_out} with "
                     "too few coded events left out.", k=c.k, chosen_by=t(c.k_chosen_by),
                     sample=t.integer(c.ward_sample_size), clustered=t.integer(result.clusters.learners_clustered),
                     left_out=t.integer(result.clusters.learners_too_few_events))) + "</p>",
        _table(head, rows),
        _groups_section(t("Lag-sequential analysis per cluster (each learner's own sequence within each unit)"),
                        result.clusters.per_cluster, names, scheme.threshold, t("learners"), t),
    ]


def write_report(path: Path, scheme: Scheme, scope: Scope, results: list[DimensionResult], t: Translator) -> Path:
    counts = scope.counts
    units = " ".join(filter(None, (scheme.units.from_, scheme.units.key or scheme.units.prefix)))
    intro = (
        "<p>" + _e(t("{statements} statements in the {zone}: {in_scope} behaviours in scope, {out_of_scope} out "
                     "of scope, {voided} voided or voiding (excluded), {without_unit} in scope but without a unit",
                     statements=t.integer(counts["statements"]), zone=t(ZONES[scope.zone]),
                     in_scope=t.integer(counts["in_scope"]),
                     out_of_scope=t.integer(counts["out_of_scope"]), voided=t.integer(counts["voided"]),
                     without_unit=t.integer(counts["without_unit"])))
        + " (" + _link("without_unit_examples.csv", t("examples")) + ").</p>"
        "<p class='note'>" + _e(t("Units: {units}. Events are ordered by timestamp, then statement id; transitions never "
                                  "cross units. A sequence is significant when its adjusted residual z > {threshold} "
                                  "(Bakeman & Gottman; Hou's convention).", units=units,
                                  threshold=t.number(scheme.threshold, 2))) + "</p>"
    )
    body = "\n".join(_dimension_section(result, scheme, path.parent, t) for result in results)
    path.write_text(
        f"<!doctype html><html lang='{t.language}'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_e(scope.title)}</title><style>{_STYLE}</style></head><body><h1>{_e(scope.title)}</h1>"
        f"{intro}{body}</body></html>\n",
        encoding="utf-8",
    )
    return path
