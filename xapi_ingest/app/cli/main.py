"""``xapi-pipeline``: the command line over the library (the Airflow DAGs call the same code)."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from transforms.credit.cli import add_credit_parser
from transforms.sequences import cli as sequences_cli
from xapi_ingest.app.cli.analytics import add_analytics_parsers
from xapi_ingest.app.cli.lake import add_export_parser, add_lake_parsers, add_verify_parser
from xapi_ingest.app.cli.quality import add_quality_parsers
from xapi_ingest.app.cli.sources import add_sources_parser
from xapi_ingest.common.atomic import WriteError
from xapi_ingest.common.defaults import DEFAULT_BATCH_SIZE, usable_cores
from xapi_ingest.common.defaults import PSEUDONYM_KEY_ENV as KEY_ENV
from xapi_ingest.common.exit_codes import ExitCode
from xapi_ingest.lake.location import LakeLocationError, add_lake_argument, safe_location

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from xapi_ingest.lake.ingest import IngestCounts, Ingestor
    from xapi_ingest.lake.store import Lake
    from xapi_ingest.xapi.reader import RawRecord
    from xapi_ingest.xapi.validator import Issue

_VERSIONS = ("auto", "1.0.3", "2.0.0")


def _add_version_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--xapi-version", choices=_VERSIONS, default="auto",
        help="spec version to validate against; 'auto' follows each statement's own 'version' "
             "(default: %(default)s)",
    )


def _add_skip_gate_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--skip-quality-gate", action="store_true",
                        help="publish batches the data-quality gate has not checked (said in the output; the next "
                             "`check` still checks them and withdraws a failing batch)")


def _existing_file(text: str) -> Path:
    if not Path(text).is_file():
        raise argparse.ArgumentTypeError(f"no such file: {text}")
    return Path(text)


def _positive(text: str) -> int:
    """argparse type: a whole number of at least 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


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
    add_lake_argument(ingest)
    ingest.add_argument("--tolerate", action="append", default=[], metavar="RULE",
                        help="accept statements whose only issues are this rule id (repeatable)")
    ingest.add_argument("--batch-size", type=_positive, default=DEFAULT_BATCH_SIZE,
                        help="statements per write (bounds memory; default: %(default)s)")
    ingest.add_argument("--workers", type=_positive, default=usable_cores(),
                        help="processes that read and validate a plain NDJSON file while this one writes "
                             "(default: the usable cores, %(default)s; 1 = one process). A gzip file, a JSON "
                             "array and a file of a few thousand statements use one process. (A pull judges pages in "
                             "one worker process when a core is free.)")
    ingest.add_argument("--no-publish", action="store_true",
                        help=f"do not check and publish to the analyst zone (it needs {KEY_ENV})")
    _add_skip_gate_option(ingest)
    _add_version_option(ingest)

    pub = commands.add_parser(
        "publish", help="write the pseudonymized analyst zone",
        description=f"Run the data-quality gate over unchecked batches, then pseudonymize the restricted "
                    f"batches that passed into the analyst zone with the key in {KEY_ENV}. Exit 1 when a batch is held.",
    )
    add_lake_argument(pub)
    pub.add_argument("--rebuild", action="store_true",
                     help="rewrite the whole zone (after a key rotation, or to re-derive teacher keys from a new roster)")
    pub.add_argument("--roster", type=_existing_file, metavar="CSV",
                     help="teacher roster giving each statement a teacher_key and institution_id "
                          "(default: XAPI_CREDIT_ROSTER, the roster credit reads, where it exists)")
    _add_skip_gate_option(pub)

    sql = commands.add_parser(
        "sql", help="run DuckDB SQL over the lake",
        description="Run a read-only query over the analyst zone's views 'statements', "
                    "'effective_statements' and 'voided_ids' (pseudonymized). The query can read these "
                    "views and nothing else: no files, COPY, ATTACH, INSTALL/LOAD or SET. "
                    "--zone restricted adds 'quarantine' and shows raw JSON and real identities.",
    )
    sql.add_argument("query", metavar="SQL")
    add_lake_argument(sql)
    sql.add_argument("--zone", choices=("analyst", "restricted"), default="analyst",
                     help="analyst (pseudonymized) unless raw JSON or real identities are needed (default: %(default)s)")
    sql.add_argument("--format", choices=("table", "csv", "json"), default="table")

    commands.add_parser("rules", help="list validation rule ids",
                        description="List every rule id with what it checks.")
    schema = commands.add_parser("schema", help="print the documented lake schema",
                                 description="Print each column of a lake table with its type and meaning, "
                                             "partition columns included (with their Iceberg transform).")
    schema.add_argument("--table", choices=("statements", "quarantine", "analyst_statements", "void_ledger"),
                        default="statements")

    pull = commands.add_parser(
        "pull", help="pull new statements from configured sources (LRSs, file drops) into the lake",
        description="Pull each selected source incrementally (an LRS since its watermark, a file drop its "
                    "new and changed files), validate and upsert into the lake, then move its state. Safe to "
                    "interrupt and re-run. Exit 0 when every source pulled, 1 when any failed (the others still run).",
    )
    pull.add_argument("--config", required=True, type=Path, help="sources.yaml")
    which = pull.add_mutually_exclusive_group(required=True)
    which.add_argument("--source", action="append", metavar="ID", help="source id (repeatable)")
    which.add_argument("--all", action="store_true", help="every configured source")
    add_lake_argument(pull)
    pull.add_argument("--max-pages", type=int,
                      help="stop after this many pages (a file drop: files); the rest is pulled next run")
    pull.add_argument("--max-minutes", type=float, help="stop after this many minutes; the rest is pulled next run")
    pull.add_argument("--format", choices=("text", "json"), default="text", help="summary format")
    add_sources_parser(commands)

    sample = commands.add_parser("sample", help="write deterministic sample statements (NDJSON)",
                                 description="Write realistic Moodle- and Open edX-like statements.")
    sample.add_argument("--out", required=True, type=Path)
    sample.add_argument("--count", type=int, default=1000)
    add_quality_parsers(commands)
    add_lake_parsers(commands)
    add_verify_parser(commands)
    add_export_parser(commands)
    sequences_cli.add_parsers(commands)
    add_credit_parser(commands)
    add_analytics_parsers(commands)
    return parser


def cmd_validate(args: argparse.Namespace) -> int:
    from xapi_ingest.xapi.reader import UNREADABLE_RULES, InputError, read_records
    from xapi_ingest.xapi.validator import Issue, StatementValidator

    validator = StatementValidator(args.xapi_version)
    total = invalid = unreadable = 0
    out = sys.stdout
    for path in args.files:
        try:
            for record in read_records(path):
                total += 1
                if record.error is None:
                    issues = validator.validate(record.value)
                    invalid += bool(issues)
                else:
                    issues = [Issue("$", record.rule, record.error)]
                    if record.rule in UNREADABLE_RULES:
                        unreadable += 1
                    else:  # JSON the lake cannot hold (a huge number, a surrogate, deep nesting)
                        invalid += 1
                _print_verdict(out, args.format, path, record, issues)
        except InputError as exc:
            print(f"error: {exc}", file=sys.stderr)
            unreadable += 1
    if args.format == "text":
        print(f"{total} statement(s): {total - invalid - unreadable} valid, {invalid} invalid, "
              f"{unreadable} unreadable", file=sys.stderr)
    if unreadable:
        return ExitCode.UNUSABLE
    return ExitCode.FINDINGS if invalid else ExitCode.OK


def _print_verdict(out, fmt: str, path: Path, record: RawRecord, issues: list[Issue]) -> None:
    if fmt == "json":
        out.write(json.dumps({"file": str(path), "index": record.index, "valid": not issues,
                              "errors": [issue.as_dict() for issue in issues]}) + "\n")
    elif issues:
        out.write(f"{path}:{record.line} statement {record.index}: INVALID\n")
        for issue in issues:
            out.write(f"  {issue.path}: {issue.message} [{issue.rule}]\n")


def cmd_ingest(args: argparse.Namespace) -> int:
    from concurrent.futures.process import BrokenProcessPool

    from xapi_ingest.lake.ingest import Ingestor
    from xapi_ingest.publish.privacy import MissingKeyError
    from xapi_ingest.xapi.reader import InputError

    lake: Lake = args.lake
    try:
        ingestor = Ingestor(lake, args.source, args.xapi_version, args.tolerate, args.batch_size,
                            keep_last=not args.no_publish)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.UNUSABLE
    breaks: list[str] = []
    try:
        counts = _ingest_with_progress(ingestor, args.file, args.workers, breaks)
    except InputError as exc:
        print(f"error: {exc} (batches before this point are committed; re-run after fixing)", file=sys.stderr)
        return ExitCode.UNUSABLE
    except BrokenProcessPool:  # a worker killed (out of memory, a signal): what was committed stays
        print("error: a worker process died (out of memory?); batches before this point are committed; "
              "re-run, with fewer --workers or a smaller --batch-size", file=sys.stderr)
        return ExitCode.UNUSABLE
    _print_counts(counts)
    for message in breaks:
        print(f"error: {message} (everything before it is committed, the break is quarantined)", file=sys.stderr)
    status = ExitCode.FINDINGS if breaks else ExitCode.OK
    if args.no_publish:
        return status
    try:
        return max(status, _gate_then_publish(lake, args, fresh=ingestor.last_written))
    except (MissingKeyError, ValueError) as exc:  # no key, or another key than the analyst zone's
        print(f"analyst zone not published: {exc}", file=sys.stderr)
    return status


def _noting_breaks(records: Iterator[tuple[str, RawRecord]], breaks: list[str]) -> Iterator[tuple[str, RawRecord]]:
    """Pass records through, remembering where the input broke off, for the exit code."""
    from xapi_ingest.xapi.reader import TRUNCATED

    for origin, record in records:
        if record.rule == TRUNCATED and record.error is not None:
            breaks.append(record.error)
        yield origin, record


def _ingest_with_progress(ingestor: Ingestor, path: Path, workers: int, breaks: list[str]) -> IngestCounts:
    from xapi_ingest.lake.parallel import ingest_file
    from xapi_ingest.xapi.reader import records_with_origin

    def records() -> Iterator[tuple[str, RawRecord]]:
        return _noting_breaks(records_with_origin([path]), breaks)

    if not sys.stderr.isatty():
        return ingest_file(ingestor, path, workers, records)
    from rich.progress import Progress

    with Progress(transient=True) as progress:
        task = progress.add_task(f"ingesting {path.name}", total=None)
        return ingest_file(ingestor, path, workers, records,
                           on_batch=lambda counts: progress.update(task, completed=counts.read))


def _print_counts(counts: IngestCounts) -> None:
    print(
        f"read {counts.read}, valid {counts.valid}, tolerated {counts.tolerated}, "
        f"quarantined {counts.quarantined}, duplicates {counts.duplicates}, conflicts {counts.conflicts} "
        f"in {counts.elapsed_seconds:.2f} s ({counts.statements_per_second:,.0f} statements/s)"
    )


def cmd_publish(args: argparse.Namespace) -> int:
    from xapi_ingest.app.steps import pseudonymizer
    from xapi_ingest.publish.privacy import MissingKeyError, publish

    lake: Lake = args.lake
    if args.roster:  # the one setting the publish steps read, so --rebuild and the gate's publish agree
        args.settings = args.settings.model_copy(update={"credit_roster": args.roster})
    try:
        if args.rebuild:  # after a key rotation: the zone is rewritten from what passed the gate
            publish(lake, pseudonymizer(args.settings), rebuild=True)
        return _gate_then_publish(lake, args)
    except (MissingKeyError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.UNUSABLE


def _gate_then_publish(lake: Lake, args: argparse.Namespace, fresh: pa.Table | None = None) -> int:
    """Check unchecked batches, publish what passed, and say what happened (and what a flag skipped);
    ``fresh`` holds statement rows this process just committed (published from memory)."""
    from xapi_ingest.app.steps import gate_then_publish, quality_reports
    from xapi_ingest.quality.suites import SuiteError

    try:
        outcome = gate_then_publish(lake, args.settings, reports=quality_reports(args.settings),
                                    skip_gate=args.skip_quality_gate, fresh=fresh)
    except SuiteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.UNUSABLE
    if outcome.report is None:
        print(f"quality gate SKIPPED (--skip-quality-gate): {outcome.unchecked_published} unchecked batch(es) "
              "published to the analyst zone; `xapi-pipeline check` checks them and withdraws a failing batch")
    elif outcome.gate_error is None:
        checked = len(outcome.report.batches)
        print(f"quality gate: {checked} batch(es) checked, all passed" if checked else
              "quality gate: no unchecked batch")
    else:
        print(str(outcome.gate_error), file=sys.stderr)
    print(f"analyst zone: {len(outcome.published)} batch(es) published")
    return ExitCode.FINDINGS if outcome.gate_error else ExitCode.OK


def cmd_sql(args: argparse.Namespace) -> int:
    import duckdb

    from xapi_ingest.lake.query import connect

    if args.zone == "restricted":
        print("note: restricted zone (--zone restricted): raw JSON, real identities and the quarantine",
              file=sys.stderr)
    try:
        with connect(args.lake, args.zone, sealed=True) as con:
            relation = con.sql(args.query)
            if relation is not None:
                _print_relation(relation, args.format)
    except duckdb.Error as exc:  # one line: DuckDB appends the offending SQL and hints below it
        print(f"error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return ExitCode.UNUSABLE
    return ExitCode.OK


def _print_relation(relation: duckdb.DuckDBPyRelation, fmt: str) -> None:
    if fmt == "table":
        relation.show(max_rows=1000, max_width=200)
    elif fmt == "csv":
        sys.stdout.write(_nested_as_json(relation.to_arrow_table()).to_pandas().to_csv(index=False))
    else:
        sys.stdout.write(relation.df().to_json(orient="records", lines=True, date_format="iso"))


def _nested_as_json(table: pa.Table) -> pa.Table:
    """Lists and structs as JSON text, so a CSV cell reads back with any JSON parser (not a Python repr)."""
    import pyarrow as pa

    for index, field in enumerate(table.schema):
        if pa.types.is_nested(field.type):
            text = [None if value is None else json.dumps(value, default=str) for value in table.column(index).to_pylist()]
            table = table.set_column(index, pa.field(field.name, pa.string()), pa.array(text, pa.string()))
    return table


def cmd_rules(_: argparse.Namespace) -> int:
    from xapi_ingest.xapi.rules import RULES

    width = max(map(len, RULES))
    for rule, text in RULES.items():
        print(f"{rule:<{width}}  {text}")
    return ExitCode.OK


def cmd_schema(args: argparse.Namespace) -> int:
    """Every column a reader gets, the partition columns too, each with how Iceberg partitions by it."""
    from xapi_ingest.lake.schema import TABLES

    spec = TABLES[args.table]
    partitions = {column: f"partition field {name} = {transform}({column})"
                  for column, transform, name in spec.partition_fields()}
    for field in spec.schema:
        text = (field.metadata or {}).get(b"description", b"").decode()
        note = f" [{partitions[field.name]}]" if field.name in partitions else ""
        print(f"{field.name:<26} {field.type!s:<24} {text}{note}")
    return ExitCode.OK


def cmd_sample(args: argparse.Namespace) -> int:
    import msgspec

    from xapi_ingest.xapi.samples import realistic_statements

    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "wb") as out:
        for statement in realistic_statements(args.count):
            out.write(msgspec.json.encode(statement) + b"\n")
    print(f"wrote {args.count} statements to {args.out}")
    return ExitCode.OK


def cmd_pull(args: argparse.Namespace) -> int:
    from xapi_ingest.common.config import ConfigError
    from xapi_ingest.pull.runner import pull_sources

    try:
        summaries, failures = pull_sources(
            args.config, args.lake, None if args.all else args.source,
            max_pages=args.max_pages, max_minutes=args.max_minutes, progress=sys.stderr.isatty(),
        )
    except (ConfigError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.UNUSABLE
    for summary in summaries:
        if args.format == "json":
            print(json.dumps(summary.as_dict()))
        else:
            print("\n".join(summary.lines()))
    for source_id, message in failures:
        print(f"error: {source_id}: {message}", file=sys.stderr)
    return ExitCode.FINDINGS if failures else ExitCode.OK


# Each command's code is imported when it runs, so `--help` and a small command do not pay for
# pyarrow, pyiceberg, pandas, scipy and Great Expectations.
_COMMANDS = {
    "validate": f"{__name__}:cmd_validate", "ingest-file": f"{__name__}:cmd_ingest",
    **{name: f"{__name__}:cmd_{name}" for name in ("publish", "sql", "pull", "rules", "schema", "sample")},
    **{name: f"xapi_ingest.app.cli.quality:cmd_{name}" for name in ("check", "release")},
    **{name: f"xapi_ingest.app.cli.lake:cmd_{name}" for name in ("compact", "migrate", "verify", "export")},
    "lsa": "transforms.sequences.cli:cmd_lsa", "sequences": "transforms.sequences.cli:cmd_sequences",
    "credit": "transforms.credit.cli:cmd_credit", "analytics": "xapi_ingest.app.cli.analytics:cmd_analytics",
    "sources": "xapi_ingest.app.cli.sources:cmd_sources",
}


def _command(name: str) -> Callable[[argparse.Namespace], int]:
    module, _, function = _COMMANDS[name].partition(":")
    return getattr(importlib.import_module(module), function)


# Commands that only read or tidy a lake: a mistyped --lake is an error, not a new empty lake.
_READERS = frozenset({"sql", "export", "check", "release", "verify", "compact"})  # credit checks its config first


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return _run(args)
    except LakeLocationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.UNUSABLE
    except WriteError as exc:  # a full disk: every file written before is whole, so re-running is safe
        print(f"error: cannot write {exc.filename}: {exc.strerror} (files written before are intact; "
              "free space and re-run)", file=sys.stderr)
        return ExitCode.UNUSABLE


def _run(args: argparse.Namespace) -> int:
    """Read the settings and open the lake the command names (if any), then run the command;
    configuration and storage errors are one line. Commands without a lake need neither."""
    location = getattr(args, "lake", None)
    if location is None:
        return _command(args.command)(args)
    from sqlalchemy.exc import SQLAlchemyError

    from xapi_ingest.app.settings import Settings
    from xapi_ingest.common.config import ConfigError

    try:
        args.settings = Settings.from_env()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.UNUSABLE
    try:
        args.lake = args.settings.open_lake(location, args.catalog)
        if args.command in _READERS and not args.lake.exists():
            print(f"error: no lake at {location}: ingest or pull statements into it first", file=sys.stderr)
            return ExitCode.UNUSABLE
        return _command(args.command)(args)
    except (WriteError, LakeLocationError):
        raise
    except (OSError, SQLAlchemyError) as exc:  # an unreachable bucket or catalog database, refused credentials
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"error: {reason} (lake {safe_location(location)})", file=sys.stderr)
        return ExitCode.UNUSABLE


if __name__ == "__main__":
    sys.exit(main())
