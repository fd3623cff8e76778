"""Cost of the data-quality gate on one ingest batch, against baselines measured in the same run.

Usage:
    python benchmarks/bench_quality.py [--rows 50000] [--repeats 3]

Builds one batch of realistic statements (the ingest default batch size is 50,000 rows) and
prints rows/s, median of the repeats, for:
* reading the batch's Parquet file (what any check must pay at least);
* the critical checks written by hand in pyarrow (uniqueness, not-null, ranges, value set):
  the floor for the same verdict without Great Expectations;
* the full GX suite in memory (``validate_table``, no reports);
* the gate as the DAG runs it (``check_batches``: read, validate, Data Docs, JSON result, hold).
Each with its ratio to the hand-written checks, and the process's peak RSS at the end.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from bench_ingest import (  # benchmarks/ is on sys.path when this script runs
    peak_rss_mib,
    pin_to_one_core,
    timed_rate,
    write_sample,
)

from xapi_ingest.lake.ingest import Ingestor
from xapi_ingest.lake.store import Lake
from xapi_ingest.quality.gate import check_batches, validate_table
from xapi_ingest.xapi.reader import records_with_origin

FRESH = datetime(2026, 9, 2, tzinfo=UTC)


def hand_written_checks(table: pa.Table) -> bool:
    """The critical expectations of the suite, straight in pyarrow."""
    ids = table["statement_id"]
    unique = pc.count_distinct(ids).as_py() == len(ids)
    present = all(table[c].null_count == 0 for c in ("statement_id", "verb_id", "object_id", "timestamp"))
    uuid = pc.all(pc.match_substring_regex(ids, r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")).as_py()
    status = pc.all(pc.is_in(table["validation_status"], value_set=pa.array(["valid", "tolerated"]))).as_py()
    scaled = table["result_score_scaled"]
    in_range = pc.all(pc.and_kleene(pc.greater_equal(scaled, -1), pc.less_equal(scaled, 1))).as_py() is not False
    raw, low, high = table["result_score_raw"], table["result_score_min"], table["result_score_max"]
    ordered = pc.all(pc.and_kleene(pc.greater_equal(raw, low), pc.less_equal(raw, high))).as_py() is not False
    return unique and present and uuid and status and in_range and ordered


def measure(name: str, run: Callable[[], object], rows: int, repeats: int, baseline: float | None) -> float:
    rate = timed_rate(run, rows, repeats)  # its warm-up run also pays GX's imports and caches
    ratio = f"{rate / baseline:8.3f}x" if baseline else "   1.000x"
    print(f"{name:<52} {rate:>12,.0f} rows/s {ratio}", flush=True)
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    pin_to_one_core()
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "batch.ndjson"
        write_sample(source, args.rows)
        lake = Lake(Path(scratch) / "lake")
        Ingestor(lake, "moodle-a", batch_size=args.rows).ingest(records_with_origin([source]), batch_id="bench")
        files = lake.dataset("statements").files
        table = pa.concat_tables([pq.read_table(f) for f in files])
        print(f"one batch of {table.num_rows:,} rows in {len(files)} file(s); one core; median of {args.repeats}")
        assert hand_written_checks(table)
        baseline = measure("hand-written pyarrow checks (critical only)", lambda: hand_written_checks(table),
                           table.num_rows, args.repeats, None)
        measure("read the batch's Parquet files", lambda: [pq.read_table(f) for f in files],
                table.num_rows, args.repeats, baseline)
        measure("GX suite in memory (validate_table)", lambda: validate_table(table, run_time=FRESH),
                table.num_rows, args.repeats, baseline)
        reports = Path(scratch) / "reports"
        measure("gate as the DAG runs it (check_batches + Data Docs)",
                lambda: check_batches(lake, ["bench"], reports, run_time=FRESH),
                table.num_rows, args.repeats, baseline)
    peak = peak_rss_mib()
    print(f"peak RSS of the whole run: {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
