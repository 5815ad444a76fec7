"""Fixtures for `pswrap doctor` tests: an isolated environment, the CLI run in-process, and staging
through `pswrap lab set` (the same paths an admin uses to stage a scenario).

Every doctor run starts its own embedded lab on an ephemeral loopback port (no target configured), on
the world file of this test's temp dir.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.lab.conftest import lab_state, start_lab_factory  # noqa: F401  (fixtures: a lab to sign in to)


@dataclass
class CliResult:
    code: int
    out: str
    err: str


Cli = Callable[..., CliResult]


@pytest.fixture
def doctor_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    state = tmp_path / "state"
    monkeypatch.setenv("PSWRAP_STATE_DIR", str(state))
    monkeypatch.setenv("PSWRAP_LAB_STATE", str(state / "lab" / "world.json"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for var in (
        "PSWRAP_CONFIG",
        "PSWRAP_TARGET",
        "PSWRAP_LAB_FAULTS",
        "PSWRAP_DEBUG",
        "PSWRAP_LAB_SYNC_SECONDS",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PSWRAP_LAB_SEED", "7")
    return tmp_path


@pytest.fixture
def cli(doctor_env: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    """Run `pswrap ARGS...` in-process; the exit code and what it printed."""
    from pswrap.cli import app
    from pswrap.cli.app import run_app

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        code = run_app(app, list(args))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture
def lab_set(cli: Cli) -> Callable[..., None]:
    """`pswrap lab set PATH=VALUE ...` (the value is JSON when it parses, else text)."""

    def run(*assignments: str) -> None:
        result = cli("lab", "set", *assignments)
        assert result.code == 0, f"pswrap lab set {assignments} failed: {result.err}{result.out}"

    return run


@pytest.fixture
def world(cli: Cli) -> Callable[[], dict[str, Any]]:
    """The world as `pswrap lab show` prints it."""

    def read() -> dict[str, Any]:
        result = cli("lab", "show")
        assert result.code == 0, result.err
        data: dict[str, Any] = json.loads(result.out)
        return data

    return read


@dataclass
class DoctorRun:
    code: int
    checks: list[dict[str, Any]]
    err: str

    def check(self, check_id: str) -> dict[str, Any]:
        found = [c for c in self.checks if c["id"] == check_id]
        assert found, f"no check {check_id}; checks: {[c['id'] for c in self.checks]}"
        assert len(found) == 1, f"check {check_id} reported {len(found)} times"
        return found[0]

    def failed(self) -> list[str]:
        return [c["id"] for c in self.checks if c["status"] == "fail"]


@pytest.fixture
def doctor(cli: Cli) -> Callable[..., DoctorRun]:
    """`pswrap doctor --output json ARGS...`, parsed."""

    def run(*args: str) -> DoctorRun:
        result = cli("doctor", "--output", "json", *args)
        assert result.code in (0, 6), f"doctor exited {result.code}: {result.err}{result.out}"
        checks = json.loads(result.out)
        assert isinstance(checks, list)
        for check in checks:
            assert set(check) >= {"name", "status", "found", "fix"}
            assert check["status"] in ("pass", "warn", "fail")
            assert (check["fix"] is None) == (check["status"] == "pass"), check
        return DoctorRun(result.code, checks, result.err)

    return run
