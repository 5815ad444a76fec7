"""Entra Connect Sync's ADSync cmdlets on the sync server (docs/sources.md §2), and pswrap's scheduler
leases."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from pswrap.lab import sync_engine as engine
from pswrap.lab.dispatch import Invocation, PSError
from pswrap.lab.handlers import records
from pswrap.lab.handlers.pipeline import step
from pswrap.lab.world import parse_time

NOT_STARTED_SUSPENDED = "pswrap-lab: not started, the scheduler is suspended (real answer undocumented)"

RUN_FIELDS = ("run_history_id", "connector_name", "run_profile_name", "result", "start_date", "end_date")
EXPORT_ERROR_FIELDS = ("dn", "cs_guid", "source_anchor", "error_type", "error_code", "error_literal")


@step("sync/get-settings", need="adsync")
def get_settings(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Get-ADSyncGlobalSettings: Microsoft.SynchronizationOption.AnchorAttribute (docs/sources.md §3), staging
    mode, the Connect version."""
    settings = world["sync"]["settings"]
    return {
        "anchor_attribute": settings["anchor_attribute"],
        "staging_mode": bool(settings["staging_mode"]),
        "connect_version": settings.get("connect_version"),
    }


def scheduler_document(world: dict[str, Any]) -> dict[str, Any]:
    """Get-ADSyncScheduler's documented fields (docs/sources.md §2), SchedulerState's keys."""
    scheduler = world["sync"]["scheduler"]
    return {
        "sync_cycle_enabled": bool(scheduler["sync_cycle_enabled"]),
        "scheduler_suspended": bool(scheduler["suspended"]),
        "sync_cycle_in_progress": engine.cycle_in_progress(world),
        "staging_mode_enabled": bool(world["sync"]["settings"]["staging_mode"]),
        "maintenance_enabled": bool(scheduler.get("maintenance_enabled", True)),
        "next_sync_cycle_policy_type": scheduler.get("next_sync_cycle_policy_type") or "Delta",
        "next_sync_cycle_start_time_utc": scheduler["next_sync_cycle_start_time_utc"],
        "currently_effective_sync_cycle_interval_seconds": int(scheduler["interval_seconds"]),
    }


@step("sync/get-scheduler", need="adsync")
def get_scheduler(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    return scheduler_document(world)


def _as_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value)
    text = str(value).strip().lower().lstrip("$")
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise PSError(
        f"Cannot process argument transformation on parameter '{name}'. Cannot convert value "
        f'"{value}" to type "System.Boolean".',
        fqid="ParameterArgumentTransformationError,Set-ADSyncScheduler",
        category="InvalidData",
        exception_type="System.Management.Automation.ParameterBindingArgumentTransformationException",
    )


@step("sync/set-scheduler", need="adsync")
def set_scheduler(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Set-ADSyncScheduler -SyncCycleEnabled $true|$false: the documented pause/resume (docs/sources.md
    §2)."""
    enabled = _as_bool(inv.params.get("SyncCycleEnabled"), "SyncCycleEnabled")
    engine.set_sync_cycle_enabled(world, enabled, at)
    return scheduler_document(world)


@step("sync/start-cycle", need="adsync")
def start_cycle(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Start-ADSyncSyncCycle -PolicyType Delta|Initial: `Result = Success`, or the terminating "already
    running" error while a cycle runs (docs/sources.md §2, §7b item 12). Staging mode is no error (§7b item
    12)."""
    if engine.cycle_in_progress(world):
        raise records.sync_already_running()
    if world["sync"]["scheduler"].get("suspended"):
        # ASSUMPTION: "Entra Connect Sync: Scheduler" says an upgrade or an open wizard suspends the
        # scheduler, and documents nothing of a manual Start-ADSyncSyncCycle then. The lab refuses
        # conservatively, in the documented way the cmdlet tells whether it could start a cycle (its
        # Result, version history 1.1.281.0), with a value that says it is the lab's, not Microsoft's.
        return {"result": NOT_STARTED_SUSPENDED}
    policy = "Initial" if inv.choices.get("policy", "delta").lower() == "initial" else "Delta"
    engine.start_cycle(world, at, policy, manual=True)
    return {"result": "Success"}


@step("sync/get-run-results", need="adsync")
def get_run_results(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Get-ADSyncRunProfileResult [-NumberRequested]: runs newest first with their export errors (§2 item 4,
    tshoot-connect-sync-errors.md)."""
    runs = world["sync"]["runs"]
    wanted = inv.params.get("NumberRequested")
    if wanted is not None:
        runs = runs[: max(0, int(wanted))]
    return {
        "runs": [
            {
                **{key: run.get(key) for key in RUN_FIELDS},
                "export_errors": [
                    {key: error.get(key) for key in EXPORT_ERROR_FIELDS} for error in run["export_errors"]
                ],
            }
            for run in runs
        ]
    }


def _deadline(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
    try:
        return parse_time(str(value))
    except ValueError:
        raise PSError(
            "Cannot process argument transformation on parameter 'DeadlineUtc'. "
            f'Cannot convert value "{value}" to type "System.DateTime".',
            fqid="ParameterArgumentTransformationError",
            category="InvalidData",
            exception_type="System.Management.Automation.ParameterBindingArgumentTransformationException",
        ) from None


@step("sync/install-lease", need="adsync")
def install_lease(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Record the scheduler state before the first lease, pause the scheduler, register a one-shot task
    that restores the state at the deadline (docs/design.md, workflows: the `scheduler` hold)."""
    name = str(inv.params.get("LeaseName") or "")
    engine.install_lease(world, name, _deadline(inv.params.get("DeadlineUtc")), at)
    return engine.lease_state(world)


@step("sync/remove-lease", need="adsync")
def remove_lease(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Remove a lease; the last one to go restores the recorded state (`restored: true`)."""
    restored = engine.remove_lease(world, str(inv.params.get("LeaseName") or ""), at)
    return engine.lease_state(world, restored=restored)


@step("sync/list-leases", need="adsync")
def list_leases(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    return engine.lease_state(world)
