"""One credit run: configuration → ledger → summaries → a new version with its reports.

``run_credit`` is what both the CLI (``xapi-pipeline credit``) and the Airflow analytics DAG call.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from transforms.credit.csv_tables import write_csv
from transforms.credit.ledger import Provenance, build_ledger, ledger_table, new_run_id
from transforms.credit.policy import load_policy
from transforms.credit.registry import load_registry
from transforms.credit.report import write_institution_report
from transforms.credit.results import CreditRunSummary
from transforms.credit.roster import load_roster
from transforms.credit.spreadsheets import write_workbook
from transforms.credit.statements import write_statements
from transforms.credit.summaries import institution_summaries, teacher_summaries
from transforms.credit.versions import VersionRecord, continuity_changes, fingerprint, read_manifest, stamp_summaries
from transforms.reporting.versions import STAGING_PREFIX, commit_version, exclusive_versions, version_dir
from xapi_ingest.lake.store import Lake


def _write_outputs(folder: Path, ledger: pd.DataFrame, teachers: pd.DataFrame, institutions: pd.DataFrame,
                   evidence, policy, version: int, statements: bool, continuity: pd.DataFrame) -> None:
    folder.mkdir(parents=True)
    step = policy.units.rounding.step
    pq.write_table(ledger_table(ledger), folder / "ledger.parquet")
    for name, frame in (("teacher_summary", teachers), ("institution_summary", institutions)):
        frame.to_parquet(folder / f"{name}.parquet", index=False)
        write_csv(frame, folder / f"{name}.csv", step)
    write_csv(evidence.unlisted_resources, folder / "review_queue.csv", step)
    write_csv(evidence.unmatched_actors, folder / "unmatched_actors.csv", step)
    write_csv(continuity, folder / "continuity_changes.csv", step)
    by_institution = dict(iter(ledger.groupby("institution_id", sort=False)))
    for institution_id, own_teachers in teachers.groupby("institution_id", sort=False):
        if institution_id == "unassigned":
            continue
        target = folder / "institutions" / str(institution_id)
        target.mkdir(parents=True)
        own_ledger = by_institution.get(institution_id, ledger.iloc[0:0])
        own_summary = institutions[institutions["institution_id"] == institution_id]
        pq.write_table(ledger_table(own_ledger), target / "ledger.parquet")
        write_csv(ledger_table(own_ledger).drop_columns("run_id"), target / "ledger.csv", step)
        write_csv(own_teachers, target / "teachers.csv", step)
        write_csv(own_summary, target / "institution_summary.csv", step)
        write_csv(continuity[continuity["institution_id"] == institution_id], target / "continuity_changes.csv", step)
        write_workbook(target / "credit_summary.xlsx", str(institution_id), own_summary, own_teachers, own_ledger, policy)
        write_institution_report(target, str(institution_id), own_summary, own_teachers, own_ledger, policy, version)
        if statements:
            write_statements(target / "statements", own_teachers, own_ledger, policy, version)


def run_credit(lake: Lake, policy_path: str | Path, registry_path: str | Path, roster_path: str | Path,
               out_dir: str | Path, *, statements_of_participation: bool = True) -> CreditRunSummary:
    """Compute credit from the lake's restricted zone and publish a new version under ``out_dir`` if anything changed.

    Raises ``xapi_ingest.common.config.ConfigError`` (a ValueError) naming file, line and field
    when a configuration file is invalid; nothing is written then.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    policy = load_policy(policy_path)
    registry, snapshot_id = load_registry(registry_path, policy)
    identities, memberships = load_roster(roster_path)
    run_id, computed_at = new_run_id()
    if not lake.exists():
        raise FileNotFoundError(f"no lake at {lake.name}: ingest or pull statements into it first")
    snapshots = lake.snapshot_ids()  # what this version read, recorded and protected from expiry
    ledger, evidence = build_ledger(lake.dataset("statements", snapshots["statements"]), policy, registry, identities,
                                    memberships, Provenance(run_id, computed_at, policy, snapshot_id))
    as_of = evidence.statement_watermark
    teachers = teacher_summaries(ledger, memberships.to_pandas(), policy, as_of)
    institutions = institution_summaries(teachers, ledger, policy, as_of)
    roster_sha = hashlib.sha256(Path(roster_path).read_bytes()).hexdigest()
    print_ = fingerprint(ledger, policy.sha256, snapshot_id, roster_sha)
    lake_snapshot = snapshots["statements"]
    with exclusive_versions(out_dir):
        history = read_manifest(out_dir)
        latest = history[-1] if history else None
        common = dict(run_id=run_id, ledger_rows=len(ledger), teachers=teachers["teacher_id"].nunique(),
                      institutions=teachers.loc[teachers["institution_id"] != "unassigned", "institution_id"].nunique(),
                      credited_hours=float(ledger["hours_credited"].sum()),
                      status_counts={str(k): int(v) for k, v in ledger["status"].value_counts().items()},
                      unmatched_actors=len(evidence.unmatched_actors), unlisted_resources=len(evidence.unlisted_resources),
                      teachers_flagged_gap=int(teachers.loc[teachers["continuity_flag"].fillna(False).astype(bool),
                                                            "teacher_id"].nunique()))
        if latest is not None and latest.fingerprint == print_:
            return CreditRunSummary(version=latest.version, new_version=False, supersedes_version=latest.supersedes_version,
                                    output_dir=version_dir(out_dir, latest.version),
                                    elapsed_seconds=time.perf_counter() - started, **common)
        version = latest.version + 1 if latest else 1
        previous = version_dir(out_dir, latest.version) if latest else None
        teachers, institutions = stamp_summaries(teachers, institutions, version, previous, policy)
        continuity = continuity_changes(teachers, previous)
        staging = out_dir / f"{STAGING_PREFIX}{run_id}"
        try:
            _write_outputs(staging, ledger, teachers, institutions, evidence, policy, version, statements_of_participation,
                           continuity)
            record = VersionRecord(
                version=version, run_id=run_id, computed_at=computed_at.isoformat(), fingerprint=print_,
                policy_version=policy.policy.version, policy_sha256=policy.sha256, registry_snapshot_id=snapshot_id,
                statement_watermark_stored=None if as_of is None else as_of.isoformat(),
                supersedes_version=latest.version if latest else None, ledger_rows=len(ledger),
                credited_hours=common["credited_hours"], lake_snapshot_id=lake_snapshot)
            if lake_snapshot is not None:
                lake.tag("statements", lake_snapshot, run_id)  # run ids read credit-<time>
            target = commit_version(out_dir, staging, record)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return CreditRunSummary(version=version, new_version=True, supersedes_version=record.supersedes_version,
                                output_dir=target, elapsed_seconds=time.perf_counter() - started, **common)
