"""Configuration is data: bad files fail with messages naming the file, the line and the field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from devtools import REPO_ROOT
from devtools.synthetic.credit import generate_cluster
from transforms.credit.policy import load_policy
from transforms.credit.registry import load_registry
from transforms.credit.roster import load_roster
from xapi_ingest.app.cli.main import main
from xapi_ingest.common.config import ConfigError
from xapi_ingest.xapi.validator import StatementValidator

CONFIG = REPO_ROOT / "config" / "credit"


def _line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def _policy_with(tmp_path, old: str, new: str) -> tuple[Path, int]:
    text = (CONFIG / "policy.yaml").read_text()
    assert old in text
    changed = text.replace(old, new, 1)
    path = tmp_path / "policy.yaml"
    path.write_text(changed)
    return path, _line_of(changed, new)


@pytest.mark.parametrize(("old", "new", "field", "message"), [
    ("rounding: {mode: floor, step: 0.25}", "rounding: {mode: floor, step: -1}", "units.rounding.step", "greater than 0"),
    ("    hours: {method: min_of}", "    hours: {method: minimum}", "categories.self_directed_resource.hours.method",
     "Input should be"),
    ("continuity:", "continuty:", "continuty", "Extra inputs are not permitted"),
    ("max_gap_days: 120", "max_gap_days: soon", "continuity.max_gap_days", "valid integer"),
])
def test_bad_policy_names_line_and_field(tmp_path, old, new, field, message):
    path, line = _policy_with(tmp_path, old, new)
    with pytest.raises(ConfigError) as caught:
        load_policy(path)
    assert re.search(rf"{re.escape(str(path))}:{line}: {re.escape(field)}: .*{message}", str(caught.value)), str(caught.value)


def test_policy_that_is_not_yaml(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("policy:\n  id: [unclosed\n")
    with pytest.raises(ConfigError, match=rf"{re.escape(str(path))}:\d+: not valid YAML"):
        load_policy(path)


def _csv_with(tmp_path, name: str, line: int, old: str, new: str) -> Path:
    lines = (CONFIG / name).read_text().splitlines(keepends=True)
    assert old in lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    path = tmp_path / name
    path.write_text("".join(lines))
    return path


def test_bad_registry_cell_names_line_and_column(tmp_path):
    policy = load_policy(CONFIG / "policy.yaml")
    text = (CONFIG / "registry.csv").read_text().splitlines()
    line = next(n for n, row in enumerate(text, 1) if row.startswith("R-103,"))
    hours = text[line - 1].split(",")[6]
    path = _csv_with(tmp_path, "registry.csv", line, f",{hours},", ",twenty,")
    with pytest.raises(ConfigError, match=rf"registry.csv:{line}: notional_hours: .*decimal"):
        load_registry(path, policy)


def test_registry_iri_claimed_by_two_units_names_both_lines(tmp_path):
    policy = load_policy(CONFIG / "policy.yaml")
    text = (CONFIG / "registry.csv").read_text().splitlines()
    first = next(n for n, row in enumerate(text, 1) if row.startswith("V-0,"))
    second = next(n for n, row in enumerate(text, 1) if row.startswith("V-1,"))
    iri_0, iri_1 = text[first - 1].split(",")[1], text[second - 1].split(",")[1]
    path = _csv_with(tmp_path, "registry.csv", second, iri_1, iri_0)
    with pytest.raises(ConfigError, match=rf"registry.csv:{second}: activity_iri/same_as: .* already belongs to V-0 "
                                          rf"\(line {first}\)"):
        load_registry(path, policy)


def test_bad_roster_ifi_names_line_and_column(tmp_path):
    path = _csv_with(tmp_path, "roster.csv", 4, "account:https://moodle.cluster.kz|1002", "teacher1002")
    with pytest.raises(ConfigError, match=r"roster.csv:4: ifis: .*not a canonical IFI"):
        load_roster(path)


def test_cli_reports_config_errors_and_exits_2(tmp_path, capsys):
    path, line = _policy_with(tmp_path, "rounding: {mode: floor, step: 0.25}", "rounding: {mode: floor, step: -1}")
    code = main(["credit", "--lake", str(tmp_path / "lake"), "--policy", str(path), "--registry",
                 str(CONFIG / "registry.csv"), "--roster", str(CONFIG / "roster.csv"), "--out", str(tmp_path / "out")])
    assert code == 2
    assert f"policy.yaml:{line}: units.rounding.step" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_shipped_config_matches_the_demo_generator(tmp_path):
    cluster = generate_cluster()
    assert cluster.write_registry(tmp_path / "r.csv").read_text() == (CONFIG / "registry.csv").read_text()
    assert cluster.write_roster(tmp_path / "t.csv").read_text() == (CONFIG / "roster.csv").read_text()
    validator = StatementValidator("auto")
    assert [s["id"] for s in cluster.statements if validator.validate(s)] == []
    assert len({s["id"] for s in cluster.statements}) == len(cluster.statements)
    institutions = {row["institution_id"] for row in cluster.roster}
    assert (len(cluster.roster), institutions) == (150, {"S-17", "S-42", "C-03"})


def _credit_args(lake: Path, out: Path) -> list[str]:
    return ["credit", "--lake", str(lake), "--policy", str(CONFIG / "policy.yaml"), "--registry",
            str(CONFIG / "registry.csv"), "--roster", str(CONFIG / "roster.csv"), "--out", str(out), "--no-statements"]


def test_a_lake_whose_actors_match_no_teacher_gives_empty_summaries_and_one_warning(tmp_path, capsys):
    """A roster typo used to end in a pandas merge traceback."""
    sample = tmp_path / "statements.ndjson"
    assert main(["sample", "--out", str(sample), "--count", "60"]) == 0
    assert main(["ingest-file", str(sample), "--source", "moodle-a", "--lake", str(tmp_path / "lake"), "--no-publish"]) == 0
    capsys.readouterr()
    assert main(_credit_args(tmp_path / "lake", tmp_path / "out")) == 0
    shown = capsys.readouterr()
    warnings = [line for line in shown.err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "unmatched_actors.csv" in warnings[0], shown.err
    version = tmp_path / "out" / "versions" / "v0001"
    assert (version / "teacher_summary.csv").read_text().count("\n") == 1  # the header only
    assert (version / "unmatched_actors.csv").read_text().count("\n") > 1


def test_a_missing_lake_is_one_line(tmp_path, capsys):
    assert main(_credit_args(tmp_path / "no-such-lake", tmp_path / "out")) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: no lake at") and error.count("\n") == 1
    assert not (tmp_path / "out" / "versions").exists()
