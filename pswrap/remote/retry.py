"""When a failed step is tried again, and how long pswrap keeps trying.

Only transient failures are retried — a dropped connection, an HTTP 5xx, throttling, a lost cloud
connection (reconnected first), and (when the caller asks) a busy sync engine — never bad input, bad
credentials or an ordinary remote error. A step that is not idempotent (creating an object twice is not
the same as once) is retried only when pswrap knows it did not apply: the failure came before the
pipeline reached the server, the service itself refused it (throttled, sync busy, not connected: the
cmdlet did not run its change), or the caller's read-back says so.

Backoff is exponential with jitter and bounded by time, not by a small count: a step is tried again
until its deadline (the target's step_timeout, or `PSWRAP_RETRY_MAX_TIME`) would pass. With ~100
requests per mailbox, a cap of a few tries per request fails whole runs at a fault rate a deadline
rides out. `PSWRAP_RETRY_ATTEMPTS` adds a cap on tries (unset: none), `PSWRAP_RETRY_INITIAL` and
`PSWRAP_RETRY_MAX_WAIT` shape the waits (the tests use tiny waits).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pswrap.errors import ConfigError, NotConnected, PswrapError, SyncBusy, Throttled, TransportError

log = logging.getLogger("pswrap.remote")
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int | None = None
    """Total tries, the first included; None: bounded by time only."""
    max_time: float | None = None
    """No new attempt starts after this many seconds since the first; None: the step's deadline."""
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
            if not math.isfinite(value) or value < 0:
                raise ConfigError(f"environment variable {var}: must not be negative (got {raw!r})")
            return value

        d = cls()
        attempts = num("PSWRAP_RETRY_ATTEMPTS", -1.0)
        max_time = num("PSWRAP_RETRY_MAX_TIME", -1.0)
        return cls(
            attempts=max(1, int(attempts)) if attempts >= 0 else None,
            max_time=max_time if max_time >= 0 else None,
            initial=num("PSWRAP_RETRY_INITIAL", d.initial),
            max_wait=num("PSWRAP_RETRY_MAX_WAIT", d.max_wait),
        )


DEFAULT_MAX_TIME = 300.0
"""The time bound of a policy used without a step deadline (a step passes its own, see Session.step)."""


class NotSent(Exception):
    """Marks a failure that happened before the step's pipeline reached the server (safe to retry)."""

    def __init__(self, error: PswrapError) -> None:
        super().__init__(str(error))
        self.error = error


def backoff(policy: RetryPolicy, attempt: int) -> float:
    """Exponential (initial, 2x, 4x ... capped at max_wait) plus up to `initial` of random jitter."""
    import random

    exponential = min(policy.max_wait, policy.initial * 2 ** min(attempt - 1, 60))
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
    `did_not_apply` is the caller's read-back for a change whose reply was lost: True = the change is not
    there (try again); False = it applied (stop: the caller returns what the read-back found). An
    idempotent step without one is simply tried again.
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

    tries = [0]

    def counted() -> T:
        tries[0] += 1
        return attempt()

    def should_retry(exc: BaseException) -> bool:
        err = unwrap(exc)
        if not is_transient(err, retry_busy=retry_busy):
            return False
        cap = getattr(err, "attempts_cap", None)
        if cap is not None and tries[0] >= cap:
            return False
        if isinstance(exc, NotSent) or refused_by_service(err):
            return True
        if idempotent and did_not_apply is None:
            return True
        if did_not_apply is None:
            return False
        log.info(
            "%s failed (%s); reading back whether it applied before retrying", step_id, type(err).__name__
        )
        try:
            return did_not_apply()
        except PswrapError as read_error:
            # The outcome stays unknown: an idempotent step may simply be sent again; any other reports
            # its own failure rather than guess.
            log.info("the read-back of %s failed too (%s)", step_id, type(read_error).__name__)
            return idempotent

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        err = unwrap(exc) if exc else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.info(
            "retrying %s after %s (attempt %d%s, waiting %.2fs): %s",
            step_id,
            type(err).__name__,
            state.attempt_number + 1,
            f" of {policy.attempts}" if policy.attempts else "",
            wait,
            err,
        )
        if on_retry and isinstance(err, PswrapError):
            on_retry(state.attempt_number, err)

    max_time = policy.max_time if policy.max_time is not None else DEFAULT_MAX_TIME
    stop: Any = stop_after_delay(max_time)
    if policy.attempts is not None:
        stop = stop | stop_after_attempt(policy.attempts)
    retrying = Retrying(
        stop=stop,
        # A wait never reaches past max_time, so the last attempt still starts within the cap.
        wait=lambda state: min(
            backoff(policy, state.attempt_number),
            max(0.0, max_time - (state.seconds_since_start or 0.0)),
        ),
        retry=retry_if_exception(should_retry),
        before_sleep=before_sleep,
        reraise=True,
    )
    try:
        return retrying(counted)
    except NotSent as wrapped:
        raise wrapped.error from None
