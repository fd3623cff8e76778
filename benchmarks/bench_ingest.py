"""Throughput and memory of the ingest path, against baselines measured in the same run.

Usage:
    python benchmarks/bench_ingest.py [--count 50000] [--repeats 3] [--data varied|realistic] [--seed N]
    python benchmarks/bench_ingest.py --memory 100000 1000000 5000000
    python benchmarks/bench_ingest.py --count 100000 --workers 1 2

The first form writes one NDJSON file and times, on one core (median of the repeats, after a
warm-up), the phases of our ingest and what a user could run instead on the same file:

* the floor: ``json.loads`` of every line, and ``msgspec`` decoding;
* our validator alone, on already decoded statements;
* our whole ``ingest-file`` path (read, validate, normalize, commit to the Iceberg lake);
* DuckDB ``read_json`` -> zstd Parquet, pyarrow ``read_json`` + ``write_table`` and pandas
  ``json_normalize`` + ``to_parquet`` (none of them validates anything).

``--data varied`` (the default) draws statements of every shape the spec allows from a fresh
seed each run (``devtools/synthetic/varied.py``, 2 % with one defect), so no code path is tuned
to the data; ``realistic`` is the two fixed Moodle/Open edX shapes of ``xapi/samples.py``.
Machines differ by a factor of ten: the ratios to ``json.loads`` are what carry over.

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
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import _checkout  # noqa: F401  (devtools/ comes from the checkout)
import msgspec

from devtools.synthetic.varied import varied_statements
from xapi_ingest.lake.ingest import Ingestor
from xapi_ingest.lake.parallel import ingest_file
from xapi_ingest.lake.store import Lake
from xapi_ingest.xapi.reader import records_with_origin
from xapi_ingest.xapi.samples import realistic_statements
from xapi_ingest.xapi.validator import StatementValidator


def statements(kind: str, count: int, seed: int) -> Iterator[dict[str, Any]]:
    return varied_statements(count, seed) if kind == "varied" else realistic_statements(count, seed)


def write_sample(path: Path, count: int, kind: str = "varied", seed: int = 7) -> None:
    encode = msgspec.json.encode
    with open(path, "wb") as out:
        for statement in statements(kind, count, seed):
            out.write(encode(statement) + b"\n")


def timed_seconds(run: Callable[[], object], repeats: int,
                  summary: Callable[[list[float]], float] = statistics.median) -> float:
    """The ``summary`` (median unless said) of ``repeats`` runs' times, after one warm-up run."""
    run()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return summary(times)


def timed_rate(run: Callable[[], object], count: int, repeats: int) -> float:
    return count / timed_seconds(run, repeats)


def measure(name: str, run: Callable[[], object], count: int, repeats: int) -> float:
    rate = timed_rate(run, count, repeats)
    print(f"{name:<52} {rate:>12,.0f} statements/s", flush=True)
    return rate


def peak_rss_mib() -> float:
    """This process's own peak RSS (VmHWM): ``ru_maxrss`` survives exec on Linux, so in a child
    started by a bigger parent it would report the parent's peak."""
    try:
        with open("/proc/self/status") as status:
            return int(re.search(r"VmHWM:\s+(\d+) kB", status.read()).group(1)) / 1024  # type: ignore[union-attr]
    except (OSError, AttributeError):  # not Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def usable_cores() -> list[int]:
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))


def pin_to(cores: list[int]) -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(cores))


class Baselines:
    """What a user could run instead of our ingest on the same file; none of them validates."""

    def __init__(self, path: Path, scratch: Path) -> None:
        self.path, self.scratch = path, scratch

    def duckdb_copy(self) -> None:
        import duckdb

        out = self.scratch / "duckdb.parquet"
        with duckdb.connect() as con:
            con.execute("SET threads = 1")
            con.execute(f"COPY (SELECT * FROM read_json('{self.path}', format='newline_delimited', "
                        f"maximum_object_size=67108864, sample_size=-1)) TO '{out}' (FORMAT parquet, COMPRESSION zstd)")

    def pyarrow_read_json(self) -> None:
        import pyarrow.json as pajson
        import pyarrow.parquet as pq

        table = pajson.read_json(self.path, read_options=pajson.ReadOptions(use_threads=False))
        pq.write_table(table, self.scratch / "pyarrow.parquet", compression="zstd")

    def pandas_normalize(self) -> None:
        import pandas as pd

        with open(self.path, "rb") as lines:
            frame = pd.json_normalize([json.loads(line) for line in lines])
        frame.astype(str).to_parquet(self.scratch / "pandas.parquet", compression="zstd")


def throughput(count: int, repeats: int, kind: str, seed: int) -> None:
    cores = usable_cores()
    pin_to(cores[:1])
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        path = scratch / "statements.ndjson"
        write_sample(path, count, kind, seed)
        lines = path.read_bytes().splitlines()
        print(f"{count:,} {kind} statements (seed {seed}), {path.stat().st_size / count:,.0f} bytes each, "
              f"one core unless said, median of {repeats}; load average before: {os.getloadavg()[0]:.2f}\n")
        validator = StatementValidator("auto")
        decoded = [msgspec.json.decode(line) for line in lines]
        lake_number = iter(range(10**6))

        def ingest() -> None:
            lake = Lake(scratch / f"lake{next(lake_number)}")
            Ingestor(lake, "bench").ingest(records_with_origin([path]))

        baselines = Baselines(path, scratch)
        floor = measure("json.loads only (the floor)", lambda: [json.loads(line) for line in lines], count, repeats)
        rates = {
            "msgspec decode only": measure("msgspec.json.decode only", lambda: [msgspec.json.decode(x) for x in lines],
                                           count, repeats),
            "our validator alone": measure("our validator alone (on decoded dicts)",
                                           lambda: [validator.validate(d) for d in decoded], count, repeats),
            "our ingest, one core": measure("our ingest-file, one core (validate, lake commit)", ingest,
                                            count, repeats),
        }
        for name, run in (("DuckDB read_json -> Parquet", baselines.duckdb_copy),
                          ("pyarrow read_json + write_table", baselines.pyarrow_read_json),
                          ("pandas json_normalize + to_parquet", baselines.pandas_normalize)):
            try:
                rates[name] = measure(f"{name} (no validation)", run, count, repeats)
            except Exception as exc:  # a baseline that cannot read this data says so and the run goes on
                print(f"{name + ' (no validation)':<52} failed: {str(exc).splitlines()[0][:90]}")
        print("\nratio to json.loads on this machine:")
        for name, rate in rates.items():
            print(f"  {name:<48} {rate / floor:5.2f}x")


def memory(sizes: list[int], kind: str, seed: int) -> None:
    print(f"{'statements':>12} {'peak RSS (MiB)':>15} {'statements/s':>13}")
    for size in sizes:
        with tempfile.TemporaryDirectory() as scratch:
            path = Path(scratch) / "statements.ndjson"
            write_sample(path, size, kind, seed)
            child = subprocess.run(
                [sys.executable, __file__, "--ingest-child", str(path), str(Path(scratch) / "lake")],
                capture_output=True, text=True, check=True,
            )
            peak_mib, rate, *_ = child.stdout.split()
            print(f"{size:>12,} {float(peak_mib):>15,.0f} {float(rate):>13,.0f}", flush=True)


def scaling(count: int, workers: list[int], kind: str, seed: int) -> None:
    print(f"{count:,} {kind} statements (seed {seed}), load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n"
          f"{'workers':>8} {'statements/s':>13} {'ratio':>6} {'writer RSS (MiB)':>17} {'all processes (MiB)':>20} "
          f"{'CPU s, all':>11} {'CPU s, writer':>14}")
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "statements.ndjson"
        write_sample(path, count, kind, seed)
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
    parser.add_argument("--count", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", choices=("varied", "realistic"), default="varied")
    parser.add_argument("--seed", type=int, default=None, help="default: a fresh one, printed")
    parser.add_argument("--memory", type=int, nargs="+", metavar="N", help="peak RSS for files of N statements")
    parser.add_argument("--workers", type=int, nargs="+", metavar="N", help="throughput with N worker processes")
    parser.add_argument("--ingest-child", nargs=2, type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-workers", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    seed = random.randrange(10**6) if args.seed is None else args.seed
    if args.ingest_child:
        ingest_child(*args.ingest_child, args.child_workers)
    elif args.memory:
        memory(args.memory, args.data, seed)
    elif args.workers:
        scaling(args.count, args.workers, args.data, seed)
    else:
        throughput(args.count, args.repeats, args.data, seed)


if __name__ == "__main__":
    main()
