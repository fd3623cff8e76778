"""``make demo``: the statement core end to end on generated data, safe to run twice.

It writes a Moodle-like and an Open edX-like export (with the invalid, duplicated and
producer-quirk statements real platforms send), ingests both into a local lake, publishes the
pseudonymized analyst zone and prints where everything is. A second run changes nothing in the
lake and says so: every statement comes back as a duplicate.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
from pathlib import Path

from xapi_ingest.ingest import IngestCounts, Ingestor
from xapi_ingest.lake import Lake
from xapi_ingest.privacy import KEY_ENV, Pseudonymizer, publish
from xapi_ingest.query import connect
from xapi_ingest.reader import records_with_origin
from xapi_ingest.samples import moodle_statement, openedx_statement

DEMO_KEY = b"demo-only-pseudonym-key-not-for-production"
_COUNT_COLUMNS = ("read", "valid", "tolerated", "quarantined", "duplicates", "conflicts")


def _with_flaws(statements: list[dict], rng: random.Random) -> list[str]:
    """NDJSON lines with the faults of real exports: invalid, duplicated and malformed records."""
    lines = [json.dumps(s) for s in statements]
    broken_score = copy.deepcopy(statements[3])
    broken_score["id"] = "9b7a6f10-2c0d-4e8b-9a1f-3d5c7e9b1a20"
    broken_score["result"] = {"score": {"min": 0, "max": 0, "raw": 0}}  # Open edX's zero-weight problem
    no_scheme = copy.deepcopy(statements[5])
    no_scheme["id"] = "1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5"
    no_scheme["object"]["id"] = "exam-attempt-42"
    lines += [json.dumps(broken_score), json.dumps(no_scheme), '{"actor": {"mbox": "mailto:cut@off', lines[0]]
    rng.shuffle(lines)
    return lines


def _write_exports(folder: Path) -> dict[str, Path]:
    rng = random.Random(2026)
    folder.mkdir(parents=True, exist_ok=True)
    moodle = [moodle_statement(rng, n) for n in range(0, 3000, 2)]
    edx = [openedx_statement(rng, n) for n in range(1, 3000, 2)]
    group_activity = copy.deepcopy(edx[0])
    group_activity["id"] = "7e6d5c4b-3a29-4817-b6f5-e4d3c2b1a098"
    group_activity["object"]["objectType"] = "GroupActivity"  # a known Open edX quirk, tolerated below
    edx.append(group_activity)
    exports = {"moodle-demo": folder / "moodle-export.ndjson", "openedx-demo": folder / "openedx-export.ndjson"}
    for path, statements in zip(exports.values(), (moodle, edx), strict=True):
        path.write_text("\n".join(_with_flaws(statements, rng)) + "\n")
    return exports


def run(out: Path) -> dict[str, IngestCounts]:
    lake = Lake(out / "lake")
    exports = _write_exports(out / "exports")
    tolerate = {"moodle-demo": [], "openedx-demo": ["object-type.invalid"]}
    results = {}
    for source, path in exports.items():
        ingestor = Ingestor(lake, source, tolerate=tolerate[source])
        results[source] = ingestor.ingest(records_with_origin([path]))
    key = os.environ.get(KEY_ENV, "").encode() or DEMO_KEY
    publish(lake, Pseudonymizer(key))
    _report(lake, results, key == DEMO_KEY)
    return results


def _report(lake: Lake, results: dict[str, IngestCounts], demo_key: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=110)
    table = Table(title="ingest")
    table.add_column("source")
    for column in _COUNT_COLUMNS:
        table.add_column(column, justify="right")
    for source, counts in results.items():
        table.add_row(source, *(str(getattr(counts, column)) for column in _COUNT_COLUMNS))
    console.print(table)
    with connect(lake) as con:
        total = con.execute("SELECT count(*) FROM statements").fetchone()[0]
        reasons = con.execute(
            "SELECT source, rule, count(*) FROM (SELECT source, unnest(rules) AS rule FROM quarantine) "
            "GROUP BY ALL ORDER BY ALL"
        ).fetchall()
    console.print(f"statements in the lake: {total}")
    for source, rule, count in reasons:
        console.print(f"  quarantined in {source}: {count} x {rule}")
    if demo_key:
        console.print(f"[yellow]analyst zone pseudonymized with the demo key; set {KEY_ENV} for real data[/]")
    root = lake.root
    console.print(f"""
restricted lake : {root / 'statements'}
quarantine      : {root / 'quarantine'}
analyst zone    : {root / 'analyst' / 'statements'}
try             : .venv/bin/xapi-pipeline sql --lake {root} "SELECT verb_display, count(*) FROM statements GROUP BY 1"
                  .venv/bin/xapi-pipeline sql --lake {root} "SELECT line, rules, errors FROM quarantine"
""", soft_wrap=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("demo-output"), help="where the exports and the lake go")
    run(parser.parse_args().out)


if __name__ == "__main__":
    main()
