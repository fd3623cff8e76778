"""Run a command as a person does: in a pseudo-terminal that is its controlling terminal.

Anything that reads the terminal directly (``getpass``, a pager, a progress display) behaves
here as it does for a user, and a prompt nobody answers shows up as a timeout with the screen
so far, instead of a test that hangs.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TerminalRun:
    exit_code: int | None  # None: still running at the deadline (killed)
    screen: str


def run_in_terminal(argv: list[str], cwd: Path, env: dict[str, str], timeout: float) -> TerminalRun:
    pid, master = pty.fork()
    if pid == 0:  # the child: the pty is its controlling terminal and its stdin, stdout and stderr
        try:
            os.chdir(cwd)
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    output, deadline, exit_code = bytearray(), time.monotonic() + timeout, None
    while True:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                output += os.read(master, 65536)
            except OSError:  # the child closed the terminal
                ready = []
        finished, status = os.waitpid(pid, os.WNOHANG)
        if finished:
            exit_code = os.waitstatus_to_exitcode(status)
            break
        if time.monotonic() > deadline:
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            break
    while select.select([master], [], [], 0)[0]:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    os.close(master)
    return TerminalRun(exit_code, output.decode(errors="replace"))
