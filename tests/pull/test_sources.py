"""sources.yaml: clear errors that name line and field, and credentials that never leak."""

from __future__ import annotations

from pathlib import Path

import pytest

from xapi_ingest.common.config import ConfigError
from xapi_ingest.pull.sources import MissingCredentialsError, load_sources, resolve_credentials

GOOD = """\
sources:
  - id: moodle-almaty
    endpoint: http://127.0.0.1:8100/xAPI
    version: "1.0.3"
    auth: {type: basic, username_env: MOODLE_LRS_USER, password_env: MOODLE_LRS_PASSWORD}
    page_size: 500
    overlap: PT5M
    tolerate: [object-type.invalid]
  - id: openedx
    endpoint: https://lrs.example.org/xapi/
    auth: {airflow_conn_id: lrs_openedx}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(text)
    return path


def test_a_good_file_loads_with_defaults(tmp_path: Path) -> None:
    sources = load_sources(write(tmp_path, GOOD))
    moodle = sources.get("moodle-almaty")
    assert moodle.statements_url == "http://127.0.0.1:8100/xAPI/statements"
    assert moodle.overlap.total_seconds() == 300
    assert sources.get("openedx").auth.airflow_conn_id == "lrs_openedx"


@pytest.mark.parametrize(("change", "line", "field"), [
    (("page_size: 500", "page_size: fivehundred"), 6, "sources[0].page_size"),
    (("id: moodle-almaty", "id: Moodle/Almaty"), 2, "sources[0].id"),
    (('version: "1.0.3"', 'version: "1.0"'), 4, "sources[0].version"),
    (("overlap: PT5M", "overlap: five minutes"), 7, "sources[0].overlap"),
    (("tolerate: [object-type.invalid]", "tolerate: [no.such.rule]"), 8, "sources[0].tolerate"),
    (("endpoint: http://127.0.0.1:8100/xAPI", "endpoint: http://lms:s3cr3t@127.0.0.1:8100/xAPI"), 3,
     "sources[0].endpoint"),
    (("    auth: {airflow_conn_id: lrs_openedx}", "    auth: {airflow_conn_id: lrs_openedx}\n    colour: blue"), 12,
     "sources[1].colour"),
])
def test_errors_name_file_line_and_field(tmp_path: Path, change: tuple[str, str], line: int, field: str) -> None:
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(ConfigError) as error:
        load_sources(path)
    assert f"{path}:{line}: {field}:" in str(error.value)
    assert "s3cr3t" not in str(error.value)


def test_repeated_ids_and_broken_yaml_are_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="repeated: openedx"):
        load_sources(write(tmp_path, GOOD.replace("moodle-almaty", "openedx")))
    with pytest.raises(ConfigError, match=r"sources.yaml:3: not valid YAML: found character '\\t'"):
        load_sources(write(tmp_path, "sources:\n  - id: a\n\tendpoint: http://x/\n"))


def test_credentials_come_from_the_environment_and_never_print(tmp_path: Path, monkeypatch) -> None:
    moodle = load_sources(write(tmp_path, GOOD)).get("moodle-almaty")
    monkeypatch.delenv("MOODLE_LRS_PASSWORD", raising=False)
    monkeypatch.setenv("MOODLE_LRS_USER", "lms")
    with pytest.raises(MissingCredentialsError, match="MOODLE_LRS_PASSWORD"):
        resolve_credentials(moodle)
    monkeypatch.setenv("MOODLE_LRS_PASSWORD", "s3cr3t-value")
    credentials = resolve_credentials(moodle)
    assert credentials.password == "s3cr3t-value"
    assert "s3cr3t-value" not in repr(credentials) and "s3cr3t-value" not in str(credentials)


@pytest.mark.parametrize(("written", "suggestion"), [
    ("overlap: 5 minutes", "PT5M"), ("overlap: 5m", "PT5M"), ("overlap: 300", "PT5M"),
    ("overlap: 90 s", "PT1M30S"), ("overlap: 2 hours", "PT2H"), ("late_arrival: 3 days", "P3D"),
])
def test_a_duration_not_in_iso_8601_gets_the_spelling_to_use(tmp_path: Path, written: str, suggestion: str) -> None:
    path = write(tmp_path, GOOD.replace("overlap: PT5M", written))
    with pytest.raises(ConfigError) as error:
        load_sources(path)
    field = written.split(":")[0]
    assert str(error.value).startswith(f"{path}:7: sources[0].{field}: ")
    assert suggestion in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("auth", [
    "auth: {type: basic, username: lms, password: s3cr3t-value}",
    "auth: {type: basic, username_env: MOODLE_LRS_USER, password_env: MOODLE_LRS_PASSWORD, password: s3cr3t-value}",
    "auth: {airflow_conn_id: lrs_moodle}\n    headers: {Authorization-Token: s3cr3t-value}",
])
def test_an_inline_password_gets_one_message_pointing_at_env_or_airflow(tmp_path: Path, auth: str) -> None:
    path = write(tmp_path, GOOD.replace(
        "auth: {type: basic, username_env: MOODLE_LRS_USER, password_env: MOODLE_LRS_PASSWORD}", auth))
    with pytest.raises(ConfigError) as error:
        load_sources(path)
    message = str(error.value)
    assert message.startswith(f"{path}:2: sources[0]: ") and "\n" not in message
    assert "a password must not be written in sources.yaml" in message
    assert "password_env" in message and "airflow_conn_id" in message
    assert "s3cr3t-value" not in message
