"""The ``credit`` subcommand; heavy imports wait until it runs so ``xapi-pipeline --help`` stays fast."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from xapi_ingest.common.exit_codes import ExitCode
from xapi_ingest.lake.location import add_lake_argument


def add_credit_parser(commands: argparse._SubParsersAction) -> None:
    credit = commands.add_parser(
        "credit", help="compute informal-learning credit, summaries and institution reports",
        description="Turn the lake's statements into a credit ledger (one row per decision, with its evidence), "
                    "teacher and institution summaries, continuity flags, and per-institution reports "
                    "(HTML, CSV, XLSX, statements of participation). A run that changes anything writes a new "
                    "version under OUT/versions/ that names the version it supersedes; an unchanged run writes nothing.",
    )
    add_lake_argument(credit, " (its restricted zone is read)")
    credit.add_argument("--policy", required=True, type=Path, help="credit policy YAML (see config/credit/policy.yaml)")
    credit.add_argument("--registry", required=True, type=Path, help="resource registry CSV")
    credit.add_argument("--roster", required=True, type=Path, help="teacher roster CSV")
    credit.add_argument("--out", required=True, type=Path, help="output directory (versions accumulate here)")
    credit.add_argument("--no-statements", action="store_true",
                        help="skip the per-teacher statements of participation")


def cmd_credit(args: argparse.Namespace) -> int:
    from transforms.credit.run import run_credit
    from xapi_ingest.common.config import ConfigError

    try:
        summary = run_credit(args.lake, args.policy, args.registry, args.roster, args.out,
                             statements_of_participation=not args.no_statements)
    except (ConfigError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.UNUSABLE
    print("\n".join(summary.lines()))
    for warning in summary.warnings():
        print(warning, file=sys.stderr)
    return ExitCode.OK
