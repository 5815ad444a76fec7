"""The doctor's permission checks: does each identity hold what pswrap's steps need (docs/permissions.md)?

What can be checked from a session, without admin rights of its own:
- the app's Microsoft Graph application permissions: the roles of its app-only token;
- the app's Exchange Online roles: whether the cmdlets pswrap runs exist in its session (Exchange Online
  creates only the cmdlets the roles allow);
- the remoting account on the sync server: the groups in its token (ADSyncAdmins; Administrators for the
  `scheduler` hold's task).
What each step needs comes from `pswrap.steps.permissions`, derived from the templates. A failed check
names the missing permission, role or group in its fix line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from pswrap.steps import permissions
from pswrap.workflows.preflight import Check, failed, not_checked, passed

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


class DoctorRun(Protocol):
    """What these checks need from the doctor's run (`pswrap.workflows.preflight`)."""

    checks: list[Check]
    down: set[str]
    effective_hold: str | None

    def step(self, step_id: str, **params: Any) -> tuple[Any | None, Exception | None]: ...

    def not_checked(self, check_id: str, name: str, host: str) -> Check: ...


def needed_graph_permissions() -> dict[str, list[str]]:
    """Permission -> the steps that need it, over every step under the `graph` need."""
    needed: dict[str, list[str]] = {}
    for step_id in permissions.step_ids("graph"):
        for permission in permissions.graph_permissions(step_id):
            needed.setdefault(permission, []).append(step_id)
    return needed


def needed_exchange_cmdlets() -> dict[str, str]:
    """Exchange Online cmdlet -> its management role, over every step under the `exo` need."""
    needed: dict[str, str] = {}
    for step_id in permissions.step_ids("exo"):
        needed.update(permissions.exchange_roles(step_id))
    return dict(sorted(needed.items()))


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


def add_permission_checks(run: DoctorRun, hosts: Mapping[str, Sequence[str]], *, profile: str) -> None:
    """Append the permission checks to `run.checks`, after the connection checks they depend on."""

    def host_of(need: str) -> str | None:
        return next((h for h, ns in hosts.items() if need in ns), None)

    def connect_passed(need: str) -> str | None:
        """None when the need's connect check passed, else that check's name (what to fix first)."""
        check = next((c for c in run.checks if c.id == f"tenant.connect.{need}"), None)
        if check is None:
            return f"connect to {'Exchange Online' if need == 'exo' else 'Microsoft Graph'}"
        return None if check.status == "pass" else check.name

    sync_host = host_of("adsync")
    if sync_host is not None:
        check_id, name = ACCOUNT_CHECK
        if sync_host in run.down:
            run.checks.append(run.not_checked(check_id, name, sync_host))
        else:
            account, error = run.step("sync/get-account")
            run.checks.append(
                judge_account_groups(account, sync_host, run.effective_hold)
                if account is not None
                else failed(check_id, name, f"could not be read (sync/get-account): {error}", f"see {PAGE}")
            )
    if profile != "modern":
        return
    for need, (check_id, name), step_id in (
        ("exo", EXCHANGE_CHECK, "exo/get-commands"),
        ("graph", GRAPH_CHECK, "graph/get-permissions"),
    ):
        if host_of(need) is None:
            continue
        first = connect_passed(need)
        if first is not None:
            run.checks.append(not_checked(check_id, name, "it is read in a connected session", first))
            continue
        if need == "exo":
            cmdlets = needed_exchange_cmdlets()
            result, error = run.step(step_id, Name=list(cmdlets))
            check = judge_exchange_roles(result, cmdlets) if result is not None else None
        else:
            result, error = run.step(step_id)
            check = (
                judge_graph_permissions(result, needed_graph_permissions()) if result is not None else None
            )
        run.checks.append(
            check
            if check is not None
            else failed(check_id, name, f"could not be read ({step_id}): {error}", f"see {PAGE}")
        )
