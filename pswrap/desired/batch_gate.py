"""Throttling slows the whole batch down instead of failing items.

Each worker's session already retries a throttled step a few times with backoff (pswrap.remote.retry).
When a service still answers "throttled" after those, the batch is over the service's budget: every
worker pauses before its next step (the gate closes for the service's Retry-After, or a growing wait
when it gives none), and the refused step is sent again. A throttled request did nothing ("Microsoft
Graph throttling guidance": a 429 is a refusal; Exchange Online's REST 429 likewise), so sending it again
is safe even for a change.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from pswrap.errors import Throttled
from pswrap.workflows.ports import StepSession

FIRST_PAUSE = 2.0
MAX_PAUSE = 60.0
MAX_ROUNDS = 12
"""Pauses of one step before its throttling error is the item's (a service that never recovers)."""

_RETRY_AFTER = re.compile(r"Retry-After\D{0,5}(\d+)", re.IGNORECASE)


def retry_after(error: BaseException) -> float | None:
    """The Retry-After seconds a throttling reply states (Graph sends the header), if any."""
    found = _RETRY_AFTER.search(str(error))
    return float(found.group(1)) if found else None


class Gate:
    """Shared by every worker of one batch: closed until `open_at` (monotonic seconds)."""

    def __init__(self, sleep: Callable[[float], None] = time.sleep) -> None:
        self._lock = threading.Lock()
        self.open_at = 0.0
        self.pauses = 0
        self._sleep = sleep

    def wait(self) -> None:
        while True:
            with self._lock:
                left = self.open_at - time.monotonic()
            if left <= 0:
                return
            self._sleep(min(left, 1.0))

    def close_for(self, seconds: float) -> None:
        with self._lock:
            self.open_at = max(self.open_at, time.monotonic() + seconds)
            self.pauses += 1


SHARED_READS = frozenset(
    {
        "exo/connect",
        "graph/connect",
        "exo/get-certificate",
        "graph/get-sync-features",
        "sync/get-modules",
        "sync/get-scope",
        "sync/get-settings",
        "ad/get-ous",
        "exo/get-commands",
        "graph/get-permissions",
        "sync/get-account",
    }
)
"""Reads of the tenant and the servers, the same for every mailbox (the preflight's connect checks, the
certificate, the tenant's matching switches, the sync server's modules, scope, settings and service
account, the OUs, the cmdlets the app's Exchange role grants and the app's Graph permissions):
in a batch each is read once and its answer shared by every mailbox, instead of once per mailbox. Steps
whose answer a batch changes (the scheduler, leases, users, mailboxes) are never shared."""


class SharedReads:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answers: dict[tuple[str, str, str], Any] = {}

    @staticmethod
    def key(step_id: str, choices: Mapping[str, str] | None, params: Mapping[str, Any] | None) -> Any:
        if step_id not in SHARED_READS:
            return None
        return (step_id, repr(sorted((choices or {}).items())), repr(sorted((params or {}).items())))

    def get(self, key: Any) -> Any:
        with self._lock:
            return self._answers.get(key)

    def put(self, key: Any, answer: Any) -> None:
        with self._lock:
            self._answers.setdefault(key, answer)


class GatedSession:
    """A worker's session behind the batch's gate (the StepSession protocol, and the rest passed on)."""

    def __init__(self, session: StepSession, gate: Gate, shared: SharedReads | None = None) -> None:
        self._session = session
        self._gate = gate
        self._shared = shared

    def step(
        self,
        step_id: str,
        *,
        choices: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        verify: Any = None,
    ) -> Any:
        """`verify` is a changing step's read-back (pswrap.workflows.steps_run), passed on to the session."""
        key = self._shared.key(step_id, choices, params) if self._shared is not None else None
        if key is not None and self._shared is not None:
            known = self._shared.get(key)
            if known is not None:
                return known
        pause = FIRST_PAUSE
        for round_ in range(MAX_ROUNDS):
            self._gate.wait()
            try:
                if verify is not None:
                    step_with_read_back: Any = self._session.step  # Session.step takes `verify`
                    answer = step_with_read_back(step_id, choices=choices, params=params, verify=verify)
                else:
                    answer = self._session.step(step_id, choices=choices, params=params)
                if key is not None and self._shared is not None:
                    self._shared.put(key, answer)
                return answer
            except Throttled as exc:
                if round_ == MAX_ROUNDS - 1:
                    raise
                self._gate.close_for(retry_after(exc) or pause)
                pause = min(pause * 2, MAX_PAUSE)
        raise AssertionError("unreachable")  # pragma: no cover

    def script(
        self,
        step_id: str,
        *,
        choices: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        return self._session.script(step_id, choices=choices, params=params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)
