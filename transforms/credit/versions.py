"""Versioned credit outputs: a run that changes anything writes a new version; nothing is edited in place.

``OUT/versions.json`` lists every version with its inputs (policy hash, registry snapshot,
statement watermark) and the version it supersedes. Each summary row carries a content id, and
when a teacher's or institution's figures change (a voided completion, a late statement, an
approved resource) its new row names the id of the row it supersedes. A run whose ledger is
identical to the latest version's writes nothing, so re-running is harmless. The folder layout,
lock and atomic commit are :mod:`transforms.reporting.versions`, shared with ``sequences``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from transforms.credit.policy import Policy
from transforms.reporting.versions import manifest_entries

_TEACHER_KEY = ["teacher_id", "institution_id", "period_kind", "period_id"]
_INSTITUTION_KEY = ["institution_id", "period_kind", "period_id"]


@dataclass(frozen=True)
class VersionRecord:
    version: int
    run_id: str
    computed_at: str
    fingerprint: str
    policy_version: str
    policy_sha256: str
    registry_snapshot_id: str
    statement_watermark_stored: str | None
    supersedes_version: int | None
    ledger_rows: int
    credited_hours: float
    lake_snapshot_id: int | None = None  # Iceberg snapshot of the statements table read (tagged credit-<run_id>)


def read_manifest(out_dir: Path) -> list[VersionRecord]:
    return [VersionRecord(**entry) for entry in manifest_entries(out_dir)]


def fingerprint(ledger: pd.DataFrame, policy_sha256: str, registry_snapshot_id: str, roster_sha256: str) -> str:
    """What the outputs depend on: inputs' hashes plus every decision (ids, institution, status, hours)."""
    digest = hashlib.sha256(f"{policy_sha256}\n{registry_snapshot_id}\n{roster_sha256}\n".encode())
    rows = ledger[["ledger_id", "institution_id", "status", "hours_credited", "hours_capped"]].sort_values("ledger_id")
    digest.update(rows.to_csv(index=False).encode())
    return digest.hexdigest()


def _content_id(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    if frame.empty:  # a row-wise agg over no rows returns a frame, not a series
        return pd.Series([], index=frame.index, dtype=object)
    text = frame[columns].astype(str).agg("|".join, axis=1)
    return text.map(lambda value: hashlib.sha256(value.encode()).hexdigest()[:24])


def stamp_summaries(teachers: pd.DataFrame, institutions: pd.DataFrame, version: int,
                    previous: Path | None, policy: Policy) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add summary_id, summary_version and supersedes_summary_id (the previous row, when its figures differ).

    The content id covers the credited figures only (total, per bucket, capped, pending). Continuity
    (the gap up to the data cutoff) is left out on purpose: the cutoff moves with every statement
    anyone sends, and restating unchanged hours would tell a director that figures changed.
    """
    stamped = []
    for frame, key, name, content in (
        (teachers, _TEACHER_KEY, "teacher_summary.parquet",
         ["credited_total", *(f"credited_{b}" for b in policy.buckets), "capped_hours", "pending_hours",
          "pending_items"]),
        (institutions, _INSTITUTION_KEY, "institution_summary.parquet",
         ["teachers_in_scope", "hours_total", *(f"hours_{b}" for b in policy.buckets), "capped_hours", "pending_hours",
          "pending_items", "quality_rejected_items"]),
    ):
        frame = frame.copy()
        frame["summary_id"] = _content_id(frame.assign(_policy=policy.sha256), [*key, *content, "_policy"])
        frame["summary_version"] = version
        frame["supersedes_summary_id"] = None
        if previous is not None and (previous / name).exists():
            before = pd.read_parquet(previous / name, columns=[*key, "summary_id"]).rename(
                columns={"summary_id": "_previous"})
            frame = frame.merge(before, how="left", on=key)
            changed = frame["_previous"].notna() & (frame["_previous"] != frame["summary_id"])
            frame.loc[changed, "supersedes_summary_id"] = frame.loc[changed, "_previous"]
            frame = frame.drop(columns="_previous")
        stamped.append(frame)
    return stamped[0], stamped[1]


CONTINUITY = ["last_credited_activity", "longest_gap_days", "continuity_flag"]


def continuity_changes(teachers: pd.DataFrame, previous: Path | None) -> pd.DataFrame:
    """Teacher rows whose continuity differs from the previous version's, with both values side by side.

    This is where a moved data cutoff shows, instead of in restated summary rows.
    """
    columns = [*_TEACHER_KEY, *(f"{side}{name}" for name in CONTINUITY for side in ("previous_", ""))]
    path = None if previous is None else previous / "teacher_summary.parquet"
    if path is None or not path.exists():
        return pd.DataFrame(columns=columns)
    before = pd.read_parquet(path, columns=[*_TEACHER_KEY, *CONTINUITY])
    both = teachers[[*_TEACHER_KEY, *CONTINUITY]].merge(
        before.rename(columns={name: f"previous_{name}" for name in CONTINUITY}), on=_TEACHER_KEY)
    differs = pd.Series(False, index=both.index)
    for name in CONTINUITY:
        now, then = both[name], both[f"previous_{name}"]
        differs |= (now != then) & ~(now.isna() & then.isna())
    return both.loc[differs, columns].reset_index(drop=True)
