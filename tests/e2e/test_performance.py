"""Issue #6's performance goal: with the lab's cycle at S seconds, `mailbox create --wait` finishes
within S + 2 seconds, and the end of a cycle is noticed within a second."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.e2e.conftest import Ran


def test_create_and_wait_within_cycle_plus_two_seconds(
    cli: Callable[..., Ran], monkeypatch: pytest.MonkeyPatch
) -> None:
    seconds = 2.0
    monkeypatch.setenv("PSWRAP_LAB_SYNC_SECONDS", str(seconds))
    assert cli("lab", "reset").code == 0  # the world (and its cycle length) exists before timing
    started = time.monotonic()
    ran = cli("mailbox", "create", "Meeting Room 1", "--alias", "room1", "--output", "json")
    elapsed = time.monotonic() - started
    assert ran.code == 0, ran.err
    assert ran.json()["status"] == "completed"
    assert elapsed <= seconds + 2.0, f"took {elapsed:.2f} s with a {seconds:g} s cycle"
    # One cycle was enough, and its end was seen within a second of it.
    op = ran.json()["operation"]
    steps = cli("ops", "show", op, "--output", "json").json()["steps"]
    assert [s["step_id"] for s in steps].count("sync/start-cycle") == 1


def test_end_of_cycle_noticed_within_a_second(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    import pswrap.api

    seconds = 1.5
    monkeypatch.setenv("PSWRAP_LAB_SYNC_SECONDS", str(seconds))
    with pswrap.api.connect("lab") as ps:
        result = ps.create_mailbox("Room 2", alias="room2")
    assert result.status == "completed"
    # The wait is one cycle, the end of it seen within a second, then two reads back.
    assert seconds <= result.timings["wait"] <= seconds + 1.0, result.timings
