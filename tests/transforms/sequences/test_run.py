"""The ``sequences`` path over a real lake built with the Ingestor, from synthetic discussions."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from devtools import REPO_ROOT
from devtools.synthetic.sequences import KC_EXTENSION, collaborative_discussions
from transforms.sequences.run import run_sequences
from transforms.sequences.scheme import SchemeError, load_scheme
from xapi_ingest.app.cli.main import main
from xapi_ingest.lake.ingest import Ingestor
from xapi_ingest.lake.store import Lake
from xapi_ingest.publish.privacy import Pseudonymizer, publish
from xapi_ingest.xapi.reader import RawRecord
from xapi_ingest.xapi.samples import realistic_statements
from xapi_ingest.xapi.validator import StatementValidator

SCHEME = REPO_ROOT / "config" / "sequences" / "scheme.yaml"
KEY = b"test-key-for-sequences-0123456789"


def _ingest(lake: Lake, statements: list[dict]) -> None:
    records = [("test", RawRecord(i, i + 1, json.dumps(s), s)) for i, s in enumerate(statements)]
    counts = Ingestor(lake, "moodle-a").ingest(records)
    assert counts.valid == len(statements)
    publish(lake, Pseudonymizer(KEY), include_unchecked=True)  # the gate is tested in tests/quality


def _special_statements(discussion: list[dict]) -> dict[str, dict]:
    """A voided message, its voiding statement, an unknown code, a message without a unit."""
    voided, unknown, no_unit = (copy.deepcopy(discussion[i]) for i in (3, 5, 7))
    voided["id"] = str(uuid.uuid4())
    voiding = {"id": str(uuid.uuid4()), "actor": voided["actor"],
               "verb": {"id": "http://adlnet.gov/expapi/verbs/voided", "display": {"en-US": "voided"}},
               "object": {"objectType": "StatementRef", "id": voided["id"]}, "timestamp": voided["timestamp"]}
    unknown["id"] = str(uuid.uuid4())
    unknown["result"] = {"extensions": {KC_EXTENSION: "C9"}}
    unknown["timestamp"] = discussion[5]["timestamp"].replace("Z", "").rstrip("0") + "1Z"  # just after message 5
    no_unit["id"] = str(uuid.uuid4())
    del no_unit["context"]["registration"]
    return {"voided": voided, "voiding": voiding, "unknown": unknown, "no_unit": no_unit}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("sequences")
    statements = list(collaborative_discussions(24, seed=5))
    first_discussion = [s for s in statements if s["context"]["registration"] == statements[0]["context"]["registration"]]
    special = _special_statements(first_discussion)
    lake = Lake(root / "lake")
    _ingest(lake, [*statements, *special.values(), *realistic_statements(40)])
    summary = run_sequences(lake, SCHEME, root / "out")
    return summary, Path(summary.out_dir), statements, special


def _lake(out: Path) -> Lake:
    """The lake a version folder (``OUT/versions/vNNNN``) was computed from, in these tests' layout."""
    return Lake(out.parents[2] / "lake")


def test_synthetic_statements_are_valid_and_deterministic():
    validator = StatementValidator("auto")
    statements = list(collaborative_discussions(6, seed=9))
    assert statements and all(validator.validate(s) == [] for s in statements)
    assert statements == list(collaborative_discussions(6, seed=9))
    assert statements != list(collaborative_discussions(6, seed=10))


def test_counts_and_exclusions(run):
    summary, out, statements, special = run
    assert summary.statements == len(statements) + 4 + 40
    assert summary.voided == 2 and summary.out_of_scope == 40 and summary.without_unit == 1
    assert summary.in_scope == len(statements) + 2  # the unknown code and the statement without a unit
    events = pq.read_table(out / "coded_events.parquet").to_pandas()
    assert special["voided"]["id"] not in set(events["statement_id"])
    assert special["no_unit"]["id"] not in set(events["statement_id"])
    unknown = events[events["statement_id"] == special["unknown"]["id"]].iloc[0]
    assert unknown.isna()["code_knowledge_construction"] and unknown["raw_knowledge_construction"] == "C9"
    coded = events[events["code_knowledge_construction"].notna()]
    assert coded["raw_knowledge_construction"].isna().all()  # raw values are kept only when they are not codes
    order = events[["unit_id", "timestamp", "statement_id"]]
    assert order.equals(order.sort_values(["unit_id", "timestamp", "statement_id"]))  # rows are in sequence order
    assert unknown["code_interaction"] in {"ASK", "RESPOND", "COMMENT", "SHARE"}  # coded in the other dimension
    uncoded_ids = {s["id"] for s in statements if "result" not in s} | {special["unknown"]["id"]}
    uncoded_rows = events["code_knowledge_construction"].isna()
    assert set(events.loc[uncoded_rows, "statement_id"]) == uncoded_ids  # reported, never dropped
    examples = (out / "knowledge-construction" / "uncoded_examples.csv").read_text()
    (line,) = [row for row in examples.splitlines() if row.startswith(special["unknown"]["id"])]
    assert line.startswith(f"{special['unknown']['id']},{unknown['unit_id']},")
    assert ",value is not a code of the scheme,C9," in line
    (dimension,) = [d for d in summary.dimensions if d.id == "knowledge-construction"]
    assert dimension.uncoded == len(uncoded_ids)
    reasons = (out / "knowledge-construction" / "uncoded.csv").read_text()
    assert "no rule matched" in reasons and "value is not a code of the scheme" in reasons


def _oracle_table(statements: list[dict], codes: list[str], code_of, lag: int = 1, by_learner: bool = False) -> np.ndarray:
    """Count lag-L pairs thread by thread in plain Python, skipping pairs with an uncoded end.

    ``by_learner``: each learner's own sequence inside each thread (the per-cluster analysis).
    """
    table = np.zeros((len(codes), len(codes)), dtype=np.int64)
    threads: dict[tuple[str, str], list[dict]] = {}
    for s in statements:
        learner = s["actor"]["account"]["name"] if by_learner else ""
        threads.setdefault((s["context"]["registration"], learner), []).append(s)
    for messages in threads.values():
        messages.sort(key=lambda s: (s["timestamp"], s["id"]))
        for before, after in zip(messages, messages[lag:], strict=False):
            a, b = code_of(before), code_of(after)
            if a in codes and b in codes:
                table[codes.index(a), codes.index(b)] += 1
    return table


def _kc(statement: dict) -> str | None:
    return statement.get("result", {}).get("extensions", {}).get(KC_EXTENSION)


def test_pooled_tables_match_a_thread_by_thread_oracle(run):
    _summary, out, statements, special = run
    kept = [*statements, special["unknown"]]
    kc = json.loads((out / "knowledge-construction" / "lsa.json").read_text())
    assert kc["freq"] == _oracle_table(kept, kc["codes"], _kc).tolist()
    verbs = json.loads((out / "interaction" / "lsa.json").read_text())
    verb_codes = {"asked": "ASK", "responded": "RESPOND", "commented": "COMMENT", "shared": "SHARE"}
    expected = _oracle_table(kept, verbs["codes"], lambda s: verb_codes[s["verb"]["display"]["en-US"]])
    assert verbs["freq"] == expected.tolist()


def test_lag_two_and_per_cluster_tables_match_the_oracle(run, tmp_path):
    _, out, statements, special = run
    kept = [*statements, special["unknown"]]
    scheme = tmp_path / "lag2.yaml"
    scheme.write_text(SCHEME.read_text().replace("lag: 1", "lag: 2"))
    lag2 = Path(run_sequences(_lake(out), scheme, tmp_path / "lag2").out_dir)
    kc = json.loads((lag2 / "knowledge-construction" / "lsa.json").read_text())
    assert kc["lag"] == 2 and kc["freq"] == _oracle_table(kept, kc["codes"], _kc, lag=2).tolist()

    # Per-cluster tables: learners' own sequences inside each thread, summed over the clustered learners.
    profiles = pd.read_csv(out / "knowledge-construction" / "clusters" / "profiles.csv", index_col=0)
    pseudonym = Pseudonymizer(KEY).pseudonym
    clustered = [s for s in kept if pseudonym(f"account:{s['actor']['account']['homePage']}|{s['actor']['account']['name']}")
                 in profiles.index]
    expected = _oracle_table(clustered, kc["codes"], _kc, by_learner=True)
    folders = sorted((out / "knowledge-construction" / "clusters").glob("cluster-*"))
    assert len(folders) == profiles["cluster"].nunique() >= 2
    total = sum(np.array(json.loads((folder / "lsa.json").read_text())["freq"]) for folder in folders)
    assert total.tolist() == expected.tolist()


def test_markov_structure_is_found(run):
    _summary, out, _, _ = run
    significant = {(s["from"], s["to"]) for s in json.loads((out / "interaction" / "lsa.json").read_text())["significant"]}
    assert ("ASK", "RESPOND") in significant  # the generator's strongest transition (p = .75)
    comparison = (out / "knowledge-construction" / "groups" / "comparison.csv").read_text().splitlines()
    assert comparison[0] == "from,to,z given-scenario,z role-play"


def test_outputs_are_pseudonymized_and_complete(run):
    summary, out, _, _ = run
    assert summary.zone == "analyst"
    profiles = (out / "knowledge-construction" / "clusters" / "profiles.csv").read_text()
    assert "teacher-" not in profiles and "\np_" in profiles
    for name in ("report.html", "sequences.parquet", "summary.json", "knowledge-construction/diagram.png",
                 "knowledge-construction/diagram.svg", "knowledge-construction/transitions.csv",
                 "interaction/clusters/centroids.csv"):
        assert (out / name).stat().st_size > 0, name
    report = (out / "report.html").read_text()
    assert "<svg" in report and "not Hou&#x27;s published procedure" in report
    sequences = pq.read_table(out / "sequences.parquet").to_pandas()
    assert (sequences["n_events"] == sequences["codes_knowledge_construction"].map(len)).all()
    assert (sequences["n_events"] == sequences["codes_interaction"].map(len)).all()
    assert sequences["n_events"].sum() == len(pq.read_table(out / "coded_events.parquet"))


def test_rerun_gives_identical_results_and_images(run, tmp_path):
    summary, out, _, _ = run
    again = run_sequences(_lake(out), SCHEME, tmp_path / "again")
    for name in ("knowledge-construction/lsa.json", "knowledge-construction/diagram.png", "knowledge-construction/diagram.svg",
                 "interaction/clusters/profiles.csv"):
        assert (out / name).read_bytes() == (Path(again.out_dir) / name).read_bytes(), name
    assert [d.significant for d in again.dimensions] == [d.significant for d in summary.dimensions]


def test_tiny_batches_split_units_and_change_nothing(run, tmp_path, monkeypatch):
    """Units cut across many batches are carried over whole: the tally must not depend on batch size."""
    _, out, _, _ = run
    monkeypatch.setattr("transforms.sequences.tally.BATCH_ROWS", 7)
    small = Path(run_sequences(_lake(out), SCHEME, tmp_path / "small").out_dir)
    for name in ("knowledge-construction/lsa.json", "interaction/lsa.json", "knowledge-construction/groups/comparison.csv",
                 "knowledge-construction/clusters/cluster-1/lsa.json", "knowledge-construction/uncoded.csv"):
        assert (out / name).read_text() == (small / name).read_text(), name
    assert pq.read_table(out / "sequences.parquet").equals(pq.read_table(small / "sequences.parquet"))


def test_uncoded_error_policy_and_empty_analyst_zone(run, tmp_path):
    _, out, _, _ = run
    strict = tmp_path / "strict.yaml"
    strict.write_text(SCHEME.read_text().replace("uncoded: gap", "uncoded: error"))
    with pytest.raises(ValueError, match="match no code"):
        run_sequences(_lake(out), strict, tmp_path / "strict-out")
    lake = Lake(tmp_path / "restricted-only")
    records = [("t", RawRecord(i, i + 1, json.dumps(s), s)) for i, s in enumerate(collaborative_discussions(2))]
    Ingestor(lake, "moodle-a").ingest(records)
    with pytest.raises(ValueError, match=r"analyst zone .* is empty"):
        run_sequences(lake, SCHEME, tmp_path / "none")
    assert run_sequences(lake, SCHEME, tmp_path / "restricted", zone="restricted").in_scope > 0


def test_scheme_errors_name_file_line_and_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    text = SCHEME.read_text().replace("- {code: SHARE, verbs: [http://adlnet.gov/expapi/verbs/shared]}",
                                      "- {code: SHARE, verbz: [http://adlnet.gov/expapi/verbs/shared]}")
    bad.write_text(text)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "verbz" in row)
    with pytest.raises(SchemeError, match=rf"bad.yaml:{line}: dimensions\[1\].rules\[3\].verbz: Extra inputs"):
        load_scheme(bad)
    bad.write_text(SCHEME.read_text().replace("{code: RESPOND, verbs", "{code: REPLY, verbs"))
    with pytest.raises(SchemeError, match=r"dimensions\[1\]: .*'REPLY'.* not among its codes"):
        load_scheme(bad)


def test_cli_sequences(run, tmp_path, capsys):
    _, out, _, _ = run
    assert main(["sequences", "--lake", str(out.parents[2] / "lake"), "--scheme", str(SCHEME), "--out", str(tmp_path / "o")]) == 0
    assert "report:" in capsys.readouterr().out
    assert main(["sequences", "--lake", str(out.parents[2] / "lake"), "--scheme", str(tmp_path / "missing.yaml"),
                 "--out", str(tmp_path / "o")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_an_empty_lake_gives_an_empty_report(tmp_path):
    summary = run_sequences(Lake(tmp_path / "lake"), SCHEME, tmp_path / "out")
    assert (summary.statements, summary.in_scope) == (0, 0)
    assert all(d.transitions == 0 and d.significant == [] for d in summary.dimensions)
    out = Path(summary.out_dir)
    assert json.loads((out / "interaction" / "lsa.json").read_text())["adjusted_residuals"] == [[None] * 4] * 4
    assert (out / "report.html").exists()


def test_a_registration_in_mixed_letter_case_is_one_unit(tmp_path):
    """UUIDs compare case-insensitively: a unit whose statements write its registration in both cases is one unit."""
    discussion = list(collaborative_discussions(1, seed=3))
    for statement in discussion[::2]:
        statement["context"]["registration"] = statement["context"]["registration"].upper()
    lake = Lake(tmp_path / "lake")
    _ingest(lake, discussion)
    out = Path(run_sequences(lake, SCHEME, tmp_path / "out").out_dir)
    events = pq.read_table(out / "coded_events.parquet").to_pandas()
    assert len(events) == len(discussion) and events["unit_id"].nunique() == 1


def test_runs_are_versioned_and_a_run_with_nothing_new_writes_nothing(tmp_path, capsys):
    lake, out = Lake(tmp_path / "lake"), tmp_path / "out"
    discussions = list(collaborative_discussions(6, seed=21))
    _ingest(lake, discussions[: len(discussions) // 2])
    first = run_sequences(lake, SCHEME, out)
    assert (first.version, first.new_version) == (1, True)
    assert Path(first.out_dir) == out / "versions" / "v0001" and (out / "LATEST").read_text() == "v0001\n"
    assert (Path(first.report)).read_text().startswith("<!doctype html>")
    listing = sorted(p.name for p in out.iterdir())

    again = run_sequences(lake, SCHEME, out)  # nothing new: no version, no staging folder, not one file touched
    assert (again.version, again.new_version) == (1, False)
    assert sorted(p.name for p in out.iterdir()) == listing and list((out / "versions").iterdir()) == [out / "versions" / "v0001"]
    assert main(["sequences", "--lake", str(tmp_path / "lake"), "--scheme", str(SCHEME), "--out", str(out)]) == 0
    assert capsys.readouterr().out.startswith("unchanged; latest version v0001")

    _ingest(lake, discussions[len(discussions) // 2:])  # new statements: a new version, the old one kept as it was
    second = run_sequences(lake, SCHEME, out)
    assert (second.version, second.new_version) == (2, True) and second.statements > first.statements
    assert json.loads((out / "versions" / "v0001" / "summary.json").read_text())["statements"] == first.statements
    changed = tmp_path / "changed.yaml"
    changed.write_text(SCHEME.read_text().replace("threshold: 1.96", "threshold: 2.58"))
    assert run_sequences(lake, changed, out).version == 3  # same lake, another scheme
    assert run_sequences(lake, SCHEME, out, language="ru").version == 4  # another language asked for

    manifest = json.loads((out / "versions.json").read_text())["versions"]
    assert [v["version"] for v in manifest] == [1, 2, 3, 4] and [v["supersedes_version"] for v in manifest] == [None, 1, 2, 3]
    assert manifest[0]["lake_snapshots"]["analyst_statements"] != manifest[1]["lake_snapshots"]["analyst_statements"]
    assert manifest[2]["scheme_sha256"] != manifest[1]["scheme_sha256"]
    assert (out / "LATEST").read_text() == "v0004\n"


def test_a_failed_run_leaves_no_version_and_a_killed_runs_staging_is_removed(tmp_path):
    lake, out = Lake(tmp_path / "lake"), tmp_path / "out"
    discussion = list(collaborative_discussions(2, seed=4))
    discussion[0]["result"] = {"extensions": {KC_EXTENSION: "C9"}}  # not a code: fails under 'uncoded: error'
    _ingest(lake, discussion)
    stale = out / ".staging-sequences-20260101T000000-dead"  # what a run killed mid-write leaves
    (stale / "interaction").mkdir(parents=True)
    strict = tmp_path / "strict.yaml"
    strict.write_text(SCHEME.read_text().replace("uncoded: gap", "uncoded: error"))
    with pytest.raises(ValueError, match="match no code"):
        run_sequences(lake, strict, out)
    assert sorted(p.name for p in out.iterdir()) == [".versions.lock"]  # no version, no manifest, no staging
    assert run_sequences(lake, SCHEME, out).version == 1


@pytest.mark.parametrize(("language", "words"), [("kk", ["Кодтардың жиіліктері", "Білім алушылардың кластерлері"]),
                                                 ("ru", ["Частоты кодов", "Кластеры учащихся"]),
                                                 ("en", ["Code frequencies", "Learner clusters"])])
def test_the_report_reads_in_each_language(run, tmp_path, language, words):
    _, out, _, _ = run
    summary = run_sequences(_lake(out), SCHEME, tmp_path / "out", language=language)
    assert summary.untranslated == [] and summary.language == language
    report = Path(summary.report).read_text()
    assert f"<html lang='{language}'>" in report and all(word in report for word in words)
    if language != "en":
        assert "Code frequencies" not in report and "z &gt; 1,96" in report  # numbers in the language's format too
