"""Coded events from a CSV file (``group_id,seq_index,code``): the input of ``xapi-pipeline lsa``.

Rows may come in any order; each group is one unit of adjacency, ordered by ``seq_index``.
Every problem (missing column, empty or unknown code, non-integer or repeated position) is
reported with the CSV lines, so the analyst can fix the file rather than guess what was
dropped.

The file is parsed by Arrow's multithreaded CSV reader straight into dictionary-encoded
columns (row → distinct index), so every check costs per distinct value, not per row, and no
step runs Python per row. This module imports only numpy and ``pyarrow.csv``: not pandas, and
not ``pyarrow.compute`` (together about a second of start-up), except to explain a bad
``seq_index`` column.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from transforms.sequences.lsa import LagPairs, SequenceError, lag_pairs

REQUIRED_COLUMNS = ("group_id", "seq_index", "code")
_TEXT = pa.dictionary(pa.int32(), pa.string())
# A seq_index that pyarrow cannot read as int64 but that is still a whole number ("+3", "2.0").
_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


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
            _reject_rows(self.origin, _later_repeats(self.unit, self.seq_index),
                         "repeat a seq_index already used in their group (order must be unique):")
            raise


def read_coded_csv(source: Path | BinaryIO, codes: tuple[str, ...] | None = None, origin: str | None = None) -> CodedEvents:
    """Read and check the file; ``codes`` fixes the matrix order (default: sorted distinct codes).

    ``source`` is a path or a binary stream; ``origin`` names it in messages (default: the path).
    """
    origin = origin or (str(source) if isinstance(source, Path) else "input")
    table = _read(source, origin, pa.int64())
    names = table.column_names
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise SequenceError(f"{origin}: missing column(s) {', '.join(missing)}; expected {','.join(REQUIRED_COLUMNS)}")
    twice = [c for c in REQUIRED_COLUMNS if names.count(c) > 1]
    if twice:
        raise SequenceError(f"{origin}: column(s) {', '.join(twice)} appear more than once in the header")
    unit, _ = _distinct(table["group_id"], origin, "have no group_id:")
    code_rows, found = _distinct(table["code"], origin, "have no code (an uncoded event would make its neighbours adjacent):")
    codes = codes or tuple(sorted(set(found)))
    lookup = {code: index for index, code in enumerate(codes)}
    unknown = list(dict.fromkeys(name for name in found if name not in lookup))
    if unknown:
        bad_values = [index for index, name in enumerate(found) if name not in lookup]
        shown = ", ".join(repr(u) for u in unknown[:10]) + (" …" if len(unknown) > 10 else "")
        problem = f"have a code not in the coding scheme ({', '.join(codes)}): {shown};"
        _reject_rows(origin, np.isin(code_rows, bad_values), problem)
    position = _positions(table["seq_index"], origin)
    code_index = np.array([lookup[name] for name in found], dtype=np.int64)[code_rows]
    return CodedEvents(codes, unit, position, code_index, origin)


def _read(source: Path | BinaryIO, origin: str, seq_index_type: pa.DataType) -> pa.Table:
    """The whole file; strings stay text (``NA`` is a code, blank is blank), only seq_index is typed."""
    if not isinstance(source, Path):
        source.seek(0)
    options = pacsv.ConvertOptions(column_types={"group_id": _TEXT, "code": _TEXT, "seq_index": seq_index_type})
    try:
        return pacsv.read_csv(source, convert_options=options)
    except (OSError, pa.ArrowException, UnicodeDecodeError) as exc:
        if seq_index_type == pa.int64() and "conversion error to int64" in str(exc):
            return _read(source, origin, pa.string())  # _positions names the lines
        raise SequenceError(f"{origin}: cannot read CSV: {' '.join(str(exc).split())}") from exc


def _indices(column: pa.ChunkedArray, dtype: type[np.generic]) -> np.ndarray:
    """The values of a null-free integer column as one numpy array (no pandas, no compute kernels)."""
    parts = [np.frombuffer(chunk.buffers()[1], dtype=dtype)[chunk.offset:chunk.offset + len(chunk)] for chunk in column.chunks]
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)


def _distinct(column: pa.ChunkedArray, origin: str, problem: str) -> tuple[np.ndarray, list[str]]:
    """(row → distinct index, distinct values stripped of spaces); blank cells are rejected."""
    column = column.unify_dictionaries()
    names = [value.strip() for value in column.chunks[0].dictionary.to_pylist()] if column.num_chunks else []
    rows = _indices(pa.chunked_array([chunk.indices for chunk in column.chunks], pa.int32()), np.int32)
    blank = [index for index, name in enumerate(names) if name == ""]
    if blank:
        _reject_rows(origin, np.isin(rows, blank), problem)
    return rows, names


def _positions(column: pa.ChunkedArray, origin: str) -> np.ndarray:
    """seq_index as int64; a blank, non-numeric or fractional value is an error naming its lines."""
    if column.type == pa.int64() and column.null_count == 0:
        return _indices(column, np.int64)
    import pyarrow.compute as pc  # only for a column that is not plain integers: explain or accept it

    text = pc.utf8_trim_whitespace(column.cast(pa.string()))
    numeric = pc.fill_null(pc.match_substring_regex(text, _NUMBER), False)
    value = pc.cast(pc.if_else(numeric, text, "nan"), pa.float64()).to_numpy()
    whole = np.isfinite(value) & (np.floor(value) == value)
    _reject_rows(origin, ~whole, "have a seq_index that is not an integer:")
    return value.astype(np.int64)


def _later_repeats(unit: np.ndarray, position: np.ndarray) -> np.ndarray:
    """Rows whose (unit, position) an earlier row already has: the repeats to name, not the first."""
    order = np.lexsort((np.arange(unit.size), position, unit))
    same = (unit[order][1:] == unit[order][:-1]) & (position[order][1:] == position[order][:-1])
    repeats = np.zeros(unit.size, dtype=bool)
    repeats[order[1:][same]] = True
    return repeats


def _reject_rows(origin: str, bad: np.ndarray, problem: str) -> None:
    if bad.any():
        lines = (np.flatnonzero(bad) + 2).tolist()  # +1 for the header, +1 for 1-based lines
        shown = ", ".join(map(str, lines[:10])) + (" …" if len(lines) > 10 else "")
        raise SequenceError(f"{origin}: {len(lines)} row(s) {problem} line(s) {shown}")
