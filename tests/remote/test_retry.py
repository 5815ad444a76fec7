"""The retry policy on its own: what is retried, how often, and what never is."""

from __future__ import annotations

import logging

import pytest

from pswrap import errors as e
from pswrap.remote.retry import NotSent, RetryPolicy, call_with_retries

FAST = RetryPolicy(attempts=4, max_time=10, initial=0.001, max_wait=0.002)


class Flaky:
    def __init__(self, failures: list[BaseException]) -> None:
        self.failures = failures
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "ok"


def drop() -> e.ConnectionFailed:
    return e.ConnectionFailed("dropped")


def test_transient_failure_of_idempotent_step_is_retried(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pswrap.remote")
    f = Flaky([drop(), drop()])
    assert call_with_retries(f, step_id="s/x", idempotent=True, policy=FAST) == "ok"
    assert f.calls == 3
    retries = [r for r in caplog.records if r.getMessage().startswith("retrying s/x")]
    assert len(retries) == 2 and all(r.levelno == logging.INFO for r in retries)


def test_attempts_are_capped() -> None:
    f = Flaky([drop() for _ in range(10)])
    with pytest.raises(e.ConnectionFailed):
        call_with_retries(f, step_id="s/x", idempotent=True, policy=FAST)
    assert f.calls == 4


def test_total_time_is_capped() -> None:
    f = Flaky([drop() for _ in range(10)])
    policy = RetryPolicy(attempts=100, max_time=0.0, initial=0.001, max_wait=0.001)
    with pytest.raises(e.ConnectionFailed):
        call_with_retries(f, step_id="s/x", idempotent=True, policy=policy)
    assert f.calls == 1


@pytest.mark.parametrize(
    "error",
    [
        e.AuthenticationError("401"),
        e.BadInput("bad"),
        e.RemoteError("boom"),
        e.AlreadyExists("exists"),
        e.SyncBusy("busy"),  # only when the caller asks
    ],
)
def test_never_retried(error: e.PswrapError) -> None:
    f = Flaky([error])
    with pytest.raises(type(error)):
        call_with_retries(f, step_id="s/x", idempotent=True, policy=FAST)
    assert f.calls == 1


def test_sync_busy_retried_when_asked() -> None:
    f = Flaky([e.SyncBusy("busy")])
    assert call_with_retries(f, step_id="s/x", idempotent=False, policy=FAST, retry_busy=True) == "ok"
    assert f.calls == 2


def test_non_idempotent_step_not_retried_after_it_may_have_run() -> None:
    f = Flaky([drop()])
    with pytest.raises(e.ConnectionFailed):
        call_with_retries(f, step_id="s/new", idempotent=False, policy=FAST)
    assert f.calls == 1


def test_non_idempotent_step_retried_when_nothing_was_sent() -> None:
    f = Flaky([NotSent(drop())])
    assert call_with_retries(f, step_id="s/new", idempotent=False, policy=FAST) == "ok"
    assert f.calls == 2


def test_non_idempotent_step_retried_after_read_back_says_not_applied() -> None:
    checks: list[bool] = []

    def did_not_apply() -> bool:
        checks.append(True)
        return True

    f = Flaky([drop()])
    result = call_with_retries(f, step_id="s/new", idempotent=False, policy=FAST, did_not_apply=did_not_apply)
    assert result == "ok"
    assert f.calls == 2 and len(checks) == 1


def test_non_idempotent_step_not_retried_when_read_back_says_applied() -> None:
    f = Flaky([drop()])
    with pytest.raises(e.ConnectionFailed):
        call_with_retries(f, step_id="s/new", idempotent=False, policy=FAST, did_not_apply=lambda: False)
    assert f.calls == 1


def test_not_sent_unwraps_to_the_real_error() -> None:
    f = Flaky([NotSent(e.AuthenticationError("denied"))])
    with pytest.raises(e.AuthenticationError, match="denied"):
        call_with_retries(f, step_id="s/x", idempotent=True, policy=FAST)


def test_policy_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSWRAP_RETRY_ATTEMPTS", "7")
    monkeypatch.setenv("PSWRAP_RETRY_MAX_TIME", "9")
    p = RetryPolicy.from_env()
    assert p.attempts == 7 and p.max_time == 9.0
    monkeypatch.setenv("PSWRAP_RETRY_ATTEMPTS", "lots")
    with pytest.raises(e.ConfigError, match="PSWRAP_RETRY_ATTEMPTS"):
        RetryPolicy.from_env()


def test_lost_cloud_connection_retried_even_for_a_create() -> None:
    f = Flaky([e.NotConnected("Authentication needed. Please call Connect-MgGraph.")])
    assert call_with_retries(f, step_id="graph/x", idempotent=False, policy=FAST) == "ok"
    assert f.calls == 2


def test_backoff_is_exponential_capped_and_jittered() -> None:
    from pswrap.remote.retry import backoff

    policy = RetryPolicy(attempts=10, max_time=100, initial=1.0, max_wait=4.0)
    for attempt, base in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 4.0), (8, 4.0)]:
        waits = [backoff(policy, attempt) for _ in range(30)]
        assert all(base <= w <= base + policy.initial for w in waits), (attempt, waits)
        assert len(set(waits)) > 1  # jitter: retries from many clients do not line up


def test_retry_waits_follow_the_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    policy = RetryPolicy(attempts=4, max_time=100, initial=0.5, max_wait=1.5)
    f = Flaky([drop(), drop(), drop()])
    assert call_with_retries(f, step_id="s/x", idempotent=True, policy=policy) == "ok"
    assert len(slept) == 3
    for wait, base in zip(slept, [0.5, 1.0, 1.5], strict=True):
        assert base <= wait <= base + 0.5


def test_no_wait_reaches_past_the_total_time_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    policy = RetryPolicy(attempts=5, max_time=0.5, initial=2.0, max_wait=20.0)
    f = Flaky([drop() for _ in range(10)])
    with pytest.raises(e.ConnectionFailed):
        call_with_retries(f, step_id="s/x", idempotent=True, policy=policy)
    assert f.calls == 5 and len(slept) == 4
    assert all(0 <= w <= 0.5 for w in slept)  # the backoff alone would wait 2 s and more
