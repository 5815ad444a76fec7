"""In a terminal, without --yes, pswrap shows the plan and asks before changing anything; progress goes
to stderr. Run under a real pseudo-terminal, as an admin at a prompt would."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from tests.e2e.conftest import Ran


def run_in_terminal(
    env: dict[str, str], args: list[str], answer: str, timeout: float = 60
) -> tuple[int, str]:
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pswrap", *args],
        env={**os.environ, **env},
        stdin=slave,
        stdout=slave,
        stderr=slave,
        close_fds=True,
    )
    os.close(slave)
    seen = b""
    answered = False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                seen += chunk
            if not answered and b"Apply these changes?" in seen:
                os.write(master, answer.encode() + b"\n")
                answered = True
            if proc.poll() is not None and not ready:
                break
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    return code, seen.decode(errors="replace")


def test_terminal_asks_and_no_means_nothing_changes(
    env: dict[str, str], world: Callable[[], dict[str, Any]], cli: Callable[..., Ran]
) -> None:
    code, screen = run_in_terminal(env, ["mailbox", "create", "Room Q", "--alias", "roomq"], "n")
    assert code == 2, screen
    assert "[1] exo/new-mailbox" in screen and "$Alias = 'roomq'" in screen
    assert "declined" in screen
    w = world()
    assert w["ad"]["users"] == [] and w["exo"]["mailboxes"] == []


def test_terminal_yes_applies_with_progress(env: dict[str, str], world: Callable[[], dict[str, Any]]) -> None:
    code, screen = run_in_terminal(env, ["mailbox", "create", "Room Q", "--alias", "roomq"], "y")
    assert code == 0, screen
    # Progress, because stderr is a terminal: the phase, the time elapsed and the sync deadline.
    assert "sync cycle 1 started" in screen
    assert "elapsed" in screen and "sync deadline" in screen
    assert "completed" in screen
    assert len(world()["exo"]["mailboxes"]) == 1
