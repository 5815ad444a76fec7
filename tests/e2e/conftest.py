"""End-to-end fixtures: the real CLI against the embedded lab, every bit of state in tmp_path.

No target is configured, so every command starts the embedded lab in-process on an ephemeral loopback
port (`pswrap.remote.embedded_lab`) on the world file in tmp_path, exactly as a new user's first run.
A short simulated sync cycle keeps the suite fast; tests that need a process to die mid-step run the CLI
as a subprocess (`spawn`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

SYNC_SECONDS = "0.3"


@dataclass
class Ran:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """PSWRAP_STATE_DIR / PSWRAP_LAB_STATE / config home in tmp_path; no target; a 0.3 s sync cycle."""
    state = tmp_path / "state"
    state.mkdir()
    values = {
        "PSWRAP_STATE_DIR": str(state),
        "PSWRAP_LAB_STATE": str(state / "lab.json"),
        "PSWRAP_LAB_SYNC_SECONDS": SYNC_SECONDS,
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "PSWRAP_LAB_SEED": "7",
    }
    for name in ("PSWRAP_TARGET", "PSWRAP_CONFIG", "PSWRAP_LAB_FAULTS", "PSWRAP_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def cli(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> Callable[..., Ran]:
    """Run `pswrap ARGS...` in-process through the same entry point as the console script."""
    from pswrap.cli import app
    from pswrap.cli.app import run_app

    def run(*args: str) -> Ran:
        capsys.readouterr()
        code = run_app(app, list(args))
        captured = capsys.readouterr()
        return Ran(code, captured.out, captured.err)

    return run


@pytest.fixture
def world(cli: Callable[..., Ran]) -> Callable[[], dict[str, Any]]:
    """`pswrap lab show` as JSON."""

    def show() -> dict[str, Any]:
        ran = cli("lab", "show")
        assert ran.code == 0, ran.err
        data: dict[str, Any] = ran.json()
        return data

    return show


@pytest.fixture
def lab_set(cli: Callable[..., Ran]) -> Callable[..., None]:
    def set_(*assignments: str) -> None:
        ran = cli("lab", "set", *assignments)
        assert ran.code == 0, ran.err

    return set_


@dataclass
class Spawned:
    proc: subprocess.Popen[str]

    def finish(self, timeout: float = 60) -> Ran:
        out, err = self.proc.communicate(timeout=timeout)
        return Ran(self.proc.returncode, out, err)


@pytest.fixture
def spawn(env: dict[str, str]) -> Iterator[Callable[..., Spawned]]:
    """Start `pswrap ARGS...` as a subprocess with the test's environment (plus `extra`)."""
    procs: list[subprocess.Popen[str]] = []

    def start(*args: str, extra: dict[str, str] | None = None) -> Spawned:
        full = {**os.environ, **env, **(extra or {})}
        proc = subprocess.Popen(
            [sys.executable, "-m", "pswrap", *args],
            env=full,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=_as_at_a_terminal,
        )
        procs.append(proc)
        return Spawned(proc)

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def _as_at_a_terminal() -> None:
    """Ctrl+C reaches pswrap as it does in a terminal, even when the suite itself was started in the
    background of a non-interactive shell (which starts it, and so every child, with SIGINT ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def journal_step(step_id: str, status: str, proc: Spawned | None = None, deadline_s: float = 30.0) -> str:
    """Poll the journal (a condition with a deadline) until some operation has `step_id` in `status`.

    With `proc`, a process that ended before getting there fails the test at once, with its output.
    """
    from pswrap.journal import Journal

    journal = Journal()
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        for op in journal.recent(5):
            for record in journal.steps(op.id):
                if record.step_id == step_id and record.status == status:
                    return op.id
        if proc is not None and proc.proc.poll() is not None:
            ran = proc.finish()
            raise AssertionError(f"pswrap ended (exit {ran.code}) before {step_id} was {status}: {ran.err}")
        time.sleep(0.05)
    raise AssertionError(f"no operation had {step_id} {status} within {deadline_s} s")


def journal_step_running(step_id: str, proc: Spawned | None = None) -> str:
    return journal_step(step_id, "running", proc)


def journal_step_done(step_id: str, proc: Spawned | None = None) -> str:
    return journal_step(step_id, "done", proc)


def by(items: list[dict[str, Any]], key: str, value: str) -> list[dict[str, Any]]:
    return [i for i in items if str(i.get(key, "")).lower() == value.lower()]
