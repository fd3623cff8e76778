"""The typed fast path against the precise path, one core, same process, ratios to ``json.loads``.

Usage:
    python benchmarks/bench_fastpath.py [--count 50000] [--repeats 3]

Two sets of statements: the realistic Moodle/Open edX ones of :mod:`xapi_ingest.xapi.samples`,
and the varied ones of ``devtools/synthetic/varied.py`` (every shape the spec allows, a fresh seed
per run). For each: the
``json.loads`` floor, decode + validate the precise way and the fast way, column building both
ways, and the whole ``Ingestor.ingest`` of an NDJSON file into a fresh lake before (the reader's
fast decode switched off, which is exactly the code before the fast path) and after.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import _checkout  # noqa: F401  (tests/ comes from the checkout)
from bench_ingest import pin_to, timed_seconds, usable_cores

from devtools.synthetic.varied import varied_statements
from xapi_ingest.lake.ingest import Ingestor
from xapi_ingest.lake.normalize import StatementColumns
from xapi_ingest.lake.store import Lake
from xapi_ingest.xapi import reader
from xapi_ingest.xapi.decode import decode_statement
from xapi_ingest.xapi.fastpath import accepts, fast_decode
from xapi_ingest.xapi.samples import realistic_statements
from xapi_ingest.xapi.validator import StatementValidator


def realistic(count: int) -> list[str]:
    return [json.dumps(statement) for statement in realistic_statements(count, seed=11)]


def varied(count: int, seed: int) -> list[str]:
    return [json.dumps(statement) for statement in varied_statements(count, seed)]


def seconds(run: Callable[[], object], repeats: int) -> float:
    """Best wall time of ``repeats`` runs after one warm-up: on a shared machine the others' load
    only ever adds time, so the minimum is the least disturbed figure."""
    return timed_seconds(run, repeats, summary=min)


@contextlib.contextmanager
def precise_only() -> Iterator[None]:
    """The reader as it was before the fast path: every statement decoded to dicts and walked."""
    saved = reader.fast_decode
    reader.fast_decode = lambda raw: None
    try:
        yield
    finally:
        reader.fast_decode = saved


def run_set(name: str, texts: list[str], repeats: int) -> None:
    validator = StatementValidator("auto")
    fast_share = sum(1 for t in texts if (s := fast_decode(t)) is not None and accepts(s, "auto")) / len(texts)
    print(f"\n{name}: {len(texts):,} statements, {sum(map(len, texts)) / len(texts):,.0f} bytes each, "
          f"{fast_share:.0%} on the fast path")

    def precise_validate() -> None:
        for text in texts:
            validator.validate(decode_statement(text).value)

    def fast_validate() -> None:
        for text in texts:
            statement = fast_decode(text)
            if statement is None or not accepts(statement, "auto"):
                validator.validate(decode_statement(text).value)

    valid = [t for t in texts if not validator.validate(decode_statement(t).value)]  # columns are built for these only
    values = [decode_statement(t).value for t in valid]
    typed = [fast_decode(t) for t in valid]
    now = datetime.now(UTC)

    def precise_columns() -> None:
        columns = StatementColumns()
        for text, value in zip(valid, values, strict=True):
            columns.append(value, text, [], "b", now)

    def fast_columns() -> None:
        columns = StatementColumns()
        for text, value, statement in zip(valid, values, typed, strict=True):
            if statement is None:
                columns.append(value, text, [], "b", now)
            else:
                columns.append_fast(statement, text, "b", now)

    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "statements.ndjson"
        path.write_text("\n".join(texts) + "\n")
        lakes = iter(range(10**6))

        def ingest() -> None:
            Ingestor(Lake(Path(scratch) / f"lake{next(lakes)}"), "bench").ingest(reader.records_with_origin([path]))

        def ingest_before() -> None:
            with precise_only():
                ingest()

        floor = seconds(lambda: [json.loads(t) for t in texts], repeats)
        rows = [
            ("json.loads only (the floor)", floor),
            ("decode + validate, precise", seconds(precise_validate, repeats)),
            ("decode + validate, fast path", seconds(fast_validate, repeats)),
            ("column building, from dicts", seconds(precise_columns, repeats)),
            ("column building, fast path", seconds(fast_columns, repeats)),
            ("whole Ingestor.ingest, before", seconds(ingest_before, repeats)),
            ("whole Ingestor.ingest, after", seconds(ingest, repeats)),
        ]
    print(f"{'phase':<34} {'time':>8} {'statements/s':>13} {'floor/time':>11}")
    for label, took in rows:
        print(f"{label:<34} {took:>7.2f}s {len(texts) / took:>13,.0f} {floor / took:>10.2f}x", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=None, help="of the varied set (default: a fresh one, printed)")
    args = parser.parse_args()
    seed = random.randrange(10**6) if args.seed is None else args.seed
    pin_to(usable_cores()[:1])
    run_set("realistic (xapi/samples.py)", realistic(args.count), args.repeats)
    run_set(f"varied (devtools/synthetic/varied.py, seed {seed})", varied(args.count, seed), args.repeats)


if __name__ == "__main__":
    main()
