"""The credit policy: a YAML file validated into typed, frozen models.

Every number in the policy is the methodological council's decision, not ours, so nothing is
hard-coded in the engine: categories, evidence rules, hour methods, buckets and caps all come
from here. The file's sha256 is stamped on every ledger row, so an auditor can tell exactly
which rules produced a figure. Conditions are structured fields, never evaluated expressions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from transforms.reporting.i18n import Language, ReportLanguages
from xapi_ingest.common.config import ConfigError, MonthDay, load_yaml_model, read_yaml

EvidenceLevel = Literal["system_verified", "host_attested", "self_declared"]
HourMethod = Literal["designated", "attended_intervals", "video_unique_watch", "min_of"]
MoveOn = Literal["Completed", "Passed", "CompletedAndPassed", "CompletedOrPassed", "NotApplicable"]
RegistrySource = Literal["notional_hours", "scheduled_minutes", "estimated_minutes"]
Repeat = Literal["once_per_pd_cycle", "once_per_academic_year", "once_per_credit_unit"]


class _Model(BaseModel):
    # attribute docstrings become the JSON Schema's descriptions and the reference page (docs/policy.md)
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class PolicyInfo(_Model):
    """Which policy this is: stamped on every ledger row and report."""

    id: str = Field(min_length=1)
    """A stable name of the policy, e.g. ``kz-cluster-informal-credit``."""
    version: str = Field(min_length=1)
    """Bump on any change: reports name the version that produced their figures."""
    owner: str | None = None
    """Who decides the rules (the methodological council)."""
    effective_from: date
    """The first day the policy applies."""


class Rounding(_Model):
    """How an activity's hours are rounded before caps."""

    mode: Literal["floor"] = "floor"
    """Always down: credit never exceeds the evidence."""
    step: Decimal = Field(default=Decimal("0.25"), gt=0)
    """Each activity's hours are floored to a multiple of this many units."""


class Units(_Model):
    """The unit credit is counted in."""

    name: str = "clock_hour"
    """The unit's name as reports show it."""
    minutes_per_unit: int = Field(default=60, gt=0, le=60)
    """60 for clock hours, 45 for academic hours."""
    rounding: Rounding = Rounding()
    """Rounding of each activity's hours."""
    min_credit_per_activity: Decimal = Field(default=Decimal("0.25"), ge=0)
    """An activity worth less than this earns nothing (reason ``below_minimum_increment``)."""
    export_conversions: dict[str, Decimal] = {}
    """Units per other credit system, e.g. ``{ects_hours: 30}``: informative, for exports."""


class TimeRules(_Model):
    """Which clock counts, and what is too early or too late."""

    display_tz: str = "Asia/Almaty"
    """The time zone reports show local times in (data stay in UTC)."""
    max_timestamp_after_stored_hours: float = Field(default=24, ge=0)
    """A statement dated this much later than the LRS received it is held for review (``clock_skew``)."""
    late_arrival_days: int = Field(default=30, ge=0)
    """A statement received this many days after the activity is flagged ``late_arrival`` (still credited)."""


class Periods(_Model):
    """The periods credit is summed over."""

    academic_year_start: MonthDay = "09-01"
    """MM-DD on which each academic year starts."""
    pd_cycle_years: int = Field(default=3, ge=1)
    """Length of a teacher's professional-development cycle, anchored on the roster's ``pd_cycle_start``."""


class AuthorityMatch(_Model):
    """How a statement's ``authority`` is recognised: exactly one of the two."""

    account_name: str | None = None
    """The authority's ``account.name`` (the LRS credential's name)."""
    ifi: str | None = None
    """The authority's canonical IFI (``mbox:mailto:…``, ``account:<homePage>|<name>``)."""

    @model_validator(mode="after")
    def _exactly_one(self) -> AuthorityMatch:
        if (self.account_name is None) == (self.ifi is None):
            raise ValueError("give exactly one of account_name or ifi")
        return self


class Authority(_Model):
    """A system allowed to assert credit-bearing statements."""

    id: str
    """A name for the system in reports."""
    match: AuthorityMatch
    """How its statements are recognised."""
    evidence_level: EvidenceLevel
    """``system_verified`` (the platform observed it), ``host_attested`` (a host confirmed it) or
    ``self_declared`` (the teacher said so: held for approval)."""


class Trust(_Model):
    """Whose statements count: anything else is ``untrusted_source``."""

    authorities: list[Authority] = Field(min_length=1)
    """The allow-list of authorities."""


class TierRule(_Model):
    """A quality tier of registry resources: the first tier whose conditions hold applies."""

    approval_status: list[Literal["approved", "listed", "delisted", "pending"]] | None = None
    """The resource's approval status must be one of these (omit: any)."""
    min_rating: float | None = None
    """The resource's mean rating must be at least this (omit: any)."""
    weight: Decimal = Field(ge=0)
    """Hours are multiplied by this; 0 means no credit (``quality_rejected``)."""
    bucket: str = "category_default"
    """The bucket hours go to; ``category_default`` keeps the category's bucket."""
    flag: str | None = None
    """A note for the quality monitor on rows in this tier."""


class RegistryRules(_Model):
    """How the resource registry's approval and ratings affect credit."""

    unlisted: Literal["pending_review"] = "pending_review"
    """Resources not in the registry earn 0 h until listed (``unlisted_resource``)."""
    min_ratings_for_tier: int = Field(default=5, ge=0)
    """With fewer ratings a resource gets the provisional tier."""
    provisional_tier: str = "B"
    """The tier of resources with too few ratings."""
    tiers: dict[str, TierRule] = Field(min_length=1)
    """Tier name → rule, tried in order."""

    @model_validator(mode="after")
    def _provisional_exists(self) -> RegistryRules:
        if self.provisional_tier not in self.tiers:
            raise ValueError(f"provisional_tier {self.provisional_tier!r} is not one of the tiers {sorted(self.tiers)}")
        return self


class CategoryMatch(_Model):
    """Which activities belong to a category: every given condition must hold."""

    verbs: list[str] | None = None
    """Verb IRIs that count as evidence (the reference sketch calls them ``credit_verbs``)."""
    activity_types: list[str] | None = None
    """Activity type IRIs."""
    registry_kind: list[str] | None = None
    """Registry ``kind`` values (``webinar``, ``master_class`` …)."""
    actor_role: Literal["learner", "facilitator"] = "learner"
    """``facilitator``: the teacher is the statement's ``context.instructor`` (e.g. delivered a master class)."""


class Evidence(_Model):
    """What must be shown before hours count (each failure has its reason code)."""

    move_on: MoveOn | None = None
    """cmi5 completion rule; the registry's ``move_on`` overrides it per resource."""
    min_scaled: float | None = Field(default=None, ge=-1, le=1)
    """Passing score (``result.score.scaled``); the registry's ``mastery_scaled`` overrides it."""
    min_attendance_ratio: float | None = Field(default=None, ge=0, le=1)
    """Share of the scheduled time a participant must attend."""
    engagement_verbs: list[str] = []
    """Verbs that count as interactions during a live event."""
    engagement_per_credited_hour: int = Field(default=0, ge=0)
    """Interactions needed per credited hour."""
    min_unique_watch_ratio: float | None = Field(default=None, ge=0, le=1)
    """Share of a video that must be watched (segments unioned, not summed)."""


class Hours(_Model):
    """Where an activity's hours come from."""

    method: HourMethod
    """``designated`` (the registry's figure), ``attended_intervals`` (time present, up to the scheduled time),
    ``video_unique_watch`` (unique seconds watched) or ``min_of`` (measured time, up to the registry's estimate)."""
    source: RegistrySource | None = None
    """The registry column a designated figure comes from."""
    multiplier: Decimal = Field(default=Decimal(1), gt=0)
    """Designated hours are multiplied by this (e.g. 2 for delivering a class)."""
    max_per_activity: Decimal | None = Field(default=None, gt=0)
    """No activity earns more than this."""

    @model_validator(mode="after")
    def _designated_needs_source(self) -> Hours:
        if self.method == "designated" and self.source is None:
            raise ValueError("method 'designated' needs a source (notional_hours or scheduled_minutes)")
        return self


class Plausibility(_Model):
    """A check against finishing implausibly fast."""

    measured_min_ratio: float = Field(ge=0, le=1)
    """Measured time below this share of the designated hours holds the row for review (``implausibly_fast``)."""


Labels = dict[Language, str]  # a name as each report language shows it; missing languages show the key


class Category(_Model):
    """A kind of learning activity; categories are tried in file order and the first match wins."""

    label: Labels = {}
    """The category's name in each report language (``{kk: …, ru: …, en: …}``)."""
    match: CategoryMatch
    """Which activities belong here."""
    evidence: Evidence = Evidence()
    """What must be shown before hours count."""
    hours: Hours
    """Where the hours come from."""
    plausibility: Plausibility | None = None
    """Optional check against implausibly fast completion."""
    bucket: str
    """The bucket (type of learning) the hours go to."""
    repeat: Repeat = "once_per_pd_cycle"
    """How often the same activity can be credited."""


class Cap(_Model):
    """Limits on a bucket's credited hours; hours over a limit are shown as capped, never carried over."""

    academic_year: Decimal | None = Field(default=None, ge=0)
    """Most hours per academic year."""
    pd_cycle: Decimal | None = Field(default=None, ge=0)
    """Most hours per PD cycle."""
    pd_cycle_fraction_of_requirement: Decimal | None = Field(default=None, ge=0, le=1)
    """Most hours per PD cycle as a share of the cycle requirement."""


class Bucket(_Model):
    """A type of learning (formal, non-formal, informal, presenting) with its limits."""

    label: Labels = {}
    """The bucket's name in each report language."""
    cap: Cap = Cap()
    """Limits, applied in activity-date order."""


class Minimum(_Model):
    """At least ``hours`` per cycle from these buckets together."""

    buckets: list[str] = Field(min_length=1)
    """The buckets that count towards the minimum."""
    hours: Decimal = Field(ge=0)
    """Hours per PD cycle (pro rata per academic year)."""


class Requirement(_Model):
    """What a teacher should reach: used for progress in reports, never to change credit."""

    pd_cycle_hours: Decimal = Field(gt=0)
    """Hours per PD cycle; an academic year's target is this divided by ``periods.pd_cycle_years``."""
    minimums: list[Minimum] = []
    """Minimums from particular buckets."""


class Continuity(_Model):
    """Continuity of learning: the gap between credited activities."""

    max_gap_days: int = Field(default=180, gt=0)
    """A teacher with no credited learning for longer is flagged in reports."""


class Dedup(_Model):
    """A minute counts once: which bucket keeps overlapping time."""

    overlap_precedence: list[str] = Field(min_length=1)
    """Every bucket once, highest precedence first."""


class Policy(_Model):
    """The credit policy file (YAML)."""

    policy: PolicyInfo
    """Identity and version."""
    units: Units = Units()
    """The unit and its rounding."""
    time: TimeRules = TimeRules()
    """Clock rules."""
    periods: Periods = Periods()
    """Academic years and PD cycles."""
    trust: Trust
    """Which systems' statements count."""
    registry: RegistryRules
    """The resource registry's tiers."""
    categories: dict[str, Category] = Field(min_length=1)
    """Kinds of activity, tried in order."""
    buckets: dict[str, Bucket] = Field(min_length=1)
    """Types of learning and their caps."""
    requirement: Requirement
    """The target reports measure progress against."""
    continuity: Continuity = Continuity()
    """Gap flagging."""
    dedup: Dedup
    """Overlap precedence."""
    reports: ReportLanguages = ReportLanguages()
    """Report languages."""
    _sha256: str = PrivateAttr(default="")  # of the file's bytes: set by load_policy, not a key of the file

    @model_validator(mode="after")
    def _buckets_exist(self) -> Policy:
        known = set(self.buckets)
        used = {category.bucket for category in self.categories.values()}
        used |= {tier.bucket for tier in self.registry.tiers.values() if tier.bucket != "category_default"}
        used |= {name for minimum in self.requirement.minimums for name in minimum.buckets}
        missing = sorted(used - known)
        if missing:
            raise ValueError(f"bucket(s) {missing} are used but not defined under 'buckets' ({sorted(known)})")
        if set(self.dedup.overlap_precedence) != known:
            raise ValueError(f"dedup.overlap_precedence must list every bucket exactly once: {sorted(known)}")
        return self

    def label(self, kind: Literal["category", "bucket"], name: str, language: Language) -> str:
        """The council's name for a category or bucket in ``language`` (the policy file holds the translations)."""
        entry = (self.categories if kind == "category" else self.buckets).get(name)
        return entry.label.get(language, name) if entry is not None else name

    @property
    def sha256(self) -> str:
        return self._sha256

    @property
    def step_ms(self) -> int:
        """The rounding step in integer milliseconds: credit arithmetic never touches binary floats."""
        return hours_to_ms(self.units.rounding.step, self.units.minutes_per_unit)

    @property
    def unit_ms(self) -> int:
        return self.units.minutes_per_unit * 60_000

    def cap_ms(self, bucket: str, period: Literal["academic_year", "pd_cycle"]) -> int | None:
        cap = self.buckets[bucket].cap
        values = [getattr(cap, period)]
        if period == "pd_cycle" and cap.pd_cycle_fraction_of_requirement is not None:
            values.append(cap.pd_cycle_fraction_of_requirement * self.requirement.pd_cycle_hours)
        values = [value for value in values if value is not None]
        return hours_to_ms(min(values), self.units.minutes_per_unit) if values else None


# Keys of the reference model's sketch (reference/credit-model.md) that this file spells differently: a policy
# started from the sketch is told the spelling here, not only pydantic's "Extra inputs are not permitted".
SKETCH_SPELLINGS: dict[str, str] = {
    "categories.*.match.credit_verbs": "categories.*.match.verbs",
    "categories.*.evidence.passing.min_scaled": "categories.*.evidence.min_scaled",
    "categories.*.evidence.engagement.verbs": "categories.*.evidence.engagement_verbs",
    "categories.*.evidence.engagement.min_per_credited_hour": "categories.*.evidence.engagement_per_credited_hour",
    "categories.*.hours.cap_at": "(implied by hours.method: attended time is capped at the scheduled time)",
    "registry.tiers.*.when": "registry.tiers.*.approval_status and registry.tiers.*.min_rating (structured, never evaluated)",
    "time.max_timestamp_after_stored": "time.max_timestamp_after_stored_hours (a number of hours, not PT24H)",
    "time.late_arrival.grace": "time.late_arrival_days (a number of days, not P30D)",
    "periods.academic_year.start": "periods.academic_year_start",
    "periods.pd_cycle.length": "periods.pd_cycle_years",
    "requirement.minimums.<name>": "requirement.minimums: a list of {buckets: [...], hours: N}",
    "dedup.overlap.precedence": "dedup.overlap_precedence",
}


def _key_paths(node: object, prefix: str = "") -> Iterator[str]:
    """Every key path of a YAML document, with ``*`` for the names of categories, tiers and buckets."""
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        named = prefix in ("categories.", "registry.tiers.", "buckets.") or prefix == "requirement.minimums."
        step = ("<name>" if prefix == "requirement.minimums." else "*") if named else str(key)
        yield prefix + step
        yield from _key_paths(value, f"{prefix}{step}.")


def hours_to_ms(hours: Decimal, minutes_per_unit: int) -> int:
    return int(Decimal(hours) * minutes_per_unit * 60_000)


def load_policy(path: Path | str) -> Policy:
    """Read and validate a policy file; a ConfigError names the file, line and field of every problem."""
    path = Path(path)
    try:
        policy = load_yaml_model(path, Policy)
    except ConfigError as exc:
        document, _ = read_yaml(path)
        hints = [f"{path}: {key} is the reference sketch's spelling; in this file: {SKETCH_SPELLINGS[key]} "
                 "(docs/policy.md lists every key)" for key in _key_paths(document) if key in SKETCH_SPELLINGS]
        raise ConfigError("\n".join([*hints, str(exc)])) if hints else exc from None
    policy._sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    return policy
