"""Judgements on the Entra Connect Sync server: its version, anchor, staging mode, scheduler and leases."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pswrap.workflows.checks.model import Check, aware, failed, passed, version_tuple, warned

MIN_CONNECT_VERSION = (2, 5, 79, 0)
CONNECT_DEADLINE = "2026-09-30"


def judge_connect_version(settings: Any) -> Check:
    name = "Entra Connect Sync version"
    version = getattr(settings, "connect_version", None)
    if not version:
        return warned(
            "sync.connect-version",
            name,
            "the sync server did not report its version",
            f"check it in the Synchronization Service Manager (Help > About); {CONNECT_DEADLINE} made "
            "2.5.79.0 the minimum (docs/sources.md §1.3)",
        )
    if version_tuple(version) < MIN_CONNECT_VERSION:
        return failed(
            "sync.connect-version",
            name,
            f"{version}: below 2.5.79.0, synchronization stopped for it after {CONNECT_DEADLINE}",
            "upgrade Entra Connect Sync to 2.5.79.0 or later (the .msi is in the Entra admin center; "
            "docs/sources.md §1.3)",
        )
    return passed("sync.connect-version", name, f"{version} (2.5.79.0 or later is required)")


def default_hold(anchor_attribute: str | None) -> str:
    """The hold `mailbox create` picks when none is given (the rule of `workflows.inputs.choose_hold`):
    the anchor hold where the anchor is mS-DS-ConsistencyGuid, else the staging OU. The doctor judges
    that hold's prerequisites when `--hold` is left out, so it fails where the command would refuse.
    """
    return "anchor" if str(anchor_attribute or "").lower() == "ms-ds-consistencyguid" else "staging-ou"


def judge_anchor(settings: Any, hold: str | None = None) -> Check:
    """`hold` None: none chosen, so `mailbox create` takes `default_hold` of this anchor."""
    name = "sourceAnchor attribute"
    anchor = str(getattr(settings, "anchor_attribute", "") or "")
    if anchor.lower() == "ms-ds-consistencyguid":
        return passed(
            "sync.anchor",
            name,
            "mS-DS-ConsistencyGuid: new accounts can be created with their anchor already set (the anchor "
            "hold, mailbox create's default here)",
        )
    if anchor.lower() == "objectguid":
        if hold == "anchor":
            return failed(
                "sync.anchor",
                name,
                "objectGUID: the anchor hold cannot work (a new account's objectGUID cannot be chosen in "
                "advance)",
                "leave --hold out (mailbox create then uses the staging OU here) or use --hold staging-ou; "
                "the anchor attribute is chosen when Entra Connect is installed (docs/sources.md §3)",
            )
        if hold is not None:
            return passed(
                "sync.anchor", name, f"objectGUID: the {hold} hold does not need the anchor chosen in advance"
            )
        return warned(
            "sync.anchor",
            name,
            "objectGUID (DirSync heritage): mailbox create holds new accounts in the staging OU "
            "(its default here); the anchor hold is unavailable",
            "keep staging_ou set to an OU outside sync scope (checked under Active Directory below); only "
            "a server installed with mS-DS-ConsistencyGuid as its anchor allows the anchor hold "
            "(docs/sources.md §3)",
        )
    return failed(
        "sync.anchor",
        name,
        f"unexpected value {anchor!r}",
        "read Microsoft.SynchronizationOption.AnchorAttribute from Get-ADSyncGlobalSettings on the sync "
        "server; pswrap knows objectGUID and mS-DS-ConsistencyGuid (docs/sources.md §3)",
    )


def judge_staging_mode(settings: Any) -> Check:
    name = "sync server not in staging mode"
    if getattr(settings, "staging_mode", False):
        return failed(
            "sync.staging-mode",
            name,
            "staging mode is on: this server imports and synchronizes but never exports, so no account "
            "it sees ever reaches Entra ID",
            "point the target's adsync host at the active sync server (docs/sources.md §7b item 12)",
        )
    return passed("sync.staging-mode", name, "active server (staging mode off)")


def judge_scheduler(scheduler: Any, hold: str | None = None) -> Check:
    name = "sync scheduler"
    if getattr(scheduler, "scheduler_suspended", False):
        why = "SchedulerSuspended is set (Connect sets it during an upgrade, and while its wizard is open)"
        fix = "close the Entra Connect wizard or finish the upgrade on the sync server (docs/sources.md §2)"
        if hold is not None:
            # What a manual Start-ADSyncSyncCycle does while suspended is undocumented ("Microsoft Entra
            # Connect Sync: Scheduler"): every hold waits for a cycle, so none starts (docs/sync.md).
            return failed("sync.scheduler", name, why + "; no cycle can be relied on, so no hold runs", fix)
        return warned("sync.scheduler", name, why + ": no cycle runs until it is cleared", fix)
    if not getattr(scheduler, "sync_cycle_enabled", True):
        return warned(
            "sync.scheduler",
            name,
            "SyncCycleEnabled is $false: no scheduled cycle runs (pswrap starts its own; nothing else syncs)",
            "if no pswrap lease holds it (next check), resume it: Set-ADSyncScheduler -SyncCycleEnabled "
            "$true on the sync server (docs/sources.md §2)",
        )
    return passed("sync.scheduler", name, "enabled, not suspended")


def judge_cycle(scheduler: Any) -> Check:
    name = "no sync cycle in progress"
    if getattr(scheduler, "sync_cycle_in_progress", False):
        return warned(
            "sync.cycle",
            name,
            "a cycle is running now",
            "nothing to do: pswrap waits for it to end before it starts its own (a cycle past its import "
            "would miss the change; docs/sources.md §2)",
        )
    return passed("sync.cycle", name, "idle")


def judge_leases(leases: Any, now: datetime) -> Check:
    """Leases never fail the preflight: each ends by itself (its one-shot task) or with `pswrap resume`."""
    name = "no pswrap lease left on the scheduler"
    items = list(getattr(leases, "leases", []) or [])
    if not items:
        return passed("sync.leases", name, "none")
    stale = [lease for lease in items if aware(lease.deadline_utc) <= now]
    listing = ", ".join(
        f"{lease.name} (until {aware(lease.deadline_utc):%Y-%m-%d %H:%M} UTC)" for lease in items
    )
    if stale:
        return warned(
            "sync.leases",
            name,
            f"{listing}; past its deadline: its restore task has not run, the scheduler may stay paused",
            "run `pswrap resume` for that operation (it ends the lease and restores the scheduler), or "
            "run the task of that name in Task Scheduler on the sync server",
        )
    return warned(
        "sync.leases",
        name,
        f"{listing}: an operation holds the scheduler paused",
        "let it finish, or `pswrap resume` it if it was interrupted; at the deadline the lease restores "
        "the scheduler by itself",
    )


def judge_exchange_route(settings: Any) -> Check:
    """Who will master a linked mailbox's Exchange attributes by default (issue #11, docs/mastering.md):
    `auto` takes the cloud route only where both published Entra Connect minimums are met."""
    from pswrap.workflows.mailbox_mastering import choose_route

    route = choose_route(None, getattr(settings, "connect_version", None))
    name = "Exchange attributes after the link (--exchange-attributes auto)"
    return passed("sync.exchange-attributes", name, f"{route.name}: {route.reason}")
