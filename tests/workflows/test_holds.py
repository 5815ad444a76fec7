"""The scheduler hold's lease on a fake sync server: every way out of the hold (success, a failed step,
a refusal, a timeout while waiting for the running cycle, Ctrl+C) ends the lease, so the scheduler is
back in its prior state; a failure to end it never hides the error that ended the work."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from pswrap.errors import Conflict, PswrapError, RemoteError, TransportTimeout, WaitTimeout
from pswrap.results import models as m
from pswrap.workflows.holds import lease_name, scheduler_lease
from pswrap.workflows.sync_wait import Deadline


@dataclass
class FakeSyncServer:
    """A scheduler that a lease pauses and its removal restores; a cycle that may never end."""

    enabled: bool = True
    cycle_running: bool = False
    leases: dict[str, bool] = field(default_factory=dict)
    fail_remove: bool = False
    lose_install_reply: bool = False
    now: float = 0.0
    calls: list[str] = field(default_factory=list)

    def step(self, step_id: str, *, choices: Mapping[str, str] | None = None,
             params: Mapping[str, Any] | None = None) -> Any:  # fmt: skip
        self.calls.append(step_id)
        name = str((params or {}).get("LeaseName", ""))
        if step_id == "sync/install-lease":
            self.leases[name] = self.enabled
            self.enabled = False
            if self.lose_install_reply:
                raise TransportTimeout("no reply within the read timeout")
            return m.LeaseSet()
        if step_id == "sync/remove-lease":
            if self.fail_remove:
                raise RemoteError("Access is denied.", step_id=step_id)
            self.enabled = self.leases.pop(name)
            return m.LeaseSet()
        if step_id == "sync/get-scheduler":
            return m.SchedulerState(
                sync_cycle_enabled=self.enabled, sync_cycle_in_progress=self.cycle_running
            )
        raise AssertionError(step_id)

    def run(self, step_id: str, **kw: Any) -> Any:
        return self.step(step_id, **kw)

    def script(self, *a: Any, **k: Any) -> Any:
        raise AssertionError("not used")

    def deadline(self, seconds: float) -> Deadline:
        def sleep(s: float) -> None:
            self.now += s

        d = Deadline(seconds, clock=lambda: self.now, sleep=sleep)
        d.start = self.now
        return d


def hold(server: FakeSyncServer, seconds: float = 60) -> Any:
    return scheduler_lease(
        server.run, server, op_id="op1", timeout=seconds, deadline=server.deadline(seconds)
    )


@pytest.mark.parametrize("prior", [True, False])
def test_success_restores_the_prior_state(prior: bool) -> None:
    server = FakeSyncServer(enabled=prior)
    with hold(server):
        assert server.enabled is False and list(server.leases) == [lease_name("op1")]
    assert server.enabled is prior and server.leases == {}


@pytest.mark.parametrize(
    "error",
    [RemoteError("boom", step_id="ad/new-user"), Conflict("taken"), KeyboardInterrupt(), SystemExit(1)],
    ids=["failed-step", "refusal", "ctrl-c", "exit"],
)
def test_every_error_inside_the_hold_restores_the_scheduler(error: BaseException) -> None:
    server = FakeSyncServer()
    with pytest.raises(type(error)), hold(server):
        raise error
    assert server.enabled is True and server.leases == {}
    assert server.calls[-1] == "sync/remove-lease"


def test_timeout_waiting_for_the_running_cycle_restores_the_scheduler() -> None:
    server = FakeSyncServer(cycle_running=True)
    entered = False
    with pytest.raises(WaitTimeout), hold(server, seconds=3):
        entered = True
    assert not entered  # no change was made while a cycle ran
    assert server.enabled is True and server.leases == {}


def test_a_failure_to_end_the_lease_keeps_the_error_that_ended_the_work() -> None:
    server = FakeSyncServer(fail_remove=True)
    notes: list[str] = []
    lease = scheduler_lease(
        server.run, server, op_id="op1", timeout=60, deadline=server.deadline(60), progress=notes.append
    )
    with pytest.raises(Conflict, match="taken"), lease:
        raise Conflict("taken")
    assert any("pswrap resume" in n and "restores the scheduler" in n for n in notes)


def test_a_failure_to_end_the_lease_after_success_says_when_the_lease_fires() -> None:
    server = FakeSyncServer(fail_remove=True)
    with pytest.raises(PswrapError) as info, hold(server):
        pass
    assert "stays paused until the lease pswrap-lease-op1 fires" in (info.value.hint or "")


def test_an_install_whose_reply_was_lost_is_still_ended() -> None:
    """The server paused the scheduler but pswrap never heard back: the lease is removed anyway."""
    server = FakeSyncServer(lose_install_reply=True)
    with pytest.raises(TransportTimeout), hold(server):
        pass
    assert server.enabled is True and server.leases == {}
