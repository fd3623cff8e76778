"""One settings object for every XAPI_* variable: validated, documented, secrets hidden."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from devtools import REPO_ROOT
from xapi_ingest.app.cli.main import main
from xapi_ingest.app.settings import Settings
from xapi_ingest.common.config import ConfigError


def test_every_variable_is_documented_in_the_readme() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `(XAPI_[A-Z_]+)` \|", readme, re.M))
    assert documented == set(Settings.variables())


def test_values_come_from_the_environment_and_empty_means_unset() -> None:
    settings = Settings.from_env({"XAPI_LAKE": "s3://bucket/lake", "XAPI_PULL_MAX_PAGES": "7", "XAPI_REPORTS": ""})
    assert settings.lake == "s3://bucket/lake"
    assert settings.pull_max_pages == 7
    assert settings.reports == Path("reports")
    assert "reports" not in settings.model_fields_set


def test_a_bad_value_names_its_variable() -> None:
    with pytest.raises(ConfigError, match=r"XAPI_PULL_MAX_PAGES='many': .*integer"):
        Settings.from_env({"XAPI_PULL_MAX_PAGES": "many"})
    with pytest.raises(ConfigError, match=r"XAPI_TASK_RETRIES='-1': .*greater than or equal to 0"):
        Settings.from_env({"XAPI_TASK_RETRIES": "-1"})


def test_the_pseudonym_key_never_prints() -> None:
    settings = Settings.from_env({"XAPI_PSEUDONYM_KEY": "a-secret-of-enough-bytes"})
    assert "a-secret-of-enough-bytes" not in repr(settings) + str(settings.model_dump())


def test_the_cli_reports_a_bad_setting_in_one_line(monkeypatch, capsys, tmp_path) -> None:
    """Settings are read by the commands that use them (those with a lake); `rules` needs none."""
    monkeypatch.setenv("XAPI_PULL_MAX_MINUTES", "soon")
    assert main(["rules"]) == 0
    capsys.readouterr()
    assert main(["verify", "--lake", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: XAPI_PULL_MAX_MINUTES='soon'") and "Traceback" not in error


def test_a_missing_configuration_file_names_its_variable(tmp_path, monkeypatch) -> None:
    """An installed package has no configuration beside it: relative defaults resolve in the working directory."""
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({})
    with pytest.raises(ConfigError) as error:
        settings.file("credit_roster")
    message = str(error.value)
    assert message.startswith("XAPI_CREDIT_ROSTER='config/credit/roster.csv': no such file")
    assert str(tmp_path) in message and "\n" not in message
    (tmp_path / "roster.csv").write_text("teacher_id\n")
    assert Settings.from_env({"XAPI_CREDIT_ROSTER": "roster.csv"}).file("credit_roster") == Path("roster.csv")
