"""The legacy profile's steps are never run: each gets the error its retired service gives today.

DirSync stopped working on 2021-04-01 and its MSOnlineSyncScheduler service does not exist on an Entra
Connect server (docs/sources.md §0, §1.2); Basic-auth remote PowerShell to Exchange Online was replaced in
October 2023 (§1.4); MSOnline was retired on 2025-05-30 (§1.1). Nothing here touches the world.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pswrap.lab.dispatch import Invocation, PSError, handler
from pswrap.lab.handlers import records

REFUSALS: dict[str, Callable[[], PSError]] = {
    # The 2014 runbook's interactive prompt cannot run in a remote pipeline.
    "legacy/get-credential": records.host_cannot_prompt,
    # §0: "the service does not exist on Entra Connect Sync".
    "legacy/stop-dirsync": lambda: records.service_not_found("Stop-Service", "MSOnlineSyncScheduler"),
    "legacy/start-dirsync": lambda: records.service_not_found("Start-Service", "MSOnlineSyncScheduler"),
    # §1.2: `Import-Module DirSync` (6862+) finds no module on a Connect server (§7b item 1 module form).
    "legacy/start-sync": lambda: records.module_not_found("DirSync"),
    # §1.4: Basic-auth remote PowerShell is gone (closest text, see records.basic_auth_retired).
    "legacy/connect-exo": lambda: records.basic_auth_retired("outlook.office365.com"),
    # §7b item 2: without the (Basic-auth) session, New-Mailbox does not exist.
    "legacy/new-mailbox": lambda: records.command_not_found("New-Mailbox"),
    # §1.1: MSOnline retired; its cmdlets are not there to run (§7b item 1).
    "legacy/connect-msol": lambda: records.command_not_found("Connect-MsolService"),
    "legacy/set-immutableid": lambda: records.command_not_found("Set-MsolUserPrincipalName"),
}


def refuse(inv: Invocation) -> Any:
    build = REFUSALS.get(inv.step_id)
    if build is not None:
        raise build()
    # legacy/new-aduser: New-ADUser itself is current; the legacy profile as a whole is rendered, never run.
    raise PSError(
        f"pswrap lab: {inv.step_id} belongs to the legacy profile, which is rendered for reading and never "
        "run; its modern replacement is ad/new-user.",
        fqid="PswrapLabLegacyRefused",
        category="NotImplemented",
        target=inv.step_id,
    )


def _register() -> None:
    from pswrap.steps import all_steps

    for s in all_steps():
        if s.is_legacy:
            handler(s.id)(refuse)


_register()
