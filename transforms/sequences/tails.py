"""Upper tail probabilities of the normal and chi-square distributions, without scipy.

``xapi-pipeline lsa`` needs only these two tails, and importing ``scipy.stats`` costs more than
the whole analysis of a million events (about a second of start-up). Both are standard
formulas evaluated in float64; tests compare them with scipy (agreement to about 1e-13).
"""

from __future__ import annotations

import math

import numpy as np

_CHI2_MAX_TERMS = 10_000
_TINY = 1e-300


def normal_two_sided_p(z: np.ndarray) -> np.ndarray:
    """P(|Z| ≥ |z|) = erfc(|z|/√2) per cell; NaN stays NaN (an undefined residual has no p)."""
    z = np.asarray(z, dtype=np.float64)
    return np.array([math.erfc(abs(value) * math.sqrt(0.5)) for value in z.ravel().tolist()],
                    dtype=np.float64).reshape(z.shape)


def chi2_sf(x: float, df: int) -> float:
    """P(χ²_df ≥ x): the regularized upper incomplete gamma Q(df/2, x/2).

    The series for the lower tail below a + 1, Lentz's continued fraction above it (Numerical
    Recipes §6.2); each converges in O(√a) steps, so the homogeneity test's df in the hundreds of
    thousands stays cheap.
    """
    if df <= 0 or not math.isfinite(x):
        return float("nan")
    if x <= 0:
        return 1.0
    a, h = df / 2.0, x / 2.0
    log_prefactor = _log_gamma_density(a, h)
    if h < a + 1:
        return 1.0 - math.exp(log_prefactor) * _lower_series(a, h) / a
    return math.exp(log_prefactor) * _upper_fraction(a, h)


def _log_gamma_density(a: float, h: float) -> float:
    """log(hᵃ e⁻ʰ / Γ(a)) without subtracting its large terms (Loader's saddle-point form).

    Written directly, a·ln h, h and ln Γ(a) are each about a·ln a, so at a = 100,000 their
    difference keeps only ten digits; with u = h/a − 1 it is −a·(u − ln(1+u)) + ½ ln(a/2π) − the
    Stirling remainder, all small terms.
    """
    if a < 15:
        return a * math.log(h) - h - math.lgamma(a)
    u = h / a - 1.0
    if abs(u) < 0.5:  # u − ln(1+u) = Σ_{k≥2} (−u)ᵏ/k, without the cancellation of log1p
        power, gap = u * u, 0.0
        for k in range(2, 200):
            gap += power / k if k % 2 == 0 else -power / k
            power *= u
            if abs(power) < 1e-17 * abs(gap):
                break
    else:
        gap = u - math.log1p(u)
    stirling = (1 / 12 - (1 / 360 - (1 / 1260 - 1 / (1680 * a * a)) / (a * a)) / (a * a)) / a
    return -a * gap + 0.5 * math.log(a / (2 * math.pi)) - stirling


def _lower_series(a: float, h: float) -> float:
    term = total = 1.0
    for n in range(1, _CHI2_MAX_TERMS):
        term *= h / (a + n)
        total += term
        if abs(term) < abs(total) * 1e-17:
            break
    return total


def _upper_fraction(a: float, h: float) -> float:
    b = h + 1.0 - a
    c, d = 1.0 / _TINY, 1.0 / b
    fraction = d
    for n in range(1, _CHI2_MAX_TERMS):
        an = -n * (n - a)
        b += 2.0
        d = an * d + b
        d = _TINY if abs(d) < _TINY else d
        c = b + an / c
        c = _TINY if abs(c) < _TINY else c
        d = 1.0 / d
        delta = d * c
        fraction *= delta
        if abs(delta - 1.0) < 1e-16:
            break
    return fraction
