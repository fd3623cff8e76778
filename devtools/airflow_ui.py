"""``make airflow``: Airflow 3 with its UI on 127.0.0.1, the project's DAGs and the demo's LRSs.

What a data engineer needs to watch the pipeline as it runs in production, on one machine: the
production topology of :mod:`devtools.airflow_cluster` (PostgreSQL metadata, Redis, the API
server, scheduler, DAG processor, triggerer and a Celery worker as separate processes, all on
127.0.0.1), with one Ralph LRS per demo platform filled with the demo cluster and a local lake
in ``<out>/lake``. Both DAGs are unpaused: trigger ``xapi_ingest`` in the UI and
``xapi_analytics`` follows from the lake Asset. Ctrl-C stops every process, LRSs included.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from rich.console import Console

from devtools.airflow_cluster import AirflowCluster, ClusterError
from devtools.demo import start_platforms
from devtools.local_lrs import RalphUnavailable

DAG_IDS = ["xapi_analytics", "xapi_ingest", "xapi_maintenance"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("airflow-local"), help="working folder (default: %(default)s)")
    parser.add_argument("--teachers", type=int, default=50, help="size of the demo cluster (default: %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="UI and API port on 127.0.0.1 (default: a free one)")
    args = parser.parse_args(argv)
    console, out = Console(stderr=True), args.out.resolve()
    stop = {"asked": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(asked=True))
    try:
        with ExitStack() as stack:
            _, settings = start_platforms(out, args.teachers, console, stack)
            with console.status("starting Airflow: PostgreSQL, Redis, API server, scheduler, DAG processor, "
                                "triggerer, a Celery worker"):
                cluster = stack.enter_context(
                    AirflowCluster(out / "airflow", settings, workers={"worker": {}}, api_port=args.port))
                api = cluster.api()
                deadline = time.monotonic() + 300
                while api.dag_ids() != DAG_IDS and not api.import_errors():
                    if time.monotonic() > deadline:
                        raise ClusterError("the DAG processor did not load the DAGs within 300 s")
                    time.sleep(2)
                for dag_id in DAG_IDS:
                    api.unpause(dag_id)
            for error in api.import_errors():
                console.print(f"[red]DAG import error[/red] in {error['filename']}: {error['stack_trace'][-300:]}")
            console.print(f"Airflow UI and REST API: [bold]{cluster.base_url}[/bold]  login: admin / {cluster.password}")
            console.print("trigger xapi_ingest there; xapi_analytics starts from the lake Asset when it finishes")
            console.print(f"lake: {out / 'lake'}   reports: {out / 'reports'}   logs: {out / 'airflow'}")
            console.print("press Ctrl-C to stop Airflow and the LRSs")
            while not stop["asked"] and all(process.popen.poll() is None for process in cluster.processes.values()):
                time.sleep(1)
    except KeyboardInterrupt:
        pass
    except (RalphUnavailable, ClusterError, RuntimeError, OSError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        return 2
    console.print("stopped: Airflow and the LRSs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
