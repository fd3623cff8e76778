
"""The ``lsa`` and ``sequences`` subcommands of ``xapi-pipeline``.

Each command imports what it uses when it runs. ``lsa`` needs only numpy and ``pyarrow.csv``
(no pandas, scipy or ``pyarrow.compute``): on a million events its start-up would otherwise
cost more than its work.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from xapi_ingest.common.exit_codes import ExitCode
from xapi_ingest.lake.location import add_lake_argument


def add_parsers(commands: argparse._SubParsersAction) -> None:
    lsa = commands.add_parser(
        "lsa", help="lag-sequential analysis of a coded-events CSV",
        description="Lag-sequential analysis (Bakeman & Quera adjusted residuals) of CODED.csv with columns "
                    "group_id,seq_index,code in any row order. Pairs are counted within each group only.",
    )
    lsa.add_argument("csv", type=Path, metavar="CODED.csv")
    lsa.add_argument("--lag", type=int, default=1, help="distance between antecedent and consequent (default: %(default)s)")
    lsa.add_argument("--codes", help="comma-separated codes in matrix order; any other code is an error "
                                     "(default: the distinct codes, sorted)")
    lsa.add_argument("--structural-zeros", metavar="diagonal|A>B,...",
                     help="impossible cells: 'diagonal' (codes cannot repeat) or a list like 'A>B,B>A'")
    lsa.add_argument("--allison-liker", action="store_true",
                     help="OPT-IN: Allison–Liker z with simple code probabilities instead of the GSEQ table-margin form")
    lsa.add_argument("--threshold", type=float, default=1.96,
                     help="z above which a sequence is significant (default: %(default)s)")
    lsa.add_argument("--homogeneity", action="store_true", help="also test whether the groups share one transition structure")
    lsa.add_argument("--format", choices=("text", "json"), default="text")

    seq = commands.add_parser(
        "sequences", help="code lake statements into behaviour sequences and analyse them",
        description="Code the lake's statements with a coding scheme, build sequences per unit, run the "
                    "lag-sequential analysis per coding dimension, draw transition diagrams, cluster learners, "
                    "compare groups and write an HTML report, cluster-wide and per institution. Each run with "
                    "new statements or a changed scheme writes a new version under OUT/versions/ (OUT/LATEST "
                    "names it); a run with nothing new writes nothing and prints 'unchanged'.",
    )
    add_lake_argument(seq)
    seq.add_argument("--scheme", required=True, type=Path, help="coding scheme YAML (see config/sequences/scheme.yaml)")
    seq.add_argument("--out", required=True, type=Path, help="output directory")
    seq.add_argument("--zone", choices=("analyst", "restricted"), default="analyst",
                     help="lake zone to read; analyst (pseudonymized) unless real identities are needed (default: %(default)s)")
    seq.add_argument("--language", choices=("kk", "ru", "en"),
                     help="language of the cluster-wide report (default: the scheme's reports.default_language); "
                          "each institution's report follows reports.institution_languages")


def _structural_zeros(text: str | None) -> str | list[tuple[str, str]] | None:
    if text is None or text == "none":
        return None
    if text == "diagonal":
        return "diagonal"
    cells = []
    for item in text.split(","):
        source, sep, target = item.strip().partition(">")
        if not sep or not source or not target:
            raise ValueError(f"--structural-zeros: {item!r} is not FROM>TO")
        cells.append((source, target))
    return cells


def cmd_lsa(args: argparse.Namespace) -> int:
    from transforms.sequences.coded_csv import read_coded_csv
    from transforms.sequences.lsa import SequenceError, analyse, structural_zero_mask

    try:
        codes = tuple(c.strip() for c in args.codes.split(",")) if args.codes else None
        events = read_coded_csv(args.csv, codes)
        pairs = events.pairs(args.lag)
        zeros = structural_zero_mask(events.codes, _structural_zeros(args.structural_zeros))
        result = analyse(pairs.pooled_table(len(events.codes)), events.codes, args.lag, zeros,
                         pairs.event_counts if args.allison_liker else None)
    except (SequenceError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.UNUSABLE
    homogeneity = None
    if args.homogeneity:
        from transforms.sequences.homogeneity import Homogeneity

        accumulator = Homogeneity(len(events.codes))
        accumulator.add_pairs(pairs.unit, pairs.antecedent, pairs.consequent)
        homogeneity = accumulator.test(result.freq)
    if args.format == "json":
        document = result.as_dict(args.threshold)
        if homogeneity is not None:
            document["homogeneity"] = homogeneity.as_dict()
        print(json.dumps(document))
    else:
        from transforms.sequences.text import text_report

        print(text_report(result, args.threshold, homogeneity))
    return ExitCode.OK


def cmd_sequences(args: argparse.Namespace) -> int:
    from transforms.sequences.run import run_sequences
    from transforms.sequences.scheme import SchemeError

    try:
        summary = run_sequences(args.lake, args.scheme, args.out, zone=args.zone, language=args.language)
    except (SchemeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.UNUSABLE
    print(summary.describe())
    return ExitCode.OK
