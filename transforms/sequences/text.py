"""LSA results as plain text: what ``xapi-pipeline lsa`` prints by default.

Formatted by hand rather than through pandas, whose import alone takes longer than analysing a
million events.
"""

from __future__ import annotations

import math

import numpy as np

from transforms.sequences.lsa import RESIDUAL_FORM_LABELS, ChiSquare, LsaResult

CORNER = "from \\ to"


def matrix_text(codes: tuple[str, ...], values: np.ndarray, decimals: int | None = None) -> str:
    """A K×K table with codes as row (antecedent) and column (consequent) labels, right-aligned."""
    def cell(value: float) -> str:
        if decimals is None:
            return str(int(value))
        return "NaN" if math.isnan(value) else f"{value:.{decimals}f}"

    rows = [[CORNER, *codes]] + [[code, *(cell(v) for v in row)] for code, row in zip(codes, values.tolist(), strict=True)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join([row[0].ljust(widths[0])] + [text.rjust(width) for text, width in zip(row[1:], widths[1:], strict=True)])
        for row in rows
    )


def _chi(label: str, chi: ChiSquare) -> str:
    return f"{label}: G² = {chi.value:.5f}, df = {chi.df}, p = {chi.p:.5g}"


def text_report(result: LsaResult, threshold: float, homogeneity: ChiSquare | None = None) -> str:
    lines = [
        f"codes: {', '.join(result.codes)}; lag {result.lag}; {result.n_transitions} transitions",
        f"residuals: {RESIDUAL_FORM_LABELS[result.residual_form]}",
        "",
        "transition frequencies (rows = from, columns = to)",
        matrix_text(result.codes, result.freq),
        "",
        "expected frequencies",
        matrix_text(result.codes, result.expected, 3),
        "",
        "adjusted residuals z (NaN = undefined)",
        matrix_text(result.codes, result.adjusted_residuals, 3),
        "",
        _chi("likelihood-ratio chi-square", result.lr_chi2),
    ]
    if homogeneity is not None:
        lines.append(_chi("homogeneity across groups", homogeneity))
    significant = result.significant(threshold)
    lines += ["", f"significant sequences (z > {threshold}):"]
    lines += [f"  {c.source} -> {c.target}  z = {c.z:.3f}  p = {c.p:.4f}  Q = {c.yules_q:.3f}" for c in significant] or ["  none"]
    return "\n".join(lines)
