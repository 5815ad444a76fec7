"""Switchable faults, one grammar for the whole lab, so tests can count retries deterministically.

    SPEC := KIND[:TARGET][=ARG][@N[+] | %RATE]

- `@N` fires on the Nth matching request or call only (1-based), `@N+` on the Nth and every later one,
  `%RATE` at random with probability RATE (0..1; seeded by PSWRAP_LAB_SEED), neither = every time.
- Transport kinds (applied by the server to WSMan requests; TARGET, when given, is the WSMan action's
  short name such as `Command`, `Receive`, `Create`, `Get`):
  `http500` (HTTP 500 with a WSMan fault), `drop` (close the connection without a reply),
  `slow=SECONDS` (delay the reply), `kill-pool` (the shell is gone: this and later requests for it get the
  fault a real server gives for an unknown shell), `access-denied` (the WSManFault "Access is denied.",
  code 5, an account WinRM does not let in), `quota` (opening a shell fails with
  ERROR_WSMAN_QUOTA_MAX_SHELLS, the per-user shell quota).
- Step kinds (TARGET is a step id; their effect is the world's, see pswrap.lab.handlers):
  `throttle[:STEP]`, `sync-busy`, `fail:STEP[=MESSAGE]`, `error:STEP[=MESSAGE]`, `delay:STEP=SECONDS`.

Sources, all active together: `--fault SPEC` (repeatable), PSWRAP_LAB_FAULTS (comma- or
semicolon-separated) and the world's `faults` list (re-read when the state file changes, so a running lab
can be changed with `pswrap lab set`). Counters live in memory, one set per server.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import random
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

TRANSPORT_KINDS = frozenset({"http500", "drop", "slow", "kill-pool", "access-denied", "quota"})
STEP_KINDS = frozenset({"throttle", "sync-busy", "fail", "error", "delay"})
KINDS = TRANSPORT_KINDS | STEP_KINDS

_SPEC = re.compile(
    r"^(?P<kind>[a-z0-9-]+)"
    r"(?::(?P<target>[A-Za-z0-9_./-]+))?"
    r"(?:=(?P<arg>[^@%]*))?"
    r"(?:@(?P<nth>\d+)(?P<plus>\+)?|%(?P<rate>\d*\.?\d+))?$"
)


class FaultSpecError(ValueError):
    """A fault spec that does not follow the grammar; the message names the spec and the grammar."""


@dataclass(frozen=True)
class Fault:
    """One parsed spec. `arg` is the text after `=` (a message, or seconds for `slow`/`delay`)."""

    kind: str
    target: str | None
    arg: str | None
    nth: int | None
    from_nth_on: bool
    rate: float | None
    spec: str

    @property
    def seconds(self) -> float:
        try:
            return float(self.arg or 0)
        except ValueError:
            return 0.0


GRAMMAR = "KIND[:TARGET][=ARG][@N[+] | %RATE]"


def parse(spec: str) -> Fault:
    text = spec.strip()
    match = _SPEC.match(text)
    if not match:
        raise FaultSpecError(f"fault spec {spec!r} does not follow {GRAMMAR} (see `pswrap lab serve --help`)")
    kind = match.group("kind")
    if kind not in KINDS:
        raise FaultSpecError(
            f"fault spec {spec!r}: unknown kind {kind!r}; known kinds: {', '.join(sorted(KINDS))}"
        )
    nth = int(match.group("nth")) if match.group("nth") else None
    if nth == 0:
        raise FaultSpecError(f"fault spec {spec!r}: @N counts from 1")
    rate = float(match.group("rate")) if match.group("rate") else None
    if rate is not None and not 0.0 <= rate <= 1.0:
        raise FaultSpecError(f"fault spec {spec!r}: %RATE must be between 0 and 1")
    arg = match.group("arg")
    if kind in ("slow", "delay"):
        try:
            float(arg or "")
        except ValueError:
            raise FaultSpecError(f"fault spec {spec!r}: {kind} needs =SECONDS") from None
    if kind in ("fail", "error", "delay") and not match.group("target"):
        raise FaultSpecError(f"fault spec {spec!r}: {kind} needs a step id (e.g. {kind}:exo/new-mailbox)")
    return Fault(
        kind=kind,
        target=match.group("target"),
        arg=arg,
        nth=nth,
        from_nth_on=bool(match.group("plus")),
        rate=rate,
        spec=text,
    )


def split_specs(text: str) -> list[str]:
    """PSWRAP_LAB_FAULTS: specs separated by commas or semicolons."""
    return [part.strip() for part in re.split(r"[;,]", text) if part.strip()]


class FaultSet:
    """The faults of one running lab, with their per-spec counters."""

    def __init__(
        self,
        specs: Iterable[str] = (),
        *,
        world_specs: Callable[[], list[str]] | None = None,
        seed: str | None = None,
    ) -> None:
        self._static = [parse(spec) for spec in specs]
        self._world_specs = world_specs
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self.fired: dict[str, int] = {}
        """How often each spec fired (tests assert retries with it)."""
        seed = seed if seed is not None else os.environ.get("PSWRAP_LAB_SEED")
        self._random = random.Random(seed)

    @classmethod
    def from_environment(
        cls, specs: Iterable[str] = (), *, world_specs: Callable[[], list[str]] | None = None
    ) -> FaultSet:
        env = split_specs(os.environ.get("PSWRAP_LAB_FAULTS", ""))
        return cls([*specs, *env], world_specs=world_specs)

    def active(self) -> list[Fault]:
        faults = list(self._static)
        if self._world_specs is not None:
            for spec in self._world_specs():
                try:
                    faults.append(parse(spec))
                except FaultSpecError:
                    continue  # a bad spec in the world file must not stop the lab; `lab set` validates
        return faults

    def take(
        self, kind: str, target: str | None = None, *, active: list[Fault] | None = None
    ) -> Fault | None:
        """Count one matching request/call for every spec of `kind`; the first that fires, or None.

        `active` (from `active()`) saves re-reading the sources when one request checks several kinds.
        """
        fired: Fault | None = None
        for fault in self.active() if active is None else active:
            if fault.kind != kind:
                continue
            if fault.target is not None and target is not None and fault.target.lower() != target.lower():
                continue
            if fault.target is not None and target is None:
                continue
            with self._lock:
                count = self._counts.get(fault.spec, 0) + 1
                self._counts[fault.spec] = count
                if fault.nth is not None:
                    hit = count >= fault.nth if fault.from_nth_on else count == fault.nth
                elif fault.rate is not None:
                    hit = self._random.random() < fault.rate
                else:
                    hit = True
                if hit and fired is None:
                    self.fired[fault.spec] = self.fired.get(fault.spec, 0) + 1
                    fired = fault
        return fired


_CURRENT: contextvars.ContextVar[FaultSet | None] = contextvars.ContextVar("pswrap_lab_faults", default=None)


@contextlib.contextmanager
def applied(faults: FaultSet | None) -> Iterator[None]:
    """Make `faults` the set `take()` consults in this thread/context (the server does it per pipeline)."""
    token = _CURRENT.set(faults)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def take(kind: str, step_id: str | None = None) -> Fault | None:
    """For handlers: the step fault of `kind` that fires for this call of `step_id`, or None.

    Uses the fault set of the lab running the current pipeline; outside a lab it never fires.
    """
    current = _CURRENT.get()
    if current is None:
        return None
    return current.take(kind, step_id)
