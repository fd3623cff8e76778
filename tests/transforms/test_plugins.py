"""The analytics plugin API without a lake: configuration errors, broken plugins, versioned folders."""

from __future__ import annotations

import json
import tomllib
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from devtools import REPO_ROOT
from transforms.credit.plugin import CreditConfig
from transforms.plugins import GROUP, AnalyticsPlugin, write_version
from transforms.plugins.deployment import Deployment
from transforms.plugins.discovery import PluginError, find, load
from xapi_ingest.app.settings import Settings
from xapi_ingest.app.steps import analytics_deployment
from xapi_ingest.common.config import ConfigError

CONFIG = """\
plugins:
  credit:
    policy: {policy}
    registry: {registry}
    roster: config/credit/no-such-roster.csv
    out: reports/credit
  sequences:
    enabled: false
    scheme: config/sequences/scheme.yaml
    out: reports/sequences
"""


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "analytics.yaml"
    path.write_text(text)
    return path


def project_entry_points() -> list[EntryPoint]:
    """The entry points pyproject.toml declares, as an installed package would expose them."""
    declared = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["entry-points"][GROUP]
    return [EntryPoint(name, value, GROUP) for name, value in declared.items()]


def test_credit_sequences_and_network_are_declared_entry_points_of_the_api() -> None:
    plugins = {entry.name: load(entry) for entry in project_entry_points()}
    assert set(plugins) == {"credit", "sequences", "network"}
    assert all(isinstance(plugin, AnalyticsPlugin) for plugin in plugins.values())
    assert [plugins[name].reads for name in ("credit", "sequences", "network")] == ["restricted", "analyst", "restricted"]


def test_listed_plugins_are_enabled_unless_switched_off(tmp_path: Path) -> None:
    path = write_config(tmp_path, CONFIG.format(policy="config/credit/policy.yaml", registry="config/credit/registry.csv"))
    assert Deployment.load(path).enabled == ("credit",)


def test_a_plugins_bad_options_name_file_line_and_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO_ROOT)  # the other paths are relative to the working directory, and exist there
    path = write_config(tmp_path, CONFIG.format(policy="config/credit/policy.yaml", registry="[1, 2]"))
    credit = load(next(entry for entry in project_entry_points() if entry.name == "credit"))
    with pytest.raises(ConfigError) as caught:
        Deployment.load(path).config(credit)
    assert str(caught.value).splitlines() == [
        f"{path}:4: plugins.credit.registry: Input is not a valid path for <class 'pathlib.Path'>",
        f"{path}:5: plugins.credit.roster: Path does not point to a file",
    ]


def test_an_unknown_option_is_an_error_not_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO_ROOT)
    text = CONFIG.format(policy="config/credit/policy.yaml", registry="config/credit/registry.csv")
    path = write_config(tmp_path, text.replace("no-such-roster", "roster") + "    statements_of_particpation: false\n")
    deployment = Deployment.load(path)
    with pytest.raises(ConfigError, match=r"analytics.yaml:11: plugins.sequences.statements_of_particpation: Extra"):
        deployment.config(load(project_entry_points()[1]))
    assert isinstance(deployment.config(load(project_entry_points()[0])), CreditConfig)


def test_a_bad_plugin_name_or_enabled_flag_names_its_line(tmp_path: Path) -> None:
    path = write_config(tmp_path, "plugins:\n  Verb-Counts: {out: x}\n  credit:\n    enabled: perhaps\n")
    with pytest.raises(ConfigError) as caught:
        Deployment.load(path)
    problems = str(caught.value).splitlines()
    assert problems[0] == f"{path}:2: plugins.Verb-Counts.[key]: String should match pattern '^[a-z][a-z0-9_]*$'"
    assert problems[1].startswith(f"{path}:4: plugins.credit.enabled: Input should be a valid boolean")


def test_a_plugin_that_fails_to_import_is_one_line_naming_it_and_its_entry_point(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "needs_libfoo.py").write_text("import libfoo_that_is_not_installed\n")
    (tmp_path / "not_a_plugin.py").write_text("plugin = {'name': 'dict'}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError) as caught:
        load(EntryPoint("libfoo", "needs_libfoo:plugin", GROUP))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("analytics plugin 'libfoo' cannot be imported (entry point 'libfoo = needs_libfoo:plugin')")
    assert message.endswith("ModuleNotFoundError: No module named 'libfoo_that_is_not_installed'")
    with pytest.raises(PluginError, match=r"'dict' .* is a dict, not a transforms\.plugins\.api\.AnalyticsPlugin"):
        load(EntryPoint("dict", "not_a_plugin:plugin", GROUP))
    with pytest.raises(PluginError, match=r"'counts' .* calls itself 'credit'"):
        load(EntryPoint("counts", "transforms.credit.plugin:plugin", GROUP))


def test_a_plugin_not_installed_says_what_is(tmp_path: Path) -> None:
    installed = {entry.name: entry for entry in project_entry_points()}
    with pytest.raises(PluginError, match=r"no analytics plugin 'graph' is installed .*installed: credit, sequences, network"):
        find("graph", installed)
    assert find("credit", installed).name == "credit"


def test_a_version_is_written_once_per_distinct_inputs(tmp_path: Path) -> None:
    out, calls = tmp_path / "out", []

    def write(folder: Path) -> dict[str, int]:
        calls.append(folder)
        (folder / "table.csv").write_text(f"run,{len(calls)}\n")
        return {"rows": 1}

    first = write_version(out, {"config_sha256": "a", "lake_snapshots": {"statements": 1}}, write)
    again = write_version(out, {"lake_snapshots": {"statements": 1}, "config_sha256": "a"}, write)
    (out / ".staging-killed").mkdir()  # what a run killed while writing leaves behind
    changed = write_version(out, {"config_sha256": "a", "lake_snapshots": {"statements": 2}}, write)
    assert (first.version, first.new_version, again.version, again.new_version) == (1, True, 1, False)
    assert (changed.version, changed.new_version, len(calls)) == (2, True, 2)
    assert (out / "versions" / "v0001" / "table.csv").read_text() == "run,1\n"
    assert (out / "versions" / "v0002" / "table.csv").read_text() == "run,2\n"
    assert (out / "LATEST").read_text() == "v0002\n" and not list(out.glob(".staging*"))
    manifest = json.loads((out / "versions.json").read_text())["versions"]
    assert [entry["inputs"]["lake_snapshots"] for entry in manifest] == [{"statements": 1}, {"statements": 2}]
    assert again.output_dir == first.output_dir == out / "versions" / "v0001"


def test_a_write_that_fails_leaves_no_version(tmp_path: Path) -> None:
    def broken(folder: Path) -> dict[str, int]:
        (folder / "half.csv").write_text("a\n")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_version(tmp_path, {"config_sha256": "a"}, broken)
    assert not (tmp_path / "versions").exists() and not (tmp_path / "versions.json").exists()
    assert write_version(tmp_path, {"config_sha256": "a"}, lambda folder: {}).version == 1


def test_without_an_analytics_file_credit_and_sequences_run_from_the_older_settings(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no config/analytics.yaml here
    deployment = analytics_deployment(Settings.from_env({
        "XAPI_REPORTS": "out", "XAPI_CREDIT_POLICY": "missing.yaml",
        "XAPI_SEQUENCES_SCHEME": str(REPO_ROOT / "config/sequences/scheme.yaml")}))
    assert deployment.enabled == ("credit", "sequences", "network")
    plugins = {entry.name: load(entry) for entry in project_entry_points()}
    assert deployment.config(plugins["sequences"]).out == Path("out/sequences")
    with pytest.raises(ConfigError, match=r"plugins\.network\.roster='config/credit/roster\.csv': Path does not point"):
        deployment.config(plugins["network"])  # the credit roster, relative to the working directory (tmp_path here)
    with pytest.raises(ConfigError) as caught:
        deployment.config(plugins["credit"])
    assert str(caught.value).splitlines()[0] == (
        "XAPI_CREDIT_*, XAPI_SEQUENCES_SCHEME and XAPI_REPORTS (there is no XAPI_ANALYTICS='config/analytics.yaml'): "
        "plugins.credit.policy='missing.yaml': Path does not point to a file")


def test_an_analytics_file_named_by_the_setting_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"XAPI_ANALYTICS='.*absent.yaml': no such file"):
        analytics_deployment(Settings.from_env({"XAPI_ANALYTICS": str(tmp_path / "absent.yaml")}))


def test_two_packages_claiming_one_plugin_name_is_an_error_naming_both(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for package, module in (("counts-a", "counts_a"), ("counts-b", "counts_b")):
        info = tmp_path / f"{module}-1.0.dist-info"  # what pip leaves in site-packages
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(f"[{GROUP}]\ncounts = {module}:plugin\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError) as caught:
        find("counts")
    assert str(caught.value) == (
        "analytics plugin 'counts' is provided by 2 packages: entry point 'counts = counts_a:plugin' of counts-a 1.0; "
        "entry point 'counts = counts_b:plugin' of counts-b 1.0; uninstall all but one")
