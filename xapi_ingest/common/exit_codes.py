"""The exit codes of every ``xapi-pipeline`` command, so scripts and Airflow read them one way."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FINDINGS = 1  # the command ran and found something to act on: invalid statements, a held batch, a failed source
    UNUSABLE = 2  # the command could not run: unreadable input, bad configuration, a missing key or lake
