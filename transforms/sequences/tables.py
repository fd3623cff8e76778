"""LSA results as labelled pandas frames for the CSV and HTML outputs (plain text: :mod:`.text`)."""

from __future__ import annotations

import pandas as pd

from transforms.sequences.lsa import LsaResult

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
