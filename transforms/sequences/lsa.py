"""Lag-sequential analysis (LSA) of coded events: tally within units, then the cell statistics.

The method follows ``shared/reference/lsa-method.md``: pairs are counted inside each unit
(thread, group chat, session) and never across a unit boundary, the per-unit tables are pooled
by summing, and each cell gets the GSEQ / Bakeman–Quera adjusted residual. Undefined cells are
NaN, never 0, because a 0 reads as "exactly as expected" and would hide the problem.

Counting is vectorized (one sort and one ``bincount``), so a million events take a fraction of
a second; the statistics then only touch the K×K table. Nothing here imports scipy: its import
alone would cost ``xapi-pipeline lsa`` more than the analysis (see :mod:`.tails`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from transforms.sequences.structural import exact_leverage, quasi_independence_fit
from transforms.sequences.tails import chi2_sf, normal_two_sided_p

ResidualForm = Literal["table-margins", "quasi-independence", "allison-liker"]
RESIDUAL_FORM_LABELS: dict[ResidualForm, str] = {
    "table-margins": "adjusted residual, table margins (GSEQ / Bakeman–Quera / Haberman)",
    "quasi-independence": "adjusted residual with structural zeros (IPF quasi-independence, exact leverage)",
    "allison-liker": "OPT-IN Allison–Liker z with simple (unconditional) code probabilities — not the GSEQ default",
}
DEFAULT_THRESHOLD = 1.96


class SequenceError(ValueError):
    """Coded events that cannot be analysed as given (unknown code, repeated position, bad lag)."""


@dataclass(frozen=True)
class LagPairs:
    """Every (antecedent, consequent) pair at the chosen lag, with the unit it came from."""

    unit: np.ndarray  # int64 unit index of each pair
    antecedent: np.ndarray  # int64 code index
    consequent: np.ndarray
    event_counts: np.ndarray  # occurrences of each code among all events (Allison–Liker needs them)

    def pooled_table(self, n_codes: int) -> np.ndarray:
        """The K×K table summed over units (the GSEQ "pooled over sessions" table)."""
        cells = self.antecedent * n_codes + self.consequent
        return np.bincount(cells, minlength=n_codes * n_codes).reshape(n_codes, n_codes)


def _packed_events(unit: np.ndarray, order: np.ndarray, code: np.ndarray, n_codes: int) -> tuple[np.ndarray, int] | None:
    """One int64 per event, ((unit · span) + order) · K + code, and span.

    Sorting these values (not indices) orders the events by (unit, order) and carries their
    codes along: about five times faster than ``lexsort`` on two keys plus a gather. ``None``
    when the product would overflow; the caller then falls back to ``lexsort``.
    """
    low, span, first = int(order.min()), int(order.max()) - int(order.min()) + 1, int(unit.min())
    if (int(unit.max()) - first + 1) * span * n_codes >= 2**62:
        return None
    return ((unit - first) * span + (order - low)) * n_codes + code, span


def lag_pairs(unit: np.ndarray, order: np.ndarray, code: np.ndarray, n_codes: int, lag: int = 1) -> LagPairs:
    """Pairs (code_t, code_t+lag) inside each unit, from events given in any row order.

    ``unit`` and ``order`` are integer arrays (factorize strings first); ``code`` holds indices
    0..K-1. Once sorted by (unit, order), position t and t+lag belong to one unit exactly when
    their unit ids are equal (units are contiguous), so one vectorized comparison drops every
    pair that would cross a boundary. Events that arrive sorted (as the lake path delivers
    them) skip the sort.
    """
    if lag < 1:
        raise SequenceError(f"lag must be at least 1, got {lag}")
    unit, order, code = (np.asarray(a, dtype=np.int64) for a in (unit, order, code))
    if unit.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return LagPairs(empty, empty, empty, np.zeros(n_codes, dtype=np.int64))
    packed = _packed_events(unit, order, code, max(n_codes, 1))
    if packed is None:
        sort = np.lexsort((order, unit))
        unit, order, code = unit[sort], order[sort], code[sort]
        repeated = (unit[1:] == unit[:-1]) & (order[1:] == order[:-1])
    else:
        key, span = packed
        if not bool(np.all(key[1:] >= key[:-1])):
            key = np.sort(key)  # positions are unique (checked below), so any sort gives the one order
        position, code = np.divmod(key, max(n_codes, 1))
        unit = position // span
        repeated = position[1:] == position[:-1]
    if repeated.any():
        where = int(np.flatnonzero(repeated)[0])
        raise SequenceError(
            f"{int(repeated.sum())} event(s) share a position within their unit (e.g. the unit with the "
            f"{_ordinal(int(np.count_nonzero(unit[1:where + 1] != unit[:where])) + 1)} smallest id): "
            "the order inside a unit must be unique"
        )
    same_unit = unit[lag:] == unit[:-lag]
    return LagPairs(
        unit=unit[:-lag][same_unit],
        antecedent=code[:-lag][same_unit],
        consequent=code[lag:][same_unit],
        event_counts=np.bincount(code, minlength=n_codes),
    )


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


@dataclass(frozen=True)
class ChiSquare:
    value: float
    df: int
    p: float

    def as_dict(self) -> dict[str, float | int | None]:
        return {"value": _finite_or_none(self.value), "df": self.df, "p": _finite_or_none(self.p)}


def chi_square(value: float, df: int) -> ChiSquare:
    return ChiSquare(float(value), int(df), chi2_sf(float(value), int(df)))


@dataclass(frozen=True)
class Transition:
    """One cell of the table in the form the diagram and the edge-list files use."""

    source: str
    target: str
    freq: int
    expected: float
    transition_prob: float
    z: float
    p: float
    yules_q: float


@dataclass(frozen=True)
class LsaResult:
    codes: tuple[str, ...]
    lag: int
    freq: np.ndarray  # int64 K×K, rows = antecedent ("given"), columns = consequent ("target")
    expected: np.ndarray
    transition_prob: np.ndarray
    adjusted_residuals: np.ndarray
    p_values: np.ndarray
    yules_q: np.ndarray
    lr_chi2: ChiSquare
    structural_zeros: np.ndarray  # bool K×K
    residual_form: ResidualForm

    @property
    def n_transitions(self) -> int:
        return int(self.freq.sum())

    def cells(self) -> list[Transition]:
        """Every cell that is not a structural zero, in scheme order (the diagram's data)."""
        k = len(self.codes)
        return [
            Transition(self.codes[i], self.codes[j], int(self.freq[i, j]), float(self.expected[i, j]),
                       float(self.transition_prob[i, j]), float(self.adjusted_residuals[i, j]),
                       float(self.p_values[i, j]), float(self.yules_q[i, j]))
            for i in range(k) for j in range(k) if not self.structural_zeros[i, j]
        ]

    def significant(self, threshold: float = DEFAULT_THRESHOLD) -> list[Transition]:
        """Hou-style significant sequences: z above the threshold (more often than chance)."""
        return [cell for cell in self.cells() if cell.z > threshold]

    def inhibited(self, threshold: float = DEFAULT_THRESHOLD) -> list[Transition]:
        """Sequences that occur significantly less often than chance (z below −threshold)."""
        return [cell for cell in self.cells() if cell.z < -threshold]

    def as_dict(self, threshold: float = DEFAULT_THRESHOLD) -> dict[str, object]:
        """The JSON shape of ``xapi-pipeline lsa --format json``; NaN becomes null."""
        return {
            "codes": list(self.codes),
            "lag": self.lag,
            "n_transitions": self.n_transitions,
            "freq": self.freq.tolist(),
            "expected": _matrix(self.expected),
            "transition_prob": _matrix(self.transition_prob),
            "adjusted_residuals": _matrix(self.adjusted_residuals),
            "p_values": _matrix(self.p_values),
            "yules_q": _matrix(self.yules_q),
            "lr_chi2": self.lr_chi2.as_dict(),
            "significant": [{"from": c.source, "to": c.target, "z": c.z} for c in self.significant(threshold)],
        }


def _finite_or_none(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _matrix(values: np.ndarray) -> list[list[float | None]]:
    return [[_finite_or_none(v) for v in row] for row in values.tolist()]


def structural_zero_mask(codes: tuple[str, ...], spec: str | list[tuple[str, str]] | None) -> np.ndarray:
    """``None`` → no structural zeros, ``"diagonal"`` → codes cannot repeat, or explicit (from, to) cells."""
    k = len(codes)
    if spec is None:
        return np.zeros((k, k), dtype=bool)
    if spec == "diagonal":
        return np.eye(k, dtype=bool)
    if isinstance(spec, str):
        raise SequenceError(f"structural zeros must be 'diagonal' or a list of (from, to) cells, got {spec!r}")
    mask = np.zeros((k, k), dtype=bool)
    index = {code: i for i, code in enumerate(codes)}
    for source, target in spec:
        if source not in index or target not in index:
            raise SequenceError(f"structural zero {source}>{target} names a code not in the scheme ({', '.join(codes)})")
        mask[index[source], index[target]] = True
    return mask


def analyse(
    freq: np.ndarray,
    codes: tuple[str, ...],
    lag: int = 1,
    structural_zeros: np.ndarray | None = None,
    allison_liker_event_counts: np.ndarray | None = None,
) -> LsaResult:
    """All cell statistics of a pooled lag table.

    Default: the table-margin adjusted residual. With structural zeros: quasi-independence
    expected values (IPF) and the exact leverage-based residual. ``allison_liker_event_counts``
    (the raw code frequencies over all events) switches to the Allison–Liker simple-probability
    z; it is an opt-in because on many short units it moves cells across the threshold.
    """
    freq = np.asarray(freq, dtype=np.int64)
    k = len(codes)
    if freq.shape != (k, k):
        raise SequenceError(f"the table is {freq.shape}, expected {k}×{k} for codes {codes}")
    zeros = np.zeros((k, k), dtype=bool) if structural_zeros is None else np.asarray(structural_zeros, dtype=bool)
    if zeros.any() and allison_liker_event_counts is not None:
        raise SequenceError("the Allison–Liker form cannot be combined with structural zeros")
    impossible = freq[zeros] > 0
    if impossible.any():
        cells = [f"{codes[i]}>{codes[j]} ({freq[i, j]})" for i, j in zip(*np.nonzero(zeros & (freq > 0)), strict=True)]
        raise SequenceError(f"observed transitions in declared structural-zero cells: {', '.join(cells)}")

    x = freq.astype(np.float64)
    rows, cols, total = x.sum(axis=1), x.sum(axis=0), x.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        transition_prob = x / rows[:, None]
        if zeros.any():
            form: ResidualForm = "quasi-independence"
            expected = quasi_independence_fit(x, ~zeros)
            one_minus_h = 1.0 - exact_leverage(expected, ~zeros)
            z = (x - expected) / np.sqrt(expected * one_minus_h)
            z[zeros | (expected <= 0) | ~(one_minus_h > 1e-12)] = np.nan
        elif allison_liker_event_counts is not None:
            form = "allison-liker"
            events = np.asarray(allison_liker_event_counts, dtype=np.float64)
            simple = events / events.sum()
            expected = rows[:, None] * simple[None, :]
            variance = expected * (1 - simple[None, :]) * (1 - simple[:, None])
            z = np.where(variance > 0, (x - expected) / np.sqrt(variance), np.nan)
        else:
            form = "table-margins"
            expected = np.outer(rows, cols) / total if total > 0 else np.zeros_like(x)
            variance = expected * np.outer(1 - rows / total, 1 - cols / total) if total > 0 else expected
            z = np.where(variance > 0, (x - expected) / np.sqrt(variance), np.nan)
        p_values = normal_two_sided_p(z)
        yules_q = _yules_q(x, rows, cols, total)
    yules_q[zeros] = np.nan
    return LsaResult(
        codes=tuple(codes), lag=lag, freq=freq, expected=expected, transition_prob=transition_prob,
        adjusted_residuals=z, p_values=p_values, yules_q=yules_q,
        lr_chi2=_likelihood_ratio(x, expected, zeros, rows, cols), structural_zeros=zeros, residual_form=form,
    )


def _yules_q(x: np.ndarray, rows: np.ndarray, cols: np.ndarray, total: float) -> np.ndarray:
    """Q of the 2×2 table collapsed around each cell; NaN when ad + bc = 0."""
    a = x
    b = rows[:, None] - x
    c = cols[None, :] - x
    d = total - rows[:, None] - cols[None, :] + x
    denominator = a * d + b * c
    return np.where(denominator > 0, (a * d - b * c) / np.where(denominator > 0, denominator, 1), np.nan)


def _likelihood_ratio(x: np.ndarray, expected: np.ndarray, zeros: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> ChiSquare:
    """G² = 2 Σ x ln(x/e) over observed cells.

    df counts only the rows and columns that occur: (allowed cells among them) − (R + C − 1),
    which is (K−1)² − |S| when every code occurs, as in the reference.
    """
    active = (rows > 0)[:, None] & (cols > 0)[None, :]
    n_rows, n_cols = int((rows > 0).sum()), int((cols > 0).sum())
    if n_rows == 0:
        return ChiSquare(float("nan"), 0, float("nan"))
    df = int((active & ~zeros).sum()) - (n_rows + n_cols - 1)
    observed = x > 0
    value = 2.0 * float(np.sum(x[observed] * np.log(x[observed] / expected[observed])))
    return chi_square(value, df)
