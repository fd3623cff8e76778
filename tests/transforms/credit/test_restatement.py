"""Restatement follows a teacher's credited figures, not the data cutoff."""

from __future__ import annotations

import pandas as pd

from devtools.synthetic import credit as x
from tests.support.credit_world import POLICY, at, ingest, lms, statements, write_config
from transforms.credit.run import run_credit
from xapi_ingest.lake.store import Lake


def test_a_void_at_one_institution_restates_only_its_teacher(tmp_path):
    """The void arrives after every other statement, so the cutoff (and every gap up to it) moves too."""
    named = statements()
    ingest(tmp_path / "lake", list(named.values()), "first")
    registry, roster = write_config(tmp_path)
    out = tmp_path / "out"
    v1 = run_credit(Lake(tmp_path / "lake"), POLICY, registry, roster, out)
    ingest(tmp_path / "lake", [x.void("void-t5c", named["t5c"]["id"], lms("t5"), at("2025-07-01T09:00:00"))], "voids")
    v2 = run_credit(Lake(tmp_path / "lake"), POLICY, registry, roster, out)

    before = pd.read_parquet(v1.output_dir / "teacher_summary.parquet")
    after = pd.read_parquet(v2.output_dir / "teacher_summary.parquet")
    key = ["teacher_id", "institution_id", "period_kind", "period_id"]
    both = after.merge(before, on=key, suffixes=("", "_before"))
    gap_moved = both[both["longest_gap_days"] != both["longest_gap_days_before"]]
    assert set(gap_moved["institution_id"]) >= {"S-17", "S-99"}  # the cutoff moved for everyone

    restated = both[both["supersedes_summary_id"].notna()]
    assert set(restated["teacher_id"]) == {"T5"}
    assert (restated["supersedes_summary_id"] == restated["summary_id_before"]).all()
    others = both[both["teacher_id"] != "T5"]
    assert (others["summary_id"] == others["summary_id_before"]).all()
    institutions = pd.read_parquet(v2.output_dir / "institution_summary.parquet")
    assert set(institutions.loc[institutions["supersedes_summary_id"].notna(), "institution_id"]) == {"S-42"}

    changes = pd.read_csv(v2.output_dir / "continuity_changes.csv")
    changed = changes.set_index(key)
    moved = gap_moved.set_index(key)
    assert set(changed.index) == set(moved.index)
    assert (changed.loc[moved.index, "longest_gap_days"] == moved["longest_gap_days"]).all()
    assert (changed.loc[moved.index, "previous_longest_gap_days"] == moved["longest_gap_days_before"]).all()
    s17 = pd.read_csv(v2.output_dir / "institutions" / "S-17" / "continuity_changes.csv")
    assert set(s17["institution_id"]) == {"S-17"} and len(s17) == (changes["institution_id"] == "S-17").sum()
