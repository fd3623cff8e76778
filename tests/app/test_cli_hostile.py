"""``validate`` and ``ingest-file`` on hostile input: a verdict and an exit code, never a traceback."""

from __future__ import annotations

import gzip
import json

import pytest

from tests.support.poison import POISON, with_extension
from xapi_ingest.app.cli.main import main

LAKE_RULES = {name: case for name, case in POISON.items() if case[1] != "json.malformed"}


@pytest.mark.parametrize(("payload", "rule"), LAKE_RULES.values(), ids=LAKE_RULES.keys())
@pytest.mark.parametrize("form", ["ndjson", "array"])
def test_validate_names_the_rule_and_exits_1(tmp_path, capsys, payload, rule, form):
    texts = [with_extension('"fine"'), with_extension(payload)]
    path = tmp_path / "in.json"
    path.write_text("[" + ",".join(texts) + "]" if form == "array" else "\n".join(texts) + "\n")
    assert main(["validate", str(path), "--format", "json"]) == 1
    verdicts = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [v["valid"] for v in verdicts] == [True, False]
    assert [e["rule"] for e in verdicts[1]["errors"]] == [rule]


def test_ingest_file_of_a_truncated_gzip_commits_the_rest_and_exits_1(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XAPI_PSEUDONYM_KEY", "cli-test-key-0123456789")
    lines = [with_extension(json.dumps(f"{n:x}" * 40)) for n in range(2000)]
    data = gzip.compress(("\n".join(lines) + "\n").encode())
    path = tmp_path / "cut.ndjson.gz"
    path.write_bytes(data[: len(data) // 2])
    assert main(["ingest-file", str(path), "--source", "moodle-a", "--lake", str(tmp_path / "lake")]) == 1
    captured = capsys.readouterr()
    assert "quarantined 1," in captured.out and "cannot read on after line" in captured.err
    assert "Traceback" not in captured.err
    assert main(["validate", str(path)]) == 2  # the break is unreadable input
