"""``xapi-pipeline check`` and ``release``: the data-quality gate from the command line.

Great Expectations takes seconds to import, so it is imported only when ``check`` runs (like
every command's code: see ``_COMMANDS`` in :mod:`xapi_ingest.app.cli.main`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from xapi_ingest.common.exit_codes import ExitCode
from xapi_ingest.lake.location import add_lake_argument


def add_quality_parsers(commands: argparse._SubParsersAction) -> None:
    check = commands.add_parser(
        "check", help="run the data-quality suite over ingest batches (the publish gate)",
        description="Validate restricted-zone batches with the Great Expectations suite. A batch failing a "
                    "critical expectation is held: publish skips it until it passes or is released. "
                    "Exit 0 when every batch passed (warnings allowed), 1 when any is held, 2 on errors.",
    )
    add_lake_argument(check)
    check.add_argument("--batch", action="append", metavar="ID",
                       help="ingest batch id (repeatable; default: every batch not yet checked, published or not)")
    check.add_argument("--reports", type=Path, default=None,
                       help="folder for Data Docs and JSON results (default: $XAPI_REPORTS, else LAKE/_quality/reports)")
    check.add_argument("--suite", type=Path, default=None,
                       help="suite file (default: $XAPI_EXPECTATIONS/statements.json, else expectations/statements.json)")

    release = commands.add_parser(
        "release", help="lift the hold on a batch so publish includes it",
        description="Remove the hold a failed critical check put on a batch (after inspection, when the "
                    "data is judged usable). Without --batch, list the held batches and why.",
    )
    add_lake_argument(release)
    release.add_argument("--batch", action="append", metavar="ID", help="held batch id (repeatable)")


def cmd_check(args: argparse.Namespace) -> int:
    from xapi_ingest.app.steps import quality_reports
    from xapi_ingest.quality.gate import QualityGateError, check_batches
    from xapi_ingest.quality.suites import SuiteError

    try:
        settings = args.settings
        reports = args.reports or quality_reports(settings)
        report = check_batches(args.lake, args.batch, reports, suite_path=args.suite or settings.suite_path)
    except QualityGateError as exc:
        print(str(exc), file=sys.stderr)
        return ExitCode.FINDINGS
    except (SuiteError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.UNUSABLE
    print(report.summary() if report.batches else "no unchecked batch")
    return ExitCode.OK


def cmd_release(args: argparse.Namespace) -> int:
    from xapi_ingest.lake.holds import BatchHolds

    holds = BatchHolds(args.lake)
    held = holds.held()
    if not args.batch:
        for batch_id, reason in held.items():
            checks = ", ".join(finding["check"] for finding in reason.get("critical", []))
            print(f"{batch_id}: held at {reason.get('held_at')} for {checks or 'unknown reasons'}")
        if not held:
            print("no batch is held")
        return ExitCode.OK
    unknown = [batch_id for batch_id in args.batch if batch_id not in held]
    if unknown:
        print(f"error: not held: {', '.join(unknown)} (held: {', '.join(held) or 'none'})", file=sys.stderr)
        return ExitCode.UNUSABLE
    for batch_id in args.batch:
        holds.release(batch_id)
        print(f"released {batch_id} (was held for: {json.dumps([f['check'] for f in held[batch_id]['critical']])}); "
              "run `xapi-pipeline publish` to publish it")
    return ExitCode.OK
