"""The credit policy: a YAML file validated into typed, frozen models.

Every number in the policy is the methodological council's decision, not ours, so nothing is
hard-coded in the engine: categories, evidence rules, hour methods, buckets and caps all come
from here. The file's sha256 is stamped on every ledger row, so an auditor can tell exactly
which rules produced a figure. Conditions are structured fields, never evaluated expressions.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from transforms.reporting.i18n import Language
from xapi_ingest.common.config import load_yaml_model

EvidenceLevel = Literal["system_verified", "host_attested", "self_declared"]
HourMethod = Literal["designated", "attended_intervals", "video_unique_watch", "min_of"]
MoveOn = Literal["Completed", "Passed", "CompletedAndPassed", "CompletedOrPassed", "NotApplicable"]
RegistrySource = Literal["notional_hours", "scheduled_minutes", "estimated_minutes"]
Repeat = Literal["once_per_pd_cycle", "once_per_academic_year", "once_per_credit_unit"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PolicyInfo(_Model):
    id: str = Field(min_length=1)
    version: str = Field(min_length=1)
    owner: str | None = None
    effective_from: date


class Rounding(_Model):
    mode: Literal["floor"] = "floor"
    step: Decimal = Field(default=Decimal("0.25"), gt=0)


class Units(_Model):
    name: str = "clock_hour"
    minutes_per_unit: int = Field(default=60, gt=0, le=60)
    rounding: Rounding = Rounding()
    min_credit_per_activity: Decimal = Field(default=Decimal("0.25"), ge=0)
    export_conversions: dict[str, Decimal] = {}


class TimeRules(_Model):
    display_tz: str = "Asia/Almaty"
    max_timestamp_after_stored_hours: float = Field(default=24, ge=0)
    late_arrival_days: int = Field(default=30, ge=0)


class Periods(_Model):
    academic_year_start: str = "09-01"
    pd_cycle_years: int = Field(default=3, ge=1)

    @field_validator("academic_year_start")
    @classmethod
    def _month_day(cls, value: str) -> str:
        if not re.fullmatch(r"(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])", value):
            raise ValueError("must be MM-DD, e.g. '09-01'")
        date(2001, int(value[:2]), int(value[3:]))  # rejects 02-30
        return value


class AuthorityMatch(_Model):
    account_name: str | None = None
    ifi: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> AuthorityMatch:
        if (self.account_name is None) == (self.ifi is None):
            raise ValueError("give exactly one of account_name or ifi")
        return self


class Authority(_Model):
    id: str
    match: AuthorityMatch
    evidence_level: EvidenceLevel


class Trust(_Model):
    authorities: list[Authority] = Field(min_length=1)


class TierRule(_Model):
    approval_status: list[Literal["approved", "listed", "delisted", "pending"]] | None = None
    min_rating: float | None = None
    weight: Decimal = Field(ge=0)
    bucket: str = "category_default"
    flag: str | None = None


class RegistryRules(_Model):
    unlisted: Literal["pending_review"] = "pending_review"
    min_ratings_for_tier: int = Field(default=5, ge=0)
    provisional_tier: str = "B"
    tiers: dict[str, TierRule] = Field(min_length=1)

    @model_validator(mode="after")
    def _provisional_exists(self) -> RegistryRules:
        if self.provisional_tier not in self.tiers:
            raise ValueError(f"provisional_tier {self.provisional_tier!r} is not one of the tiers {sorted(self.tiers)}")
        return self


class CategoryMatch(_Model):
    verbs: list[str] | None = None
    activity_types: list[str] | None = None
    registry_kind: list[str] | None = None
    actor_role: Literal["learner", "facilitator"] = "learner"


class Evidence(_Model):
    move_on: MoveOn | None = None
    min_scaled: float | None = Field(default=None, ge=-1, le=1)
    min_attendance_ratio: float | None = Field(default=None, ge=0, le=1)
    engagement_verbs: list[str] = []
    engagement_per_credited_hour: int = Field(default=0, ge=0)
    min_unique_watch_ratio: float | None = Field(default=None, ge=0, le=1)


class Hours(_Model):
    method: HourMethod
    source: RegistrySource | None = None
    multiplier: Decimal = Field(default=Decimal(1), gt=0)
    max_per_activity: Decimal | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _designated_needs_source(self) -> Hours:
        if self.method == "designated" and self.source is None:
            raise ValueError("method 'designated' needs a source (notional_hours or scheduled_minutes)")
        return self


class Plausibility(_Model):
    measured_min_ratio: float = Field(ge=0, le=1)


Labels = dict[Language, str]  # a name as each report language shows it; missing languages show the key


class Category(_Model):
    label: Labels = {}
    match: CategoryMatch
    evidence: Evidence = Evidence()
    hours: Hours
    plausibility: Plausibility | None = None
    bucket: str
    repeat: Repeat = "once_per_pd_cycle"


class Cap(_Model):
    academic_year: Decimal | None = Field(default=None, ge=0)
    pd_cycle: Decimal | None = Field(default=None, ge=0)
    pd_cycle_fraction_of_requirement: Decimal | None = Field(default=None, ge=0, le=1)


class Bucket(_Model):
    label: Labels = {}
    cap: Cap = Cap()


class Minimum(_Model):
    buckets: list[str] = Field(min_length=1)
    hours: Decimal = Field(ge=0)


class Requirement(_Model):
    pd_cycle_hours: Decimal = Field(gt=0)
    minimums: list[Minimum] = []


class Continuity(_Model):
    max_gap_days: int = Field(default=180, gt=0)


class Dedup(_Model):
    overlap_precedence: list[str] = Field(min_length=1)


class Reports(_Model):
    default_language: Language = "ru"
    institution_languages: dict[str, Language] = {}  # institution_id -> the language its reports are written in

    def language_of(self, institution_id: str) -> Language:
        return self.institution_languages.get(institution_id, self.default_language)


class Policy(_Model):
    policy: PolicyInfo
    units: Units = Units()
    time: TimeRules = TimeRules()
    periods: Periods = Periods()
    trust: Trust
    registry: RegistryRules
    categories: dict[str, Category] = Field(min_length=1)
    buckets: dict[str, Bucket] = Field(min_length=1)
    requirement: Requirement
    continuity: Continuity = Continuity()
    dedup: Dedup
    reports: Reports = Reports()
    sha256: str = ""  # of the file's bytes, filled by load_policy

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


def hours_to_ms(hours: Decimal, minutes_per_unit: int) -> int:
    return int(Decimal(hours) * minutes_per_unit * 60_000)


def load_policy(path: Path | str) -> Policy:
    """Read and validate a policy file; a ConfigError names the file, line and field of every problem."""
    path = Path(path)
    policy = load_yaml_model(path, Policy)
    return policy.model_copy(update={"sha256": hashlib.sha256(path.read_bytes()).hexdigest()})
