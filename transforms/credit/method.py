"""The policy in plain language: what the report's and the workbook's Method section say."""

from __future__ import annotations

import pandas as pd

from transforms.credit.policy import Policy


def method_text(policy: Policy) -> pd.DataFrame:
    """The policy in plain language, one line per rule, with its version and hash."""
    rows = [("policy", f"{policy.policy.id} version {policy.policy.version} (sha256 {policy.sha256})"),
            ("unit", f"{policy.units.name}: {policy.units.minutes_per_unit} minutes; each activity floored to "
                     f"{policy.units.rounding.step} h; under {policy.units.min_credit_per_activity} h earns nothing")]
    for name, category in policy.categories.items():
        rows.append((f"category {name}", f"hours by {category.hours.method}"
                     + (f" from registry {category.hours.source}" if category.hours.source else "")
                     + (f" x {category.hours.multiplier}" if category.hours.multiplier != 1 else "")
                     + f"; bucket {category.bucket}; counted {category.repeat.replace('_', ' ')}"))
    for name, bucket in policy.buckets.items():
        caps = {key: value for key, value in bucket.cap.model_dump().items() if value is not None}
        rows.append((f"bucket {name}", f"caps {caps}, applied in activity-date order" if caps else "no cap"))
    rows.append(("overlap", "a minute counts once; precedence " + " > ".join(policy.dedup.overlap_precedence)))
    rows.append(("requirement", f"{policy.requirement.pd_cycle_hours} h per {policy.periods.pd_cycle_years}-year PD cycle "
                                f"(academic years pro rata)"))
    rows.append(("continuity", f"flag when no credited learning for more than {policy.continuity.max_gap_days} days"))
    return pd.DataFrame(rows, columns=["rule", "text"])
