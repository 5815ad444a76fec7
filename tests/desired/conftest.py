"""One embedded-lab world per test module (creating mailboxes costs sync cycles), and the CLI in-process.

Like tests/e2e: no target configured, so every command starts the embedded lab on the world file in a
temporary directory, with a short simulated sync cycle.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Ran


@pytest.fixture(scope="module")
def lab_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("desired")
    state = root / "state"
    state.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        for name in ("PSWRAP_TARGET", "PSWRAP_CONFIG", "PSWRAP_LAB_FAULTS", "PSWRAP_DEBUG"):
            mp.delenv(name, raising=False)
        mp.setenv("PSWRAP_STATE_DIR", str(state))
        mp.setenv("PSWRAP_LAB_STATE", str(state / "lab.json"))
        mp.setenv("PSWRAP_LAB_SYNC_SECONDS", "0.3")
        mp.setenv("XDG_CONFIG_HOME", str(root / "config"))
        mp.setenv("PSWRAP_LAB_SEED", "7")
        yield root


@pytest.fixture
def run(lab_env: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., Ran]:
    """`pswrap ARGS...` in-process; `stdin=` text is fed to `-`."""
    from pswrap.cli import app
    from pswrap.cli.app import run_app

    def call(*args: str, stdin: str | None = None) -> Ran:
        capsys.readouterr()
        if stdin is not None:
            import io
            import sys

            with pytest.MonkeyPatch.context() as mp:
                mp.setattr(sys, "stdin", io.StringIO(stdin))
                code = run_app(app, list(args))
        else:
            code = run_app(app, list(args))
        out = capsys.readouterr()
        return Ran(code, out.out, out.err)

    return call


@pytest.fixture
def world(run: Callable[..., Ran]) -> Callable[[], dict[str, Any]]:
    def show() -> dict[str, Any]:
        ran = run("lab", "show")
        assert ran.code == 0, ran.err
        data: dict[str, Any] = json.loads(ran.out)
        return data

    return show


def mailbox_in(world: dict[str, Any], alias: str) -> dict[str, Any]:
    return next(m for m in world["exo"]["mailboxes"] if m["alias"] == alias)
