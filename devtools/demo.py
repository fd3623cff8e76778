"""``make demo``: the whole pipeline on an embedded default, safe to run twice.

1. starts one real Ralph LRS per platform on 127.0.0.1 (Ralph's own virtual environment);
2. generates the demo cluster (:mod:`devtools.demo_data`) and emits it to those LRSs with
   tincan's ``RemoteLRS``, as the platforms' xAPI plugins would, re-sending statements as a
   plugin does after a timeout;
3. runs the ``xapi_ingest`` and ``xapi_analytics`` DAGs with real Airflow (SQLite metadata in
   ``<out>/airflow``) through ``dag.test()``;
4. prints what landed and where everything is, then stops the LRSs.

The LRSs keep what they stored between runs, as a platform's do, and so do the lake, the Airflow
home and the reports: a second run re-sends nothing, its pulls find nothing new, the analytics
publish no new version, and the run says what changed.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from devtools import CONFIG
from devtools.airflow_local import DagRunResult, airflow_environment, migrate, run_dag
from devtools.demo_data import TOLERATED_FOR, DemoCluster, build
from devtools.local_lrs import LocalRalph, RalphUnavailable
from devtools.synthetic.credit import LRS_HOME
from xapi_ingest.common.defaults import PSEUDONYM_KEY_ENV as KEY_ENV
from xapi_ingest.lake.query import connect
from xapi_ingest.lake.store import Lake

DEMO_KEY = "demo-only-pseudonym-key-not-for-production"
EMIT_BATCH = 500
RESENT = 25  # statements an LMS re-sends after a timed-out POST


def emit(lrs: LocalRalph, statements: list[dict]) -> None:
    """POST as an LMS plugin would: tincan statements in batches, each batch after the first
    re-sending the previous batch's last statements, as a plugin does after a timeout."""
    from tincan import RemoteLRS, Statement

    remote = RemoteLRS(endpoint=lrs.endpoint, username=lrs.username, password=lrs.password, version="1.0.3")
    size = min(EMIT_BATCH, -(-len(statements) // 2))  # at least two batches, so one re-send happens
    for start in range(0, len(statements), size):
        batch = statements[max(0, start - RESENT):start + size]
        response = remote.save_statements([Statement(statement) for statement in batch])
        if not response.success:
            raise RuntimeError(f"the LRS refused a batch: HTTP {response.response.status} {str(response.data)[:300]}")


def _source_id(lrs_account: str) -> str:
    return lrs_account.removeprefix("lrs-")


def write_sources(path: Path, lrss: dict[str, LocalRalph]) -> dict[str, str]:
    """sources.yaml naming environment variables; returns those variables (the secrets stay in memory)."""
    lines, secrets_env = ["sources:"], {}
    for account, lrs in lrss.items():
        variable = f"DEMO_LRS_{_source_id(account).upper().replace('-', '_')}"
        secrets_env[f"{variable}_USER"], secrets_env[f"{variable}_PASSWORD"] = lrs.username, lrs.password
        lines += [
            f"  - id: {_source_id(account)}",
            f"    endpoint: {lrs.endpoint}",
            f"    auth: {{type: basic, username_env: {variable}_USER, password_env: {variable}_PASSWORD}}",
            f"    page_size: {lrs.max_page}",
            f"    tolerate: {TOLERATED_FOR.get(account, [])}",
        ]
    path.write_text("\n".join(lines) + "\n")
    return secrets_env


def start_platforms(out: Path, teachers: int, console: Console, stack: ExitStack) -> tuple[DemoCluster, dict[str, str]]:
    """Generate the demo cluster, start one empty Ralph LRS per platform (stopped with ``stack``),
    emit the cluster to them, and return it with the ``XAPI_*`` settings (and LRS secrets) the
    DAGs need to pull it: shared by ``make demo`` and ``make airflow``."""
    with console.status("generating the demo cluster"):
        demo = build(teachers=teachers)
        config = out / "config"
        demo.cluster.write_roster(config / "roster.csv")
        demo.cluster.write_registry(config / "registry.csv")
    console.print(f"cluster: {len(demo.cluster.roster)} teachers, {demo.total:,} statements for "
                  f"{len(demo.by_lrs)} platform LRSs ({demo.faulty} with producer faults)")
    lrss, kept = {}, []
    with console.status("starting the platform LRSs (Ralph) and emitting with tincan"):
        for account in sorted(demo.by_lrs):
            workdir = out / "lrs" / _source_id(account)
            # An LRS keeps what it stored, as a platform's does: a re-run re-sends nothing (a statement
            # stored again would be a new record with a new `stored`), so its pulls find nothing new.
            holds_emission = any((workdir / "data").glob("*"))
            lrs = LocalRalph(workdir, username=_source_id(account), authority_account=(account, LRS_HOME))
            lrss[account] = stack.enter_context(lrs)
            if holds_emission:
                kept.append(_source_id(account))
            else:
                emit(lrs, demo.by_lrs[account])
    if kept:
        console.print(f"the LRSs of {', '.join(kept)} still hold the last run's emission: nothing re-sent")
    settings = {
        "XAPI_SOURCES": str(out / "sources.yaml"), "XAPI_LAKE": str(out / "lake"),
        "XAPI_REPORTS": str(out / "reports"), KEY_ENV: DEMO_KEY,
        "XAPI_CREDIT_POLICY": str(CONFIG / "credit" / "policy.yaml"),
        "XAPI_CREDIT_REGISTRY": str(config / "registry.csv"), "XAPI_CREDIT_ROSTER": str(config / "roster.csv"),
        "XAPI_SEQUENCES_SCHEME": str(CONFIG / "sequences" / "scheme.yaml"),
        **write_sources(out / "sources.yaml", lrss),
    }
    return demo, settings


def run(out: Path, teachers: int = 150, console: Console | None = None,
        environment: Mapping[str, str] | None = None) -> dict[str, DagRunResult]:
    """The demo; ``environment`` adds variables for the DAG runs (e.g. ``PYTHONPATH`` of an installed wheel)."""
    console = console or Console(stderr=True)
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    before = LakeState.read(out)
    with ExitStack() as stack:
        demo, settings = start_platforms(out, teachers, console, stack)
        env = airflow_environment(out / "airflow", {**settings, "XAPI_TASK_RETRIES": "0", **(environment or {})})
        results = {}
        with console.status("preparing Airflow's SQLite metadata"):
            migrate(env, out / "airflow" / "migrate.log")
        for dag_id in ("xapi_ingest", "xapi_analytics"):
            with console.status(f"running the {dag_id} DAG with dag.test()"):
                results[dag_id] = run_dag(dag_id, env, out / "airflow" / f"{dag_id}.log", cwd=out)
            console.print(f"DAG {dag_id}: {results[dag_id].state} "
                          f"({', '.join(f'{t} {s}' for t, s in sorted(results[dag_id].task_states.items()))})")
    summarize(out, demo, results, console, time.monotonic() - started)
    for line in LakeState.read(out).changes_since(before):
        console.print(line)
    return results


@dataclass(frozen=True)
class LakeState:
    """What a run can change, read before and after it, so a re-run says plainly what it did."""

    statements: int
    quarantined: int
    credit_version: str | None

    @classmethod
    def read(cls, out: Path) -> LakeState:
        lake = Lake(out / "lake")
        if lake.root is None or not lake.layout.catalog.exists():
            return cls(0, 0, _latest_credit(out))
        with connect(lake) as con:
            statements = con.execute("SELECT count(*) FROM statements").fetchone()
            quarantined = con.execute("SELECT count(*) FROM quarantine").fetchone()
        return cls(statements[0] if statements else 0, quarantined[0] if quarantined else 0, _latest_credit(out))

    def changes_since(self, before: LakeState) -> list[str]:
        new, quarantined = self.statements - before.statements, self.quarantined - before.quarantined
        if before.statements and not new and not quarantined:
            lines = [f"nothing new arrived: the lake already held everything the LRSs serve "
                     f"({self.statements:,} statements, {self.quarantined:,} quarantined)"]
        else:
            lines = [f"this run added {new:,} statement(s) to the lake and quarantined {quarantined:,}"]
        if self.credit_version and self.credit_version == before.credit_version:
            lines.append(f"credit unchanged: the latest version is still {self.credit_version}")
        elif self.credit_version:
            lines.append(f"credit: new version {self.credit_version}"
                         + (f" (supersedes {before.credit_version})" if before.credit_version else ""))
        return lines


def _latest_credit(out: Path) -> str | None:
    latest = out / "reports" / "credit" / "LATEST"
    return latest.read_text().strip() if latest.exists() else None


def summarize(out: Path, demo: DemoCluster, results: dict[str, DagRunResult], console: Console, seconds: float) -> None:
    lake = Lake(out / "lake")
    with connect(lake) as con:
        landed = con.execute("SELECT source, count(*), count(*) FILTER (WHERE validation_status = 'tolerated') "
                             "FROM statements GROUP BY source ORDER BY source").fetchall()
        quarantined = dict(con.execute("SELECT source, count(*) FROM quarantine GROUP BY source").fetchall())
    table = Table(title=f"lake after {seconds:.0f} s")
    for column in ("source", "statements", "tolerated", "quarantined"):
        table.add_column(column, justify="left" if column == "source" else "right")
    for source, count, tolerated in landed:
        table.add_row(source, f"{count:,}", str(tolerated), str(quarantined.get(source, 0)))
    console.print(table)
    reports = out / "reports"
    _credit_headline(reports / "credit", console)
    sequences = reports / "sequences" / "versions" / _read(reports / "sequences" / "LATEST")
    _sequences_headline(sequences, console)
    network = reports / "network" / "versions" / _read(reports / "network" / "LATEST")
    _network_headline(network, console)
    latest = reports / "credit" / "versions" / _read(reports / "credit" / "LATEST")
    where = {
        "lake (Iceberg tables)": lake.layout.warehouse / "xapi", "catalog": lake.layout.catalog,
        "Data Docs": reports / "data_docs" / "index.html",
        "credit (latest version)": latest, "institution reports": latest / "institutions" / "<id>" / "report.html",
        "behaviour sequences report": sequences / "report.html",
        "per institution": sequences / "institutions" / "<id>" / "report.html",
        "transition diagram": sequences / "knowledge-construction" / "diagram.png",
        "learning network": network / "institutions" / "<id>.html",
        "Airflow logs": out / "airflow",
    }
    for label, path in where.items():
        console.print(f"  {label:<30} {path}")
    query = "SELECT source, count(*) FROM statements GROUP BY 1"
    console.print(f'query it (pseudonymized): .venv/bin/xapi-pipeline sql --lake {lake.root} --zone analyst "{query}"')
    failed = [dag for dag, result in results.items() if result.state != "success"]
    if failed:
        console.print(f"[red]DAG run(s) failed: {', '.join(failed)}; see the logs above[/red]")


def _read(path: Path) -> str:
    return path.read_text().strip() if path.exists() else "(none)"


def _credit_headline(credit: Path, console: Console) -> None:
    summary = credit / "versions" / _read(credit / "LATEST") / "institution_summary.csv"
    if not summary.exists():
        return
    import pandas as pd

    years = pd.read_csv(summary).query("period_kind == 'academic_year'")
    table = Table(title="informal-learning credit by institution (academic years)")
    for column in ("institution", "year", "teachers", "with credit", "hours", "flagged gap"):
        table.add_column(column, justify="left" if column in ("institution", "year") else "right")
    for row in years.itertuples():
        table.add_row(row.institution_id, row.period_id, str(row.teachers_in_scope), str(row.teachers_with_credit),
                      f"{row.hours_total:,.1f}", str(row.teachers_flagged_gap))
    console.print(table)


def _sequences_headline(sequences: Path, console: Console) -> None:
    import json

    for lsa in sorted(sequences.glob("*/lsa.json")):
        result = json.loads(lsa.read_text())
        arrows = ", ".join(f"{s['from']}→{s['to']} (z={s['z']:.2f})" for s in result["significant"])
        console.print(f"significant sequences, {lsa.parent.name} ({result['n_transitions']:,} transitions): {arrows or 'none'}")


def _network_headline(network: Path, console: Console) -> None:
    if not (network / "institutions.parquet").exists():
        return
    import pyarrow.parquet as pq

    table = Table(title="learning network: hours between institutions (academic years)")
    for column in ("institution", "year", "received", "given", "learns from", "reciprocity", "gives nothing"):
        table.add_column(column, justify="left" if column in ("institution", "year") else "right")
    for row in pq.read_table(network / "institutions.parquet").to_pylist():
        reciprocity = "-" if row["reciprocity"] is None else f"{row['reciprocity']:.2f}"
        table.add_row(row["institution_id"], str(row["academic_year"]), f"{row['hours_received']:,.1f}",
                      f"{row['hours_given']:,.1f}", str(row["learns_from"]), reciprocity,
                      f"{row['no_outgoing_years']} y" if row["no_outgoing"] else "")
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("demo-output"))
    parser.add_argument("--teachers", type=int, default=150)
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    try:
        results = run(args.out, args.teachers, console)
    except (RalphUnavailable, RuntimeError, OSError) as exc:  # a child process failed: its own words, no traceback
        console.print(f"[red]error:[/red] {exc}")
        return 2
    return 0 if all(result.state == "success" for result in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
