"""The production topology of docker-compose.yml, run from pip-installable parts without Docker.

PostgreSQL (Airflow's metadata and the lake's catalog), a Redis broker, the CeleryExecutor with
two workers, scheduler, DAG processor, triggerer and API server as separate processes
(:mod:`devtools.airflow_cluster`); the lake's data on a moto S3 server; Ralph LRSs as sources.
The test drives it as a user would, through the REST API v2, and reads the lake back from S3
through its catalog. One cluster serves every scenario (starting it is most of the cost).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pyarrow.compute as pc
import pytest

from devtools import CONFIG
from devtools.airflow_cluster import AirflowApi, AirflowCluster
from devtools.demo import emit
from devtools.demo_data import TOLERATED_FOR, DemoCluster, build
from devtools.local_lrs import LocalRalph, RalphUnavailable
from xapi_ingest.lake.store import Lake
from xapi_ingest.xapi.samples import realistic_statements

pytestmark = pytest.mark.integration  # real processes: see [tool.pytest.ini_options] markers

NEVER = "0 0 29 2 *"  # 29 February: no scheduled run falls between the DAGs' start date and now, so only the test triggers
WORKERS = ("worker1", "worker2")
FORWARDED = 300  # statements the Moodle LRS forwards to the second LRS as well
BULK = 1500  # statements of the source pulled while its worker is killed: 75 pages of 20


@pytest.fixture(scope="module")
def lrss(tmp_path_factory) -> Iterator[dict[str, LocalRalph]]:
    folder = tmp_path_factory.mktemp("lrs")
    with ExitStack() as stack:
        try:
            yield {name: stack.enter_context(LocalRalph(folder / name, username=name)) for name in ("moodle", "mooc", "bulk")}
        except RalphUnavailable as exc:
            if os.environ.get("CI"):
                pytest.fail(f"Ralph's LRS is required in CI: {exc}")
            pytest.skip(str(exc))


@pytest.fixture(scope="module")
def lake_uri(s3_uri: str) -> str:
    return s3_uri.replace("/lake?", "/topology-lake?")


@pytest.fixture(scope="module")
def demo() -> DemoCluster:
    return build(teachers=20, discussions=10)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, lake_uri: str, lrss: dict[str, LocalRalph], demo: DemoCluster) -> Iterator[AirflowCluster]:
    folder = tmp_path_factory.mktemp("cluster")
    demo.cluster.write_roster(folder / "roster.csv")
    demo.cluster.write_registry(folder / "registry.csv")
    env = {
        "XAPI_SOURCES": str(folder / "sources.yaml"), "XAPI_LAKE": lake_uri, "XAPI_REPORTS": str(folder / "reports"),
        "XAPI_PSEUDONYM_KEY": "topology-test-key-0123456789abcdef", "XAPI_TASK_RETRIES": "2",
        "XAPI_INGEST_SCHEDULE": NEVER,
        "XAPI_CREDIT_POLICY": str(CONFIG / "credit" / "policy.yaml"),
        "XAPI_CREDIT_REGISTRY": str(folder / "registry.csv"), "XAPI_CREDIT_ROSTER": str(folder / "roster.csv"),
        "XAPI_SEQUENCES_SCHEME": str(CONFIG / "sequences" / "scheme.yaml"),
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        **{f"TOPOLOGY_{name.upper()}_{part}": value for name, lrs in lrss.items()
           for part, value in (("USER", lrs.username), ("PASSWORD", lrs.password))},
    }
    with AirflowCluster(folder, env, workers={name: {} for name in WORKERS}) as running:
        yield running
    assert not [name for name, process in running.processes.items() if process.members()], "no process left behind"


@contextmanager
def logs_on_failure(cluster: AirflowCluster, *names: str) -> Iterator[None]:
    """On a failure, print the tail of the relevant components' logs and of the latest task logs."""
    try:
        yield
    except BaseException:
        print(cluster.tails(list(names) or None))
        print(cluster.task_log_tails())
        raise


def write_sources(cluster: AirflowCluster, lrss: dict[str, LocalRalph], page_size: int, **tolerate: list[str]) -> None:
    lines = ["sources:"]
    for name, lrs in lrss.items():
        lines += [f"  - id: {name}", f"    endpoint: {lrs.endpoint}", f"    page_size: {page_size}",
                  f"    commit_every: {page_size * 5}",
                  f"    auth: {{type: basic, username_env: TOPOLOGY_{name.upper()}_USER, "
                  f"password_env: TOPOLOGY_{name.upper()}_PASSWORD}}",
                  f"    tolerate: {tolerate.get(name, [])}"]
    Path(cluster.env["XAPI_SOURCES"]).write_text("\n".join(lines) + "\n")


def ids_in(cluster: AirflowCluster, table: str, source: str | None = None) -> list[str]:
    """Statement ids of one table of the S3 lake, read back with pyarrow (one entry per row)."""
    dataset = Lake(cluster.env["XAPI_LAKE"], cluster.lake_catalog).dataset(table)
    where = pc.field("source") == source if source else None
    return dataset.to_table(columns=["statement_id"], filter=where)["statement_id"].to_pylist()


def trigger_ingest(api: AirflowApi) -> tuple[str, set[str]]:
    """Trigger xapi_ingest as a user would; returns its run id and the analytics runs before it."""
    for dag_id in ("xapi_ingest", "xapi_analytics"):
        api.unpause(dag_id)
    return api.trigger("xapi_ingest"), {run["dag_run_id"] for run in api.runs("xapi_analytics")}


def test_the_cluster_serves_both_dags_without_import_errors(cluster: AirflowCluster) -> None:
    api = cluster.api()
    deadline = time.monotonic() + 60
    while api.dag_ids() != ["xapi_analytics", "xapi_ingest", "xapi_maintenance"] and time.monotonic() < deadline:
        time.sleep(1)
    assert api.dag_ids() == ["xapi_analytics", "xapi_ingest", "xapi_maintenance"]
    assert api.import_errors() == []


def test_two_workers_pull_overlapping_sources_then_the_asset_runs_the_analytics(
        cluster: AirflowCluster, lrss: dict[str, LocalRalph], lake_uri: str, demo: DemoCluster) -> None:
    moodle = demo.by_lrs["lrs-moodle-prod"]
    mooc = demo.by_lrs["lrs-openedx"] + demo.by_lrs["lrs-forms"] + moodle[:FORWARDED]  # the same statements forwarded
    emit(lrss["moodle"], moodle)
    emit(lrss["mooc"], mooc)
    served = {statement["id"] for statement in moodle + mooc}
    # small pages make each pull outlast the few seconds between the two tasks' starts, so the two
    # workers commit the forwarded statements at the same time
    write_sources(cluster, {name: lrss[name] for name in ("moodle", "mooc")}, page_size=5,
                  mooc=TOLERATED_FOR["lrs-openedx"])
    api = cluster.api()
    with logs_on_failure(cluster, "scheduler", *WORKERS):
        run_id, analytics_before = trigger_ingest(api)
        assert api.wait_for_run("xapi_ingest", run_id, timeout=600) == "success"
        pulls = [ti for ti in api.task_instances("xapi_ingest", run_id) if ti["task_id"] == "pull"]
        assert len(pulls) == 2 and max(ti["start_date"] for ti in pulls) < min(ti["end_date"] for ti in pulls), \
            "the two pulls ran at the same time (so on both workers: each runs one task at a time)"
        summaries = [api.return_value("xapi_ingest", run_id, "pull", ti["map_index"])["counts"] for ti in pulls]
        assert sum(counts["duplicates"] for counts in summaries) >= FORWARDED, "each forwarded statement stored once"

        restricted = ids_in(cluster, "statements")
        quarantined = set(ids_in(cluster, "quarantine"))
        assert len(restricted) == len(set(restricted)), "one row per statement id, across sources and workers"
        assert set(restricted) | quarantined == served and not set(restricted) & quarantined
        assert sorted(ids_in(cluster, "analyst_statements")) == sorted(restricted)  # checked and published
        reports = Path(cluster.env["XAPI_REPORTS"])
        assert list((reports / "quality").glob("statements-*.json")), "quality results"

        analytics = api.wait_for_new_run("xapi_analytics", analytics_before, timeout=120)  # started by the Asset
        assert api.wait_for_run("xapi_analytics", analytics, timeout=600) == "success"
        credit = reports / "credit" / "versions" / (reports / "credit" / "LATEST").read_text().strip()
        assert (credit / "institution_summary.csv").stat().st_size > 0
        sequences = reports / "sequences" / "versions" / (reports / "sequences" / "LATEST").read_text().strip()
        assert (sequences / "report.html").stat().st_size > 0


def test_a_worker_killed_mid_pull_is_retried_and_the_lake_ends_with_the_served_ids(
        cluster: AirflowCluster, lrss: dict[str, LocalRalph], lake_uri: str) -> None:
    served = lrss["bulk"].post(list(realistic_statements(BULK, seed=11)))
    write_sources(cluster, {"bulk": lrss["bulk"]}, page_size=20)
    api = cluster.api()
    with logs_on_failure(cluster, "scheduler", *WORKERS):
        run_id, _ = trigger_ingest(api)
        victim = wait_for_a_committed_pull(cluster, api, run_id)
        cluster.kill_worker(victim)
        assert api.wait_for_run("xapi_ingest", run_id, timeout=600) == "success"
        pull = next(ti for ti in api.task_instances("xapi_ingest", run_id) if ti["task_id"] == "pull")
        assert pull["try_number"] >= 2, "the killed try was failed by the scheduler and retried"
        landed = ids_in(cluster, "statements", source="bulk")
        assert len(landed) == len(set(landed)) and set(landed) == set(served)


def wait_for_a_committed_pull(cluster: AirflowCluster, api: AirflowApi, run_id: str, timeout: float = 300) -> str:
    """The worker running the pull, once the lake holds a committed part of the bulk source (mid-pull)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pull = next((ti for ti in api.task_instances("xapi_ingest", run_id) if ti["task_id"] == "pull"), None)
        if pull and pull["state"] == "running" and pull.get("pid"):
            worker = cluster.worker_of(pull["pid"])
            if worker and ids_in(cluster, "statements", source="bulk"):
                return worker
        if pull and pull["state"] in ("success", "failed"):
            pytest.fail(f"the pull ended ({pull['state']}) before the worker could be killed mid-way")
        time.sleep(0.3)
    pytest.fail("the pull never committed a page")
