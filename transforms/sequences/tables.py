"""LSA results as labelled tables: pandas frames for CSV/HTML and a plain-text report."""

from __future__ import annotations

import pandas as pd

from transforms.sequences.lsa import RESIDUAL_FORM_LABELS, ChiSquare, LsaResult

MATRICES = ("freq", "expected", "transition_prob", "adjusted_residuals", "p_values", "yules_q")


def matrix_frame(result: LsaResult, name: str) -> pd.DataFrame:
    """One K×K statistic with codes as row (antecedent) and column (consequent) labels."""
    frame = pd.DataFrame(getattr(result, name), index=list(result.codes), columns=list(result.codes))
    frame.index.name = "from \\ to"
    return frame


def edge_frame(result: LsaResult, threshold: float) -> pd.DataFrame:
    """The data behind the diagram: one row per allowed cell, with its significance."""
    frame = pd.DataFrame([cell.__dict__ for cell in result.cells()])
    frame = frame.rename(columns={"source": "from", "target": "to"})
    frame["significant"] = frame["z"] > threshold
    frame["inhibited"] = frame["z"] < -threshold
    return frame


def _chi(label: str, chi: ChiSquare) -> str:
    return f"{label}: G² = {chi.value:.5f}, df = {chi.df}, p = {chi.p:.5g}"


def text_report(result: LsaResult, threshold: float, homogeneity: ChiSquare | None = None) -> str:
    lines = [
        f"codes: {', '.join(result.codes)}; lag {result.lag}; {result.n_transitions} transitions",
        f"residuals: {RESIDUAL_FORM_LABELS[result.residual_form]}",
        "",
        "transition frequencies (rows = from, columns = to)",
        matrix_frame(result, "freq").to_string(),
        "",
        "expected frequencies",
        matrix_frame(result, "expected").round(3).to_string(),
        "",
        "adjusted residuals z (NaN = undefined)",
        matrix_frame(result, "adjusted_residuals").round(3).to_string(),
        "",
        _chi("likelihood-ratio chi-square", result.lr_chi2),
    ]
    if homogeneity is not None:
        lines.append(_chi("homogeneity across groups", homogeneity))
    significant = result.significant(threshold)
    lines += ["", f"significant sequences (z > {threshold}):"]
    lines += [f"  {c.source} -> {c.target}  z = {c.z:.3f}  p = {c.p:.4f}  Q = {c.yules_q:.3f}" for c in significant] or ["  none"]
    return "\n".join(lines)
