"""``xapi-pipeline``: the command line over the library (the Airflow DAGs call the same code)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import msgspec

from transforms.credit.cli import add_credit_parser, cmd_credit
from xapi_ingest.ingest import DEFAULT_BATCH_SIZE, IngestCounts, Ingestor
from xapi_ingest.lake import Lake
from xapi_ingest.privacy import KEY_ENV, MissingKeyError, Pseudonymizer, load_key, publish
from xapi_ingest.reader import InputError, RawRecord, read_records, records_with_origin
from xapi_ingest.rules import RULES
from xapi_ingest.samples import realistic_statements
from xapi_ingest.schema import QUARANTINE_COLUMNS, STATEMENT_COLUMNS
from xapi_ingest.validator import Issue, StatementValidator

EXIT_OK, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2
_VERSIONS = ("auto", "1.0.3", "2.0.0")


def _add_version_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--xapi-version", choices=_VERSIONS, default="auto",
        help="spec version to validate against; 'auto' follows each statement's own 'version' "
             "(default: %(default)s)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xapi-pipeline",
        description="Validate xAPI statements, ingest them into a Parquet lake and query it.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser(
        "validate", help="check statements against xAPI 1.0.3 / 2.0.0",
        description="Validate every statement in FILE(s): a JSON object, a JSON array or NDJSON, "
                    "optionally gzipped. Exit 0 if all are valid, 1 if any is invalid, 2 if input "
                    "cannot be read.",
    )
    validate.add_argument("files", nargs="+", type=Path, metavar="FILE")
    validate.add_argument("--format", choices=("text", "json"), default="text",
                          help="json: one JSON line per statement (default: %(default)s)")
    _add_version_option(validate)

    ingest = commands.add_parser(
        "ingest-file", help="validate and write a file of statements into the lake",
        description="Stream FILE into the lake in bounded memory: valid statements are upserted "
                    "by id, invalid ones quarantined with their reasons. Safe to re-run.",
    )
    ingest.add_argument("file", type=Path, metavar="FILE")
    ingest.add_argument("--source", required=True, help="source id, [a-z0-9-]+ (a partition of the lake)")
    ingest.add_argument("--lake", required=True, type=Path, help="lake root directory")
    ingest.add_argument("--tolerate", action="append", default=[], metavar="RULE",
                        help="accept statements whose only issues are this rule id (repeatable)")
    ingest.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                        help="statements per write (bounds memory; default: %(default)s)")
    ingest.add_argument("--no-publish", action="store_true",
                        help=f"do not refresh the analyst zone (it needs {KEY_ENV})")
    _add_version_option(ingest)

    pub = commands.add_parser(
        "publish", help="write the pseudonymized analyst zone",
        description=f"Pseudonymize new restricted files into analyst/ with the key in {KEY_ENV}.",
    )
    pub.add_argument("--lake", required=True, type=Path, help="lake root directory")
    pub.add_argument("--rebuild", action="store_true", help="rewrite the whole zone (after a key rotation)")

    sql = commands.add_parser(
        "sql", help="run DuckDB SQL over the lake",
        description="Run a query over the views 'statements' and 'quarantine' (restricted zone) "
                    "or 'statements' (analyst zone).",
    )
    sql.add_argument("query", metavar="SQL")
    sql.add_argument("--lake", required=True, type=Path, help="lake root directory")
    sql.add_argument("--zone", choices=("restricted", "analyst"), default="restricted")
    sql.add_argument("--format", choices=("table", "csv", "json"), default="table")

    commands.add_parser("rules", help="list validation rule ids",
                        description="List every rule id with what it checks.")
    schema = commands.add_parser("schema", help="print the documented lake schema",
                                 description="Print each column of a lake table with its meaning.")
    schema.add_argument("--table", choices=("statements", "quarantine"), default="statements")

    sample = commands.add_parser("sample", help="write deterministic sample statements (NDJSON)",
                                 description="Write realistic Moodle- and Open edX-like statements.")
    sample.add_argument("--out", required=True, type=Path)
    sample.add_argument("--count", type=int, default=1000)
    add_credit_parser(commands)
    return parser


def cmd_validate(args: argparse.Namespace) -> int:
    validator = StatementValidator(args.xapi_version)
    total = invalid = unreadable = 0
    out = sys.stdout
    for path in args.files:
        try:
            for record in read_records(path):
                total += 1
                if record.error is not None:
                    issues = [Issue("$", "json.malformed", record.error)]
                    unreadable += 1
                else:
                    issues = validator.validate(record.value)
                invalid += bool(issues) and record.error is None
                _print_verdict(out, args.format, path, record, issues)
        except InputError as exc:
            print(f"error: {exc}", file=sys.stderr)
            unreadable += 1
    if args.format == "text":
        print(f"{total} statement(s): {total - invalid - unreadable} valid, {invalid} invalid, "
              f"{unreadable} unreadable", file=sys.stderr)
    if unreadable:
        return EXIT_UNREADABLE
    return EXIT_INVALID if invalid else EXIT_OK


def _print_verdict(out, fmt: str, path: Path, record: RawRecord, issues: list[Issue]) -> None:
    if fmt == "json":
        out.write(json.dumps({"file": str(path), "index": record.index, "valid": not issues,
                              "errors": [issue.as_dict() for issue in issues]}) + "\n")
    elif issues:
        out.write(f"{path}:{record.line} statement {record.index}: INVALID\n")
        for issue in issues:
            out.write(f"  {issue.path}: {issue.message} [{issue.rule}]\n")


def cmd_ingest(args: argparse.Namespace) -> int:
    lake = Lake(args.lake)
    try:
        ingestor = Ingestor(lake, args.source, args.xapi_version, args.tolerate, args.batch_size)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    try:
        counts = _ingest_with_progress(ingestor, args.file)
    except InputError as exc:
        print(f"error: {exc} (batches before this point are committed; re-run after fixing)", file=sys.stderr)
        return EXIT_UNREADABLE
    _print_counts(counts)
    if not args.no_publish:
        try:
            written = publish(lake, Pseudonymizer(load_key()))
            print(f"analyst zone: {len(written)} new file(s)")
        except MissingKeyError as exc:
            print(f"analyst zone not published: {exc}", file=sys.stderr)
    return EXIT_OK


def _ingest_with_progress(ingestor: Ingestor, path: Path) -> IngestCounts:
    if not sys.stderr.isatty():
        return ingestor.ingest(records_with_origin([path]))
    from rich.progress import Progress

    with Progress(transient=True) as progress:
        task = progress.add_task(f"ingesting {path.name}", total=None)
        return ingestor.ingest(
            records_with_origin([path]), on_batch=lambda counts: progress.update(task, completed=counts.read)
        )


def _print_counts(counts: IngestCounts) -> None:
    print(
        f"read {counts.read}, valid {counts.valid}, tolerated {counts.tolerated}, "
        f"quarantined {counts.quarantined}, duplicates {counts.duplicates}, conflicts {counts.conflicts} "
        f"in {counts.elapsed_seconds:.2f} s ({counts.statements_per_second:,.0f} statements/s)"
    )


def cmd_publish(args: argparse.Namespace) -> int:
    try:
        written = publish(Lake(args.lake), Pseudonymizer(load_key()), rebuild=args.rebuild)
    except (MissingKeyError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    print(f"analyst zone: {len(written)} new file(s)")
    return EXIT_OK


def cmd_sql(args: argparse.Namespace) -> int:
    import duckdb

    from xapi_ingest.query import connect

    con = connect(Lake(args.lake), args.zone)
    try:
        relation = con.sql(args.query)
    except duckdb.Error as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    if relation is None:
        return EXIT_OK
    if args.format == "table":
        relation.show(max_rows=1000, max_width=200)
    else:
        frame = relation.df()
        sys.stdout.write(frame.to_csv(index=False) if args.format == "csv"
                         else frame.to_json(orient="records", lines=True, date_format="iso"))
    return EXIT_OK


def cmd_rules(_: argparse.Namespace) -> int:
    width = max(map(len, RULES))
    for rule, text in RULES.items():
        print(f"{rule:<{width}}  {text}")
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    columns = STATEMENT_COLUMNS if args.table == "statements" else QUARANTINE_COLUMNS
    for name, dtype, text in columns:
        print(f"{name:<26} {dtype!s:<24} {text}")
    return EXIT_OK


def cmd_sample(args: argparse.Namespace) -> int:
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "wb") as out:
        for statement in realistic_statements(args.count):
            out.write(msgspec.json.encode(statement) + b"\n")
    print(f"wrote {args.count} statements to {args.out}")
    return EXIT_OK


_COMMANDS = {
    "validate": cmd_validate, "ingest-file": cmd_ingest, "publish": cmd_publish, "sql": cmd_sql,
    "rules": cmd_rules, "schema": cmd_schema, "sample": cmd_sample, "credit": cmd_credit,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return _COMMANDS[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
