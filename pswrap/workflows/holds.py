"""The holds: how pswrap keeps a new AD account from syncing before its cloud object carries its anchor.

docs/design.md, Workflows, describes three; this module holds what they need beyond ordering steps:
- `anchor`: a GUID chosen once per operation (journaled, so a resumed run reuses it rather than
  stamping a second one), written to the cloud first and born into the account's mS-DS-ConsistencyGuid.
- `staging-ou`: nothing beyond the order (the account is born outside sync scope, moved in last).
- `scheduler`: a lease. The scheduler is paused by a one-shot task on the sync server that restores the
  prior state at a deadline if pswrap never comes back; pswrap removes the lease in a `finally`, so
  every way out of the hold (success, refusal, error, Ctrl+C) restores the scheduler, and a killed
  process is covered by the lease's deadline.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

from pswrap.errors import BadInput, NeedsHuman, PswrapError, Refused
from pswrap.immutableid import guid_for_immutable_id
from pswrap.workflows.ports import Progress, StepSession, no_progress
from pswrap.workflows.sync_wait import Deadline, wait_until_idle

LEASE_MARGIN_SECONDS = 300.0
"""Slack past --timeout before the lease's task restores the scheduler on its own."""

RunStep = Callable[..., Any]


def lease_name(op_id: str) -> str:
    return f"pswrap-lease-{op_id}"


def lease_deadline(timeout: float) -> datetime:
    """When the lease's own task restores the scheduler if pswrap never comes back."""
    return datetime.now(timezone.utc) + timedelta(seconds=timeout + LEASE_MARGIN_SECONDS)


def anchor_guid(state: dict[str, Any], cloud_user: Any | None) -> tuple[uuid.UUID, str]:
    """The GUID of the `anchor` hold: the one already on our cloud user, else the journaled one, else new.

    Adopting the cloud user's ImmutableId is what makes a re-run without the journal converge after a
    run that stopped between `graph/set-user` and `ad/new-user`: the cloud object already waits for
    an account with that anchor, so the account is born with it. (The caller has checked that the
    pending ImmutableId is ours: it came with our UPN, in the same `graph/set-user`.)
    """
    # The cloud user's pending ImmutableId comes first, before this machine's journal: another machine
    # (or admin) running the same create may have written its own GUID since this journal chose one.
    # Adopting what the cloud holds, never replacing it, is what makes both converge on one anchor.
    if (
        cloud_user is not None
        and cloud_user.on_premises_immutable_id
        and not cloud_user.on_premises_sync_enabled
    ):
        try:
            return guid_for_immutable_id(cloud_user.on_premises_immutable_id), "cloud"
        except BadInput:  # not a GUID's 16 bytes: not an anchor pswrap chose
            pass
    if state.get("anchor_guid"):
        return uuid.UUID(str(state["anchor_guid"])), "journal"
    return uuid.uuid4(), "new"


def check_scheduler_hold(scheduler: Any, staging_mode: bool) -> None:
    if staging_mode or scheduler.staging_mode_enabled:
        raise Refused(
            "--hold scheduler on a sync server in staging mode: it exports nothing, so pausing it holds "
            "nothing back",
            hint="run against the active sync server, or use --hold anchor / staging-ou",
        )
    if scheduler.scheduler_suspended:
        # A server condition a person must clear, not a wrong option: exit 6 like every other hold, which
        # all stop on a suspended scheduler (docs/sync.md, "Waiting for sync").
        raise NeedsHuman(
            "--hold scheduler while the scheduler is suspended (SchedulerSuspended: Connect sets this during "
            "an upgrade or while its wizard is open); pausing it now would record a state that is not the "
            "real one, and no sync cycle can be relied on",
            hint="close the Entra Connect wizard or finish the upgrade on the sync server, then run again",
        )


@contextmanager
def scheduler_lease(
    run: RunStep,
    session: StepSession,
    *,
    op_id: str,
    timeout: float,
    deadline: Deadline,
    progress: Progress = no_progress,
    on_restore: Callable[[Any], None] | None = None,
) -> Iterator[Any]:
    """Pause the scheduler under a lease, wait until no cycle runs, yield; always end the lease."""
    name = lease_name(op_id)
    due = lease_deadline(timeout)

    def end() -> None:
        progress("ending the lease (restores the scheduler's prior state)")
        restored = run("sync/remove-lease", params={"LeaseName": name})
        if on_restore is not None:
            on_restore(restored)

    try:
        # Inside the try: an install whose reply was lost may still have paused the scheduler, and
        # removing a lease that does not exist changes nothing.
        progress("pausing the sync scheduler under a lease")
        lease = run("sync/install-lease", params={"LeaseName": name, "DeadlineUtc": due})
        wait_until_idle(
            session, deadline, progress, "waiting for the running sync cycle to end before working"
        )
        yield lease
    except BaseException:
        try:
            end()
        except PswrapError as exc:
            # Keep the error that ended the work; the lease's own task restores the scheduler later.
            progress(
                f"could not end the lease {name} ({exc}); if it was installed, its task restores the "
                f"scheduler at {due.isoformat()}, or `pswrap resume` ends it now"
            )
        raise
    try:
        end()
    except PswrapError as exc:
        exc.hint = (exc.hint + "; " if exc.hint else "") + (
            f"the scheduler stays paused until the lease {name} fires at {due.isoformat()} "
            "(or run `pswrap resume` to end it now)"
        )
        raise
