"""Academic years and PD cycles, computed for whole columns at once.

PD cycles are anchored on each teacher's ``pd_cycle_start`` but snapped to the start of the
academic year it falls in. Cycles therefore contain whole academic years, which is what makes
the two caps (per academic year, per cycle) compose exactly when applied one after the other.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from transforms.credit.policy import Policy


def academic_year_start_year(moments: pd.Series, policy: Policy) -> pd.Series:
    """The calendar year in which the academic year containing each moment began."""
    month, day = int(policy.periods.academic_year_start[:2]), int(policy.periods.academic_year_start[3:])
    moments = pd.to_datetime(moments)
    before_start = (moments.dt.month < month) | ((moments.dt.month == month) & (moments.dt.day < day))
    return (moments.dt.year - before_start.astype(int)).astype("int64")


def academic_year_label(start_year: pd.Series | np.ndarray) -> pd.Series:
    start_year = pd.Series(start_year).astype("int64")
    return start_year.astype(str) + "-" + ((start_year + 1) % 100).astype(str).str.zfill(2)


def cycle_start_year(activity_year: pd.Series, anchor_year: pd.Series, policy: Policy) -> pd.Series:
    """Start year of the PD cycle (anchored on the teacher's first cycle) holding each academic year."""
    length = policy.periods.pd_cycle_years
    return anchor_year + ((activity_year - anchor_year) // length) * length


def cycle_label(start_year: pd.Series, policy: Policy) -> pd.Series:
    return "PD" + start_year.astype(str) + "-" + (start_year + policy.periods.pd_cycle_years).astype(str)


def period_bounds(start_year: pd.Series, years: int, policy: Policy) -> tuple[pd.Series, pd.Series]:
    """[start, end) dates of periods that begin on the academic-year start of ``start_year``."""
    month_day = policy.periods.academic_year_start
    start = pd.to_datetime(start_year.astype(str) + "-" + month_day)
    end = pd.to_datetime((start_year + years).astype(str) + "-" + month_day)
    return start, end
