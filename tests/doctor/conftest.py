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


def isolate(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """State, lab world and config under `root`; nothing of the caller's environment leaks in.

    Retries keep their number but wait milliseconds: an unreachable host is still tried as often as
    in real use, without seconds of backoff per test.
    """
    state = root / "state"
    monkeypatch.setenv("PSWRAP_STATE_DIR", str(state))
    monkeypatch.setenv("PSWRAP_LAB_STATE", str(state / "lab" / "world.json"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(root / "config"))
    for var in (
        "PSWRAP_CONFIG",
        "PSWRAP_TARGET",
        "PSWRAP_LAB_FAULTS",
        "PSWRAP_DEBUG",
        "PSWRAP_LAB_SYNC_SECONDS",
        "PSWRAP_RETRY_ATTEMPTS",
        "PSWRAP_RETRY_MAX_TIME",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PSWRAP_RETRY_INITIAL", "0.01")
    monkeypatch.setenv("PSWRAP_RETRY_MAX_WAIT", "0.05")
    monkeypatch.setenv("PSWRAP_LAB_SEED", "7")
    return root


@pytest.fixture
def doctor_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return isolate(tmp_path, monkeypatch)


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


def write_config(root: Path, text: str) -> None:
    """The config file pswrap reads in an isolated environment (XDG_CONFIG_HOME under `root`)."""
    path = root / "config" / "pswrap" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def served_target(
    doctor_env: Path,
    start_lab_factory: Callable[..., Any],  # noqa: F811  (the fixture imported above)
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., str]:
    """A configured target (not the embedded lab) on a lab serving this test's world over NTLM.

    Keys are those of `[targets.NAME]`; each defaults to the lab's tenant and directory, and a key
    given as None is left out (unconfigured), which the embedded lab target cannot show.
    """
    from pswrap.lab.world import LAB_DEFAULTS as d
    from tests.lab.conftest import LAB_PASSWORD, LAB_USER

    def serve(name: str = "served", **keys: object) -> str:
        running = start_lab_factory(auth="ntlm")
        monkeypatch.setenv("SERVED_PASSWORD", LAB_PASSWORD)
        values: dict[str, object] = {
            "host": "127.0.0.1",
            "port": running.endpoint.port,
            "scheme": "http",
            "auth": "ntlm",
            "username": LAB_USER,
            "password_env": "SERVED_PASSWORD",
            "organization": d.tenant_domain,
            "tenant_id": d.tenant_id,
            "app_id": d.app_id,
            "certificate_thumbprint": d.certificate_thumbprint,
            "domain_controller": d.domain_controller,
            "resource_ou": d.resource_ou,
            "staging_ou": d.staging_ou,
            **keys,
        }
        lines = [f"[targets.{name}]"]
        for key, value in values.items():
            if isinstance(value, dict):  # hosts: an inline table of need = host
                pairs = ", ".join(f"{k} = {json.dumps(v)}" for k, v in value.items())
                lines.append(f"{key} = {{ {pairs} }}")
            elif value is not None:
                lines.append(f"{key} = {json.dumps(value)}")
        write_config(doctor_env, "\n".join(lines) + "\n")
        return name

    return serve


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


def parse_doctor(result: CliResult) -> DoctorRun:
    """The JSON checklist, held to the shape issue #7 asks for: a list of checks with name, status
    (pass|warn|fail), found and fix, the fix present exactly when the status is short of pass."""
    assert result.code in (0, 6), f"doctor exited {result.code}: {result.err}{result.out}"
    checks = json.loads(result.out)
    assert isinstance(checks, list)
    for check in checks:
        assert set(check) >= {"name", "status", "found", "fix"}
        assert check["status"] in ("pass", "warn", "fail")
        assert (check["fix"] is None) == (check["status"] == "pass"), check
    assert result.code == (6 if any(c["status"] == "fail" for c in checks) else 0)
    return DoctorRun(result.code, checks, result.err)


@pytest.fixture
def doctor(cli: Cli) -> Callable[..., DoctorRun]:
    """`pswrap doctor --output json ARGS...`, parsed."""

    def run(*args: str) -> DoctorRun:
        return parse_doctor(cli("doctor", "--output", "json", *args))

    return run


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> DoctorRun:
    """One `pswrap doctor` run on a fresh lab world, shared by a module's tests that only read it.

    Safe to share: the doctor only reads, and the run is over (its lab stopped) before any test sees
    the result; the environment is isolated for the run and restored after it.
    """
    import io
    from contextlib import redirect_stdout

    from pswrap.cli import app
    from pswrap.cli.app import run_app

    with pytest.MonkeyPatch.context() as mp:
        isolate(tmp_path_factory.mktemp("fresh"), mp)
        out = io.StringIO()
        with redirect_stdout(out):
            code = run_app(app, ["doctor", "--output", "json"])
    return parse_doctor(CliResult(code, out.getvalue(), ""))
