"""Evidence rules and hour methods: each candidate row gets its hours and its status.

All arithmetic is on integer milliseconds and the rounding step divides them exactly, so 1.25 h
never becomes 1.2499999 (the reference requires exact arithmetic). Every rule is a column-wide
mask; the first failing rule in a fixed order decides the status and its reason code.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from transforms.credit.policy import Policy

ELIGIBLE = "eligible"  # intermediate status: passed every rule, before dedup, overlap and caps


def floor_step(ms: np.ndarray, step_ms: int) -> np.ndarray:
    """floor to the rounding step; NaN (unknown) becomes 0."""
    values = np.nan_to_num(np.asarray(ms, dtype="float64"), nan=0.0)
    return (np.floor(values / step_ms) * step_ms).astype("int64")


def _category_column(frame: pd.DataFrame, policy: Policy, getter, dtype: str = "object") -> pd.Series:
    values = {name: getter(category) for name, category in policy.categories.items()}
    return frame["category"].map(values).astype(dtype)


def _designated_ms(g: pd.DataFrame, policy: Policy) -> np.ndarray:
    source = _category_column(g, policy, lambda c: c.hours.source)
    method = g["method"].to_numpy()
    by_source = {
        "notional_hours": g["notional_ms"].astype("float64"),
        "scheduled_minutes": g["scheduled_minutes"].astype("float64") * 60_000,
        "estimated_minutes": g["estimated_minutes"].astype("float64") * 60_000,
    }
    designated = np.select([source == key for key in by_source], list(by_source.values()), default=np.nan)
    designated = np.where(method == "attended_intervals", by_source["scheduled_minutes"], designated)
    designated = np.where(np.isin(method, ["video_unique_watch", "min_of"]), by_source["estimated_minutes"], designated)
    multiplier = _category_column(g, policy, lambda c: float(c.hours.multiplier), "float64").to_numpy()
    cap = _category_column(g, policy, lambda c: None if c.hours.max_per_activity is None
                           else float(c.hours.max_per_activity) * policy.unit_ms, "float64").to_numpy()
    return np.fmin(designated * np.where(method == "designated", multiplier, 1.0), cap)


def _measured_ms(g: pd.DataFrame) -> np.ndarray:
    method = g["method"].to_numpy()
    completion = g["completion_duration_s"].astype("float64").to_numpy() * 1000
    return np.select(
        [method == "designated", method == "video_unique_watch"],
        [completion, g["content_union_ms"].astype("float64").to_numpy()],
        default=g["wall_union_ms"].astype("float64").to_numpy(),
    )


def _move_on_met(g: pd.DataFrame, policy: Policy) -> np.ndarray:
    move_on = g["registry_move_on"].fillna(_category_column(g, policy, lambda c: c.evidence.move_on)).fillna("NotApplicable")
    completed, passed = g["has_completed"].fillna(False).to_numpy(bool), g["has_passed"].fillna(False).to_numpy(bool)
    return np.select(
        [move_on == "Completed", move_on == "Passed", move_on == "CompletedAndPassed", move_on == "CompletedOrPassed"],
        [completed, passed, completed & passed, completed | passed], default=True,
    ).astype(bool)


def apply_rules(g: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Adds hours_measured/designated/computed/rounded/weighted (ms), status and reason."""
    step = policy.step_ms
    method = g["method"].to_numpy()
    designated = _designated_ms(g, policy)
    measured = _measured_ms(g)
    computed = np.where(method == "designated", designated, np.fmin(measured, designated))
    rounded = floor_step(computed, step)
    weight = g["weight"].astype("float64").fillna(0.0).to_numpy()
    weighted = floor_step(np.round(rounded * weight), step)

    scheduled_ms = g["scheduled_minutes"].astype("float64").to_numpy() * 60_000
    attendance_ratio = np.where(method == "attended_intervals", g["wall_union_ms"].to_numpy() / scheduled_ms, np.nan)
    length_ms = g["video_length_s"].astype("float64").to_numpy() * 1000
    length_ms = np.where(np.isnan(length_ms), g["estimated_minutes"].astype("float64").to_numpy() * 60_000, length_ms)
    watch_ratio = np.where(method == "video_unique_watch", g["content_union_ms"].to_numpy() / length_ms, np.nan)
    min_attendance = _category_column(g, policy, lambda c: c.evidence.min_attendance_ratio, "float64").to_numpy()
    min_watch = _category_column(g, policy, lambda c: c.evidence.min_unique_watch_ratio, "float64").to_numpy()
    per_hour = _category_column(g, policy, lambda c: c.evidence.engagement_per_credited_hour, "int64").to_numpy()
    needed_interactions = np.ceil(per_hour * rounded / policy.unit_ms - 1e-9).astype("int64")
    plausibility = _category_column(g, policy, lambda c: None if c.plausibility is None
                                    else c.plausibility.measured_min_ratio, "float64").to_numpy()
    min_credit = int(policy.units.min_credit_per_activity * policy.unit_ms)

    state = g["state"].to_numpy()
    unlisted = g["credit_unit_id"].isna().to_numpy()
    has_failed = g["has_failed"].fillna(False).to_numpy(bool)
    move_on_met = _move_on_met(g, policy)
    rules = [  # (mask, status, reason): the first that holds decides
        (state == "voided", "voided", "statement_voided"),
        (state == "untrusted", "untrusted_source", "authority_not_allowed"),
        (unlisted, "pending_review", "unlisted_resource"),
        (g["approval_status"].to_numpy() == "pending", "pending_review", "approval_pending"),
        (weight == 0, "quality_rejected", "registry_tier_weight_zero"),
        (g["clock_skew"].fillna(False).to_numpy(bool), "pending_review", "clock_skew"),
        (g["evidence_level"].to_numpy() == "self_declared", "pending_review", "self_declared_requires_approval"),
        (~move_on_met & has_failed, "below_threshold", "not_passed"),
        (~move_on_met, "below_threshold", "move_on_not_met"),
        (~np.isnan(min_attendance) & ~(np.nan_to_num(attendance_ratio, nan=-1) >= min_attendance),
         "below_threshold", "attendance_below_ratio"),
        (~np.isnan(min_watch) & ~(np.nan_to_num(watch_ratio, nan=-1) >= min_watch),
         "below_threshold", "unique_watch_below_ratio"),
        ((rounded < min_credit) | (rounded == 0), "below_threshold", "below_minimum_increment"),
        (g["interactions"].to_numpy() < needed_interactions, "below_threshold", "insufficient_engagement"),
        (~np.isnan(plausibility) & (measured / designated < plausibility), "pending_review", "implausibly_fast"),
    ]
    out = g.assign(
        hours_measured_ms=measured, hours_designated_ms=designated, hours_computed_ms=computed,
        hours_rounded_ms=rounded, hours_weighted_ms=weighted, attendance_ratio=attendance_ratio,
        unique_watch_s=np.where(method == "video_unique_watch", g["content_union_ms"].to_numpy() / 1000, np.nan),
        interactions_needed=needed_interactions,
        status=np.select([mask for mask, _, _ in rules], [status for _, status, _ in rules], default=ELIGIBLE),
        reason=np.select([mask for mask, _, _ in rules], [reason for _, _, reason in rules], default=""),
    )
    category_bucket = _category_column(g, policy, lambda c: c.bucket)
    out["bucket"] = g["tier_bucket"].fillna(category_bucket)
    return out
