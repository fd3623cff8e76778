"""Restatement: voids and registry approvals produce new versions that supersede, never edits."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pandas as pd

from devtools.synthetic import credit as x
from tests.support.credit_world import BLOG_LISTED, POLICY, REGISTRY, at, ingest, lms, statements, write_config
from transforms.credit.run import run_credit
from xapi_ingest.lake.store import Lake


def _digest(folder):
    return {p.relative_to(folder): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}


def _t(folder, teacher_id, institution, period="2024-25"):
    t = pd.read_parquet(folder / "teacher_summary.parquet")
    return t[(t["teacher_id"] == teacher_id) & (t["institution_id"] == institution) & (t["period_id"] == period)].iloc[0]


def test_void_and_approval_restate_in_new_versions(tmp_path):
    named = statements()
    ingest(tmp_path / "lake", list(named.values()), "first")
    registry, roster = write_config(tmp_path)
    out = tmp_path / "out"
    v1 = run_credit(Lake(tmp_path / "lake"), POLICY, registry, roster, out)
    assert (v1.version, v1.new_version, v1.supersedes_version) == (1, True, None)
    assert _t(v1.output_dir, "T5", "S-42")["credited_total"] == 12.0
    before = _digest(v1.output_dir)

    same = run_credit(Lake(tmp_path / "lake"), POLICY, registry, roster, out)
    assert (same.version, same.new_version) == (1, False)  # nothing changed: nothing written

    void = x.void("void-t5c", named["t5c"]["id"], lms("t5"), at("2025-02-01T09:00:00"))
    ingest(tmp_path / "lake", [void], "voids")
    v2 = run_credit(Lake(tmp_path / "lake"), POLICY, registry, roster, out)
    assert (v2.version, v2.new_version, v2.supersedes_version) == (2, True, 1)
    old, new = _t(v1.output_dir, "T5", "S-42"), _t(v2.output_dir, "T5", "S-42")
    assert new["credited_total"] == 0.0
    assert new["supersedes_summary_id"] == old["summary_id"] != new["summary_id"]
    assert pd.isna(_t(v2.output_dir, "T1", "S-17")["supersedes_summary_id"])  # unchanged teachers supersede nothing
    ledger = pd.read_parquet(v2.output_dir / "ledger.parquet")
    voided = ledger[ledger["evidence_statement_ids"].map(lambda ids: list(ids) == [named["t5c"]["id"]])].iloc[0]
    assert (voided["status"], voided["hours_credited"]) == ("voided", 0.0)
    assert _digest(v1.output_dir) == before  # the superseded version is untouched

    registry, _ = write_config(tmp_path, [*REGISTRY, BLOG_LISTED])  # the quality monitor lists the blog (tier B)
    v3 = run_credit(Lake(tmp_path / "lake"), POLICY, registry, roster, out)
    assert (v3.version, v3.supersedes_version) == (3, 2)
    t3_old, t3_new = _t(v2.output_dir, "T3", "S-17"), _t(v3.output_dir, "T3", "S-17")
    assert (t3_old["credited_informal"], t3_new["credited_informal"]) == (0.0, 1.0)
    assert t3_new["supersedes_summary_id"] == t3_old["summary_id"]
    manifest = json.loads((out / "versions.json").read_text())["versions"]
    assert [(v["version"], v["supersedes_version"]) for v in manifest] == [(1, None), (2, 1), (3, 2)]
    assert (out / "LATEST").read_text().strip() == "v0003"


def test_a_void_from_an_unrelated_untrusted_sender_is_ignored(tmp_path):
    named = statements()
    forged = x.void("forged", named["t5c"]["id"], lms("t5"), at("2025-02-01T09:00:00"), lrs=x.UNKNOWN_LRS)
    ingest(tmp_path / "lake", [*named.values(), forged])
    registry, roster = write_config(tmp_path)
    run = run_credit(Lake(tmp_path / "lake"), POLICY, registry, roster, tmp_path / "out")
    assert _t(run.output_dir, "T5", "S-42")["credited_total"] == 12.0


def test_late_statement_is_credited_flagged_and_counted(tmp_path):
    late = x.make_statement("late", lms("t6"), "experienced", "https://lms-a.example.kz/resource/p2", x.TYPE["link"],
                            "Reading 2", at("2025-02-01T08:00:00"), result={"duration": "PT1H"},
                            stored_after=timedelta(days=45))
    ingest(tmp_path / "lake", [*statements().values(), late])
    registry, roster = write_config(tmp_path)
    run = run_credit(Lake(tmp_path / "lake"), POLICY, registry, roster, tmp_path / "out")
    ledger = pd.read_parquet(run.output_dir / "ledger.parquet")
    row = ledger[ledger["primary_statement_id"] == late["id"]].iloc[0]
    assert row["late_arrival"] and "late_arrival" in list(row["reason_codes"])
    assert row["hours_rounded"] == 1.0
    institutions = pd.read_parquet(run.output_dir / "institution_summary.parquet")
    s42 = institutions[(institutions["institution_id"] == "S-42") & (institutions["period_id"] == "2024-25")].iloc[0]
    assert s42["late_rows"] == 1


def test_cli_runs_and_reports_the_version(tmp_path, capsys):
    from xapi_ingest.app.cli.main import main

    ingest(tmp_path / "lake", list(statements().values()))
    registry, roster = write_config(tmp_path)
    arguments = ["credit", "--lake", str(tmp_path / "lake"), "--policy", str(POLICY), "--registry", str(registry),
                 "--roster", str(roster), "--out", str(tmp_path / "out"), "--no-statements"]
    assert main(arguments) == 0
    first = capsys.readouterr().out
    assert first.startswith("new version v0001") and "untrusted_source" in first
    assert not (tmp_path / "out" / "versions" / "v0001" / "institutions" / "S-17" / "statements").exists()
    assert main(arguments) == 0
    assert capsys.readouterr().out.startswith("unchanged; latest version v0001")


def test_a_killed_runs_staging_folder_is_cleaned_up(tmp_path):
    ingest(tmp_path / "lake", list(statements().values()), "first")
    registry, roster = write_config(tmp_path)
    out = tmp_path / "out"
    stale = out / ".staging-20260101T000000-dead"  # what a run killed mid-write leaves
    (stale / "institutions").mkdir(parents=True)
    (stale / "ledger.parquet").write_bytes(b"half")
    first = run_credit(Lake(tmp_path / "lake"), POLICY, registry, roster, out)
    assert first.new_version and not stale.exists()
    stale.mkdir()
    assert not run_credit(Lake(tmp_path / "lake"), POLICY, registry, roster, out).new_version
    assert [p.name for p in out.iterdir() if p.name.startswith(".staging-")] == []  # also when nothing changed
