"""The mailbox runbook's steps on the sync server (Entra Connect): settings, scheduler, cycles, run
results, pswrap's leases. One declaration each; the contract with its template and lab handler as in
runbook.py.
"""

from __future__ import annotations

from pswrap.results import models as m
from pswrap.steps import readback as rb
from pswrap.steps.model import Choice, Param, Step
from pswrap.steps.shared import MODERN, MODERN_HYBRID

SYNC_STEPS = (
    Step(
        "sync/get-settings",
        "Read the sync server's sourceAnchor attribute, staging mode and Connect version",
        needs="adsync",
        profiles=MODERN_HYBRID,
        result=m.SyncSettings,
    ),
    Step(
        "sync/get-scheduler",
        "Read the sync scheduler (enabled, suspended, cycle in progress, next run)",
        needs="adsync",
        profiles=MODERN_HYBRID,
        result=m.SchedulerState,
    ),
    Step(
        "sync/set-scheduler",
        "Pause or resume the sync scheduler (Set-ADSyncScheduler -SyncCycleEnabled)",
        needs="adsync",
        profiles=MODERN_HYBRID,
        params=(Param("SyncCycleEnabled", "bool"),),
        result=m.SchedulerState,
        changes=True,
        read_back=rb.SET_SCHEDULER,
    ),
    Step(
        "sync/start-cycle",
        "Start a sync cycle (Start-ADSyncSyncCycle -PolicyType Delta|Initial)",
        needs="adsync",
        profiles=MODERN_HYBRID,
        choices=(Choice("policy", ("delta", "initial"), default="delta"),),
        result=m.CycleStarted,
        changes=True,
        read_back=rb.START_CYCLE,
        idempotent=False,
    ),
    Step(
        "sync/get-run-results",
        "Read the results of recent sync runs with their export errors (Get-ADSyncRunProfileResult)",
        needs="adsync",
        profiles=MODERN_HYBRID,
        params=(
            Param(
                "NumberRequested",
                "int",
                mandatory=False,
                help="how many recent runs; without it, every run the server keeps (7 days by default)",
            ),
        ),
        result=m.RunResults,
    ),
    Step(
        "sync/install-lease",
        "Pause the scheduler under a lease: a one-shot task that restores the prior state at a deadline",
        needs="adsync",
        profiles=MODERN,
        params=(
            Param("LeaseName", help="pswrap-lease-<operation id>"),
            Param("DeadlineUtc", "datetime", help="when the task restores the prior scheduler state"),
        ),
        result=m.LeaseSet,
        changes=True,
        read_back=rb.INSTALL_LEASE,
    ),
    Step(
        "sync/remove-lease",
        "End a lease; the last lease to end restores the scheduler's prior state",
        needs="adsync",
        profiles=MODERN,
        params=(Param("LeaseName", help="the lease to end, pswrap-lease-<operation id>"),),
        result=m.LeaseSet,
        changes=True,
        read_back=rb.REMOVE_LEASE,
    ),
    Step(
        "sync/list-leases",
        "List pswrap's leases and the scheduler state recorded before the first",
        needs="adsync",
        profiles=MODERN,
        result=m.LeaseSet,
    ),
)
