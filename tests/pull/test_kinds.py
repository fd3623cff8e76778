"""Source kinds as plugins: sources.yaml entries validated by their kind, one-line errors for unknown and
broken kinds, the CLI pulling any kind, and the project's own kinds declared as entry points."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from devtools import REPO_ROOT
from tests.pull.files_support import encode, ids, write
from xapi_ingest.app.cli.main import main
from xapi_ingest.common.config import ConfigError
from xapi_ingest.lake.store import Lake
from xapi_ingest.pull.files import FilesSource
from xapi_ingest.pull.kinds import GROUP, SourceKind, find_kind
from xapi_ingest.pull.sources import Source, load_sources
from xapi_ingest.xapi.samples import realistic_statements

MIXED = """\
sources:
  - id: moodle-almaty
    endpoint: http://127.0.0.1:8100/xAPI/
  - id: openedx-drop
    kind: files
    location: {location}
    settle_seconds: 0
    tolerate: [object-type.invalid]
"""


def _config(tmp_path: Path, text: str, location: Path | str = "/srv/drops/openedx") -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(text.format(location=location))
    return path


def test_entries_without_a_kind_are_lrss_and_files_entries_get_their_model(tmp_path: Path) -> None:
    sources = load_sources(_config(tmp_path, MIXED))
    lrs, drop = sources.sources
    assert isinstance(lrs, Source) and lrs.kind == "lrs" and lrs.where() == "http://127.0.0.1:8100/xAPI/statements"
    assert isinstance(drop, FilesSource) and drop.kind == "files" and drop.tolerate == ("object-type.invalid",)
    assert drop.patterns == ("*.json", "*.ndjson", "*.jsonl", "*.json.gz", "*.ndjson.gz", "*.jsonl.gz")


@pytest.mark.parametrize(("change", "expected"), [
    (("kind: files", "kind: ftp"), "sources.yaml:5: sources[1].kind: no source kind 'ftp' is installed "
                                   f"(entry point group {GROUP}; installed: files, lrs)"),
    (("settle_seconds: 0", "settle_seconds: 0\n    endpoint: http://lrs/xAPI/\n    page_size: 50"),
     "sources.yaml:8: sources[1].endpoint: Extra inputs are not permitted"),
    (("settle_seconds: 0", "settle_seconds: -1"), "sources.yaml:7: sources[1].settle_seconds: Input should be "
                                                   "greater than or equal to 0"),
    (("location: {location}", "location: ftp://host/drops"), "sources.yaml:6: sources[1].location: "
                                                                     "Value error, must be a folder or an s3:// URI"),
    (("location: {location}", "location: s3://AKIA:hunter2@bucket/drops"),
     "sources[1].location: Value error, must not contain credentials"),
    (("    tolerate: [object-type.invalid]\n", "    secret_key: hunter2\n"),
     "sources[1]: secret_key: a password must not be written in sources.yaml"),
    (("    location: {location}\n", ""), "sources.yaml:4: sources[1].location: Field required"),
])
def test_errors_name_the_line_and_field_of_the_entrys_kind(tmp_path: Path, change: tuple[str, str],
                                                          expected: str) -> None:
    path = _config(tmp_path, MIXED.replace(*change))
    with pytest.raises(ConfigError) as error:
        load_sources(path)
    assert expected in str(error.value)
    assert "hunter2" not in str(error.value)


def _installed_package(tmp_path: Path, monkeypatch, entry_points: str) -> None:
    """A distribution on sys.path whose metadata declares source kinds: what `pip install` leaves behind."""
    dist = write(tmp_path / "site" / "lms_kinds-1.0.dist-info" / "METADATA",
                 b"Metadata-Version: 2.1\nName: lms-kinds\nVersion: 1.0\n").parent
    (dist / "entry_points.txt").write_text(f"[{GROUP}]\n{entry_points}")
    write(tmp_path / "site" / "lms_kinds.py", b"import no_such_dependency\n")
    write(tmp_path / "site" / "lms_kinds_wrong.py", b"kind = 'a string, not a SourceKind'\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))


def test_a_broken_kind_is_one_line_naming_the_plugin_and_only_breaks_its_entries(tmp_path: Path, monkeypatch) -> None:
    _installed_package(tmp_path, monkeypatch, "moodle_logs = lms_kinds:kind\nwrong = lms_kinds_wrong:kind\n")
    path = _config(tmp_path, MIXED + "  - id: logs\n    kind: moodle_logs\n  - id: other\n    kind: wrong\n")
    with pytest.raises(ConfigError) as error:
        load_sources(path)
    lines = str(error.value).splitlines()
    assert lines == [
        f"{path}:10: sources[2].kind: source kind 'moodle_logs' cannot be imported (entry point "
        "'moodle_logs = lms_kinds:kind' of lms-kinds 1.0): ModuleNotFoundError: No module named 'no_such_dependency'",
        f"{path}:12: sources[3].kind: source kind 'wrong' (entry point 'wrong = lms_kinds_wrong:kind' of lms-kinds "
        "1.0) is a str, not a xapi_ingest.pull.kinds.SourceKind",
    ]
    assert load_sources(_config(tmp_path, MIXED)).get("openedx-drop").kind == "files"  # unused, it costs nothing


def test_the_project_declares_its_kinds_as_entry_points_and_they_load() -> None:
    declared = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["entry-points"][GROUP]
    assert declared == {"lrs": "xapi_ingest.pull.lrs:kind", "files": "xapi_ingest.pull.files:kind"}
    for name in declared:
        kind = find_kind(name)
        assert isinstance(kind, SourceKind) and kind.name == name


def test_the_pull_command_pulls_an_lrs_config_and_a_file_drop_alike(tmp_path: Path, capsys) -> None:
    statements = list(realistic_statements(6))
    drop = tmp_path / "drop"
    write(drop / "day1.ndjson.gz", encode(statements, "gzip"))
    write(drop / "day2.json", b"this is not JSON")
    config = _config(tmp_path, MIXED, drop)
    lake = tmp_path / "lake"
    assert main(["pull", "--config", str(config), "--source", "openedx-drop", "--lake", str(lake)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("openedx-drop: files read 2, skipped 0, failed 0; statements read 7, valid 6, tolerated 0, "
                          "quarantined 1, duplicates 0")
    assert ids(Lake(lake)) == sorted(s["id"] for s in statements)
    assert main(["pull", "--config", str(config), "--source", "openedx-drop", "--lake", str(lake), "--format",
                 "json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["files"] == {"read": 0, "skipped": 2, "failed": []} and again["counts"]["read"] == 0


def test_the_sources_command_lists_kinds_and_sources_and_names_a_broken_kind(tmp_path: Path, monkeypatch,
                                                                            capsys) -> None:
    config = _config(tmp_path, MIXED, "s3://drops/openedx?endpoint_override=minio:9000&scheme=http")
    assert main(["sources", "--config", str(config)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].split()[0] == "files" and out[2].split()[0] == "lrs"
    assert out[-2:] == ["  moodle-almaty lrs          http://127.0.0.1:8100/xAPI/statements",
                        "  openedx-drop  files        s3://drops/openedx"]  # no query string: it may hold more

    _installed_package(tmp_path, monkeypatch, "moodle_logs = lms_kinds:kind\n")
    monkeypatch.delenv("XAPI_SOURCES", raising=False)
    assert main(["sources"]) == 1
    assert "  moodle_logs  BROKEN: source kind 'moodle_logs' cannot be imported" in capsys.readouterr().out
    assert main(["sources", "--config", str(_config(tmp_path, MIXED.replace("kind: files", "kind: ftp")))]) == 2
    assert capsys.readouterr().err.startswith(f"error: {tmp_path / 'sources.yaml'}:5: sources[1].kind: no source kind")


def test_the_dag_steps_list_and_pull_a_file_drop(tmp_path: Path) -> None:
    from xapi_ingest.app.settings import Settings
    from xapi_ingest.app.steps import list_sources, pull_one

    statements = list(realistic_statements(3))
    write(tmp_path / "drop" / "x.ndjson", encode(statements, "ndjson"))
    settings = Settings.from_env({"XAPI_SOURCES": str(_config(tmp_path, MIXED, tmp_path / "drop")),
                                  "XAPI_LAKE": str(tmp_path / "lake")})
    assert list_sources(settings) == ["moodle-almaty", "openedx-drop"]
    xcom = pull_one(settings, "openedx-drop")
    assert json.loads(json.dumps(xcom))["files"] == {"read": 1, "skipped": 0, "failed": []}
    assert ids(Lake(tmp_path / "lake")) == sorted(s["id"] for s in statements)
