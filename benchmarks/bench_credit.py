"""Credit for a large cluster: time and peak memory, against a DuckDB scan of the same lake.

Usage:
    python benchmarks/bench_credit.py [--teachers 10000] [--statements 1000000] [--work DIR]

The lake is built once (in a child process, so generating and ingesting do not count towards
the measured memory) and reused on later runs with the same --work directory. The measured
process then runs, in order:

1. the baseline: DuckDB reads the columns the credit engine reads and groups them by actor and
   activity (what any per-teacher aggregation over the lake must at least do);
2. the ledger and summaries (``build_ledger`` + ``teacher_summaries`` + ``institution_summaries``);
3. the whole ``run_credit`` (ledger, summaries, versioned Parquet/CSV/XLSX, HTML reports with
   charts, and a statement of participation per teacher).

It prints each time, the ratio to the baseline, and the process's peak RSS after each step.
Goal from the issue: under 30 s and 2 GiB for 1 million statements and 10,000 teachers.
"""

from __future__ import annotations

import argparse
import itertools
import math
import shutil
import subprocess
import sys
import time
from pathlib import Path

import _checkout  # noqa: F401  (devtools/ and tests/ come from the checkout)
import msgspec
from bench_ingest import peak_rss_mib  # benchmarks/ is on sys.path when this script runs

ROOT = Path(__file__).resolve().parents[1]
POLICY = ROOT / "config" / "credit" / "policy.yaml"


def build_lake(work: Path, teachers: int, statements: int) -> None:
    """Generate the cluster and ingest ``statements`` of its statements through the real ingest path."""
    from devtools.synthetic.credit import cluster_stream
    from xapi_ingest.lake.ingest import Ingestor
    from xapi_ingest.lake.store import Lake
    from xapi_ingest.xapi.reader import RawRecord

    scale = max(1, math.ceil(statements / (teachers * 20)))  # the demo mix averages ~22 statements per teacher
    cluster, stream = cluster_stream(teachers, seed=11, activity_scale=scale)
    cluster.write_registry(work / "registry.csv")
    cluster.write_roster(work / "roster.csv")
    encode = msgspec.json.encode
    records = (("bench", RawRecord(n, n + 1, encode(s).decode(), s)) for n, s in
               enumerate(itertools.islice(stream, statements)))
    started = time.perf_counter()
    counts = Ingestor(Lake(work / "lake"), "bench", batch_size=100_000).ingest(records)
    print(f"built the lake: {counts.valid:,} statements for {teachers:,} teachers in {time.perf_counter() - started:.0f} s",
          flush=True)


def baseline_scan(lake: Path) -> tuple[float, int]:
    from xapi_ingest.lake.query import connect
    from xapi_ingest.lake.store import Lake

    started = time.perf_counter()
    with connect(Lake(lake)) as con:
        groups = con.execute("""
            SELECT count(*) FROM (
                SELECT actor_ifi, object_id, count(*), min(timestamp), max(timestamp), max(stored),
                       sum(result_duration_seconds), max(result_score_scaled), any_value(result_extensions),
                       any_value(context_extensions), any_value(authority_ifi), any_value(verb_id)
                FROM statements GROUP BY actor_ifi, object_id)
        """).fetchone()[0]
    return time.perf_counter() - started, groups


def measure(work: Path) -> None:
    import pandas as pd

    from transforms.credit.ledger import Provenance, build_ledger, new_run_id
    from transforms.credit.policy import load_policy
    from transforms.credit.registry import load_registry
    from transforms.credit.roster import load_roster
    from transforms.credit.run import run_credit
    from transforms.credit.summaries import institution_summaries, teacher_summaries
    from xapi_ingest.lake.query import connect
    from xapi_ingest.lake.store import Lake

    with connect(Lake(work / "lake")) as con:
        total = con.execute("SELECT count(*) FROM statements").fetchone()[0]
    print(f"lake: {total:,} statements", flush=True)
    scan_seconds, groups = baseline_scan(work / "lake")
    print(f"baseline  DuckDB scan + group by actor x activity ({groups:,} groups): {scan_seconds:6.2f} s   "
          f"peak RSS {peak_rss_mib():,.0f} MiB", flush=True)

    started = time.perf_counter()
    policy = load_policy(POLICY)
    registry, snapshot = load_registry(work / "registry.csv", policy)
    identities, memberships = load_roster(work / "roster.csv")
    run_id, now = new_run_id()
    with connect(Lake(work / "lake")) as con:
        ledger, evidence = build_ledger(con, policy, registry, identities, memberships,
                                        Provenance(run_id, now, policy, snapshot))
    teachers = teacher_summaries(ledger, memberships.to_pandas(), policy, evidence.statement_watermark)
    institution_summaries(teachers, ledger, policy, evidence.statement_watermark)
    ledger_seconds = time.perf_counter() - started
    print(f"credit    ledger + summaries ({len(ledger):,} ledger rows, {teachers['teacher_id'].nunique():,} teachers): "
          f"{ledger_seconds:6.2f} s = {ledger_seconds / scan_seconds:.1f}x baseline   peak RSS {peak_rss_mib():,.0f} MiB   "
          f"{total / ledger_seconds:,.0f} statements/s", flush=True)
    del ledger, teachers, evidence

    out = work / "out"
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    summary = run_credit(Lake(work / "lake"), POLICY, work / "registry.csv", work / "roster.csv", out)
    full_seconds = time.perf_counter() - started
    print(f"credit    full run_credit with reports and {summary.teachers:,} statements of participation: "
          f"{full_seconds:6.2f} s = {full_seconds / scan_seconds:.1f}x baseline   peak RSS {peak_rss_mib():,.0f} MiB",
          flush=True)
    print(f"credited {summary.credited_hours:,.2f} h; statuses {summary.status_counts}")
    del pd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teachers", type=int, default=10_000)
    parser.add_argument("--statements", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-credit"))
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_only:
        build_lake(args.work, args.teachers, args.statements)
        return
    if not (args.work / "lake").exists():
        args.work.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, __file__, "--build-only", "--teachers", str(args.teachers),
                        "--statements", str(args.statements), "--work", str(args.work)], check=True)
    measure(args.work)


if __name__ == "__main__":
    main()
