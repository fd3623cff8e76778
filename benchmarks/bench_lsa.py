"""Speed and memory of the lag-sequential analysis and of the whole ``sequences`` path.

Usage:
    python benchmarks/bench_lsa.py core [--events 1000000] [--units 10000] [--repeats 3]
    python benchmarks/bench_lsa.py end-to-end [--events 1000000] [--units 10000] [--repeats 5]
    python benchmarks/bench_lsa.py lake --sizes 1000000 3000000 10000000

``core`` runs our LSA and pyseqlsa (the only PyPI LSA package, ``pip install -e '.[bench]'``)
on the same Markov-chain events in the same process, checks that both give the same table and
z values, and prints the median time, the traced peak memory of each, and the ratio.

``end-to-end`` writes one coded-events CSV (shuffled rows, string codes) and times whole
commands in fresh processes, alternating, median of ``--repeats``: ``xapi-pipeline lsa``
(``python -m xapi_ingest``), the ``lsa`` command of ``transforms.sequences.cli`` called directly
(its start-up without the rest of the CLI), and a pyseqlsa script as its user would write it
(pandas ``read_csv``, sort by unit and position, pyseqlsa's own ``frame2seqs``, ``fit``). It
prints wall and CPU seconds (CPU is steadier on a shared machine), the ratios, the in-process
ratio of the same two pipelines, and checks that all give the same table and z values.

``lake`` appends synthetic analyst-zone rows of each size directly to the lake's analyst table with the lake's
schema (going through the validator would take hours at 10 million statements on this
machine and measures the ingest, not this path), then runs ``run_sequences`` on each lake in a
fresh process and prints its time and peak RSS, to show memory stays flat as the lake grows.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import date
from pathlib import Path

import _checkout  # noqa: F401  (devtools/ and tests/ come from the checkout)
import numpy as np
import pandas as pd
import pyarrow as pa
from bench_ingest import peak_rss_mib  # benchmarks/ is on sys.path when this script runs

from devtools.synthetic.sequences import DESIGN_EXTENSION, DISCUSSION_TYPE, INTERACTION_VERBS, KC_CHAINS, KC_EXTENSION
from transforms.sequences.coded_csv import read_coded_csv
from transforms.sequences.lsa import analyse, lag_pairs
from xapi_ingest.lake.schema import ANALYST_DROPPED, STATEMENTS

ROOT = Path(__file__).resolve().parents[1]
CODES = ("C1", "C2", "C3", "C4", "C5")


def markov_units(n_events: int, n_units: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Unit lengths (summing to n_events) and codes drawn from the role-play chain, all vectorized."""
    rng = np.random.default_rng(seed)
    lengths = rng.multinomial(n_events - n_units, np.full(n_units, 1 / n_units)) + 1
    cumulative = np.cumsum(KC_CHAINS["role-play"], axis=1)
    codes = np.empty(n_events, dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    state = rng.integers(0, 2, size=n_units)
    for step in range(int(lengths.max())):
        active = lengths > step
        if step:
            draws = rng.random(int(active.sum()))
            state[active] = (draws[:, None] > cumulative[state[active]]).sum(axis=1).clip(max=len(CODES) - 1)
        codes[starts[active] + step] = state[active]
    return lengths, codes


def _timed(run: Callable[[], object], repeats: int, trace: bool = True) -> tuple[float, float, object]:
    """Median seconds over ``repeats`` untraced runs, then (``trace``) one traced run for the peak MiB.

    tracemalloc slows allocation-heavy Python code a lot, so it never overlaps the timing.
    """
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    if not trace:
        return statistics.median(times), float("nan"), result
    tracemalloc.start()
    run()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return statistics.median(times), peak, result


def coded_frame(lengths: np.ndarray, codes: np.ndarray) -> pd.DataFrame:
    """The CSV contract's rows: any row order (shuffled), string codes; integer unit ids, which pandas sorts fastest."""
    n_events = len(codes)
    unit = np.repeat(np.arange(len(lengths)), lengths)
    position = np.arange(n_events) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    shuffle = np.random.default_rng(2).permutation(n_events)
    return pd.DataFrame({"group_id": unit[shuffle], "seq_index": position[shuffle],
                         "code": np.array(CODES, dtype=object)[codes[shuffle]]})


def core(n_events: int, n_units: int, repeats: int) -> None:
    from pyseqlsa import LSA

    lengths, codes = markov_units(n_events, n_units)
    unit = np.repeat(np.arange(n_units), lengths)
    position = np.arange(n_events) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    csv_bytes = coded_frame(lengths, codes).to_csv(index=False).encode()
    sequences = [list(s) for s in np.split(np.array(CODES)[codes], np.cumsum(lengths)[:-1])]
    print(f"{n_events:,} coded events in {n_units:,} units, {len(CODES)} codes; median of {repeats} runs")

    def ours_sorted():
        return analyse(lag_pairs(unit, position, codes, len(CODES)).pooled_table(len(CODES)), CODES)

    def ours_csv():
        events = read_coded_csv(io.BytesIO(csv_bytes), CODES)
        return analyse(events.pairs().pooled_table(len(CODES)), CODES)

    def theirs():
        model = LSA(CODES)  # a fresh model each time: fit() accumulates counts across calls
        model.fit(sequences, output=False)
        return model

    their_time, their_peak, model = _timed(theirs, repeats)
    rows = [("pyseqlsa 0.1.3 fit (lists of codes, one per unit, in order)", their_time, their_peak)]
    for name, run in (("ours, same input: events in unit order (int arrays)", ours_sorted),
                      ("ours, CSV contract: shuffled rows, string codes, all checks", ours_csv)):
        seconds, peak, result = _timed(run, repeats)
        assert np.array_equal(result.freq, model.transform_array.astype(np.int64)), "the tables differ"
        assert np.allclose(result.adjusted_residuals, model.Z, atol=5e-4), "z differs beyond pyseqlsa's rounding"
        rows.append((name, seconds, peak))
    for name, seconds, peak in rows:
        print(f"{name:<62} {seconds:8.3f} s  traced peak {peak:7.1f} MiB  {their_time / seconds:6.1f}x pyseqlsa")
    print("all runs give pyseqlsa's table exactly and its z values to its 3 decimals")
    print(f"process peak RSS: {peak_rss_mib():.0f} MiB")


# What a pyseqlsa user runs on the same CSV: pandas, a sort, pyseqlsa's own frame2seqs (its
# documented CSV helper, which expects rows in sequence order), fit. frame2seqs measured faster
# than groupby(...).agg(list) here, so the baseline is the quicker of the two honest scripts.
PYSEQLSA_SCRIPT = """
import json, sys
import pandas as pd
from pyseqlsa import LSA, frame2seqs
frame = pd.read_csv(sys.argv[1]).sort_values(["group_id", "seq_index"])
model = LSA(sorted(frame["code"].unique()))
model.fit(frame2seqs(frame[["group_id", "code"]]), output=False)
print(json.dumps({"codes": model.code_set, "freq": model.transform_array.astype(int).tolist(), "z": model.Z.tolist()}))
"""

# The lsa command without the rest of the CLI's start-up (until the dispatcher imports lazily).
DIRECT_LSA = """
import argparse, sys
from transforms.sequences import cli
parser = argparse.ArgumentParser()
cli.add_parsers(parser.add_subparsers(dest="command"))
sys.exit(cli.cmd_lsa(parser.parse_args(sys.argv[1:])))
"""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def end_to_end(n_events: int, n_units: int, repeats: int) -> None:
    from pyseqlsa import LSA, frame2seqs

    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "coded.csv"
        coded_frame(*markov_units(n_events, n_units)).to_csv(path, index=False)
        size = path.stat().st_size
        (Path(scratch) / "pyseqlsa_lsa.py").write_text(PYSEQLSA_SCRIPT)
        commands = {
            "pyseqlsa script (pandas read_csv, sort, frame2seqs, fit)": [sys.executable, str(Path(scratch) / "pyseqlsa_lsa.py")],
            "xapi-pipeline lsa (python -m xapi_ingest)": [sys.executable, "-m", "xapi_ingest", "lsa"],
            "transforms.sequences.cli lsa, called directly": [sys.executable, "-c", DIRECT_LSA, "lsa"],
        }
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        wall: dict[str, list[float]] = {name: [] for name in commands}
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        outputs: dict[str, dict] = {}
        for _ in range(repeats):  # alternating, so a change in the machine's load hits all alike
            for name, command in commands.items():
                extra = [str(path)] if name.startswith("pyseqlsa") else [str(path), "--format", "json"]
                used, started = _children_cpu(), time.perf_counter()
                done = subprocess.run(command + extra, check=True, capture_output=True, text=True, env=env)
                wall[name].append(time.perf_counter() - started)
                cpu[name].append(_children_cpu() - used)
                outputs[name] = json.loads(done.stdout)

        baseline = outputs[next(iter(commands))]
        for name, document in outputs.items():
            z = document.get("z", document.get("adjusted_residuals"))
            assert document["codes"] == baseline["codes"] and document["freq"] == baseline["freq"], f"{name}: the tables differ"
            close = np.allclose(np.array(z, dtype=float), baseline["z"], atol=5e-4)
            assert close, f"{name}: z differs beyond pyseqlsa's rounding"

        def pyseqlsa_in_process():
            frame = pd.read_csv(path).sort_values(["group_id", "seq_index"])
            model = LSA(sorted(frame["code"].unique()))
            model.fit(frame2seqs(frame[["group_id", "code"]]), output=False)
            return model

        def ours_in_process():
            events = read_coded_csv(path)
            return analyse(events.pairs().pooled_table(len(events.codes)), events.codes)

        their_seconds, _, _ = _timed(pyseqlsa_in_process, repeats, trace=False)
        our_seconds, _, result = _timed(ours_in_process, repeats, trace=False)
        assert result.freq.tolist() == baseline["freq"], "in process: the tables differ"

    print(f"{n_events:,} coded events in {n_units:,} units, shuffled rows, string codes ({size / 2**20:.1f} MiB CSV); "
          f"median of {repeats} alternating runs, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    base_wall, base_cpu = (statistics.median(v[next(iter(commands))]) for v in (wall, cpu))
    for name in commands:
        w, c = statistics.median(wall[name]), statistics.median(cpu[name])
        print(f"{name:<58} wall {w:6.2f} s ({min(wall[name]):.2f}-{max(wall[name]):.2f})  {base_wall / w:5.1f}x   "
              f"CPU {c:6.2f} s  {base_cpu / c:5.1f}x pyseqlsa")
    print(f"{'in process: read the CSV, sort, tally, statistics':<58} ours {our_seconds:.3f} s, pyseqlsa {their_seconds:.3f} s: "
          f"{their_seconds / our_seconds:.1f}x")
    print("every command gives pyseqlsa's table exactly and its z values to its 3 decimals")


def _lake_chunk(rng: np.random.Generator, first_unit: int, n_units: int, mean_length: int, learners: int) -> pa.Table:
    lengths = rng.poisson(mean_length - 1, size=n_units) + 1
    n = int(lengths.sum())
    _, codes = markov_units(n, n_units, seed=int(rng.integers(1 << 30)))
    unit = np.repeat(np.arange(first_unit, first_unit + n_units), lengths)
    position = np.arange(n) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    verbs = rng.integers(0, len(INTERACTION_VERBS), size=n)
    uncoded = rng.random(n) < 0.02
    out_of_scope = rng.random(n) < 0.1
    base = np.datetime64("2026-09-01T08:00:00", "us").astype(np.int64)
    moments = base + unit.astype(np.int64) * 60_000_000 + position * 5_000_000
    kc_json = np.array([f'{{"{KC_EXTENSION}": "{c}"}}' for c in CODES], dtype=object)[codes]
    kc_json[uncoded] = None
    design = np.array([f'{{"{DESIGN_EXTENSION}": "{d}"}}' for d in ("given-scenario", "role-play")], dtype=object)
    columns = {
        "statement_id": pa.array([f"{u:08x}-0000-4000-8000-{p:012x}"
                                  for u, p in zip(unit.tolist(), position.tolist(), strict=True)]),
        "id_generated": pa.array(np.zeros(n, dtype=bool)),
        "stored": pa.array(moments + 1_000_000, pa.timestamp("us", tz="UTC")),
        "timestamp": pa.array(moments, pa.timestamp("us", tz="UTC")),
        "actor_type": pa.array(np.full(n, "Agent", dtype=object)),
        "actor_ifi_type": pa.array(np.full(n, "account", dtype=object)),
        "actor_ifi": pa.array(np.char.add("p_", rng.integers(0, learners, size=n).astype(str)).astype(object)),
        "verb_id": pa.array(np.array([v for v, _ in INTERACTION_VERBS], dtype=object)[verbs]),
        "object_type": pa.array(np.full(n, "Activity", dtype=object)),
        "object_definition_type": pa.array(np.where(out_of_scope, "https://w3id.org/xapi/video/activity-type/video",
                                                    DISCUSSION_TYPE).astype(object)),
        "result_extensions": pa.array(kc_json, pa.string()),
        "context_registration": pa.array(np.char.add("unit-", unit.astype(str)).astype(object)),
        "context_extensions": pa.array(design[unit % 2]),
        "validation_status": pa.array(np.full(n, "valid", dtype=object)),
    }
    schema = pa.schema([f for f in STATEMENTS if f.name not in ANALYST_DROPPED])
    return pa.table({f.name: columns.get(f.name, pa.nulls(n, f.type)) for f in schema}, schema=schema)


def write_lake(root: Path, size: int, mean_length: int = 20, chunk_units: int = 50_000) -> None:
    """An analyst zone of ``size`` statements (about), appended in chunks as publishing would."""
    from xapi_ingest.lake.schema import ANALYST_TABLE
    from xapi_ingest.lake.store import Lake

    lake = Lake(root)
    rng = np.random.default_rng(size)
    written = unit = 0
    while written < size:
        units = min(chunk_units, max(1, (size - written) // mean_length))
        table = _lake_chunk(rng, unit, units, mean_length, learners=max(100, size // 200))
        table = table.append_column("source", pa.array(["bench"] * table.num_rows, pa.string()))
        table = table.append_column("stored_date", pa.array([date(2026, 9, 1)] * table.num_rows, pa.date32()))
        lake.append(ANALYST_TABLE, table, [])
        written, unit = written + table.num_rows, unit + units


def lake(sizes: list[int]) -> None:
    scheme = ROOT / "config" / "sequences" / "scheme.yaml"
    print(f"{'statements':>12} {'generate s':>10} {'sequences s':>11} {'peak RSS MiB':>13}")
    for size in sizes:
        with tempfile.TemporaryDirectory(dir=ROOT / ".bench-tmp" if (ROOT / ".bench-tmp").exists() else None) as scratch:
            started = time.perf_counter()
            write_lake(Path(scratch) / "lake", size)
            generated = time.perf_counter() - started
            child = subprocess.run(
                [sys.executable, "-c", _CHILD, str(Path(scratch) / "lake"), str(scheme), str(Path(scratch) / "out"),
                 str(Path(__file__).parent)],
                check=True, capture_output=True, text=True)
            seconds, peak, rows = child.stdout.split()[-3:]
            print(f"{int(rows):>12,} {generated:>10.1f} {float(seconds):>11.1f} {float(peak):>13.0f}", flush=True)


# The whole command in a fresh process, so its peak RSS is its own (see bench_ingest.peak_rss_mib).
_CHILD = """
import sys, time
sys.path.insert(0, sys.argv[4])
from bench_ingest import peak_rss_mib
from transforms.sequences.run import run_sequences
from xapi_ingest.lake.store import Lake
started = time.perf_counter()
summary = run_sequences(Lake(sys.argv[1]), sys.argv[2], sys.argv[3])
seconds = time.perf_counter() - started
print(seconds, peak_rss_mib(), summary.statements)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    modes = parser.add_subparsers(dest="mode", required=True)
    core_parser = modes.add_parser("core", help="our LSA against pyseqlsa on the same events")
    core_parser.add_argument("--events", type=int, default=1_000_000)
    core_parser.add_argument("--units", type=int, default=10_000)
    core_parser.add_argument("--repeats", type=int, default=3)
    end_parser = modes.add_parser("end-to-end", help="whole commands on one CSV: xapi-pipeline lsa against a pyseqlsa script")
    end_parser.add_argument("--events", type=int, default=1_000_000)
    end_parser.add_argument("--units", type=int, default=10_000)
    end_parser.add_argument("--repeats", type=int, default=5)
    lake_parser = modes.add_parser("lake", help="the whole sequences path over synthetic lakes of growing size")
    lake_parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 3_000_000])
    args = parser.parse_args()
    if args.mode == "core":
        core(args.events, args.units, args.repeats)
    elif args.mode == "end-to-end":
        end_to_end(args.events, args.units, args.repeats)
    else:
        lake(args.sizes)


if __name__ == "__main__":
    main()
