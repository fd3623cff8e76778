"""``compact``: the lake's upkeep, as the daily maintenance DAG runs it."""

from __future__ import annotations

import argparse
from datetime import timedelta

from xapi_ingest.common.exit_codes import ExitCode
from xapi_ingest.lake.location import add_lake_argument
from xapi_ingest.lake.maintenance import DEFAULT_GRACE, DEFAULT_RETENTION, DEFAULT_TARGET_FILE_BYTES, compact


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of at least 0")
    return value


def add_lake_parsers(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "compact", help="rewrite small files, expire old snapshots, delete unreferenced files",
        description="Compact every table of the lake: each partition's small files are rewritten into files of "
                    "about the target size (readers and writers may run meanwhile), snapshots older than the "
                    "retention are expired (tagged ones, e.g. those credit versions read, are kept), and files no "
                    "snapshot references are deleted once older than the grace period.",
    )
    add_lake_argument(parser)
    parser.add_argument("--target-file-mb", type=_non_negative, default=DEFAULT_TARGET_FILE_BYTES / 2**20,
                        help="size of rewritten files in MiB (default: %(default).0f)")
    parser.add_argument("--retention-days", type=_non_negative, default=DEFAULT_RETENTION.days,
                        help="keep snapshots this many days for time travel (default: %(default)s)")
    parser.add_argument("--grace-hours", type=_non_negative, default=DEFAULT_GRACE.total_seconds() / 3600,
                        help="keep unreferenced files this long, for queries and commits in flight (default: %(default)s)")


def cmd_compact(args: argparse.Namespace) -> int:
    results = compact(args.lake, target_file_bytes=int(args.target_file_mb * 2**20),
                      retention=timedelta(days=args.retention_days), grace=timedelta(hours=args.grace_hours))
    for result in results:
        print(f"{result.table}: {result.files_before} -> {result.files_after} data file(s), "
              f"{result.partitions_compacted} rewrite(s) of {result.rows_rewritten:,} rows, "
              f"{result.snapshots_expired} snapshot(s) expired, {result.files_deleted} unreferenced file(s) deleted")
        for skipped in result.skipped:
            print(f"  left for the next run: {skipped}")
    return ExitCode.OK


LAKE_COMMANDS = {"compact": cmd_compact}
