"""Entra Connect Sync, simulated: the scheduler, cycles, the matching at a cycle's end, leases.

Everything happens lazily from timestamps (no background thread): `catch_up(world)` replays, in time
order, every event whose time has passed on the lab's clock — a running cycle's end, a lease's deadline,
a scheduled cycle's start — so a handler always sees the world as it is "now". Each behaviour below names
the documented one it imitates (docs/sources.md section and its source).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from pswrap.lab import lifecycle, resiliency
from pswrap.lab.sync_export import MAILBOX_TYPES as MAILBOX_TYPES
from pswrap.lab.sync_export import dict_of as dict_of
from pswrap.lab.sync_export import export_to_ad, export_to_cloud, in_scope_anchors
from pswrap.lab.sync_export import in_sync_scope as in_sync_scope
from pswrap.lab.world import iso, new_guid, now, parse_time

MAX_EVENTS = 500
"""Upper bound on events replayed by one catch-up (a clock moved by months must not spin for long)."""

MAX_RUNS = 60
"""Run history kept (the real engine purges it by PurgeRunHistoryInterval, docs/sources.md §2)."""

MIN_CONNECT_VERSION = (2, 5, 79, 0)
"""Below it "All synchronization services in Microsoft Entra Connect Sync will fail" after 2026-09-30
(docs/sources.md §1.3, learn.microsoft.com harden-update-ad-fs-pingfederate)."""


# --- versions and scope -----------------------------------------------------------------------------


def version_tuple(text: str) -> tuple[int, ...]:
    parts: list[int] = []
    for piece in str(text).split("."):
        try:
            parts.append(int(piece))
        except ValueError:
            parts.append(0)
    return tuple(parts)


def connect_version_syncs(world: dict[str, Any]) -> bool:
    return version_tuple(world["sync"]["settings"]["connect_version"]) >= MIN_CONNECT_VERSION


# --- the scheduler and cycles -------------------------------------------------------------------------


def cycle_in_progress(world: dict[str, Any]) -> bool:
    return world["sync"].get("current_cycle") is not None


def start_cycle(world: dict[str, Any], at: datetime, policy: str = "Delta", *, manual: bool) -> None:
    """A cycle begins; it ends `cycle_seconds` later (its results apply then, in `catch_up`)."""
    seconds = float(world["sync"]["scheduler"].get("cycle_seconds", 2))
    world["sync"]["current_cycle"] = {
        "run_history_id": new_guid(),
        "policy": policy,
        "manual": manual,
        "started_utc": iso(at),
        "ends_utc": iso(at + timedelta(seconds=seconds)),
    }
    world["sync"]["scheduler"]["sync_cycle_in_progress"] = True


def scheduler_runs(world: dict[str, Any]) -> bool:
    scheduler = world["sync"]["scheduler"]
    return bool(scheduler.get("sync_cycle_enabled")) and not scheduler.get("suspended")


def set_sync_cycle_enabled(world: dict[str, Any], enabled: bool, at: datetime) -> None:
    """Set-ADSyncScheduler -SyncCycleEnabled (docs/sources.md §2). Re-enabling a scheduler whose next start
    time has passed runs a cycle at once, as the real scheduler does when it finds the time due."""
    scheduler = world["sync"]["scheduler"]
    was = bool(scheduler.get("sync_cycle_enabled"))
    scheduler["sync_cycle_enabled"] = bool(enabled)
    if enabled and not was and parse_time(scheduler["next_sync_cycle_start_time_utc"]) < at:
        scheduler["next_sync_cycle_start_time_utc"] = iso(at)


def _next_event(world: dict[str, Any], limit: datetime) -> tuple[datetime, str] | None:
    sync = world["sync"]
    candidates: list[tuple[datetime, str]] = []
    if sync.get("current_cycle"):
        candidates.append((parse_time(sync["current_cycle"]["ends_utc"]), "cycle-end"))
    for lease in sync.get("leases", []):
        candidates.append((parse_time(lease["deadline_utc"]), "lease"))
    if not sync.get("current_cycle") and scheduler_runs(world):
        candidates.append((parse_time(sync["scheduler"]["next_sync_cycle_start_time_utc"]), "scheduled"))
    release = resiliency.next_release(world)
    if release is not None:
        candidates.append((release, "release"))
    due = [c for c in candidates if c[0] <= limit]
    if not due:
        return None
    # At equal times: finish a cycle, then fire leases, then start a scheduled cycle.
    order = {"cycle-end": 0, "lease": 1, "release": 2, "scheduled": 3}
    return min(due, key=lambda c: (c[0], order[c[1]]))


def catch_up(world: dict[str, Any]) -> None:
    """Bring the world to the lab's "now": every handler calls this first (inside its transaction)."""
    limit = now(world)
    for _ in range(MAX_EVENTS):
        event = _next_event(world, limit)
        if event is None:
            break
        at, kind = event
        if kind == "cycle-end":
            finish_cycle(world, at)
        elif kind == "lease":
            fire_due_leases(world, at)
        elif kind == "release":
            resiliency.release_quarantined(world, at)
        else:
            policy = world["sync"]["scheduler"].get("next_sync_cycle_policy_type") or "Delta"
            start_cycle(world, at, policy, manual=False)
    else:  # pragma: no cover - only after a huge clock jump; skip the rest of the backlog
        scheduler = world["sync"]["scheduler"]
        scheduler["next_sync_cycle_start_time_utc"] = iso(limit + timedelta(seconds=_interval(world)))
    world["sync"]["scheduler"]["sync_cycle_in_progress"] = cycle_in_progress(world)
    lifecycle.purge_expired(world, limit)


def _interval(world: dict[str, Any]) -> float:
    return float(world["sync"]["scheduler"].get("interval_seconds", 1800))


def finish_cycle(world: dict[str, Any], at: datetime) -> None:
    """The end of a cycle: import, synchronize, export, and record the run results.

    NextSyncCycleStartTimeInUTC advances only when a cycle finishes (docs/sources.md §2 item 3, community).
    Staging mode runs import and synchronization but suppresses exports (docs/sources.md §7b item 12,
    how-to-connect-sync-feature-scheduler.md).
    """
    sync = world["sync"]
    cycle = sync["current_cycle"]
    sync["current_cycle"] = None
    sync["scheduler"]["sync_cycle_in_progress"] = False
    scheduler = sync["scheduler"]
    scheduler["next_sync_cycle_start_time_utc"] = iso(at + timedelta(seconds=_interval(world)))
    scheduler["next_sync_cycle_policy_type"] = "Delta"

    started = cycle["started_utc"]
    ended = iso(at)
    initial = str(cycle.get("policy", "Delta")).lower() == "initial"
    ad_connector = world["ad"]["domain"]["dns_root"]
    aad_connector = f"{world['cloud']['tenant']['initial_domain']} - AAD"
    runs: list[dict[str, Any]] = []

    def run(connector: str, profile: str, result: str, errors: list[dict[str, Any]]) -> None:
        runs.append(
            {
                "run_history_id": str(uuid.uuid4()),
                "connector_name": connector,
                "run_profile_name": profile,
                "result": result,
                "start_date": started,
                "end_date": ended,
                "export_errors": errors,
            }
        )

    prefix = "Full" if initial else "Delta"
    run(ad_connector, f"{prefix} Import", "success", [])
    if not connect_version_syncs(world):
        # Inference: a retired Connect build cannot talk to Entra ID ("All synchronization services ...
        # will fail", docs/sources.md §1.3); the AAD connector runs report no-start-connection (§2 item 4).
        run(aad_connector, f"{prefix} Import", "no-start-connection", [])
        run(aad_connector, "Export", "no-start-connection", [])
    else:
        run(aad_connector, f"{prefix} Import", "success", [])
        run(ad_connector, f"{prefix} Synchronization", "success", [])
        if not sync["settings"].get("staging_mode"):
            if lifecycle.threshold_stops(world, in_scope_anchors(world)):
                # The whole export waits for an admin ("Prevent accidental deletes"), pswrap.lab.lifecycle.
                run(aad_connector, "Export", lifecycle.THRESHOLD_RESULT, [])
            else:
                errors = export_to_cloud(world, at)
                run(aad_connector, "Export", "completed-export-errors" if errors else "success", errors)
            ad_errors = export_to_ad(world, at)
            run(ad_connector, "Export", "completed-export-errors" if ad_errors else "success", ad_errors)
    # Newest first, as Get-ADSyncRunProfileResult lists them (docs/sources.md §2 item 4).
    sync["runs"] = list(reversed(runs)) + sync.get("runs", [])
    del sync["runs"][MAX_RUNS:]
    # The lab's own record of whole cycles and who started them (Start-ADSyncSyncCycle: manual, or the
    # scheduler); the real run history has no such column, tests read this one (issue #15).
    cycles = sync.setdefault("cycle_history", [])
    cycles.append({"policy": cycle.get("policy", "Delta"), "manual": bool(cycle.get("manual")),
                   "started_utc": started, "ended_utc": ended})  # fmt: skip
    del cycles[:-MAX_RUNS]


# --- leases ---------------------------------------------------------------------------------------------


def lease_state(world: dict[str, Any], *, restored: bool = False) -> dict[str, Any]:
    """The LeaseSet document (pswrap/results/models.py)."""
    sync = world["sync"]
    prior = sync.get("lease_prior")
    prior_enabled = None if prior is None else bool(prior["sync_cycle_enabled"])
    return {
        "leases": [
            {
                "name": lease["name"],
                "deadline_utc": lease["deadline_utc"],
                "prior_sync_cycle_enabled": lease["prior_sync_cycle_enabled"],
            }
            for lease in sync.get("leases", [])
        ],
        "prior_sync_cycle_enabled": prior_enabled,
        "sync_cycle_enabled": bool(sync["scheduler"]["sync_cycle_enabled"]),
        "restored": restored,
    }


def install_lease(world: dict[str, Any], name: str, deadline: datetime, at: datetime) -> None:
    """Overlapping leases record the scheduler state before the first one, once (docs/design.md, workflows:
    `scheduler` hold), and pause the scheduler (Set-ADSyncScheduler -SyncCycleEnabled $false, §2)."""
    sync = world["sync"]
    if sync.get("lease_prior") is None:
        sync["lease_prior"] = {
            "sync_cycle_enabled": bool(sync["scheduler"]["sync_cycle_enabled"]),
            "recorded_utc": iso(at),
        }
    prior = bool(sync["lease_prior"]["sync_cycle_enabled"])
    existing = next((lease for lease in sync["leases"] if lease["name"] == name), None)
    if existing is not None:
        existing["deadline_utc"] = iso(deadline)
    else:
        sync["leases"].append(
            {"name": name, "deadline_utc": iso(deadline), "prior_sync_cycle_enabled": prior}
        )
    set_sync_cycle_enabled(world, False, at)


def remove_lease(world: dict[str, Any], name: str, at: datetime) -> bool:
    """Remove a lease; only the end of the last one restores the recorded state. True when restored."""
    sync = world["sync"]
    before = len(sync["leases"])
    sync["leases"] = [lease for lease in sync["leases"] if lease["name"] != name]
    if len(sync["leases"]) == before or sync["leases"]:
        return False
    prior = sync.get("lease_prior")
    sync["lease_prior"] = None
    if prior is None:
        return False
    set_sync_cycle_enabled(world, bool(prior["sync_cycle_enabled"]), at)
    return True


def fire_due_leases(world: dict[str, Any], at: datetime) -> None:
    """A lease whose deadline passed on the lab's clock runs its one-shot task: it removes itself and,
    if it was the last, restores the recorded scheduler state (docs/design.md, workflows)."""
    for lease in list(world["sync"]["leases"]):
        if parse_time(lease["deadline_utc"]) <= at:
            remove_lease(world, lease["name"], at)
