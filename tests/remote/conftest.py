"""Isolation for every remote test: its own config file location, state directory and retry timings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ENV_PREFIXES = ("PSWRAP_",)


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No PSWRAP_* from the caller's shell; config and state under tmp_path; retries fast."""
    import os

    for var in list(os.environ):
        if var.startswith(ENV_PREFIXES):
            monkeypatch.delenv(var)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("PSWRAP_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PSWRAP_RETRY_INITIAL", "0.01")
    monkeypatch.setenv("PSWRAP_RETRY_MAX_WAIT", "0.05")
    monkeypatch.setenv("PSWRAP_RETRY_ATTEMPTS", "4")
    yield tmp_path


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config file named by PSWRAP_CONFIG (tests write its text)."""
    path = tmp_path / "pswrap.toml"
    monkeypatch.setenv("PSWRAP_CONFIG", str(path))
    return path


# --- the lab ----------------------------------------------------------------------------------------

LAB_USER = "lab-tester"
LAB_PASSWORD = "Known-Secret-7c1f9e"
"""A known secret value: tests assert it never appears in logs, exceptions or output."""


@pytest.fixture
def lab_factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Start in-process labs on ephemeral loopback ports (stopped at teardown), on one world file."""
    from pswrap.lab.embedded import start_lab

    state = tmp_path / "lab" / "world.json"
    monkeypatch.setenv("PSWRAP_LAB_STATE", str(state))
    monkeypatch.setenv("PSWRAP_LAB_SEED", "7")
    labs: list[Any] = []

    def start(**kwargs: Any) -> Any:
        kwargs.setdefault("username", LAB_USER)
        kwargs.setdefault("password", LAB_PASSWORD)
        lab = start_lab(state, **kwargs)
        labs.append(lab)
        return lab

    yield start
    for lab in labs:
        lab.stop()


@pytest.fixture
def lab_target(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Write `[targets.<name>]` for a running lab into the config file (password from an env var)."""
    monkeypatch.setenv("LAB_TEST_PASSWORD", LAB_PASSWORD)

    def write(lab: Any, name: str = "labx", **extra: object) -> Any:
        from pswrap.lab.world import LAB_DEFAULTS
        from pswrap.remote.target import load_target

        ep = lab.endpoint
        keys: dict[str, object] = {
            "host": ep.host,
            "port": ep.port,
            "scheme": ep.scheme,
            "auth": ep.auth,
            "username": ep.username,
            "password_env": "LAB_TEST_PASSWORD",
            "operation_timeout": 2,
            "read_timeout": 10,
            "connection_timeout": 5,
            "organization": LAB_DEFAULTS.tenant_domain,
            "tenant_id": LAB_DEFAULTS.tenant_id,
            "app_id": LAB_DEFAULTS.app_id,
            "certificate_thumbprint": LAB_DEFAULTS.certificate_thumbprint,
        }
        if ep.scheme == "https":
            keys["ca_bundle"] = str(ep.ca_path)
        if ep.auth == "basic" and ep.scheme == "http":
            keys["allow_basic_over_http"] = True
        keys.update(extra)
        lines = [f"[targets.{name}]"]
        for key, value in keys.items():
            if value is None:
                continue
            lines.append(f"{key} = {_toml(value)}")
        config_file.write_text("\n".join(lines) + "\n")
        return load_target(name)

    return write


AD_USER = "LAB\\svc-ad"


@pytest.fixture
def ad_credential_target(lab_target: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A target for a running lab whose DC accepts only `AD_USER` with `secret`, which the target supplies
    as its AD credential (password from an environment variable)."""

    def make(lab: Any, secret: str, *, given: str | None = None) -> Any:
        with lab.store.transaction() as world:
            world["ad"]["credential"] = {"user": AD_USER, "password": secret}
        monkeypatch.setenv("AD_PW", secret if given is None else given)
        return lab_target(lab, ad_credential_user=AD_USER, ad_credential_password_env="AD_PW")

    return make


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def request_counts(lab: Any) -> dict[str, int]:
    """The lab's WSMan request counts by action: those written to the world plus those pending."""
    counts = dict(lab.store.read().get("stats", {}).get("requests", {}))
    for action, n in lab.store.pending_requests().items():
        counts[action] = int(counts.get(action, 0)) + n
    return {k: int(v) for k, v in counts.items()}


def set_faults(lab: Any, *specs: str) -> None:
    """Change a running lab's faults through its world (what `pswrap lab set faults=...` does)."""
    import os
    import time

    with lab.store.transaction() as world:
        world["faults"] = list(specs)
    # The lab re-reads faults when the file's mtime changes; make sure it does even on coarse clocks.
    path = lab.endpoint.state_path
    later = time.time_ns() + 10_000_000
    os.utime(path, ns=(later, later))
