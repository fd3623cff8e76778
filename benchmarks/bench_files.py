"""File drops: the ``files`` source kind against ``ingest-file`` on the same files, same run.

Usage:
    python benchmarks/bench_files.py [--count 50000] [--files 20] [--repeats 3]

``--count`` realistic statements are written as ``--files`` gzipped NDJSON exports in a folder.
Printed, in statements/s (median of ``--repeats`` after a warm-up), for a fresh lake each time:
``ingest-file`` of the same paths in one process (the baseline: what the files kind does per file
without a drop's bookkeeping), and the files kind's pull (listing, hashing each file into a scratch
copy, a commit and a state update per file); then the cost of a second pull that finds every file
already taken (listing and the size/time check only), and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import os
import tempfile
from pathlib import Path

import _checkout  # noqa: F401  (devtools/ and tests/ come from the checkout)
import msgspec
from bench_ingest import peak_rss_mib, timed_seconds  # benchmarks/ is on sys.path when this script runs

from xapi_ingest.lake.ingest import Ingestor
from xapi_ingest.lake.store import Lake
from xapi_ingest.pull.files import FilesSource, pull_files
from xapi_ingest.pull.summary import NO_BUDGET
from xapi_ingest.xapi.reader import records_with_origin
from xapi_ingest.xapi.samples import realistic_statements


def write_drop(folder: Path, count: int, files: int) -> list[Path]:
    folder.mkdir(parents=True)
    statements = realistic_statements(count, 7)
    paths = []
    for number in range(files):
        path = folder / f"export-{number:04d}.ndjson.gz"
        share = count // files + (number < count % files)
        with gzip.open(path, "wb") as out:
            out.writelines(msgspec.json.encode(statement) + b"\n" for statement in itertools.islice(statements, share))
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=50_000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        paths = write_drop(scratch / "drop", args.count, args.files)
        source = FilesSource(id="drop", location=str(scratch / "drop"), settle_seconds=0)
        lakes = (Lake(scratch / f"lake{n}") for n in itertools.count())
        print(f"{args.count:,} statements in {args.files} gzipped NDJSON files; median of {args.repeats}; "
              f"load average before: {os.getloadavg()[0]:.2f}")

        def ingest_file() -> None:
            Ingestor(next(lakes), "drop").ingest(records_with_origin(paths))

        def files_kind() -> None:
            summary = pull_files(source, next(lakes), NO_BUDGET, None)
            assert summary.counts.valid == args.count, summary.as_dict()

        baseline = args.count / timed_seconds(ingest_file, args.repeats)
        ours = args.count / timed_seconds(files_kind, args.repeats)
        print(f"{'ingest-file of the same paths (baseline)':<44} {baseline:>10,.0f} statements/s")
        print(f"{'files kind, first pull':<44} {ours:>10,.0f} statements/s  {ours / baseline:5.2f}x baseline")
        lake = next(lakes)
        pull_files(source, lake, NO_BUDGET, None)
        again = timed_seconds(lambda: pull_files(source, lake, NO_BUDGET, None), args.repeats)
        print(f"{'files kind, nothing new (per file)':<44} {again / args.files * 1000:>10,.1f} ms")
        print(f"peak RSS {peak_rss_mib():,.0f} MiB")


if __name__ == "__main__":
    main()
