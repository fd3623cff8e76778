"""The policy in plain words: the Method section of the report and the workbook, and the quality tiers.

A director should be able to check a figure against the rule that produced it without reading
the YAML file, so every rule is a translated sentence built from the policy's own numbers,
formatted for the reader's language (never ``Decimal('30')`` or a code name).
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd

from transforms.credit.policy import Category, Policy, TierRule
from transforms.reporting.i18n import N_, Translator, translator

_SOURCES = {
    "notional_hours": N_("the hours the registry sets for the resource"),
    "scheduled_minutes": N_("the scheduled length of the event in the registry"),
    "estimated_minutes": N_("the time the registry estimates for the resource"),
}
_METHODS = {
    "attended_intervals": N_("the time actually attended"),
    "video_unique_watch": N_("the parts of the video actually watched, each second once"),
    "min_of": N_("the time actually spent, at most the registry's estimate"),
}
_REPEATS = {
    "once_per_pd_cycle": N_("counted once per professional development cycle"),
    "once_per_academic_year": N_("counted once per academic year"),
    "once_per_credit_unit": N_("counted once, ever"),
}
_MOVE_ON = {
    "Completed": N_("the activity must be completed"),
    "Passed": N_("the assessment must be passed"),
    "CompletedAndPassed": N_("the activity must be completed and its assessment passed"),
    "CompletedOrPassed": N_("the activity must be completed or its assessment passed"),
}
_APPROVAL = {
    "approved": N_("approved"),
    "listed": N_("listed"),
    "delisted": N_("delisted"),
    "pending": N_("awaiting approval"),
}


def amount(t: Translator, value: Decimal | float | int) -> str:
    """A policy number as people write it: ``30``, ``0,25``, never ``Decimal('30')``."""
    value = Decimal(str(value))
    decimals = "" if value == value.to_integral_value() else str(value.normalize()).partition(".")[2]
    return t.number(value, len(decimals))


def share(t: Translator, ratio: float | Decimal) -> str:
    return t.percent(float(ratio) * 100, 0)


def either(t: Translator, items: list[str]) -> str:
    """``a, b or c`` in the reader's language."""
    return items[0] if len(items) == 1 else t("{items} or {last}", items=", ".join(items[:-1]), last=items[-1])


def both(t: Translator, items: list[str]) -> str:
    """``a, b and c`` in the reader's language."""
    return items[0] if len(items) == 1 else t("{items} and {last}", items=", ".join(items[:-1]), last=items[-1])


def _category_rule(category: Category, policy: Policy, t: Translator) -> str:
    hours = category.hours
    source = t(_SOURCES[hours.source]) if hours.method == "designated" and hours.source else t(_METHODS[hours.method])
    parts = [t("Hours: {source}", source=source)]
    if hours.multiplier != 1:
        parts.append(t("multiplied by {factor}", factor=amount(t, hours.multiplier)))
    if hours.max_per_activity is not None:
        parts.append(t("at most {hours} h per activity", hours=amount(t, hours.max_per_activity)))
    evidence = category.evidence
    if evidence.move_on and evidence.move_on != "NotApplicable":
        parts.append(t(_MOVE_ON[evidence.move_on]))
    if evidence.min_scaled is not None:
        parts.append(t("a score of at least {score}", score=share(t, evidence.min_scaled)))
    if evidence.min_attendance_ratio is not None:
        parts.append(t("attendance of at least {share} of the scheduled time", share=share(t, evidence.min_attendance_ratio)))
    if evidence.engagement_per_credited_hour:
        parts.append(t("at least {count} interactions (answers, comments) per credited hour",
                       count=t.integer(evidence.engagement_per_credited_hour)))
    if evidence.min_unique_watch_ratio is not None:
        parts.append(t("at least {share} of the video watched", share=share(t, evidence.min_unique_watch_ratio)))
    parts.append(t("counted as {bucket}", bucket=policy.label("bucket", category.bucket, t.language)))
    parts.append(t(_REPEATS[category.repeat]))
    return "; ".join(parts) + "."


def _bucket_rule(name: str, policy: Policy, t: Translator) -> str:
    cap = policy.buckets[name].cap
    limits = []
    if cap.academic_year is not None:
        limits.append(t("{hours} h per academic year", hours=amount(t, cap.academic_year)))
    if cap.pd_cycle is not None:
        limits.append(t("{hours} h per professional development cycle", hours=amount(t, cap.pd_cycle)))
    if cap.pd_cycle_fraction_of_requirement is not None:
        limits.append(t("{share} of the requirement ({hours} h) per professional development cycle",
                        share=share(t, cap.pd_cycle_fraction_of_requirement),
                        hours=amount(t, cap.pd_cycle_fraction_of_requirement * policy.requirement.pd_cycle_hours)))
    if not limits:
        return t("No limit.")
    return t("At most {limits}. Limits apply in the order of the activities' dates; hours over a limit are shown but "
             "not credited and do not carry over.", limits=both(t, limits))


def tier_rule(tier: TierRule, policy: Policy, t: Translator) -> str:
    """What puts a resource in a quality tier and what that tier earns, in one sentence."""
    conditions = []
    if tier.approval_status:
        conditions.append(t("{statuses} by the cluster's quality monitor",
                            statuses=either(t, [t(_APPROVAL[status]) for status in tier.approval_status])))
    if tier.min_rating is not None:
        conditions.append(t("rated at least {rating} out of 5 by teachers", rating=amount(t, tier.min_rating)))
    which = t("Resources {conditions}", conditions=both(t, conditions)) if conditions else t("All other resources")
    if tier.weight == 0:
        earns = t("earn no credit")
    elif tier.weight == 1:
        earns = t("earn their full hours")
    else:
        earns = t("earn their hours multiplied by {factor}", factor=amount(t, tier.weight))
    if tier.bucket == "category_default":
        counted = t("counted as the type of learning of their kind of activity")
    else:
        counted = t("counted as {bucket}", bucket=policy.label("bucket", tier.bucket, t.language))
    sentence = f"{which} {earns}" + ("" if tier.weight == 0 else "; " + counted)
    if tier.flag:
        sentence += "; " + t("each use is reported to the quality monitor")
    return sentence + "."


def tier_rules(policy: Policy, t: Translator) -> list[tuple[str, str]]:
    """(tier label, explanation) for every tier, and how a new resource is placed."""
    rules = policy.registry
    rows = [(t("Tier {tier}", tier=name), tier_rule(tier, policy, t)) for name, tier in rules.tiers.items()]
    rows.append((t("New resources"), t(
        "A resource with fewer than {count} ratings is placed in tier {tier} until it has enough; the first tier whose "
        "conditions hold applies.", count=t.integer(rules.min_ratings_for_tier), tier=rules.provisional_tier)))
    return rows


def method_text(policy: Policy, t: Translator | None = None) -> pd.DataFrame:
    """The policy in plain language, one line per rule (``rule``, ``text``), in ``t``'s language (English if none)."""
    t = t or translator("en")
    units = policy.units
    rows = [(t("Policy"), t("{name}, version {version}, in force from {date} (file fingerprint sha256 {digest}).",
                            name=policy.policy.id, version=policy.policy.version, date=t.date(policy.policy.effective_from),
                            digest=policy.sha256[:16])),
            (t("Hours"), t("An hour is {minutes} minutes. The hours of each activity are rounded down to a multiple of "
                           "{step} h; an activity worth less than {minimum} h earns nothing.",
                           minutes=t.integer(units.minutes_per_unit), step=amount(t, units.rounding.step),
                           minimum=amount(t, units.min_credit_per_activity)))]
    for name, category in policy.categories.items():
        rows.append((policy.label("category", name, t.language), _category_rule(category, policy, t)))
    for name in policy.buckets:
        rows.append((policy.label("bucket", name, t.language), _bucket_rule(name, policy, t)))
    rows += tier_rules(policy, t)
    order = " → ".join(policy.label("bucket", name, t.language) for name in policy.dedup.overlap_precedence)
    rows.append((t("Overlapping time"), t("A minute counts once: when activities overlap, the time goes to the first "
                                          "in this order: {order}.", order=order)))
    requirement = policy.requirement
    text = t("{hours} h per professional development cycle of {years} years; the target for one academic year is "
             "{year_hours} h.", hours=amount(t, requirement.pd_cycle_hours), years=t.integer(policy.periods.pd_cycle_years),
             year_hours=amount(t, year_target(policy)))
    for minimum in requirement.minimums:
        text += " " + t("Of the cycle's hours, at least {hours} h of {buckets}.", hours=amount(t, minimum.hours),
                        buckets=either(t, [policy.label("bucket", name, t.language) for name in minimum.buckets]))
    rows.append((t("Requirement"), text))
    rows.append((t("Continuity"), t("A teacher is flagged when no learning was credited for more than {days} days.",
                                    days=t.integer(policy.continuity.max_gap_days))))
    return pd.DataFrame(rows, columns=["rule", "text"])


def year_target(policy: Policy) -> Decimal:
    """The academic year's share of the cycle requirement (the summaries' ``requirement_hours`` of a year row)."""
    return (policy.requirement.pd_cycle_hours / policy.periods.pd_cycle_years).quantize(Decimal("0.01"))


def period_target(policy: Policy, period_kind: str) -> float:
    """The hours a teacher should have in a period of this kind: the cycle requirement, or a year's share of it."""
    return float(policy.requirement.pd_cycle_hours if period_kind == "pd_cycle" else year_target(policy))
