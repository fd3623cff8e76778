"""The DAGs, run for real: Airflow 3 with SQLite metadata, a real Ralph LRS, dag.test()."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.airflow_local import airflow_environment, migrate, run_dag
from tests.support.lake import lake_ids
from xapi_ingest.lake.query import connect
from xapi_ingest.lake.store import Lake
from xapi_ingest.xapi.samples import realistic_statements

pytestmark = pytest.mark.integration  # real processes: see [tool.pytest.ini_options] markers


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("airflow")
    migrate(airflow_environment(home), home / "migrate.log")
    return home


def write_sources(path: Path, endpoint: str, dead_endpoint: str | None = None, tolerate: str = "[]") -> Path:
    text = ("sources:\n  - id: moodle-test\n    endpoint: " + endpoint + "\n    page_size: 50\n"
            "    auth: {type: basic, username_env: DAG_TEST_LRS_USER, password_env: DAG_TEST_LRS_PASSWORD}\n"
            f"    tolerate: {tolerate}\n")
    if dead_endpoint:
        text += f"  - id: offline-lms\n    endpoint: {dead_endpoint}\n    timeout_seconds: 1\n"
    path.write_text(text)
    return path


def dag_env(home: Path, tmp_path: Path, ralph, sources: Path) -> dict[str, str]:
    return airflow_environment(home, {
        "XAPI_SOURCES": str(sources), "XAPI_LAKE": str(tmp_path / "lake"), "XAPI_REPORTS": str(tmp_path / "reports"),
        "XAPI_PSEUDONYM_KEY": "dag-test-key-0123456789abcdef", "XAPI_TASK_RETRIES": "0",
        "DAG_TEST_LRS_USER": ralph.username, "DAG_TEST_LRS_PASSWORD": ralph.password,
    })


def test_ingest_dag_pulls_checks_and_publishes(airflow_home: Path, tmp_path: Path, ralph) -> None:
    ids = ralph.post(list(realistic_statements(120)))
    env = dag_env(airflow_home, tmp_path, ralph, write_sources(tmp_path / "sources.yaml", ralph.endpoint))
    result = run_dag("xapi_ingest", env, tmp_path / "ingest.log")
    assert result.state == "success", result
    assert result.task_states == {"sources": "success", "pull[0]": "success", "quality": "success",
                                  "all_sources_pulled": "success"}
    lake = Lake(tmp_path / "lake")
    assert sorted(lake_ids(lake)) == sorted(ids)
    assert lake.dataset("analyst_statements").count_rows() == len(ids), "the passing batch was published"
    assert ralph.password not in result.log_file.read_text()

    ralph.post(list(realistic_statements(150))[120:])  # a second, small commit: two files to compact
    assert run_dag("xapi_ingest", env, tmp_path / "again.log").state == "success"
    files_before = len(lake.dataset("statements").files)
    maintenance = run_dag("xapi_maintenance", env, tmp_path / "maintenance.log")
    assert maintenance.state == "success" and maintenance.task_states == {"compact": "success"}
    assert len(lake.dataset("statements").files) < files_before
    assert sorted(lake_ids(lake)) == sorted(ids + [s["id"] for s in list(realistic_statements(150))[120:]])


def test_a_failing_source_fails_only_its_task(airflow_home: Path, tmp_path: Path, ralph) -> None:
    ids = ralph.post(list(realistic_statements(40)))
    sources = write_sources(tmp_path / "sources.yaml", ralph.endpoint, dead_endpoint="http://127.0.0.1:9/xAPI/")
    result = run_dag("xapi_ingest", dag_env(airflow_home, tmp_path, ralph, sources), tmp_path / "ingest.log")
    assert result.task_states["pull[0]"] == "success" and result.task_states["pull[1]"] == "failed"
    assert result.task_states["quality"] == "success"  # the good source's data is still checked and published
    assert result.task_states["all_sources_pulled"] == "failed" and result.state == "failed"
    assert sorted(lake_ids(Lake(tmp_path / "lake"))) == sorted(ids)


def test_a_batch_breaking_a_critical_expectation_fails_quality_and_is_not_published(
        airflow_home: Path, tmp_path: Path, ralph) -> None:
    """A quirk tolerated at ingest (a scaled score of 1.7) still stops at the gate."""
    statements = list(realistic_statements(30))
    statements[4] = {**statements[4], "result": {"score": {"scaled": 1.7}}}
    ids = ralph.post(statements)
    sources = write_sources(tmp_path / "sources.yaml", ralph.endpoint, tolerate="[score.scaled-range]")
    result = run_dag("xapi_ingest", dag_env(airflow_home, tmp_path, ralph, sources), tmp_path / "ingest.log")
    assert result.task_states["pull[0]"] == "success" and result.task_states["quality"] == "failed"
    lake = Lake(tmp_path / "lake")
    assert sorted(lake_ids(lake)) == sorted(ids)  # kept in the restricted zone for inspection
    assert lake.dataset("analyst_statements").count_rows() == 0  # and not published
    assert "score-scaled-in-range" in result.log_file.read_text()  # the message names the expectation

    newer = ralph.post(list(realistic_statements(40))[30:])
    again = run_dag("xapi_ingest", dag_env(airflow_home, tmp_path, ralph, sources), tmp_path / "again.log")
    assert again.task_states["quality"] == "success"  # the old hold is reported, not failed on every run
    assert sorted(lake_ids(lake)) == sorted(ids + newer)
    with connect(lake, "analyst") as con:
        published = {row[0] for row in con.execute("SELECT statement_id FROM statements").fetchall()}
    assert published == set(newer)  # the new batch is published, the held one still is not


def test_ingest_dag_on_an_s3_lake(airflow_home: Path, tmp_path: Path, ralph, s3_uri: str) -> None:
    ids = ralph.post(list(realistic_statements(60)))
    uri = s3_uri.replace("/lake?", "/dag-lake?")
    env = dag_env(airflow_home, tmp_path, ralph, write_sources(tmp_path / "sources.yaml", ralph.endpoint))
    catalog = f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    env |= {"XAPI_LAKE": uri, "XAPI_LAKE_CATALOG": catalog,
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    result = run_dag("xapi_ingest", env, tmp_path / "ingest.log")
    assert result.state == "success", result
    lake = Lake(uri, catalog)
    assert sorted(lake_ids(lake)) == sorted(ids)
    assert lake.dataset("analyst_statements").count_rows() == len(ids)  # checked and published
