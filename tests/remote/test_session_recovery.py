"""Recovering in the middle of a run: a cloud session that lost its connection is connected again and the
step succeeds, and a pipeline whose stop (Ctrl+C at the step's time limit) fails still ends as a timeout
with the pool usable afterwards."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from pswrap import errors as e
from pswrap.lab.handlers.sessions import SESSION_KEY
from pswrap.remote.session import Session, open_session
from pswrap.results import models as m
from tests.remote.conftest import request_counts, set_faults
from tests.remote.lab_inputs import mailbox_params


def lose_cloud_connection(lab: Any, session: Session, need: str) -> None:
    """What an expired or revoked cloud sign-in looks like to the runspace: the pool (shell) is still
    there, but its Exchange Online or Graph connection is not; the next cloud cmdlet fails as it does before
    Connect-ExchangeOnline or Connect-MgGraph ran in that runspace."""
    shell_id = session._pools.get(need).pool.shell.id  # type: ignore[union-attr]
    pool = lab.server.pools.get(shell_id) or lab.server.pools[shell_id.upper()]
    assert pool.session[SESSION_KEY].get(need), f"the {need} pool was not connected"
    del pool.session[SESSION_KEY][need]


def connect_logs(caplog: pytest.LogCaptureFixture, need: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith(f"connected the {need} pool")]


@pytest.mark.parametrize(
    ("need", "step_id", "params", "check"),
    [
        ("exo", "exo/find-mailbox", {"Identity": "nobody"}, lambda r: r.found is False),
        ("graph", "graph/get-sync-features", {}, lambda r: isinstance(r, m.SyncFeatures)),
    ],
    ids=["exo", "graph"],
)
def test_lost_cloud_connection_mid_run_is_reconnected_and_the_step_succeeds(
    lab_factory: Any, lab_target: Any, caplog: pytest.LogCaptureFixture,
    need: str, step_id: str, params: dict[str, object], check: Any,
) -> None:  # fmt: skip
    caplog.set_level(logging.INFO, logger="pswrap.remote")
    lab = lab_factory()
    with open_session(lab_target(lab)) as s:
        assert check(s.step(step_id, params=params))
        lose_cloud_connection(lab, s, need)
        assert check(s.step(step_id, params=params))
        assert s.retries == {step_id: 1}  # the step failed once (not connected), then ran again
        assert s.reopened == 0
        assert request_counts(lab)["Create"] == 1  # the same pool, connected again, not a new one
    assert len(connect_logs(caplog, need)) == 2


def test_lost_cloud_connection_before_a_create_reconnects_and_creates_once(
    lab_factory: Any, lab_target: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """New-Mailbox refused for want of a connection did nothing, so it is run again after reconnecting,
    though it is not idempotent; the mailbox exists once."""
    caplog.set_level(logging.INFO, logger="pswrap.remote")
    lab = lab_factory()
    with open_session(lab_target(lab)) as s:
        assert s.step("exo/find-mailbox", params={"Identity": "room4"}).found is False
        lose_cloud_connection(lab, s, "exo")
        made = s.step("exo/new-mailbox", choices={"type": "room"}, params=mailbox_params("room4"))
        assert isinstance(made, m.Mailbox) and made.alias == "room4"
        assert made.recipient_type_details == "RoomMailbox"
        assert s.retries == {"exo/new-mailbox": 1}
        found = s.step("exo/find-mailbox", params={"Identity": "room4"})
        assert found.found is True and found.mailbox is not None and found.mailbox.alias == "room4"
    assert len(connect_logs(caplog, "exo")) == 2
    assert [b["alias"] for b in lab.store.read()["exo"]["mailboxes"]].count("room4") == 1


def test_a_failed_stop_at_the_time_limit_still_ends_as_a_timeout(
    lab_factory: Any, lab_target: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The step runs past its limit and the stop signal itself fails (HTTP 500): the user still gets the
    time-limit error (exit 4, not a confusing transport error about the stop), and the next step runs."""
    caplog.set_level(logging.DEBUG, logger="pswrap.remote")
    lab = lab_factory(faults=["delay:sync/get-settings=60@1", "http500:Signal@1"])
    with open_session(lab_target(lab)) as s:
        with pytest.raises(e.TransportTimeout) as info:
            s.step("sync/get-settings", timeout=1)
        assert info.value.message == "step sync/get-settings ran past its 1 s limit on labx and was stopped"
        assert info.value.exit_code == e.EXIT_CONNECTION and s.retries == {}
        assert lab.faults.fired["http500:Signal@1"] == 1  # the stop really failed
        assert any(r.getMessage() == "stopping sync/get-settings failed" for r in caplog.records)
        assert isinstance(s.step("sync/get-settings"), m.SyncSettings)  # the pool is still usable


def test_shell_dying_while_a_read_runs_is_retried_in_a_new_pool(
    lab_factory: Any, lab_target: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The shell is killed while the step runs (its Receive meets an unknown shell): a read is retried
    at once in a fresh pool, connected again, and gives its result; the dead pool is never used again."""
    caplog.set_level(logging.INFO, logger="pswrap.remote")
    lab = lab_factory()
    with open_session(lab_target(lab)) as s:
        assert s.step("exo/find-mailbox", params={"Identity": "nobody"}).found is False
        set_faults(lab, "kill-pool:Receive@1")
        assert s.step("exo/find-mailbox", params={"Identity": "nobody"}).found is False
        assert s.retries == {"exo/find-mailbox": 1}
        assert lab.faults.fired == {"kill-pool:Receive@1": 1}
        assert request_counts(lab)["Create"] == 2
    assert len(connect_logs(caplog, "exo")) == 2
    # discarded when it died: the retry did not first try the dead shell and find it gone
    assert s.reopened == 0
    assert not any("reopening it once" in r.getMessage() for r in caplog.records)


def test_shell_dying_while_a_create_runs_is_reported_and_the_next_step_gets_a_new_pool(
    lab_factory: Any, lab_target: Any
) -> None:
    """A create that may have run is not retried (exit 4 to the user); the run goes on in a new pool."""
    lab = lab_factory()
    with open_session(lab_target(lab)) as s:
        assert s.step("exo/find-mailbox", params={"Identity": "room5"}).found is False
        set_faults(lab, "kill-pool:Receive@1")
        with pytest.raises(e.ConnectionFailed, match="is gone") as info:
            s.step("exo/new-mailbox", choices={"type": "room"}, params=mailbox_params("room5"))
        assert info.value.exit_code == e.EXIT_CONNECTION and s.retries == {}
        assert s.step("exo/find-mailbox", params={"Identity": "nobody"}).found is False
        assert s.reopened == 0 and request_counts(lab)["Create"] == 2
