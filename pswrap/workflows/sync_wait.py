"""Waiting for the sync engine: start a delta cycle, notice its end quickly, and tell a failure from slowness.

The seed's reader put it well: "waiting for the DirSync really messes with a script because you have
to wait in a loop". This module is that loop, done once: a cycle already running may be past its AD
import, so pswrap waits for it to end and starts its own (docs/sources.md §2); it polls with a short,
growing interval capped at under a second, so the end of a cycle is noticed within a second; and after
each cycle it reads the run results, because a match failure is an export error there, not a cmdlet
error, and waiting it out would only turn it into a misleading timeout (docs/design.md, Workflows).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pswrap.errors import NeedsHuman, SyncBusy, WaitTimeout
from pswrap.immutableid import connector_space_dn
from pswrap.workflows.ports import Progress, StepSession, no_progress
from pswrap.workflows.sync_stray import find_stray, stray_error

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
    """How our object shows up in the run results, and which cloud user it must link to.

    The AD connector names an object by its AD DN; the Entra ID connector by its connector-space DN,
    `CN={hex of the ImmutableId's ASCII}` ("Understanding errors during Microsoft Entra synchronization",
    "Error example"; formula: community). A match failure (InvalidHardMatch, ...) is an error of the Entra
    ID connector's export, so the expected ImmutableId is what finds it.
    """

    dn: str | None
    source_anchor: str | None
    cloud_user_id: str | None = None
    """The mailbox's cloud user: a synced user with our anchor that is not this one is a stray."""
    account: str | None = None
    """How an admin knows the account (its sAMAccountName), for messages."""
    upn: str | None = None
    """The UPN the account syncs with (to recognise a resiliency placeholder of it)."""

    def matches(self, error: Any) -> bool:
        if self.dn and error.dn and error.dn.lower() == self.dn.lower():
            return True
        if (
            self.source_anchor
            and error.dn
            and error.dn.upper() == connector_space_dn(self.source_anchor).upper()
        ):
            return True
        return bool(self.source_anchor and error.source_anchor and error.source_anchor == self.source_anchor)

    def describe(self, what: str) -> str:
        """`the account room7 (CN=Room 7,OU=...)`: the words an admin recognises."""
        return f"{what} ({self.dn})" if self.dn else what


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
            started = run("sync/start-cycle", choices={"policy": policy})
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
            continue
        result = str(getattr(started, "result", "Success") or "Success")
        if result.lower() == "success":
            return
        # Start-ADSyncSyncCycle says in its Result whether it could start a cycle (version history
        # 1.1.281.0); a suspended scheduler is the documented reason it may not.
        refuse_when_suspended(session)
        raise NeedsHuman(
            f"Start-ADSyncSyncCycle did not start a sync cycle (Result: {result})",
            hint="check the sync server with `pswrap sync status` and its Synchronization Service Manager",
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


EXPORT_HINTS = {
    "InvalidHardMatch": "Entra ID refused to take over the cloud user by hard match. Either the tenant "
    "blocks it (BlockCloudObjectTakeoverThroughHardMatchEnabled: an admin can lift it for a planned "
    "matching window with Update-MgDirectoryOnPremiseSynchronization and re-enable it after), or the cloud "
    "user holds a Microsoft Entra role (MC1262584: remove its role assignments, let sync match, re-assign "
    "them). Then `pswrap resume`; pswrap never changes tenant security settings or roles itself",
    "AttributeValueMustBeUnique": "another object in Entra ID (for example a group) already holds one of "
    "this account's addresses or its UPN; remove the duplicate value, then `pswrap resume`",
    "ExistingAdminRoleConflict": "Entra ID does not soft-match an on-premises account with a cloud user "
    "that holds an admin role: remove the role from the cloud user, let sync match, re-add the role",
}


def export_error(error: Any, what: str) -> NeedsHuman:
    """Exit 6 for an export error about our account: the account in an admin's words, then the error as
    the sync engine logged it (with the DN it used, which for the Entra ID connector is not the AD DN)."""
    literal = f": {error.error_literal}" if error.error_literal else ""
    hint = EXPORT_HINTS.get(error.error_type, "fix the object the error names, then run `pswrap resume`")
    cs_object = f", connector-space object {error.cs_guid}" if getattr(error, "cs_guid", None) else ""
    return NeedsHuman(
        f"the sync engine could not export {what}: {error.error_type}{literal} (the engine's DN for it: "
        f"{error.dn}{cs_object})",
        hint=hint,
    )


def refuse_when_suspended(session: StepSession, state: Any | None = None) -> Any:
    """The scheduler state; exit 6 when it is suspended.

    "Entra Connect Sync: Scheduler": an upgrade, or the Connect wizard left open, suspends the scheduler
    (SchedulerSuspended), and what a manual Start-ADSyncSyncCycle does then is not documented. pswrap does
    not wait for a cycle that may never come."""
    state = state if state is not None else session.step("sync/get-scheduler")
    if state.scheduler_suspended:
        raise NeedsHuman(
            "the sync scheduler on the sync server is suspended (SchedulerSuspended: Entra Connect sets it "
            "during an upgrade and while its configuration wizard is open); no sync cycle can be relied on",
            hint="finish the Entra Connect upgrade, or close the wizard, on the sync server; then run "
            "`pswrap resume` (or the same command)",
        )
    return state


def wait_for_cloud_user(
    session: StepSession,
    user_id: str,
    deadline: Deadline,
    progress: Progress = no_progress,
) -> Any:
    """The cloud user of a mailbox just created in Exchange Online, once Entra ID has it.

    A mailbox made by New-Mailbox reaches Entra ID after a replication delay; until then Get-MgUser
    answers not found. Polls with the same short growing interval as the cycle wait, up to the deadline."""
    interval = FIRST_POLL
    announced = False
    while True:
        lookup = session.step("graph/get-user", params={"UserId": user_id})
        if lookup.found:
            return lookup.user
        if not announced:
            progress(f"waiting for the new mailbox's user {user_id} to reach Entra ID (replication delay)")
            announced = True
        if deadline.passed():
            raise WaitTimeout(
                f"the new mailbox's user {user_id} did not appear in Entra ID within {deadline.seconds:g} s",
                hint="Exchange Online replicates to Entra ID with a delay; `pswrap resume` continues",
            )
        deadline.nap(interval)
        interval = min(interval * POLL_GROWTH, MAX_POLL)


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
    refuse_when_suspended(session)
    seen = known_runs(session)
    described = ours.describe(what)
    cycles = 0
    while True:
        start_cycle(run, session, deadline, progress=progress)
        cycles += 1
        progress(f"sync cycle {cycles} started; waiting for it to end")
        wait_until_idle(session, deadline, progress, None)
        progress(f"sync cycle {cycles} ended; reading the results")
        errors = export_errors_for(session, ours, seen)
        if errors:
            raise export_error(errors[0], described)
        linked = check()
        if linked is not None:
            progress(f"linked after {cycles} cycle(s)")
            quarantined = getattr(linked, "on_premises_provisioning_errors", None) or []
            if quarantined:
                # Duplicate attribute resiliency kept these values off the linked user: another object
                # holds them. The link stands; the values return within the hour once the other lets go.
                values = ", ".join(f"{e.property_causing_error} {e.value}" for e in quarantined)
                progress(f"warning: Entra ID quarantined {values} on the linked user (another holds it)")
            return linked
        stray = find_stray(session, ours.source_anchor, ours.cloud_user_id)
        if stray is not None:
            mine = session.step("graph/get-user", params={"UserId": ours.cloud_user_id})
            raise stray_error(
                stray,
                what=described,
                anchor=str(ours.source_anchor),
                mailbox_user=mine.user if mine.found else None,
                wanted_upn=ours.upn,
            )
        if deadline.passed():
            raise WaitTimeout(
                f"the link was not visible in the cloud within {deadline.seconds:g} s "
                f"({cycles} sync cycle(s))",
                hint="the operation is journaled: `pswrap resume OPERATION` or the same command continues",
            )
