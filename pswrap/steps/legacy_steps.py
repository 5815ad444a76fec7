"""The seed's 2014 runbook as steps (the legacy profile): rendered, never run, each with the retired
service and what replaced it."""

from __future__ import annotations

from pswrap.steps.model import Param, Retired, Step
from pswrap.steps.shared import LEGACY


def _legacy(
    step_id: str,
    summary: str,
    service: str,
    retired: str,
    replacement: str,
    *params: Param,
    changes: bool = True,
) -> Step:
    return Step(
        step_id,
        summary,
        needs=None,
        profiles=LEGACY,
        params=params,
        result=None,
        changes=changes,
        retired=Retired(service, retired, replacement),
    )


DIRSYNC = "DirSync (MSOnlineSyncScheduler service)"
LEGACY_STEPS = (
    _legacy(
        "legacy/get-credential",
        "Ask for the Office 365 admin credential (Get-Credential)",
        "Basic-auth Exchange Online remote PowerShell",
        "2023-10",
        "app-only certificate authentication (exo/connect, graph/connect)",
        changes=False,
    ),
    _legacy(
        "legacy/stop-dirsync",
        "Pause DirSync (Stop-Service MSOnlineSyncScheduler)",
        DIRSYNC,
        "2021-04-01",
        "Set-ADSyncScheduler -SyncCycleEnabled $false under a lease (sync/install-lease)",
    ),
    _legacy(
        "legacy/new-aduser",
        "Create the AD account (New-ADUser @ADUserProperties -PassThru), as the seed wrote it",
        "none (New-ADUser is current)",
        "-",
        "ad/new-user, which also sets mailNickname and, with the anchor hold, mS-DS-ConsistencyGuid",
        Param("Name"),
        Param("Path"),
        Param("SamAccountName"),
        Param("UserPrincipalName"),
        Param("DisplayName"),
        Param("EmailAddress"),
        Param("ProxyAddresses", "string[]"),
    ),
    _legacy(
        "legacy/connect-exo",
        "Connect to Exchange Online over Basic-auth remote PowerShell (New-PSSession; Import-PSSession)",
        "Basic-auth Exchange Online remote PowerShell",
        "2023-10",
        "Connect-ExchangeOnline app-only (exo/connect)",
        Param("ConnectionUri"),
        changes=False,
    ),
    _legacy(
        "legacy/new-mailbox",
        "Create the room mailbox (New-Mailbox @O365UserProperties -Room)",
        "Basic-auth Exchange Online remote PowerShell (the session it ran in)",
        "2023-10",
        "exo/new-mailbox in an app-only Exchange Online session",
        Param("Name"),
        Param("DisplayName"),
    ),
    _legacy(
        "legacy/connect-msol",
        "Connect to MSOnline (Connect-MsolService)",
        "MSOnline PowerShell",
        "2025-05-30",
        "Connect-MgGraph app-only (graph/connect)",
        changes=False,
    ),
    _legacy(
        "legacy/set-immutableid",
        "Link the cloud user to the AD account (Set-MsolUserPrincipalName -ImmutableId)",
        "MSOnline PowerShell",
        "2025-05-30",
        "Update-MgUser -OnPremisesImmutableId -UserPrincipalName (graph/set-user)",
        Param("UserPrincipalName"),
        Param("NewUserPrincipalName"),
        Param("ImmutableId"),
    ),
    _legacy(
        "legacy/start-dirsync",
        "Resume DirSync (Start-Service MSOnlineSyncScheduler)",
        DIRSYNC,
        "2021-04-01",
        "removing the lease restores the scheduler's prior state (sync/remove-lease)",
    ),
    _legacy(
        "legacy/start-sync",
        "Force a full DirSync run (Import-Module DirSync; Start-OnlineCoexistenceSync -FullSync)",
        "DirSync (Start-OnlineCoexistenceSync)",
        "2021-04-01",
        "Start-ADSyncSyncCycle -PolicyType Delta (sync/start-cycle)",
    ),
)
