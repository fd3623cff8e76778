"""The homogeneity test across units or groups, computed by DuckDB over sparse per-unit cells.

It runs as SQL so that the lake path never has to hold one table per unit in Python memory
(there can be hundreds of thousands of threads); the CSV path registers its cells and runs
the same query.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa

from transforms.sequences.lsa import ChiSquare, chi_square

_G2_SQL = """
WITH cells AS (SELECT unit, a, b, sum(x)::DOUBLE AS x FROM {cells} GROUP BY ALL),
unit_rows AS (SELECT unit, a, sum(x) AS r FROM cells GROUP BY ALL),
pooled AS (SELECT a, b, sum(x) AS x FROM cells GROUP BY ALL),
pooled_rows AS (SELECT a, sum(x) AS r FROM cells GROUP BY ALL)
SELECT 2 * sum(c.x * ln((c.x / ur.r) / (p.x / pr.r))), count(DISTINCT c.unit)
FROM cells c
JOIN unit_rows ur USING (unit, a)
JOIN pooled p USING (a, b)
JOIN pooled_rows pr USING (a)
"""


def homogeneity_test(con: duckdb.DuckDBPyConnection, cells: str, n_codes: int) -> ChiSquare:
    """G² = 2 Σ_g Σ_ij x_gij ln(p_g(j|i) / p(j|i)), df = K(K−1)(G−1) (LagSequential ``seqgroups``).

    ``cells`` names a relation with columns (unit, a, b, x): x transitions a→b in unit. G counts
    the units with at least one transition. With many short units most of their rows are empty,
    so the χ² approximation is rough: read it as a warning sign, not a verdict.
    """
    value, groups = con.execute(_G2_SQL.format(cells=cells)).fetchone()
    if not groups:
        return ChiSquare(float("nan"), 0, float("nan"))
    return chi_square(float(value), n_codes * (n_codes - 1) * (int(groups) - 1))


def homogeneity_of_pairs(unit: np.ndarray, antecedent: np.ndarray, consequent: np.ndarray, n_codes: int) -> ChiSquare:
    """The test for in-memory pairs (the ``lsa`` command), through the same SQL."""
    with duckdb.connect() as con:
        con.register("pairs", pa.table({"unit": unit, "a": antecedent, "b": consequent, "x": np.ones(len(unit), np.int64)}))
        return homogeneity_test(con, "pairs", n_codes)
