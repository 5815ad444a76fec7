"""`Pswrap.apply_batch`: the workers of a batch, each its own session on the same target.

The first worker is the client's own session; each other one is a child client with a session of its
own (its own runspace pool of one runspace per need) on the target the first one connected to, so the
embedded lab is started once and every worker talks to it. All share the journal, and every session
sits behind the batch's throttling gate (pswrap.desired.batch_gate).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pswrap.desired.apply import ApplyOptions
from pswrap.desired.batch import Batch, BatchResult, Listener, Worker
from pswrap.desired.batch_gate import Gate, GatedSession, SharedReads
from pswrap.desired.batch_load import Row
from pswrap.desired.batch_quota import MAX_PARALLEL, default_parallel, warn_over_quota
from pswrap.errors import BadInput
from pswrap.workflows.mailbox import MailboxWorkflow
from pswrap.workflows.ports import no_progress

if TYPE_CHECKING:
    from pswrap.api import Pswrap


def workers(client: Pswrap, profile: str, count: int, gate: Gate) -> list[Worker]:
    from pswrap.api import Pswrap
    from pswrap.api_session import LazySession

    first = client._session(profile)
    if client._factory is not None:
        factory = client._factory
    else:
        from pswrap.remote.session import open_session

        connected = first.target

        def factory(_name: str | None, chosen: str) -> Any:
            return open_session(connected, profile=chosen)  # type: ignore[arg-type]

    clients = [client]
    for _ in range(count - 1):
        child = Pswrap(client.target_name, journal=client.journal, session_factory=factory)
        client._stack.callback(child.close)
        clients.append(child)
    facts = client._target_facts()
    shared = SharedReads()
    out = []
    for owner in clients:
        session = GatedSession(LazySession(owner, profile), gate, shared)
        release = owner.close if owner is not client else _nothing
        out.append(Worker(session, _workflow_on(session, facts, client), release))
    return out


def _nothing() -> None:
    pass


def connected_target(client: Pswrap, profile: str) -> Any:
    """The target the client's session is on (its hosts per need), or None (a test's fake session)."""
    return getattr(client._session(profile), "target", None)


def _workflow_on(session: Any, facts: Any, client: Pswrap) -> Callable[[], MailboxWorkflow]:
    def make() -> MailboxWorkflow:
        return MailboxWorkflow(session, facts, journal=client.journal, progress=no_progress)

    return make


def apply_batch(
    client: Pswrap,
    rows: list[Row],
    *,
    parallel: int | None = None,
    dry_run: bool = False,
    wait: bool = True,
    sync_timeout: float = 600.0,
    profile: str | None = None,
    hold: str | None = None,
    listener: Listener | None = None,
    operation: str | None = None,
    args: dict[str, Any] | None = None,
) -> BatchResult:
    """`parallel`: sessions at once; None: as many as the server's default shell quota fits for the
    target's layout (pswrap.desired.batch_quota), a larger number is used with one warning."""
    if parallel is not None and not 1 <= parallel <= MAX_PARALLEL:
        raise BadInput(f"--parallel {parallel}: give a number from 1 to {MAX_PARALLEL}")
    chosen = profile or client._default_profile()
    if chosen != "modern":
        raise BadInput(
            f"mailbox apply needs the modern profile, not {chosen}",
            hint="calendar processing is read and written in Exchange Online (--profile modern)",
        )
    if len(rows) > 1:
        target = connected_target(client, chosen)
        if parallel is None:
            parallel = default_parallel(target)
        else:
            warn_over_quota(min(parallel, len(rows)), target)
    parallel = parallel or 1
    gate = Gate()
    lanes = workers(client, chosen, min(parallel, max(1, len(rows))), gate)
    options = ApplyOptions(dry_run=dry_run, wait=wait, sync_timeout=sync_timeout, profile=chosen, hold=hold)
    batch = Batch(
        lanes, options, journal=client.journal, target_name=client._target_facts().name, listener=listener
    )
    return batch.run(rows, operation=operation, args=args)
