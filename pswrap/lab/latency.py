"""The lab's latency model (`PSWRAP_LAB_LATENCY=realistic`): each simulated step takes the time its
service would, and a service answers with its throttling reply beyond a concurrency and rate budget.

Off by default (the lab answers at once, which keeps tests fast). With `realistic`:

- every step sleeps the latency of its first cmdlet's service and kind (read, write, connect), OUTSIDE
  the world's transaction, so concurrent pipelines overlap as they would against the real services;
- a step of a cloud service (exo, graph) entering while its service already has `concurrency` pipelines
  in flight, or beyond `rate` requests in the last 10 seconds, is refused with that service's throttling
  reply (records.graph_throttled: "Microsoft Graph throttling guidance": HTTP 429 Too Many Requests,
  with a Retry-After header; records.exo_throttled: the REST envelope with HttpStatusCode=429 and
  "Server is busy. Please retry after some time.", cited there). The refused request did nothing.

The latencies are ASSUMPTIONS: Microsoft publishes no per-cmdlet latency for Exchange Online, Microsoft
Graph or Active Directory. They are round numbers of the order an admin sees from a Windows PowerShell
5.1 session on a server in the same region (a REST call of Graph ~0.2-0.3 s; an Exchange Online REST
cmdlet ~0.5-1 s, New-Mailbox the slowest; AD cmdlets against a local domain controller ~0.05-0.2 s;
Connect-ExchangeOnline a few seconds, Connect-MgGraph about one). They are fixed here, not tuned to a
benchmark, and docs/batch.md lists them. The budgets are ASSUMPTIONS too: Exchange Online documents
built-in retries but no concurrency limit; Graph documents per-app, per-tenant request limits per service
("Microsoft Graph service-specific throttling limits", identity and access: thousands of requests per 10
seconds), far above what a batch of mailboxes sends. `PSWRAP_LAB_BUDGET="exo=2,graph=4,rate=100"` lowers
them to make throttling happen in tests.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from dataclasses import dataclass

ENV = "PSWRAP_LAB_LATENCY"
BUDGET_ENV = "PSWRAP_LAB_BUDGET"
SCALE_ENV = "PSWRAP_LAB_LATENCY_SCALE"
"""A factor on every latency (tests run the model at 0.05 to stay quick; benchmarks leave it at 1)."""

CONNECT = {"exo": 3.0, "graph": 1.2, "ad": 0.3, "sync": 0.3, "hybrid": 0.5}
"""Seconds a connect step takes (module import and sign-in), per need. Assumption."""
READ = {"exo": 0.5, "graph": 0.2, "ad": 0.08, "sync": 0.1, "hybrid": 0.3}
"""Seconds of a read (Get-*). Assumption."""
WRITE = {"exo": 1.0, "graph": 0.3, "ad": 0.2, "sync": 0.2, "hybrid": 0.8}
"""Seconds of a change (Set-/New-/Add-/Update-/Start-*). Assumption."""
SLOW = {"exo/new-mailbox": 2.5}
"""Steps slower than their kind: New-Mailbox provisions a mailbox (assumption)."""

READ_VERBS = ("get", "find", "list", "check", "test", "read", "show", "wait")

DEFAULT_CONCURRENCY = {"exo": 16, "graph": 16}
"""Pipelines in flight per cloud service before the lab throttles (assumption, see the module doc)."""
DEFAULT_RATE = 1000
"""Requests per 10 s per cloud service before the lab throttles (assumption; Graph's documented
identity limits are higher still)."""
WINDOW = 10.0


def enabled() -> bool:
    return os.environ.get(ENV, "").strip().lower() == "realistic"


def latency(step_id: str) -> float:
    """Seconds the step takes under the model (times PSWRAP_LAB_LATENCY_SCALE)."""
    try:
        scale = float(os.environ.get(SCALE_ENV, "1") or 1)
    except ValueError:
        scale = 1.0
    return max(0.0, scale) * base_latency(step_id)


def base_latency(step_id: str) -> float:
    if step_id in SLOW:
        return SLOW[step_id]
    area, _, name = step_id.partition("/")
    if name == "connect" or name.startswith("connect-"):
        return CONNECT.get(area, 0.5)
    verb = name.split("-", 1)[0]
    table = READ if verb in READ_VERBS else WRITE
    return table.get(area, 0.2)


@dataclass
class Budget:
    concurrency: dict[str, int]
    rate: int


def budget() -> Budget:
    out = Budget(dict(DEFAULT_CONCURRENCY), DEFAULT_RATE)
    for part in os.environ.get(BUDGET_ENV, "").split(","):
        key, _, value = part.partition("=")
        key = key.strip().lower()
        if not value.strip().isdigit():
            continue
        if key == "rate":
            out.rate = int(value)
        elif key in out.concurrency:
            out.concurrency[key] = int(value)
    return out


_lock = threading.Lock()
_in_flight: dict[str, int] = {}
_recent: dict[str, deque[float]] = {}
throttled_count: dict[str, int] = {}
"""Throttling replies given per service (for tests and benchmarks in the same process)."""
spent: dict[str, float] = {}
"""Modeled seconds slept per step id (benchmarks compute a mailbox's own step latencies from it)."""


def account(step_id: str, seconds: float) -> None:
    with _lock:
        spent[step_id] = spent.get(step_id, 0.0) + seconds


class Slot:
    """One pipeline of a cloud service in flight; `admitted` False = answer with the throttling reply."""

    def __init__(self, area: str) -> None:
        self.area = area
        self.admitted = True
        self._counted = False

    def __enter__(self) -> Slot:
        limits = budget()
        limit = limits.concurrency.get(self.area)
        if limit is None:
            return self
        now = time.monotonic()
        with _lock:
            recent = _recent.setdefault(self.area, deque())
            while recent and recent[0] < now - WINDOW:
                recent.popleft()
            if _in_flight.get(self.area, 0) >= limit or len(recent) >= limits.rate:
                self.admitted = False
                throttled_count[self.area] = throttled_count.get(self.area, 0) + 1
                return self
            _in_flight[self.area] = _in_flight.get(self.area, 0) + 1
            recent.append(now)
            self._counted = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._counted:
            with _lock:
                _in_flight[self.area] -= 1
