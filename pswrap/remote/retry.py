"""When a failed step is tried again, and how long pswrap keeps trying.

Only transient failures are retried — a dropped connection, an HTTP 5xx, throttling, a lost cloud
connection (reconnected first), and (when the caller asks) a busy sync engine — never bad input, bad
credentials or an ordinary remote error. A step that is not idempotent (creating an object twice is not
the same as once) is retried only when pswrap knows it did not apply: the failure came before the
pipeline reached the server, the service itself refused it (throttled, sync busy, not connected: the
cmdlet did not run its change), or the caller's read-back says so.

Backoff is exponential with jitter, capped in attempts and in total time. Defaults suit a real tenant;
`PSWRAP_RETRY_ATTEMPTS`, `PSWRAP_RETRY_MAX_TIME`, `PSWRAP_RETRY_INITIAL` and `PSWRAP_RETRY_MAX_WAIT`
change them (the tests use tiny waits).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from pswrap.errors import ConfigError, NotConnected, PswrapError, SyncBusy, Throttled, TransportError

log = logging.getLogger("pswrap.remote")
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    """Total tries, the first included."""
    max_time: float = 120.0
    """No new attempt starts after this many seconds since the first."""
    initial: float = 1.0
    max_wait: float = 20.0

    @classmethod
    def from_env(cls) -> RetryPolicy:
        def num(var: str, default: float) -> float:
            raw = os.environ.get(var)
            if raw is None or raw == "":
                return default
            try:
                value = float(raw)
            except ValueError:
                raise ConfigError(f"environment variable {var}: must be a number (got {raw!r})") from None
            if value < 0:
                raise ConfigError(f"environment variable {var}: must not be negative (got {raw!r})")
            return value

        d = cls()
        return cls(
            attempts=max(1, int(num("PSWRAP_RETRY_ATTEMPTS", d.attempts))),
            max_time=num("PSWRAP_RETRY_MAX_TIME", d.max_time),
            initial=num("PSWRAP_RETRY_INITIAL", d.initial),
            max_wait=num("PSWRAP_RETRY_MAX_WAIT", d.max_wait),
        )


class NotSent(Exception):
    """Marks a failure that happened before the step's pipeline reached the server (safe to retry)."""

    def __init__(self, error: PswrapError) -> None:
        super().__init__(str(error))
        self.error = error


def backoff(policy: RetryPolicy, attempt: int) -> float:
    """Exponential (initial, 2x, 4x ... capped at max_wait) plus up to `initial` of random jitter."""
    import random

    exponential = min(policy.max_wait, policy.initial * 2 ** (attempt - 1))
    return float(exponential + random.uniform(0, policy.initial))


def is_transient(exc: BaseException, *, retry_busy: bool) -> bool:
    if isinstance(exc, SyncBusy):
        return retry_busy
    if isinstance(exc, NotConnected):
        return True  # the cloud session expired or was lost: the next attempt connects again
    if isinstance(exc, (Throttled, TransportError)):
        return bool(getattr(exc, "transient", False))
    return False


def refused_by_service(exc: BaseException) -> bool:
    """The service said no before doing anything (so even a non-idempotent step did not apply)."""
    return isinstance(exc, (Throttled, SyncBusy, NotConnected))


def call_with_retries(
    attempt: Callable[[], T],
    *,
    step_id: str,
    idempotent: bool,
    policy: RetryPolicy,
    retry_busy: bool = False,
    did_not_apply: Callable[[], bool] | None = None,
    on_retry: Callable[[int, PswrapError], None] | None = None,
) -> T:
    """Run `attempt` until it succeeds, fails for good, or the policy's caps are reached.

    `attempt` raises `NotSent(err)` for failures before the pipeline was sent, a PswrapError otherwise.
    `did_not_apply` is the caller's read-back for non-idempotent steps: True = the change is not there.
    """
    from tenacity import (
        RetryCallState,
        Retrying,
        retry_if_exception,
        stop_after_attempt,
        stop_after_delay,
    )

    def unwrap(exc: BaseException) -> BaseException:
        return exc.error if isinstance(exc, NotSent) else exc

    def should_retry(exc: BaseException) -> bool:
        err = unwrap(exc)
        if not is_transient(err, retry_busy=retry_busy):
            return False
        if idempotent or isinstance(exc, NotSent) or refused_by_service(err):
            return True
        if did_not_apply is None:
            return False
        log.info(
            "%s failed (%s); reading back whether it applied before retrying", step_id, type(err).__name__
        )
        return did_not_apply()

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        err = unwrap(exc) if exc else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.info(
            "retrying %s after %s (attempt %d of %d, waiting %.2fs): %s",
            step_id,
            type(err).__name__,
            state.attempt_number + 1,
            policy.attempts,
            wait,
            err,
        )
        if on_retry and isinstance(err, PswrapError):
            on_retry(state.attempt_number, err)

    retrying = Retrying(
        stop=stop_after_attempt(policy.attempts) | stop_after_delay(policy.max_time),
        # A wait never reaches past max_time, so the last attempt still starts within the cap.
        wait=lambda state: min(
            backoff(policy, state.attempt_number),
            max(0.0, policy.max_time - (state.seconds_since_start or 0.0)),
        ),
        retry=retry_if_exception(should_retry),
        before_sleep=before_sleep,
        reraise=True,
    )
    try:
        return retrying(attempt)
    except NotSent as wrapped:
        raise wrapped.error from None
