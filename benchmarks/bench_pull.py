"""Pull throughput: our puller against a bare httpx paging loop and tincan, on the same LRS, same run.

Usage:
    python benchmarks/bench_pull.py [--count 20000] [--page-size 500] [--repeats 3] [--no-ralph]

Two servers are measured: a real Ralph LRS (fs backend, its own venv; it rescans its file for
every page, so it is slow and the client hardly matters) and the fault-free test server from
``tests/fault_lrs.py`` (fast, so client overhead shows). For each, statements/s is printed for
the bare loop (GET, decode, follow ``more``: the floor any puller pays), tincan's
``RemoteLRS.query_statements``/``more_statements``, and our full pull (validation, Parquet
commits and watermarks included) with pages judged in the puller's process and, by default, in a
worker process, with ratios to the bare loop. Contenders run in turn within each repeat, so a
drifting load weighs on all of them alike. Peak RSS of the process is
printed at the end. ``--no-ralph`` measures the test server only (Ralph needs its own venv and
takes minutes).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urljoin

import _checkout  # noqa: F401  (devtools/ and tests/ come from the checkout)
import httpx
from bench_ingest import peak_rss_mib  # benchmarks/ is on sys.path when this script runs

from devtools.local_lrs import LocalRalph
from xapi_ingest.lake.store import Lake
from xapi_ingest.pull.client import LRSClient
from xapi_ingest.pull.puller import pull
from xapi_ingest.pull.sources import Credentials, Source
from xapi_ingest.xapi.samples import realistic_statements

REPO = Path(__file__).resolve().parents[1]


def bare_loop(endpoint: str, auth: tuple[str, str] | None, page_size: int) -> int:
    seen = 0
    with httpx.Client(auth=auth, headers={"X-Experience-API-Version": "1.0.3"}, timeout=60) as client:
        url = f"{endpoint}statements?limit={page_size}"
        while url:
            body = client.get(url).raise_for_status().json()
            seen += len(body["statements"])
            url = urljoin(endpoint, body["more"]) if body.get("more") else ""
    return seen


def tincan_loop(endpoint: str, auth: tuple[str, str] | None, page_size: int) -> int:
    from tincan import RemoteLRS

    lrs = RemoteLRS(endpoint=endpoint, version="1.0.3", **({"username": auth[0], "password": auth[1]} if auth else {}))
    response = lrs.query_statements({"limit": page_size})
    seen = len(response.content.statements)
    while response.content.more:
        response = lrs.more_statements(response.content)
        seen += len(response.content.statements)
    return seen


def our_pull(endpoint: str, auth: tuple[str, str] | None, page_size: int, scratch: Path, count: int,
             workers: int | None) -> Callable[[], None]:
    source = Source(id="bench", endpoint=endpoint, page_size=page_size, commit_every=10_000)
    numbers = itertools.count()

    def run() -> None:
        lake = Lake(scratch / f"lake{workers}-{next(numbers)}")
        with LRSClient(source, Credentials(*auth) if auth else None) as client:
            summary = pull(source, lake, client, workers=workers)
        assert summary.counts.valid == count, summary.as_dict()

    return run


def interleaved(contenders: dict[str, Callable[[], object]], count: int, repeats: int) -> dict[str, float]:
    """Statements/s of each contender (median of ``repeats`` after a warm-up), run in turn within each
    repeat: on a shared machine the load drifts over minutes, and it then weighs on all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for repeat in range(repeats + 1):
        for name, run in contenders.items():
            started = time.perf_counter()
            run()
            if repeat:
                times[name].append(time.perf_counter() - started)
    rates = {name: count / statistics.median(seconds) for name, seconds in times.items()}
    for name, rate in rates.items():
        print(f"{name:<52} {rate:>12,.0f} statements/s", flush=True)
    return rates


def compare(label: str, endpoint: str, auth: tuple[str, str] | None, count: int, page_size: int, repeats: int,
            scratch: Path) -> None:
    print(f"\n{label}: {count:,} statements, {page_size} a page, median of {repeats}, contenders in turn")
    bare, tincan, here, ours = interleaved({
        "bare httpx paging loop": lambda: bare_loop(endpoint, auth, page_size),
        "tincan RemoteLRS query/more": lambda: tincan_loop(endpoint, auth, page_size),
        "xapi-pipeline pull, pages judged in-process": our_pull(endpoint, auth, page_size, scratch / label, count, 0),
        "xapi-pipeline pull (default: worker process)": our_pull(endpoint, auth, page_size, scratch / label, count,
                                                                 None),
    }, count, repeats).values()
    print(f"  tincan / bare = {tincan / bare:.2f}; in-process / bare = {here / bare:.2f} "
          f"(overhead {100 * (bare / here - 1):+.0f}%); ours / bare = {ours / bare:.2f} "
          f"(overhead {100 * (bare / ours - 1):+.0f}%)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-ralph", action="store_true", help="measure the fault-free test server only")
    args = parser.parse_args()
    statements = list(realistic_statements(args.count))
    with tempfile.TemporaryDirectory() as scratch:
        # the test server gets a process of its own, as a real LRS would: in ours it would compete for the GIL
        with subprocess.Popen([sys.executable, "-m", "tests.support.fault_lrs", "--count", str(args.count)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO) as server:
            endpoint = server.stdout.readline().strip()
            compare("fault-free test server (own process)", endpoint, None, args.count, args.page_size, args.repeats,
                    Path(scratch))
            server.stdin.close()
        if not args.no_ralph:
            with LocalRalph(Path(scratch) / "ralph", max_page=args.page_size) as ralph:
                ralph.post(statements, batch=1000)
                compare("Ralph LRS 5.1.0 (fs backend)", ralph.endpoint, (ralph.username, ralph.password), args.count,
                        args.page_size, args.repeats, Path(scratch))
    print(f"\npeak RSS of this process: {peak_rss_mib():,.0f} MiB")


if __name__ == "__main__":
    main()
