"""Transient faults never end a run (issue #12 section 1): fresh connections after a drop, one read-back
mechanism for every changing step, retries bounded by the step's deadline instead of a small count."""

from __future__ import annotations

from typing import Any

import pytest

from pswrap import errors as e
from pswrap import steps
from pswrap.remote.retry import RetryPolicy, call_with_retries
from pswrap.remote.session import open_session
from pswrap.results import models as m
from pswrap.workflows.steps_run import JournaledRunner
from tests.remote.conftest import request_counts, set_faults
from tests.remote.lab_inputs import mailbox_params, new_user_params


def test_drop_while_a_pipeline_closes_does_not_break_the_next_step(lab_factory: Any, lab_target: Any) -> None:
    """The reproduction: `PSWRAP_LAB_FAULTS=drop:Signal@1` made the next step fail with HTTP 400 (the
    old connection's encryption context reused); the next request now goes out re-authenticated."""
    lab = lab_factory(faults=["drop:Signal@1"])
    with open_session(lab_target(lab)) as s:
        assert isinstance(s.step("sync/get-settings"), m.SyncSettings)
        assert isinstance(s.step("sync/get-scheduler"), m.SchedulerState)
        assert s.retries == {}
    assert lab.faults.fired == {"drop:Signal@1": 1}


def test_http_400_is_marked_as_a_possibly_stale_session() -> None:
    from pypsrp.exceptions import WinRMTransportError

    from pswrap.remote.classify import classify_transport

    err = classify_transport(WinRMTransportError("http", 400, "Bad Request"), where="w", what="x")
    assert err.stale_session and err.exit_code == e.EXIT_CONNECTION
    assert not classify_transport(WinRMTransportError("http", 500, "x"), where="w", what="x").stale_session


def test_every_changing_step_declares_a_read_back() -> None:
    changing = [s for s in steps.all_steps() if s.changes and not s.is_legacy]
    assert {s.id for s in changing} >= {
        "exo/new-mailbox", "ad/new-user", "graph/set-user", "sync/start-cycle", "ad/move-user",
        "sync/set-scheduler", "sync/install-lease", "sync/remove-lease", "hybrid/new-remote-mailbox",
        "ad/add-addresses", "ad/stamp-exchange-attributes", "exo/set-exchange-cloud-managed",
        "exo/set-mailbox", "graph/set-account-enabled", "exo/set-calendar-processing",
        "exo/set-access", "exo/set-place", "exo/set-room-lists", "exo/set-mailbox-type",
        "ad/set-resource-attributes",
    }  # fmt: skip
    for step in changing:
        assert step.read_back is not None, step.id
        reader = steps.get(step.read_back.step)
        assert not reader.changes and reader.needs == step.needs, step.id


def test_retries_are_bounded_by_time_not_a_small_count() -> None:
    failures = [e.ConnectionFailed("dropped") for _ in range(12)]

    def attempt() -> str:
        if failures:
            raise failures.pop(0)
        return "ok"

    policy = RetryPolicy(attempts=None, max_time=60, initial=0.0001, max_wait=0.0002)
    assert call_with_retries(attempt, step_id="s/x", idempotent=True, policy=policy) == "ok"
    assert failures == []  # 13 tries: far more than the old cap of 4


def test_default_policy_has_no_count_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PSWRAP_RETRY_ATTEMPTS", raising=False)
    monkeypatch.delenv("PSWRAP_RETRY_MAX_TIME", raising=False)
    policy = RetryPolicy.from_env()
    assert policy.attempts is None and policy.max_time is None  # the session uses the step's deadline


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_retry_settings_must_be_finite(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("PSWRAP_RETRY_MAX_TIME", value)
    with pytest.raises(e.ConfigError, match="PSWRAP_RETRY_MAX_TIME"):
        RetryPolicy.from_env()


def _changes(runner: JournaledRunner, name: str) -> None:
    """The changing steps of a create, through the journaled runner (as the mailbox workflow calls them)."""
    user = runner("ad/new-user", params=new_user_params(name))
    assert isinstance(user, m.AdUser)
    box = runner("exo/new-mailbox", choices={"type": "room"}, params=mailbox_params(name))
    assert isinstance(box, m.Mailbox)
    runner(
        "graph/set-user", params={"UserId": box.user_principal_name, "OnPremisesImmutableId": "AAAA" + name}
    )
    runner("sync/start-cycle")


def _world_has_each_once(lab: Any, name: str) -> None:
    world = lab.store.read()
    users = [u for u in world["ad"]["users"] if u["sam_account_name"] == name]
    boxes = [b for b in world["exo"]["mailboxes"] if b["alias"] == name]
    assert len(users) == 1 and len(boxes) == 1, (name, len(users), len(boxes))
    cloud = [u for u in world["cloud"]["users"] if str(u["user_principal_name"]).startswith(name + "@")]
    assert len(cloud) == 1 and cloud[0].get("on_premises_immutable_id") == "AAAA" + name


def test_a_fault_on_every_nth_request_of_one_run_never_ends_it(lab_factory: Any, lab_target: Any) -> None:
    """The small deterministic version of benchmarks/faults.py: the same run with one fault on its Nth
    request, for every N (drops and HTTP 500s alternating); each run completes, each object exists once."""
    lab = lab_factory()
    with lab.store.transaction() as world:
        world["sync"]["scheduler"]["cycle_seconds"] = 0  # a cycle ends by the next request
    with open_session(lab_target(lab)) as s:
        s.step("sync/get-settings")
        s.step("exo/find-mailbox", params={"Identity": "warmup"})
        s.step("graph/get-user", params={"UserId": "warmup@x"})
        s.step("ad/find-user", params={"Value": "warmup"})  # every pool open and connected
        before = sum(request_counts(lab).values())
        _changes(JournaledRunner(s, None, None), "clean")
        per_run = sum(request_counts(lab).values()) - before
        assert per_run >= 12
        read_backs: list[tuple[str, bool]] = []
        for n in range(1, per_run + 1):
            spec = f"{'drop' if n % 2 else 'http500'}@{n}"
            set_faults(lab, spec)
            runner = JournaledRunner(s, None, None)
            _changes(runner, f"run{n}")
            assert lab.faults.fired.get(spec) == 1, spec
            _world_has_each_once(lab, f"run{n}")
            read_backs += runner.read_back
        set_faults(lab)
    # Some faults hit a change after it was sent: those were read back, some applied, none duplicated.
    assert any(applied for _, applied in read_backs)
    assert {step for step, _ in read_backs} <= {"ad/new-user", "exo/new-mailbox", "graph/set-user",
                                                  "sync/start-cycle"}  # fmt: skip


def test_lost_reply_of_a_create_is_read_back_and_not_repeated(lab_factory: Any, lab_target: Any) -> None:
    lab = lab_factory()
    with open_session(lab_target(lab)) as s:
        s.step("exo/find-mailbox", params={"Identity": "warmup"})
        set_faults(lab, "drop:Receive@1")  # New-Mailbox ran; its reply is lost
        runner = JournaledRunner(s, None, None)
        box = runner("exo/new-mailbox", choices={"type": "room"}, params=mailbox_params("lost1"))
        assert isinstance(box, m.Mailbox) and box.alias == "lost1"
        assert runner.read_back == [("exo/new-mailbox", True)] and s.retries == {}


def test_create_refused_in_transit_is_read_back_and_sent_again(lab_factory: Any, lab_target: Any) -> None:
    lab = lab_factory()
    with open_session(lab_target(lab)) as s:
        s.step("ad/find-user", params={"Value": "warmup"})
        set_faults(lab, "http500:Command@1")  # New-ADUser never reached the cmdlet
        runner = JournaledRunner(s, None, None)
        user = runner("ad/new-user", params=new_user_params("lost2"))
        assert isinstance(user, m.AdUser) and user.sam_account_name == "lost2"
        assert runner.read_back == [("ad/new-user", False)] and s.retries == {"ad/new-user": 1}


@pytest.mark.parametrize(("idempotent", "calls"), [(True, 2), (False, 1)])
def test_a_failed_read_back_retries_only_an_idempotent_step(idempotent: bool, calls: int) -> None:
    failures = [e.ConnectionFailed("reply lost")]
    sent: list[int] = []

    def attempt() -> str:
        sent.append(1)
        if failures:
            raise failures.pop(0)
        return "ok"

    def read_back() -> bool:
        raise e.ConnectionFailed("the read-back's reply was lost too")

    policy = RetryPolicy(attempts=None, max_time=60, initial=0.0001, max_wait=0.0002)
    if idempotent:
        assert call_with_retries(
            attempt, step_id="s/set", idempotent=True, policy=policy, did_not_apply=read_back
        )
    else:
        with pytest.raises(e.ConnectionFailed, match="reply lost"):
            call_with_retries(
                attempt, step_id="s/new", idempotent=False, policy=policy, did_not_apply=read_back
            )
    assert len(sent) == calls
