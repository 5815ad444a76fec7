"""The doctor's permission steps, read from the world's `grants` (what an admin granted each identity).

`grants.graph_permissions`: the app's Microsoft Graph application permissions (the token's roles);
`grants.exchange_roles`: the Exchange Online management roles of the app's role group;
`grants.server_account` / `grants.server_groups`: the remoting account on the server and its groups.
A fresh world grants what pswrap's steps need (pswrap.steps.permissions); `pswrap lab set` takes a grant
away to rehearse the doctor's fix lines.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pswrap.lab.dispatch import Invocation
from pswrap.lab.grants import grants_of as _grants
from pswrap.lab.handlers.pipeline import step
from pswrap.steps import permissions


@step("graph/get-permissions", need="graph")
def get_permissions(inv: Invocation, world: dict[str, Any], _at: datetime) -> dict[str, Any]:
    """Get-MgContext in an app-only session: ClientId, AuthType AppOnly, and the token's roles as Scopes
    ("Use app-only authentication with the Microsoft Graph PowerShell SDK")."""
    return {
        "app_id": world["cloud"]["tenant"]["app_id"],
        "auth_type": "AppOnly",
        "permissions": list(_grants(world).get("graph_permissions", [])),
    }


@step("exo/get-commands", need="exo")
def get_commands(inv: Invocation, world: dict[str, Any], _at: datetime) -> dict[str, Any]:
    """Get-Command -Name for each cmdlet: Exchange Online creates only the cmdlets the app's roles allow
    (each Exchange cmdlet's page, "You need to be assigned permissions before you can run this cmdlet").
    The role of each cmdlet is pswrap's declaration (pswrap.steps.permissions); a name that is no
    Exchange Online cmdlet does not exist either."""
    raw = inv.params.get("Name") or []
    names = [str(n) for n in (raw if isinstance(raw, list) else [raw])]
    roles = set(_grants(world).get("exchange_roles", []))
    available: list[str] = []
    missing: list[str] = []
    for name in names:
        known = name in permissions.EXCHANGE_ONLINE_CMDLETS
        role = permissions.EXCHANGE_ONLINE_CMDLETS.get(name)
        allowed = role is None or role.role in roles or name in permissions.MODULE_CMDLETS
        (available if known and allowed else missing).append(name)
    return {"available": available, "missing": missing}


@step("sync/get-account")
def get_account(inv: Invocation, world: dict[str, Any], _at: datetime) -> dict[str, Any]:
    """WindowsIdentity.GetCurrent(): the session's account and the groups in its token."""
    grants = _grants(world)
    return {"user": grants.get("server_account"), "groups": list(grants.get("server_groups", []))}
