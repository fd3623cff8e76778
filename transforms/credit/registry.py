"""The approved-resource registry: effective-dated credit units with quality ratings and tiers.

It is the bridge between the cluster's quality monitoring and the credit engine. Hours come
from here, not from statements, because real emitters send no (or misleading) durations. One
credit unit may be known under several activity IRIs (the same MOOC on two platforms), which
is what makes cross-platform duplicates detectable.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, field_validator

from transforms.credit.policy import MoveOn, Policy
from xapi_ingest.common.config import ConfigError
from xapi_ingest.common.csv_rows import read_rows, split_list

_FAR_FUTURE = date(9999, 12, 31)


class RegistryRow(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    credit_unit_id: str = Field(min_length=1)
    activity_iri: str = Field(min_length=1)
    same_as: list[str] = []
    kind: str = Field(min_length=1)
    title: str = Field(min_length=1)
    provider_name: str | None = None
    notional_hours: Decimal | None = Field(default=None, gt=0)
    scheduled_start: datetime | None = None
    scheduled_minutes: int | None = Field(default=None, gt=0)
    estimated_minutes: int | None = Field(default=None, gt=0)
    move_on: MoveOn | None = None
    mastery_scaled: float | None = Field(default=None, ge=-1, le=1)
    repeatable: Literal["never", "per_academic_year", "per_pd_cycle"] = "never"
    approval_status: Literal["approved", "listed", "delisted", "pending"]
    approval_ref: str | None = None
    rating_mean: float | None = Field(default=None, ge=0, le=5)
    rating_count: int = Field(default=0, ge=0)
    valid_from: date
    valid_to: date | None = None
    registry_version: str | None = None

    _split = field_validator("same_as", mode="before")(split_list)

    @field_validator("scheduled_start")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("needs a time-zone offset, e.g. 2025-03-10T15:00:00+05:00")
        return value


def derive_tier(row: RegistryRow, policy: Policy) -> str:
    """The first tier whose conditions hold; few ratings make the rating provisional."""
    rules = policy.registry
    provisional = rules.tiers[rules.provisional_tier]
    if row.rating_count < rules.min_ratings_for_tier and (
        provisional.approval_status is None or row.approval_status in provisional.approval_status
    ):
        return rules.provisional_tier
    for name, tier in rules.tiers.items():
        status_ok = tier.approval_status is None or row.approval_status in tier.approval_status
        rating_ok = tier.min_rating is None or (row.rating_mean is not None and row.rating_mean >= tier.min_rating)
        if status_ok and rating_ok:
            return name
    raise ConfigError(f"no tier applies to {row.credit_unit_id} (add a catch-all tier without conditions)")


def load_registry(path: Path | str, policy: Policy) -> tuple[pa.Table, str]:
    """The registry as an Arrow table (one row per IRI per validity range) and its snapshot id."""
    path = Path(path)
    rows = read_rows(path, RegistryRow)
    problems: list[str] = []
    owner: dict[str, tuple[str, int]] = {}
    ranges: dict[str, list[tuple[date, date, int]]] = {}
    for line, row in rows:
        for iri in (row.activity_iri, *row.same_as):
            unit, first = owner.setdefault(iri, (row.credit_unit_id, line))
            if unit != row.credit_unit_id:
                problems.append(f"{path}:{line}: activity_iri/same_as: {iri} already belongs to {unit} (line {first})")
        start, end = row.valid_from, row.valid_to or _FAR_FUTURE
        if end <= start:
            problems.append(f"{path}:{line}: valid_to: must be after valid_from")
        for other_start, other_end, other_line in ranges.get(row.credit_unit_id, []):
            if start < other_end and other_start < end:
                problems.append(f"{path}:{line}: valid_from: validity overlaps line {other_line} of {row.credit_unit_id}")
        ranges.setdefault(row.credit_unit_id, []).append((start, end, line))
    if problems:
        raise ConfigError("\n".join(problems))
    records: list[dict[str, object]] = []
    for _, row in rows:
        tier = derive_tier(row, policy)
        rule = policy.registry.tiers[tier]
        for iri in dict.fromkeys((row.activity_iri, *row.same_as)):
            records.append({
                "reg_row": len(records), "iri": iri, "credit_unit_id": row.credit_unit_id, "kind": row.kind, "title": row.title,
                "provider_name": row.provider_name,
                "notional_ms": None if row.notional_hours is None else int(row.notional_hours * 3_600_000),
                "scheduled_start": row.scheduled_start, "scheduled_minutes": row.scheduled_minutes,
                "estimated_minutes": row.estimated_minutes, "move_on": row.move_on, "mastery_scaled": row.mastery_scaled,
                "repeatable": row.repeatable, "approval_status": row.approval_status, "approval_ref": row.approval_ref,
                "rating_mean": row.rating_mean, "tier": tier, "weight": float(rule.weight),
                "tier_bucket": None if rule.bucket == "category_default" else rule.bucket, "tier_flag": rule.flag,
                "valid_from": row.valid_from, "valid_to": row.valid_to or _FAR_FUTURE,
            })
    table = pa.Table.from_pylist(records, schema=REGISTRY_SCHEMA)
    return table, "registry-" + hashlib.sha256(path.read_bytes()).hexdigest()[:16]


REGISTRY_SCHEMA = pa.schema([
    ("reg_row", pa.int64()), ("iri", pa.string()), ("credit_unit_id", pa.string()), ("kind", pa.string()), ("title", pa.string()),
    ("provider_name", pa.string()), ("notional_ms", pa.int64()), ("scheduled_start", pa.timestamp("us", tz="UTC")),
    ("scheduled_minutes", pa.int64()), ("estimated_minutes", pa.int64()), ("move_on", pa.string()),
    ("mastery_scaled", pa.float64()), ("repeatable", pa.string()), ("approval_status", pa.string()),
    ("approval_ref", pa.string()), ("rating_mean", pa.float64()), ("tier", pa.string()), ("weight", pa.float64()),
    ("tier_bucket", pa.string()), ("tier_flag", pa.string()), ("valid_from", pa.date32()), ("valid_to", pa.date32()),
])
