"""The homogeneity test across units or groups, accumulated as the units stream past.

G² = 2 Σ_g Σ_ij x_gij ln(p_g(j|i) / p(j|i)) splits into a sum over units of
x_gij ln(x_gij / r_gi), which each unit contributes on its own, minus the same sum over the
pooled table. So the lake path never holds one table per unit (there can be hundreds of
thousands of threads), yet the value is exactly LagSequential's ``seqgroups`` homogeneity G².
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from transforms.sequences.lsa import ChiSquare, chi_square


def _x_log_x_over_row(cells: np.ndarray, rows: np.ndarray) -> float:
    observed = cells > 0
    return float(np.sum(cells[observed] * np.log(cells[observed] / rows[observed])))


@dataclass
class Homogeneity:
    """Feed it each unit's pairs once (complete units only), then test against the pooled table."""

    n_codes: int
    within: float = 0.0  # Σ_g Σ_ij x_gij ln(x_gij / r_gi)
    groups: int = 0  # groups (units) with at least one transition

    def add_pairs(self, unit: np.ndarray, antecedent: np.ndarray, consequent: np.ndarray) -> None:
        """Pairs of complete units; ``unit`` may be any integer labels."""
        if unit.size == 0:
            return
        k = self.n_codes
        keys, counts = np.unique((unit.astype(np.int64) * k + antecedent) * k + consequent, return_counts=True)
        row_keys = keys // k
        row_ids, row_index = np.unique(row_keys, return_inverse=True)
        rows = np.bincount(row_index, weights=counts)[row_index]
        self.within += _x_log_x_over_row(counts.astype(np.float64), rows)
        self.groups += int(np.unique(row_ids // k).size)

    def add_table(self, table: np.ndarray) -> None:
        """One group's whole K×K table (for comparisons between a few named groups)."""
        table = np.asarray(table, dtype=np.float64)
        if table.sum() == 0:
            return
        self.within += _x_log_x_over_row(table, np.broadcast_to(table.sum(axis=1, keepdims=True), table.shape))
        self.groups += 1

    def test(self, pooled: np.ndarray) -> ChiSquare:
        """df = K(K−1)(G−1). With many short units most rows are empty, so read it as a warning sign."""
        if self.groups == 0:
            return ChiSquare(float("nan"), 0, float("nan"))
        pooled = np.asarray(pooled, dtype=np.float64)
        between = _x_log_x_over_row(pooled, np.broadcast_to(pooled.sum(axis=1, keepdims=True), pooled.shape))
        value = max(2.0 * (self.within - between), 0.0)  # exact 0 can come out as -1e-13
        return chi_square(value, self.n_codes * (self.n_codes - 1) * (self.groups - 1))
