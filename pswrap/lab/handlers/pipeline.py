"""What every simulated step goes through before its own behaviour: the runspace's session rules, the
step faults, and the world caught up to the lab's clock.

Order, as on a real server: a cmdlet that does not exist in the runspace fails before it can reach any
service (session rules); then the service's own transient failures (throttling, a busy sync engine, an
injected failure or delay); then the step itself, inside one world transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pswrap.lab import faults, latency
from pswrap.lab.dispatch import Invocation, PSError, handler
from pswrap.lab.grants import require_exchange_roles
from pswrap.lab.handlers import records, sessions
from pswrap.lab.sync_engine import catch_up
from pswrap.lab.world import LAB_DEFAULTS, now

StepBody = Callable[[Invocation, dict[str, Any], datetime], Any]

# The cmdlet each step calls first (the one a missing session or a throttled service reports), and its
# Graph parameter set. The templates call these cmdlets; the lab names them in its error records.
FIRST_CMDLET: dict[str, tuple[str, str]] = {
    "exo/find-mailbox": ("Get-EXOMailbox", ""),
    "exo/find-recipients": ("Get-Recipient", ""),
    "exo/new-mailbox": ("New-Mailbox", ""),
    "graph/get-user": ("Get-MgUser", "Get"),
    "graph/find-users": ("Get-MgUser", "List"),
    "graph/set-user": ("Update-MgUser", "UpdateExpanded"),
    "graph/get-sync-features": ("Get-MgDirectoryOnPremiseSynchronization", "List"),
    "hybrid/new-remote-mailbox": ("New-RemoteMailbox", ""),
    "hybrid/find-remote-mailbox": ("Get-RemoteMailbox", ""),
    "exo/get-calendar-processing": ("Get-CalendarProcessing", ""),
    "exo/set-calendar-processing": ("Set-CalendarProcessing", ""),
    "exo/list-mailboxes": ("Get-EXOMailbox", ""),
    "graph/list-synced-users": ("Get-MgUser", "List"),
    "graph/get-users": ("Get-MgUser", "List"),
    # issue #16
    "exo/find-deleted-mailbox": ("Get-EXOMailbox", ""),
    "graph/get-deleted-user": ("Get-MgDirectoryDeletedItemAsUser", "Get"),
    "graph/get-sync-behavior": ("Get-MgBetaUserOnPremiseSyncBehavior", "Get"),
    "graph/set-sync-behavior": ("Get-MgBetaUserOnPremiseSyncBehavior", "Get"),
    # desired state part 2
    "exo/get-access": ("Get-Mailbox", ""),
    "exo/set-access": ("Add-MailboxPermission", ""),
    "exo/get-place": ("Get-Place", ""),
    "exo/set-place": ("Set-Place", ""),
    "exo/get-room-lists": ("Get-Recipient", ""),
    "exo/set-room-lists": ("New-DistributionGroup", ""),
    "exo/set-mailbox-type": ("Set-Mailbox", ""),
}


def step(step_id: str, *, need: str | None = None) -> Callable[[StepBody], StepBody]:
    """Register `body(inv, world, at)` as the handler of `step_id`, wrapped in the common rules."""

    def register(body: StepBody) -> StepBody:
        def run(inv: Invocation) -> Any:
            # The template's Import-Module runs before any of its cmdlets (§7b item 1, module missing).
            sessions.require_modules(inv, inv.world.read())
            if need is not None:
                sessions.require(inv, need)
            if need == "exo":  # the cmdlets the app's Exchange roles allow (pswrap.lab.grants)
                require_exchange_roles(inv.step_id, inv.world.read())
            apply_faults(inv)
            if latency.enabled():  # PSWRAP_LAB_LATENCY=realistic (pswrap.lab.latency)
                return with_latency(inv, lambda: in_world(inv, body))
            return in_world(inv, body)

        run.__name__ = body.__name__
        run.__doc__ = body.__doc__
        handler(step_id)(run)
        return body

    return register


def in_world(inv: Invocation, body: StepBody) -> Any:
    with inv.world.transaction() as world:
        catch_up(world)
        return body(inv, world, now(world))


def with_latency(inv: Invocation, run: Callable[[], Any]) -> Any:
    """The step after its service's latency; a cloud service over its budget answers with its
    throttling reply instead, having done nothing (pswrap.lab.latency cites both)."""
    step_id = inv.step_id
    area = step_id.split("/", 1)[0]
    connect = step_id.endswith("/connect")
    with latency.Slot("connect" if connect else area) as slot:
        if not slot.admitted:
            cmdlet, parameter_set = FIRST_CMDLET.get(step_id, ("Invoke-Command", ""))
            if area == "exo":
                raise records.exo_throttled(cmdlet)
            raise records.graph_throttled(cmdlet, parameter_set or "Get", now(inv.world.read()))
        seconds = latency.latency(step_id)
        latency.account(step_id, seconds)
        if not inv.wait(seconds):
            raise records.pipeline_stopped()
        return run()


def apply_faults(inv: Invocation) -> None:
    """The step kinds of the lab's fault grammar (pswrap.lab.faults): delay, fail, throttle, sync-busy,
    error."""
    step_id = inv.step_id
    delay = faults.take("delay", step_id)
    if delay is not None and not inv.wait(delay.seconds):
        raise records.pipeline_stopped()
    failure = faults.take("fail", step_id)
    if failure is not None:
        raise injected(step_id, failure.arg, terminating=True)
    area = step_id.split("/", 1)[0]
    if area in ("exo", "graph") and not step_id.endswith("/connect"):
        throttle = faults.take("throttle", step_id)
        if throttle is not None:
            cmdlet, parameter_set = FIRST_CMDLET.get(step_id, ("Invoke-Command", ""))
            if area == "exo":
                raise records.exo_throttled(cmdlet)
            raise records.graph_throttled(cmdlet, parameter_set or "Get", now(inv.world.read()))
    if step_id == "sync/start-cycle":
        busy = faults.take("sync-busy", step_id)
        if busy is not None:
            raise records.aad_busy(_tenant_domain(inv))
    error = faults.take("error", step_id)
    if error is not None:
        inv.write_error(injected(step_id, error.arg, terminating=False))


def _tenant_domain(inv: Invocation) -> str:
    tenant = inv.world.read().get("cloud", {}).get("tenant", {})
    return str(tenant.get("initial_domain") or LAB_DEFAULTS.tenant_domain)


def injected(step_id: str, message: str | None, *, terminating: bool) -> PSError:
    """A `fail:`/`error:` fault: the given message, or one that says it was injected and by which spec."""
    kind = "fail" if terminating else "error"
    text = message or f"pswrap lab: injected {'failure' if terminating else 'error'} in step {step_id}"
    return PSError(
        text,
        fqid=f"PswrapLabInjected{kind.capitalize()},{step_id}",
        category="NotSpecified",
        target=step_id,
        exception_type="System.Management.Automation.RuntimeException",
        terminating=terminating,
    )
