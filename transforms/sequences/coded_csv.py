"""Coded events from a CSV file (``group_id,seq_index,code``): the input of ``xapi-pipeline lsa``.

Rows may come in any order; each group is one unit of adjacency, ordered by ``seq_index``.
Every problem (missing column, empty or unknown code, non-integer or repeated position) is
reported with the CSV lines, so the analyst can fix the file rather than guess what was
dropped. Columns are hashed once (``factorize``), so checks cost per distinct value, not per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from transforms.sequences.lsa import LagPairs, SequenceError, lag_pairs

REQUIRED_COLUMNS = ("group_id", "seq_index", "code")


@dataclass(frozen=True)
class CodedEvents:
    codes: tuple[str, ...]
    unit: np.ndarray  # int64 unit index, in row order
    seq_index: np.ndarray  # int64
    code: np.ndarray  # int64 index into codes
    origin: str = "input"

    def pairs(self, lag: int = 1) -> LagPairs:
        try:
            return lag_pairs(self.unit, self.seq_index, self.code, len(self.codes), lag)
        except SequenceError:
            repeated = pd.DataFrame({"unit": self.unit, "position": self.seq_index}).duplicated()
            _reject_rows(self.origin, repeated.to_numpy(),
                         "repeat a seq_index already used in their group (order must be unique):")
            raise


def read_coded_csv(path: Path, codes: tuple[str, ...] | None = None) -> CodedEvents:
    """Read and check the file; ``codes`` fixes the matrix order (default: sorted distinct codes)."""
    try:
        frame = pd.read_csv(path, dtype={"group_id": str, "code": str}, keep_default_na=False)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise SequenceError(f"{path}: cannot read CSV: {exc}") from exc
    return coded_events_from_frame(frame, codes, str(path))


def coded_events_from_frame(frame: pd.DataFrame, codes: tuple[str, ...] | None = None, origin: str = "input") -> CodedEvents:
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise SequenceError(f"{origin}: missing column(s) {', '.join(missing)}; expected {','.join(REQUIRED_COLUMNS)}")
    unit, _ = _factorized(frame["group_id"], origin, "have no group_id:")
    code_rows, names = _factorized(frame["code"], origin, "have no code (an uncoded event would make its neighbours adjacent):")
    codes = codes or tuple(sorted(names))
    lookup = {code: index for index, code in enumerate(codes)}
    unknown = [name for name in names if name not in lookup]
    if unknown:
        bad_rows = np.isin(code_rows, [names.index(u) for u in unknown])
        shown = ", ".join(repr(u) for u in unknown[:10]) + (" …" if len(unknown) > 10 else "")
        _reject_rows(origin, bad_rows, f"have a code not in the coding scheme ({', '.join(codes)}): {shown};")
    position = frame["seq_index"]
    if not pd.api.types.is_integer_dtype(position):
        position = pd.to_numeric(position, errors="coerce")
        not_integer = (position.isna() | (position != position.round())).to_numpy()
        _reject_rows(origin, not_integer, "have a seq_index that is not an integer:")
    code_index = np.array([lookup[name] for name in names], dtype=np.int64)[code_rows]
    return CodedEvents(codes, unit, position.to_numpy(dtype=np.int64), code_index, origin)


def _factorized(column: pd.Series, origin: str, problem: str) -> tuple[np.ndarray, list[str]]:
    """(row → distinct index, distinct values as stripped text); blank or missing cells are rejected."""
    rows, uniques = pd.factorize(column, use_na_sentinel=False)
    names = ["" if u is None or (isinstance(u, float) and np.isnan(u)) else str(u).strip() for u in uniques.tolist()]
    blank = [i for i, name in enumerate(names) if name == ""]
    if blank:
        _reject_rows(origin, np.isin(rows, blank), problem)
    return rows.astype(np.int64), names


def _reject_rows(origin: str, bad: np.ndarray, problem: str) -> None:
    if bad.any():
        lines = (np.flatnonzero(bad) + 2).tolist()  # +1 for the header, +1 for 1-based lines
        shown = ", ".join(map(str, lines[:10])) + (" …" if len(lines) > 10 else "")
        raise SequenceError(f"{origin}: {len(lines)} row(s) {problem} line(s) {shown}")
