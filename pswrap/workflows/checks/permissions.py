"""The permission checks' judgements (docs/permissions.md): does each identity hold what the steps need?

What can be read from a session, without admin rights of its own, and what it is compared with:
- the app's Microsoft Graph application permissions (the roles of its app-only token) against the
  permissions the `graph` steps need;
- the Exchange Online cmdlets present in the app's session (Exchange Online creates only the cmdlets
  its roles allow) against the cmdlets the `exo` steps run;
- the remoting account's groups on the sync server: ADSyncAdmins, and Administrators for the
  `scheduler` hold's task.
What each step needs comes from `pswrap.steps.permissions`, derived from the templates. A failed check
names the missing permission, role or group in its fix line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pswrap.steps import permissions
from pswrap.workflows.checks.model import Check, failed, passed

PAGE = "docs/permissions.md"

IMPLIED: dict[str, frozenset[str]] = {
    "User.ReadWrite.All": frozenset({"User.Read.All", "User.EnableDisableAccount.All"}),
    "Directory.Read.All": frozenset({"User.Read.All", "RoleManagement.Read.Directory"}),
    "Directory.ReadWrite.All": frozenset(
        {"Directory.Read.All", "User.Read.All", "User.ReadWrite.All", "RoleManagement.Read.Directory"}
    ),
    "RoleManagement.ReadWrite.Directory": frozenset({"RoleManagement.Read.Directory"}),
    "OnPremDirectorySynchronization.ReadWrite.All": frozenset({"OnPremDirectorySynchronization.Read.All"}),
    "Synchronization.ReadWrite.All": frozenset({"Synchronization.Read.All"}),
    "Application.ReadWrite.All": frozenset({"Application.Read.All"}),
}
"""A granted permission -> the narrower ones it includes: the "higher privileged permissions" each Graph
API page lists beside the least-privileged one. Only pairs those pages state are listed; anything else
is asked for by its own name (the conservative side: at worst the fix line asks for a narrower grant
the app effectively has)."""

SYNC_ADMINS = "ADSyncAdmins"
ADMINISTRATORS = "BUILTIN\\Administrators"

GRAPH_CHECK = ("tenant.graph-permissions", "Microsoft Graph application permissions of the app")
EXCHANGE_CHECK = ("tenant.exchange-roles", "Exchange Online roles of the app")
ACCOUNT_CHECK = ("sync.account-groups", "remoting account's groups on the sync server")


def needed_graph_permissions() -> dict[str, list[str]]:
    """Permission -> the steps that need it, over every step under the `graph` need."""
    needed: dict[str, list[str]] = {}
    for step_id in permissions.step_ids("graph"):
        for permission in permissions.graph_permissions(step_id):
            needed.setdefault(permission, []).append(step_id)
    return needed


def needed_exchange_cmdlets() -> dict[str, str]:
    """Exchange Online cmdlet -> its management role, over every step under the `exo` need; only the
    cmdlets the session creates from the roles (`permissions.MODULE_CMDLETS` exist in any session)."""
    needed: dict[str, str] = {}
    for step_id in permissions.step_ids("exo"):
        needed.update(permissions.exchange_roles(step_id))
    return {c: r for c, r in sorted(needed.items()) if c not in permissions.MODULE_CMDLETS}


def _covered(permission: str, granted: Iterable[str]) -> bool:
    have = {g.lower() for g in granted}
    if permission.lower() in have:
        return True
    return any(g.lower() in have and permission in narrower for g, narrower in IMPLIED.items())


def judge_graph_permissions(granted: Any, needed: Mapping[str, Sequence[str]]) -> Check:
    check_id, name = GRAPH_CHECK
    have = [str(p) for p in (getattr(granted, "permissions", None) or [])]
    missing = [p for p in sorted(needed) if not _covered(p, have)]
    if missing:
        steps = sorted({s for p in missing for s in needed[p]})
        app = getattr(granted, "app_id", None) or "the app"
        return failed(
            check_id,
            name,
            f"the app's token lacks {', '.join(missing)} (needed by {', '.join(steps)})",
            f"grant the Microsoft Graph application permission(s) {', '.join(missing)} to the app {app} "
            f"and grant admin consent (Entra admin center > App registrations > API permissions; {PAGE})",
        )
    return passed(check_id, name, f"granted: {', '.join(sorted(have)) or 'none needed'}")


def judge_exchange_roles(availability: Any, needed: Mapping[str, str]) -> Check:
    check_id, name = EXCHANGE_CHECK
    missing = [str(c) for c in (getattr(availability, "missing", None) or []) if str(c) in needed]
    if missing:
        roles = sorted({needed[c] for c in missing})
        return failed(
            check_id,
            name,
            f"the app's roles do not allow {', '.join(missing)}",
            f"add the management role(s) {', '.join(roles)} to the role group of the app's service principal "
            f"(or make it a member of the Recipient Management role group; {PAGE})",
        )
    return passed(check_id, name, f"the session has every cmdlet pswrap runs ({len(needed)})")


def judge_account_groups(account: Any, host: str, hold: str | None) -> Check:
    check_id, name = ACCOUNT_CHECK
    user = getattr(account, "user", None) or "the remoting account"
    groups = [str(g).lower() for g in (getattr(account, "groups", None) or [])]
    lacking = []
    if not any(g == SYNC_ADMINS.lower() or g.endswith("\\" + SYNC_ADMINS.lower()) for g in groups):
        lacking.append(f"the local group {SYNC_ADMINS} (the ADSync cmdlets need it)")
    if hold == "scheduler" and ADMINISTRATORS.lower() not in groups:
        lacking.append(
            "the local Administrators group (the scheduler hold registers a task that runs as SYSTEM)"
        )
    if lacking:
        return failed(
            check_id,
            name,
            f"{user} is not in {' nor in '.join(lacking)}",
            f"on {host}, add {user} to {'; and to '.join(lacking)}; a new session sees the change ({PAGE})",
        )
    return passed(check_id, name, f"{user}: in {SYNC_ADMINS}")
