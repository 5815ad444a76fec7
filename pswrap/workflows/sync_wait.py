"""Waiting for the sync engine: start a delta cycle, notice its end quickly, and tell a failure from slowness.

The seed's reader put it well: "waiting for the DirSync really messes with a script because you have
to wait in a loop". This module is that loop, done once: a cycle already running may be past its AD
import, so pswrap waits for it to end and starts its own (domain.md §2); it polls with a short,
growing interval capped at under a second, so the end of a cycle is noticed within a second; and after
each cycle it reads the run results, because a match failure is an export error there, not a cmdlet
error, and waiting it out would only turn it into a misleading timeout (DESIGN.md, Workflows).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pswrap.errors import NeedsHuman, SyncBusy, WaitTimeout
from pswrap.workflows.ports import Progress, StepSession, no_progress

FIRST_POLL = 0.1
POLL_GROWTH = 1.5
MAX_POLL = 0.5
"""Below a second: the end of a cycle is seen within a second of it (issue #6, performance)."""

RunStep = Callable[..., Any]
"""`run(step_id, choices=..., params=...)`: the workflow's journaled step runner."""


@dataclass
class Deadline:
    seconds: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    start: float = field(init=False)

    def __post_init__(self) -> None:
        self.start = self.clock()

    @property
    def remaining(self) -> float:
        return self.seconds - (self.clock() - self.start)

    def passed(self) -> bool:
        return self.remaining <= 0

    def nap(self, interval: float) -> None:
        self.sleep(max(0.0, min(interval, self.remaining)))


@dataclass
class ObjectOfInterest:
    """How our object shows up in the run results: by its on-premises DN or its sourceAnchor."""

    dn: str | None
    source_anchor: str | None

    def matches(self, error: Any) -> bool:
        if self.dn and error.dn and error.dn.lower() == self.dn.lower():
            return True
        return bool(self.source_anchor and error.source_anchor and error.source_anchor == self.source_anchor)


def wait_until_idle(
    session: StepSession, deadline: Deadline, progress: Progress = no_progress, what: str | None = ""
) -> Any:
    """Poll the scheduler until no cycle is in progress; the last SchedulerState (`what`: None = quiet)."""
    interval = FIRST_POLL
    announced = False
    while True:
        state = session.step("sync/get-scheduler")
        if not state.sync_cycle_in_progress:
            return state
        if not announced:
            if what is not None:
                progress(what or "a sync cycle is running; waiting for it to end")
            announced = True
        if deadline.passed():
            raise WaitTimeout(
                f"a sync cycle was still running after {deadline.seconds:g} s",
                hint="raise --sync-timeout, or check the sync server with `pswrap sync status`",
            )
        deadline.nap(interval)
        interval = min(interval * POLL_GROWTH, MAX_POLL)


def start_cycle(
    run: RunStep,
    session: StepSession,
    deadline: Deadline,
    *,
    policy: str = "delta",
    progress: Progress = no_progress,
) -> None:
    """Start a cycle of our own; if one is running (SyncBusy), wait for its end and start a new one."""
    # Start-ADSyncSyncCycle itself says when a cycle is running ("Sync is already running", "AAD is
    # busy": SyncBusy), so no scheduler read is spent before it in the common idle case.
    while True:
        try:
            run("sync/start-cycle", choices={"policy": policy})
            return
        except SyncBusy:
            if deadline.passed():
                raise WaitTimeout(
                    f"the sync engine stayed busy for {deadline.seconds:g} s",
                    hint="raise --sync-timeout, or check the sync server with `pswrap sync status`",
                ) from None
            wait_until_idle(
                session,
                deadline,
                progress,
                "a sync cycle is already running; waiting for it to end, then starting a new one "
                "(it may be past its AD import)",
            )


def export_errors_for(session: StepSession, ours: ObjectOfInterest, seen_runs: set[str]) -> list[Any]:
    """Export errors about our object in runs not seen before; marks those runs as seen."""
    results = session.step("sync/get-run-results", params={"NumberRequested": 10})
    errors: list[Any] = []
    for run_result in results.runs:
        if run_result.run_history_id in seen_runs:
            continue
        seen_runs.add(run_result.run_history_id)
        errors.extend(e for e in run_result.export_errors if ours.matches(e))
    return errors


def known_runs(session: StepSession) -> set[str]:
    results = session.step("sync/get-run-results", params={"NumberRequested": 10})
    return {r.run_history_id for r in results.runs}


def export_error(error: Any, what: str) -> NeedsHuman:
    literal = f": {error.error_literal}" if error.error_literal else ""
    hints = {
        "InvalidHardMatch": "the tenant blocks cloud object takeover through hard match. An admin can lift "
        "BlockCloudObjectTakeoverThroughHardMatchEnabled for a planned matching window "
        "(Update-MgDirectoryOnPremiseSynchronization, domain.md §3), run `pswrap resume`, then re-enable "
        "it; pswrap never changes tenant security settings itself",
        "AttributeValueMustBeUnique": "another object in Entra ID already holds one of this account's "
        "addresses or its UPN; remove the duplicate value, then `pswrap resume`",
        "ExistingAdminRoleConflict": "Entra ID does not match an on-premises account with a cloud user "
        "that holds an admin role: remove the role from the cloud user, let sync match, re-add the role",
    }
    hint = hints.get(error.error_type, "fix the object the error names, then run `pswrap resume`")
    return NeedsHuman(
        f"the sync engine could not export {what}: {error.error_type}{literal} (DN {error.dn})",
        hint=hint,
    )


def wait_for_link(
    run: RunStep,
    session: StepSession,
    *,
    ours: ObjectOfInterest,
    check: Callable[[], Any | None],
    deadline: Deadline,
    progress: Progress = no_progress,
    what: str = "the account",
) -> Any:
    """Run cycles until `check()` returns something (the linked cloud user), an export error, or timeout.

    Between cycles nothing is slept beyond the polling: a cycle that ended without linking (it was
    started before our change was imported, or the engine scheduled one of its own) is followed by
    the next one at once.
    """
    seen = known_runs(session)
    cycles = 0
    while True:
        start_cycle(run, session, deadline, progress=progress)
        cycles += 1
        progress(f"sync cycle {cycles} started; waiting for it to end")
        wait_until_idle(session, deadline, progress, None)
        progress(f"sync cycle {cycles} ended; reading the results")
        errors = export_errors_for(session, ours, seen)
        if errors:
            raise export_error(errors[0], what)
        linked = check()
        if linked is not None:
            progress(f"linked after {cycles} cycle(s)")
            return linked
        if deadline.passed():
            raise WaitTimeout(
                f"the link was not visible in the cloud within {deadline.seconds:g} s "
                f"({cycles} sync cycle(s))",
                hint="the operation is journaled: `pswrap resume OPERATION` or the same command continues",
            )
