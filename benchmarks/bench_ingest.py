"""Throughput and memory of the ingest path, against baselines measured in the same run.

Usage:
    python benchmarks/bench_ingest.py [--count 100000] [--repeats 3]
    python benchmarks/bench_ingest.py --memory 250000 1000000 2000000
    python benchmarks/bench_ingest.py --count 100000 --workers 1 2

The first form pins itself to one core and prints statements/s (median of the repeats) for
JSON parsing alone (the floor), our validator, our full ingest (read + validate + normalize +
zstd Parquet), pandas.json_normalize and tincan's Statement.from_json, each with its ratio to
``json.loads``. Machines differ by a factor of ten; the ratios are what carry over.
The second form ingests files of growing size, each in a fresh process, and prints each
process's peak RSS, to show that memory stays flat as the file grows.
The third ingests one file with each number of worker processes (lake/parallel.py), each run in a
fresh process, and prints statements/s, the ratio to the first, the writer's peak RSS and the
peak of the whole process tree (writer, forkserver and workers, sampled every 0.2 s; Linux).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import msgspec

from xapi_ingest.lake.ingest import Ingestor
from xapi_ingest.lake.parallel import ingest_file
from xapi_ingest.lake.store import Lake
from xapi_ingest.xapi.reader import records_with_origin
from xapi_ingest.xapi.samples import realistic_statements
from xapi_ingest.xapi.validator import StatementValidator


def write_sample(path: Path, count: int) -> None:
    encode = msgspec.json.encode
    with open(path, "wb") as out:
        for statement in realistic_statements(count):
            out.write(encode(statement) + b"\n")


def timed_rate(run: Callable[[], object], count: int, repeats: int) -> float:
    """Items per second over the median of ``repeats`` runs, after one warm-up run."""
    run()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return count / statistics.median(times)


def measure(name: str, run: Callable[[], object], count: int, repeats: int) -> float:
    rate = timed_rate(run, count, repeats)
    print(f"{name:<44} {rate:>12,.0f} statements/s", flush=True)
    return rate


def peak_rss_mib() -> float:
    """This process's own peak RSS (VmHWM): ``ru_maxrss`` survives exec on Linux, so in a child
    started by a bigger parent it would report the parent's peak."""
    try:
        with open("/proc/self/status") as status:
            return int(re.search(r"VmHWM:\s+(\d+) kB", status.read()).group(1)) / 1024
    except (OSError, AttributeError):  # not Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pin_to_one_core() -> None:
    """Measure one core's throughput, so machines with different core counts compare."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def throughput(count: int, repeats: int) -> None:
    pin_to_one_core()
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "statements.ndjson"
        write_sample(path, count)
        lines = path.read_bytes().splitlines()
        print(f"{count:,} realistic statements, {path.stat().st_size / count:,.0f} bytes each, one core, "
              f"median of {repeats}\n")
        validator = StatementValidator("auto")
        decoded = [msgspec.json.decode(line) for line in lines]
        lake_number = iter(range(10**6))

        def ingest() -> None:
            lake = Lake(Path(scratch) / f"lake{next(lake_number)}")
            Ingestor(lake, "bench").ingest(records_with_origin([path]))

        def pandas_normalize() -> None:
            import pandas as pd

            pd.json_normalize([json.loads(line) for line in lines])

        def tincan_parse() -> None:
            from tincan import Statement

            for line in lines:
                Statement.from_json(line.decode())

        baseline = measure("json.loads only (floor)", lambda: [json.loads(line) for line in lines], count, repeats)
        results = {
            "msgspec decode only": measure("msgspec.json.decode only", lambda: [msgspec.json.decode(x) for x in lines],
                                           count, repeats),
            "our validator (on decoded dicts)": measure("our validator (on decoded dicts)",
                                                        lambda: [validator.validate(d) for d in decoded], count, repeats),
            "our ingest end to end": measure("our ingest: read+validate+normalize+Parquet", ingest, count, repeats),
            "pandas.json_normalize": measure("json.loads + pandas.json_normalize", pandas_normalize, count, repeats),
            "tincan Statement.from_json": measure("tincan Statement.from_json", tincan_parse, count, repeats),
        }
        print("\nratio to json.loads on this machine:")
        for name, rate in results.items():
            print(f"  {name:<40} {rate / baseline:5.2f}x")


def memory(sizes: list[int]) -> None:
    print(f"{'statements':>12} {'peak RSS (MiB)':>15} {'statements/s':>13}")
    for size in sizes:
        with tempfile.TemporaryDirectory() as scratch:
            path = Path(scratch) / "statements.ndjson"
            write_sample(path, size)
            child = subprocess.run(
                [sys.executable, __file__, "--ingest-child", str(path), str(Path(scratch) / "lake")],
                capture_output=True, text=True, check=True,
            )
            peak_mib, rate, *_ = child.stdout.split()
            print(f"{size:>12,} {float(peak_mib):>15,.0f} {float(rate):>13,.0f}", flush=True)


def scaling(count: int, workers: list[int]) -> None:
    print(f"{count:,} statements, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n"
          f"{'workers':>8} {'statements/s':>13} {'ratio':>6} {'writer RSS (MiB)':>17} {'all processes (MiB)':>20} "
          f"{'CPU s, all':>11} {'CPU s, writer':>14}")
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "statements.ndjson"
        write_sample(path, count)
        first = None
        for number in workers:
            child = subprocess.run(
                [sys.executable, __file__, "--ingest-child", str(path), str(Path(scratch) / f"lake{number}"),
                 "--child-workers", str(number)],
                capture_output=True, text=True, check=True,
            )
            peak_mib, rate, tree_mib, cpu, writer_cpu = map(float, child.stdout.split())
            first = first or rate
            print(f"{number:>8} {rate:>13,.0f} {rate / first:>6.2f} {peak_mib:>17,.0f} {tree_mib:>20,.0f} "
                  f"{cpu:>11.1f} {writer_cpu:>14.1f}", flush=True)


def process_tree() -> dict[int, tuple[float, float]]:
    """RSS (MiB) and CPU seconds of this process and each descendant: the workers are the
    forkserver's children, not ours, so ``RUSAGE_CHILDREN`` never sees them."""
    stats: dict[int, list[str]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            stats[int(stat.parent.name)] = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, ValueError):
            continue
    tree, grown = {os.getpid()}, True
    while grown:
        found = {pid for pid, fields in stats.items() if int(fields[1]) in tree} - tree
        tree |= found
        grown = bool(found)
    tick, page = os.sysconf("SC_CLK_TCK"), os.sysconf("SC_PAGE_SIZE")
    return {pid: (int(stats[pid][21]) * page / 2**20, (int(stats[pid][11]) + int(stats[pid][12])) / tick)
            for pid in tree}


def ingest_child(path: Path, lake: Path, workers: int) -> None:
    peak = [0.0]
    cpu: dict[int, float] = {}  # the last CPU seconds seen of each process
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.2):
            tree = process_tree()
            peak[0] = max(peak[0], sum(rss for rss, _ in tree.values()))
            cpu.update({pid: seconds for pid, (_, seconds) in tree.items()})

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    counts = ingest_file(Ingestor(Lake(lake), "bench"), path, workers, lambda: records_with_origin([path]))
    done.set()
    sampler.join()
    cpu[os.getpid()] = process_tree()[os.getpid()][1]
    print(peak_rss_mib(), counts.statements_per_second, peak[0], sum(cpu.values()), cpu[os.getpid()])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--memory", type=int, nargs="+", metavar="N", help="peak RSS for files of N statements")
    parser.add_argument("--workers", type=int, nargs="+", metavar="N", help="throughput with N worker processes")
    parser.add_argument("--ingest-child", nargs=2, type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-workers", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ingest_child:
        ingest_child(*args.ingest_child, args.child_workers)
    elif args.workers:
        scaling(args.count, args.workers)
    elif args.memory:
        memory(args.memory)
    else:
        throughput(args.count, args.repeats)


if __name__ == "__main__":
    main()
