"""What a user reads when an LRS cannot be reached: the problem in words, the endpoint and the source once."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from xapi_ingest.app.cli.main import main
from xapi_ingest.pull.client import LRSClient, LRSError, RetryPolicy
from xapi_ingest.pull.sources import Credentials, Source


def _refused_endpoint() -> str:
    """An endpoint on 127.0.0.1 whose port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/xapi/"


def test_a_refused_connection_says_so_and_names_the_endpoint_once() -> None:
    endpoint = _refused_endpoint()
    source = Source(id="moodle-almaty", endpoint=endpoint)
    quick = RetryPolicy(attempts=2, base_seconds=0.01)
    with LRSClient(source, Credentials("lms", "s3cr3t"), retry=quick) as client, pytest.raises(LRSError) as error:
        client.query(since=None)
    message = str(error.value)
    assert message == f"connection refused at {endpoint}statements (gave up after 2 attempt(s))"
    assert "moodle-almaty" not in message  # the reporter names the source, once
    assert "s3cr3t" not in message and "lms" not in message


@pytest.mark.integration  # the CLI's real retry policy waits about half a minute before giving up
def test_the_cli_reports_a_refused_lrs_in_one_line(tmp_path: Path, capsys, monkeypatch) -> None:
    endpoint = _refused_endpoint()
    config = tmp_path / "sources.yaml"
    config.write_text(f"sources:\n  - id: moodle-almaty\n    endpoint: {endpoint}\n"
                      "    auth: {type: basic, username_env: LRS_USER, password_env: LRS_PASSWORD}\n")
    monkeypatch.setenv("LRS_USER", "lms")
    monkeypatch.setenv("LRS_PASSWORD", "s3cr3t")
    assert main(["pull", "--config", str(config), "--lake", str(tmp_path / "lake"), "--all"]) == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert errors == [f"error: moodle-almaty: connection refused at {endpoint}statements (gave up after 8 attempt(s))"]
