"""Credit for a large cluster: time, peak memory and statements/s, against a DuckDB scan of the same lake.

Usage:
    python benchmarks/bench_credit.py [--teachers 10000] [--statements 1000000] [--work DIR] [--repeat 3]

The lake is built once (in a child process, so generating and ingesting do not count towards
the measured memory) and reused on later runs with the same --work directory. Each step then
runs ``--repeat`` times, every time in a fresh child process, so each peak RSS is that step's
own (a process's peak never goes down: measured in one process, later steps would inherit the
earlier ones'):

1. the baseline: DuckDB reads the columns the credit engine reads and groups them by actor and
   activity (what any per-teacher aggregation over the lake must at least do);
2. the ledger step: ``build_ledger`` + ``teacher_summaries`` + ``institution_summaries``;
3. the whole ``run_credit`` (ledger, summaries, versioned Parquet/CSV/XLSX, HTML reports with
   charts, and a statement of participation per teacher).

It prints, per step, the median time and the spread, the ratio to the baseline's median,
statements/s, the median CPU time (all threads: less sensitive to other jobs than the
wall time) and the largest peak RSS, with the load average before and after (the machine
may be shared: compare ratios, not absolute times, across runs).
Goal from the issue: under 30 s and 2 GiB for 1 million statements and 10,000 teachers.
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import _checkout  # noqa: F401  (devtools/ and tests/ come from the checkout)
import msgspec
from bench_ingest import peak_rss_mib  # benchmarks/ is on sys.path when this script runs

ROOT = Path(__file__).resolve().parents[1]
POLICY = ROOT / "config" / "credit" / "policy.yaml"
STEPS = ("baseline", "ledger", "run_credit")


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


def baseline_scan(work: Path) -> str:
    from xapi_ingest.lake.query import connect
    from xapi_ingest.lake.store import Lake

    with connect(Lake(work / "lake")) as con:
        groups = con.execute("""
            SELECT count(*) FROM (
                SELECT actor_ifi, object_id, count(*), min(timestamp), max(timestamp), max(stored),
                       sum(result_duration_seconds), max(result_score_scaled), any_value(result_extensions),
                       any_value(context_extensions), any_value(authority_ifi), any_value(verb_id)
                FROM statements GROUP BY actor_ifi, object_id)
        """).fetchone()[0]
    return f"{groups:,} actor x activity groups"


def ledger_step(work: Path) -> str:
    from transforms.credit.ledger import Provenance, build_ledger, new_run_id
    from transforms.credit.policy import load_policy
    from transforms.credit.registry import load_registry
    from transforms.credit.roster import load_roster
    from transforms.credit.summaries import institution_summaries, teacher_summaries
    from xapi_ingest.lake.store import Lake

    policy = load_policy(POLICY)
    registry, snapshot = load_registry(work / "registry.csv", policy)
    identities, memberships = load_roster(work / "roster.csv")
    run_id, now = new_run_id()
    ledger, evidence = build_ledger(Lake(work / "lake").dataset("statements"), policy, registry, identities,
                                    memberships, Provenance(run_id, now, policy, snapshot))
    teachers = teacher_summaries(ledger, memberships.to_pandas(), policy, evidence.statement_watermark)
    institution_summaries(teachers, ledger, policy, evidence.statement_watermark)
    return f"{len(ledger):,} ledger rows, {teachers['teacher_id'].nunique():,} teachers"


def full_run(work: Path) -> str:
    from transforms.credit.run import run_credit
    from xapi_ingest.lake.store import Lake

    out = work / "out"
    shutil.rmtree(out, ignore_errors=True)
    summary = run_credit(Lake(work / "lake"), POLICY, work / "registry.csv", work / "roster.csv", out)
    return (f"{summary.teachers:,} statements of participation; credited {summary.credited_hours:,.2f} h; "
            f"statuses {summary.status_counts}")


def run_step(step: str, work: Path) -> None:
    """One measured step in this (fresh) process; prints one JSON line for the parent."""
    action = {"baseline": baseline_scan, "ledger": ledger_step, "run_credit": full_run}[step]
    for module in ("transforms.credit.run", "xapi_ingest.lake.query"):  # imports are not what is measured
        importlib.import_module(module)
    started, cpu = time.perf_counter(), time.process_time()
    note = action(work)
    print(json.dumps({"seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu,
                      "peak_mib": peak_rss_mib(), "note": note}))


def measure(work: Path, repeat: int, steps: list[str]) -> None:
    from xapi_ingest.lake.query import connect
    from xapi_ingest.lake.store import Lake

    with connect(Lake(work / "lake")) as con:
        total = con.execute("SELECT count(*) FROM statements").fetchone()[0]
    print(f"lake: {total:,} statements in {len(Lake(work / 'lake').dataset('statements').files):,} files; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
    baseline = None
    for step in steps:
        runs = []
        for _ in range(repeat):
            child = subprocess.run([sys.executable, __file__, "--step", step, "--work", str(work)],
                                   check=True, capture_output=True, text=True)
            runs.append(json.loads(child.stdout.strip().splitlines()[-1]))
        seconds = [r["seconds"] for r in runs]
        median = statistics.median(seconds)
        baseline = baseline or median
        cpu = statistics.median(r["cpu_seconds"] for r in runs)
        print(f"{step:10s} {median:6.2f} s (range {min(seconds):.2f}-{max(seconds):.2f}, {repeat} runs, CPU {cpu:.1f} s)  "
              f"{median / baseline:5.1f}x baseline  {total / median:9,.0f} statements/s  "
              f"peak RSS {max(r['peak_mib'] for r in runs):6,.0f} MiB   {runs[-1]['note']}", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teachers", type=int, default=10_000)
    parser.add_argument("--statements", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-credit"))
    parser.add_argument("--repeat", type=int, default=1, help="runs of each step (each in a fresh process)")
    parser.add_argument("--steps", default=",".join(STEPS),
                        help="comma-separated steps to run, in this order (the first is the ratios' reference)")
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--step", choices=STEPS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_only:
        build_lake(args.work, args.teachers, args.statements)
        return
    if args.step:
        run_step(args.step, args.work)
        return
    if not (args.work / "lake").exists():
        args.work.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, __file__, "--build-only", "--teachers", str(args.teachers),
                        "--statements", str(args.statements), "--work", str(args.work)], check=True)
    measure(args.work, args.repeat, args.steps.split(","))


if __name__ == "__main__":
    main()
