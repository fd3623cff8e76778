"""The demo's synthetic cluster shows the network the issue asks for: a reciprocal pair and a member that gives nothing."""

from __future__ import annotations

import duckdb

from devtools.synthetic.credit import generate_cluster
from tests.support.credit_world import ingest
from tests.transforms.network.world import KEY
from transforms.network.plugin import NetworkConfig, plugin
from transforms.plugins.api import RunContext
from xapi_ingest.lake.store import Lake
from xapi_ingest.lake.voids import apply_voids
from xapi_ingest.publish.privacy import Pseudonymizer, load_key


def test_the_demo_has_a_reciprocal_pair_and_a_member_that_only_learns(tmp_path) -> None:
    cluster = generate_cluster(teachers=30)
    ingest(tmp_path / "lake", cluster.statements)
    lake = Lake(tmp_path / "lake")
    apply_voids(lake)
    config = NetworkConfig(roster=cluster.write_roster(tmp_path / "roster.csv"), out=tmp_path / "out")
    context = RunContext(lake, plugin.reads, plugin.name, plugin.version, lake.snapshot_ids(), Pseudonymizer(load_key(KEY)))
    outcome = plugin.run(context, config)
    rows = duckdb.sql(f"SELECT institution_id, hours_given > 0, hours_received > 0, reciprocity, learns_from, no_outgoing "
                      f"FROM '{outcome.output_dir / 'institutions.parquet'}' ORDER BY ALL").fetchall()
    # S-17 and S-42 learn from each other and both give to C-03, which gives back nothing: of each giver's
    # two partners one is tied both ways (reciprocity 1/2), of C-03's two none is (0/2)
    assert rows == [("C-03", False, True, 0.0, 2, True), ("S-17", True, True, 0.5, 1, False),
                    ("S-42", True, True, 0.5, 1, False)]
    [(shared,)] = duckdb.sql("SELECT sum(statements_without_duration) "
                             f"FROM '{outcome.output_dir / 'edges_institutions.parquet'}'").fetchall()
    assert shared > 0  # colleague-shared articles without a duration count, with no hours
