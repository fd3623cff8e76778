"""``compact``: the lake's upkeep, as the daily maintenance DAG runs it; ``migrate``: a lake (a folder or
its copy on S3) from the hive layout into Iceberg tables; ``export``: the analyst zone as plain Parquet."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from xapi_ingest.common.defaults import DEFAULT_GRACE, DEFAULT_RETENTION, DEFAULT_TARGET_FILE_BYTES
from xapi_ingest.common.exit_codes import ExitCode
from xapi_ingest.lake.location import add_lake_argument

if TYPE_CHECKING:
    from xapi_ingest.lake.migrate import MigrationReport


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

    parser = commands.add_parser(
        "migrate", help="convert a lake in the old hive-partitioned layout (a folder or s3://) into Iceberg tables, "
                        "in place",
        description="Copy a lake written before the lake moved to Apache Iceberg (statements/source=.../"
                    "stored_date=..., quarantine/, analyst/statements/, derived/voids/, _state/pull/, _quality/held/, "
                    "_quality/checked/) into the Iceberg tables of the same lake: a folder on local disk (tables in "
                    "<lake>/warehouse, catalog <lake>/catalog.sqlite unless --catalog says otherwise) or the "
                    "s3://bucket/prefix the old version pushed it to (tables under <prefix>/xapi/, catalog from "
                    "--catalog or XAPI_LAKE_CATALOG). It carries statements, quarantine, published analyst rows with "
                    "their key id, the void ledger, holds, check marks and pull state. Then every count is compared "
                    "(distinct statement ids with Iceberg rows, quarantine, analyst and void ledger rows, holds, pull "
                    "states). Safe to interrupt and re-run: what is migrated is recorded in the catalog and skipped, "
                    "and nothing is added twice. Run it before the pipeline writes to the lake again. Exit 0 when "
                    "every count matched, 1 when one differed (nothing is deleted then), 2 when the place is not a "
                    "lake in the hive layout.",
    )
    add_lake_argument(parser)
    parser.add_argument("--delete-old", action="store_true",
                        help="delete the old layout's folders (on S3: their objects) once every count matched (kept otherwise)")


def cmd_compact(args: argparse.Namespace) -> int:
    from xapi_ingest.lake.maintenance import compact

    results = compact(args.lake, target_file_bytes=int(args.target_file_mb * 2**20),
                      retention=timedelta(days=args.retention_days), grace=timedelta(hours=args.grace_hours))
    for result in results:
        print(f"{result.table}: {result.files_before} -> {result.files_after} data file(s), "
              f"{result.partitions_compacted} rewrite(s) of {result.rows_rewritten:,} rows, "
              f"{result.snapshots_expired} snapshot(s) expired, {result.files_deleted} unreferenced file(s) deleted")
        for skipped in result.skipped:
            print(f"  left for the next run: {skipped}")
    return ExitCode.OK


def cmd_migrate(args: argparse.Namespace) -> int:
    from xapi_ingest.lake.migrate import MigrationError, migrate

    try:
        report = migrate(args.lake, delete_old=args.delete_old)
    except MigrationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.UNUSABLE
    _print_migration(report)
    return ExitCode.OK if report.matches else ExitCode.FINDINGS


def _print_migration(report: MigrationReport) -> None:
    print(f"{'table':<22}{'hive layout':>14}{'iceberg':>14}")
    for count in report.counts:
        print(f"{count.table:<22}{count.hive:>14,}{count.iceberg:>14,}  {'ok' if count.matches else 'DIFFERS'}")
    print("added by this run: " + ", ".join(f"{rows:,} {table} row(s)" for table, rows in report.added.items()))
    for note in report.notes:
        print(f"note: {note}")
    if not report.matches:
        print("counts differ: the old layout's folders are kept", file=sys.stderr)
    elif report.deleted:
        print("deleted the old layout's " + ", ".join(report.deleted))


def add_export_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "export", help="write the analyst zone as a folder of plain Parquet files",
        description="Write one snapshot of the analyst zone to OUT for readers without an Iceberg client: "
                    "OUT/<source>/<YYYY-MM>.parquet with every column inside the files (stored_date a DATE for "
                    "pyarrow, pandas, polars and DuckDB alike), OUT/_common_metadata (the schema with column "
                    "descriptions) and OUT/_export.json (snapshot id, rows). Only live rows are written; the "
                    "table's own warehouse folder also holds replaced files until snapshot expiry, so do not read "
                    "it as Parquet. An earlier export in OUT is replaced; any other non-empty folder is refused.",
    )
    parser.add_argument("out", type=Path, metavar="OUT")
    add_lake_argument(parser)
    parser.add_argument("--snapshot", type=int, help="the snapshot id to export (default: the current one)")


def cmd_export(args: argparse.Namespace) -> int:
    from xapi_ingest.publish.export import export_analyst_zone

    try:
        export = export_analyst_zone(args.lake, args.out, args.snapshot)
    except ValueError as exc:  # a folder that is not an export, a snapshot that does not exist
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.UNUSABLE
    print(f"{export.table} at snapshot {export.snapshot_id}: {export.rows:,} row(s) in {export.files} file(s) "
          f"written to {args.out}")
    return ExitCode.OK


def add_verify_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "verify", help="check that the lake's tables agree with its ledger",
        description="Count each table and what the catalog database says it holds: statement rows, distinct ids "
                    "and registered ids; quarantine rows and keys; analyst rows and published batches. Exit 0 when "
                    "all agree, 1 when any differs (something wrote the tables around the pipeline). Commits "
                    "that land while it counts can make one line differ: run it again then.",
    )
    add_lake_argument(parser)


def cmd_verify(args: argparse.Namespace) -> int:
    from xapi_ingest.lake.audit import audit

    agreements = audit(args.lake)
    for agreement in agreements:
        verdict = "ok" if agreement.holds else "DIFFERS"
        print(f"{agreement.what:<48}{agreement.table:>14,}{agreement.ledger:>14,}  {verdict}")
    return ExitCode.OK if all(a.holds for a in agreements) else ExitCode.FINDINGS
