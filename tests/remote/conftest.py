"""Isolation for every remote test: its own config file location, state directory and retry timings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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
