"""Coded events from a CSV file (``group_id,seq_index,code``): the input of ``xapi-pipeline lsa``.

Rows may come in any order; each group is one unit of adjacency, ordered by ``seq_index``.
Every problem (missing column, empty code, non-integer position) is reported with the CSV line
so the analyst can fix the file rather than guess what was dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from transforms.sequences.lsa import LagPairs, SequenceError, encode_codes, lag_pairs

REQUIRED_COLUMNS = ("group_id", "seq_index", "code")


@dataclass(frozen=True)
class CodedEvents:
    codes: tuple[str, ...]
    unit: np.ndarray  # dense int64 unit index
    seq_index: np.ndarray  # int64
    code: np.ndarray  # int64 index into codes

    def pairs(self, lag: int = 1) -> LagPairs:
        return lag_pairs(self.unit, self.seq_index, self.code, len(self.codes), lag)


def read_coded_csv(path: Path, codes: tuple[str, ...] | None = None) -> CodedEvents:
    """Read and check the file; ``codes`` fixes the matrix order (default: sorted distinct codes)."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise SequenceError(f"{path}: cannot read CSV: {exc}") from exc
    return coded_events_from_frame(frame, codes, str(path))


def coded_events_from_frame(frame: pd.DataFrame, codes: tuple[str, ...] | None = None, origin: str = "input") -> CodedEvents:
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise SequenceError(f"{origin}: missing column(s) {', '.join(missing)}; expected {','.join(REQUIRED_COLUMNS)}")
    code_text = frame["code"].astype(str).str.strip()
    _reject_rows(origin, code_text.eq("") | frame["code"].isna(),
                 "has no code (an uncoded event would make its neighbours adjacent)")
    _reject_rows(origin, frame["group_id"].isna() | frame["group_id"].astype(str).str.strip().eq(""), "has no group_id")
    position = pd.to_numeric(frame["seq_index"], errors="coerce")
    _reject_rows(origin, position.isna() | (position != position.round()), "has a seq_index that is not an integer")
    codes = codes or tuple(sorted(code_text.unique().tolist()))
    try:
        code_index = encode_codes(code_text.to_numpy(), codes)
    except SequenceError as exc:
        raise SequenceError(f"{origin}: {exc}") from exc
    unit = pd.factorize(frame["group_id"], sort=True)[0].astype(np.int64)
    return CodedEvents(codes, unit, position.to_numpy(dtype=np.int64), code_index)


def _reject_rows(origin: str, bad: pd.Series, problem: str) -> None:
    if bad.any():
        lines = (np.flatnonzero(bad.to_numpy()) + 2).tolist()  # +1 for the header, +1 for 1-based lines
        shown = ", ".join(map(str, lines[:10])) + (" …" if len(lines) > 10 else "")
        raise SequenceError(f"{origin}: {len(lines)} row(s) {problem}: line(s) {shown}")
