"""The issue's reproductions end to end (issue #12 section 1): the CLI under injected faults finishes the
run (exit 0) with one of each object."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.conftest import Ran


@pytest.mark.parametrize(
    "faults",
    [
        "drop:Signal@1",  # the reproduction: a drop while a pipeline is closed
        "http500:Command@3,drop:Receive@9",  # in the preflight's fact reads, then later
        "drop:Command@14,http500:Receive@15,drop:Signal@16",
    ],
)
def test_create_under_faults_finishes(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]], monkeypatch: pytest.MonkeyPatch, faults: str
) -> None:
    monkeypatch.setenv("PSWRAP_RETRY_INITIAL", "0.01")
    monkeypatch.setenv("PSWRAP_RETRY_MAX_WAIT", "0.05")
    monkeypatch.setenv("PSWRAP_LAB_FAULTS", faults)
    ran = cli("mailbox", "create", "R", "--alias", "r1", "--yes")
    assert ran.code == 0, ran.err
    monkeypatch.delenv("PSWRAP_LAB_FAULTS")
    w = world()
    assert len([u for u in w["ad"]["users"] if u["sam_account_name"] == "r1"]) == 1
    assert len([b for b in w["exo"]["mailboxes"] if b["alias"] == "r1"]) == 1
