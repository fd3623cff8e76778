"""Structural zeros: quasi-independence expected values and exact leverages.

When the coding rules make some transitions impossible (classically "a code cannot follow
itself"), independence expected values r_i c_j / N are wrong: they put mass on cells that can
never be observed. The maximum-likelihood fit of the quasi-independence model is found by
iterative proportional fitting, and the adjusted residual then needs each cell's leverage in
that log-linear model (Haberman; Christensen 1997), not the table-margin shortcut.
"""

from __future__ import annotations

import numpy as np

IPF_TOLERANCE = 1e-10
IPF_MAX_ITERATIONS = 100_000


class FitError(ArithmeticError):
    """IPF did not converge (a pattern of zeros with no finite maximum-likelihood fit)."""


def quasi_independence_fit(freq: np.ndarray, allowed: np.ndarray, tolerance: float = IPF_TOLERANCE) -> np.ndarray:
    """Expected counts m with the observed margins, m = 0 off ``allowed``, log m = λ + α_i + β_j on it."""
    rows, cols = freq.sum(axis=1), freq.sum(axis=0)
    fitted = allowed.astype(np.float64)
    for _ in range(IPF_MAX_ITERATIONS):
        fitted *= _ratio(rows, fitted.sum(axis=1))[:, None]
        fitted *= _ratio(cols, fitted.sum(axis=0))[None, :]
        gap = max(np.abs(fitted.sum(axis=1) - rows).max(), np.abs(fitted.sum(axis=0) - cols).max())
        if gap < tolerance:
            return fitted
    raise FitError(f"iterative proportional fitting did not converge in {IPF_MAX_ITERATIONS} iterations (gap {gap:.3g})")


def _ratio(target: np.ndarray, current: np.ndarray) -> np.ndarray:
    """target / current, with 0 where the current sum is 0 (a row or column that never occurs)."""
    return np.divide(target, current, out=np.zeros_like(current), where=current > 0)


def exact_leverage(expected: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Diagonal of H = W^½ A (AᵀWA)⁻ AᵀW^½ over the fitted cells, as a K×K array (NaN elsewhere).

    A is [intercept, row dummies, column dummies]; W = diag(m). The hat matrix is the projector
    onto the column space of W^½ A, so its diagonal is the row norms of an orthonormal basis
    of that space (SVD), which also copes with codes that never occur (rank-deficient A).
    """
    k = expected.shape[0]
    cells = np.flatnonzero(allowed.ravel() & (expected.ravel() > 0))
    leverage = np.full(k * k, np.nan)
    if cells.size == 0:
        return leverage.reshape(k, k)
    row, col = cells // k, cells % k
    design = np.zeros((cells.size, 2 * k - 1))
    design[:, 0] = 1.0
    design[row > 0, row[row > 0]] = 1.0  # row dummies in columns 1..K-1 (row 0 is the reference)
    design[col > 0, k - 1 + col[col > 0]] = 1.0  # column dummies in columns K..2K-2
    weighted = np.sqrt(expected.ravel()[cells])[:, None] * design
    basis, singular, _ = np.linalg.svd(weighted, full_matrices=False)
    rank = int(np.sum(singular > singular.max() * max(weighted.shape) * np.finfo(float).eps))
    leverage[cells] = np.sum(basis[:, :rank] ** 2, axis=1)
    return leverage.reshape(k, k)
