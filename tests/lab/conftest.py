"""Fixtures that start a lab, for every test that needs a Windows endpoint (reusable across tests/).

- `lab_state`: a temp state file, with PSWRAP_STATE_DIR / PSWRAP_LAB_STATE pointing into tmp_path.
- `start_lab_factory`: start in-process labs with any options (`start_lab` keyword arguments); all are
  stopped at teardown.  `lab` is one NTLM-over-HTTP lab with default options.
- `lab_serve`: start `pswrap lab serve ...` as a subprocess (returns a `ServedLab`; stopped with SIGTERM).
- `wsman_for(endpoint, **overrides)`: a pypsrp `WSMan` configured for the lab's transport and auth mode.

Other test packages can use these with `pytest_plugins = ["tests.lab.conftest"]` in their conftest.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pswrap.lab.embedded import LabEndpoint, RunningLab, start_lab

LabFactory = Callable[..., RunningLab]

LAB_USER = "lab-admin"
LAB_PASSWORD = "Lab-Passw0rd!"


def wsman_for(endpoint: LabEndpoint, **overrides: Any) -> Any:
    """A pypsrp WSMan for this endpoint: basic over HTTP needs encryption='never' (pypsrp refuses it
    otherwise); NTLM over HTTP encrypts (pypsrp's default); HTTPS validates against the lab's CA."""
    from pypsrp.wsman import WSMan

    kwargs: dict[str, Any] = {
        "port": endpoint.port,
        "username": endpoint.username,
        "password": endpoint.password,
        "auth": endpoint.auth,
        "ssl": endpoint.ssl,
        "path": "wsman",
        "operation_timeout": 5,
        "read_timeout": 10,
        "connection_timeout": 5,
        "reconnection_retries": 0,
    }
    if endpoint.ssl:
        kwargs["cert_validation"] = str(endpoint.ca_path)
    elif endpoint.auth == "basic":
        kwargs["encryption"] = "never"
    kwargs.update(overrides)
    return WSMan(endpoint.host, **kwargs)


@pytest.fixture
def lab_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    path = state_dir / "lab" / "world.json"
    monkeypatch.setenv("PSWRAP_STATE_DIR", str(state_dir))
    monkeypatch.setenv("PSWRAP_LAB_STATE", str(path))
    monkeypatch.delenv("PSWRAP_LAB_FAULTS", raising=False)
    monkeypatch.delenv("PSWRAP_LAB_USER", raising=False)
    monkeypatch.delenv("PSWRAP_LAB_PASSWORD", raising=False)
    monkeypatch.setenv("PSWRAP_LAB_SEED", "7")
    return path


@pytest.fixture
def start_lab_factory(lab_state: Path) -> Iterator[Callable[..., RunningLab]]:
    labs: list[RunningLab] = []

    def start(**kwargs: Any) -> RunningLab:
        kwargs.setdefault("username", LAB_USER)
        kwargs.setdefault("password", LAB_PASSWORD)
        state = kwargs.pop("state_path", lab_state)
        running = start_lab(state, **kwargs)
        labs.append(running)
        return running

    yield start
    for running in labs:
        running.stop()


@pytest.fixture
def lab(start_lab_factory: Callable[..., RunningLab]) -> RunningLab:
    return start_lab_factory(auth="ntlm")


@dataclass
class ServedLab:
    process: subprocess.Popen[str]
    url: str
    state_path: Path
    ca_path: Path | None
    banner: str

    @property
    def port(self) -> int:
        match = re.search(r":(\d+)/wsman", self.url)
        assert match
        return int(match.group(1))

    def endpoint(self, *, auth: str, username: str = LAB_USER, password: str = LAB_PASSWORD) -> LabEndpoint:
        return LabEndpoint(
            host="127.0.0.1", port=self.port, scheme=self.url.split(":", 1)[0], auth=auth,
            username=username, password=password, ca_path=self.ca_path, state_path=self.state_path,
        )

    def terminate(self, timeout: float = 15, signum: int = signal.SIGTERM) -> tuple[int, str]:
        """SIGTERM (or `signum`), then wait; returns the exit code and everything printed after the banner."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
        out, _ = self.process.communicate(timeout=timeout)
        return self.process.returncode, out


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _default_sigint() -> None:
    """A foreground start, even when the suite itself runs in the background with SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class BackgroundPoll:
    """`ps.poll_invoke()` on its own thread (a client waiting on a long-running step), keeping what it
    raised, so a test can act on the server meanwhile."""

    def __init__(self, ps: Any) -> None:
        self.errors: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, args=(ps,), daemon=True)
        self._thread.start()

    def _run(self, ps: Any) -> None:
        try:
            ps.poll_invoke()
        except BaseException as exc:
            self.errors.append(exc)

    def join(self, timeout: float) -> bool:
        """Wait up to `timeout`; True when the poll has returned or raised."""
        self._thread.join(timeout)
        return not self._thread.is_alive()


def pswrap_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pswrap", *args]


@pytest.fixture
def lab_serve(lab_state: Path) -> Iterator[Callable[..., ServedLab]]:
    """Start `pswrap lab serve` with extra CLI arguments; waits for its banner (the URL line)."""
    served: list[ServedLab] = []

    def serve(*args: str, env: dict[str, str] | None = None, state: Path | None = None,
              sigint_ignored: bool = False) -> ServedLab:
        """`sigint_ignored`: start it as a shell starts a background job (SIGINT ignored on entry)."""
        state_path = state or lab_state
        full_env = {**os.environ, **(env or {})}
        cmd = pswrap_command("lab", "serve", "--port", "0", "--state", str(state_path), *args)
        if "--user" not in args:
            cmd += ["--user", LAB_USER, "--password", LAB_PASSWORD]
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=full_env,
            preexec_fn=_ignore_sigint if sigint_ignored else _default_sigint,
        )
        lines: list[str] = []
        deadline = time.monotonic() + 30
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("Press Ctrl+C"):
                break
        banner = "".join(lines)
        match = re.search(r"serving at (\S+)", banner)
        if match is None:
            proc.kill()
            rest = proc.communicate(timeout=5)[0]
            raise AssertionError(f"pswrap lab serve did not start:\n{banner}{rest}")
        ca = re.search(r"CA:\s+(/\S+)", banner)
        lab = ServedLab(proc, match.group(1), state_path, Path(ca.group(1)) if ca else None, banner)
        served.append(lab)
        return lab

    yield serve
    for lab in served:
        if lab.process.poll() is None:
            lab.process.kill()
            lab.process.communicate(timeout=10)
