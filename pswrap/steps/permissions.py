"""What each step needs granted: Microsoft Graph application permissions and Exchange Online roles.

Declared per cmdlet (and per parameter where Microsoft documents a narrower permission), because that is
how Microsoft documents them: each Graph API page has a permissions table, and each Exchange cmdlet
belongs to management roles. A step's needs are derived from the cmdlets and parameters its rendered
templates actually use (`pswrap/steps/commands.json`), so the table in docs/permissions.md follows the
code; `tests/test_permissions_doc.py` regenerates it and fails when the page differs, and fails when a
catalogued Graph or Exchange Online cmdlet has no declaration here.
"""

from __future__ import annotations

import importlib.resources
import json
from dataclasses import dataclass
from functools import cache
from typing import Any

GRAPH_DOCS = "https://learn.microsoft.com/graph/api/"


@dataclass(frozen=True)
class GraphGrant:
    """The least-privileged application permissions a Graph cmdlet needs, and the API page saying so."""

    permissions: tuple[str, ...]
    source: str
    """The Graph API page's title and path under learn.microsoft.com/graph/api/."""

    note: str = ""


_NONE = GraphGrant((), "no API call of its own (sign-in or session state)")

GRAPH_CMDLETS: dict[str, GraphGrant] = {
    "Connect-MgGraph": _NONE,
    "Disconnect-MgGraph": _NONE,
    "Get-MgContext": _NONE,
    "Get-MgUser": GraphGrant(("User.Read.All",), "Get user (user-get); List users (user-list)"),
    "Update-MgUser": GraphGrant(
        ("User.ReadWrite.All",),
        "Update user (user-update)",
        "onPremisesImmutableId and userPrincipalName are written with User.ReadWrite.All",
    ),
    "Remove-MgUser": GraphGrant(("User.ReadWrite.All",), "Delete a user (user-delete)"),
    "Get-MgUserMemberOf": GraphGrant(
        ("User.Read.All", "RoleManagement.Read.Directory"),
        "List a user's direct memberships (user-list-memberof)",
        "without a permission to read directory roles, roles come back with limited information",
    ),
    "Get-MgUserTransitiveMemberOf": GraphGrant(
        ("User.Read.All", "RoleManagement.Read.Directory"),
        "List a user's memberships, direct and transitive (user-list-transitivememberof)",
    ),
    "Get-MgDirectoryOnPremiseSynchronization": GraphGrant(
        ("OnPremDirectorySynchronization.Read.All",),
        "Get onPremisesDirectorySynchronization (onpremisesdirectorysynchronization-get)",
    ),
    "Update-MgDirectoryOnPremiseSynchronization": GraphGrant(
        ("OnPremDirectorySynchronization.ReadWrite.All",),
        "Update onPremisesDirectorySynchronization (onpremisesdirectorysynchronization-update)",
        "pswrap never changes the tenant's matching switches itself",
    ),
    "Get-MgDirectoryDeletedItem": GraphGrant(
        ("User.Read.All",), "Get deleted item (directory-deleteditems-get), for users"
    ),
    "Get-MgDirectoryDeletedItemAsUser": GraphGrant(
        ("User.Read.All",), "List deleted items (directory-deleteditems-list), for users"
    ),
    "Restore-MgDirectoryDeletedItem": GraphGrant(
        ("User.DeleteRestore.All",), "Restore deleted item (directory-deleteditems-restore), for users"
    ),
    "Remove-MgDirectoryDeletedItem": GraphGrant(
        ("User.DeleteRestore.All",),
        "Permanently delete an item (directory-deleteditems-delete), for users",
    ),
    "Get-MgDirectoryRole": GraphGrant(
        ("RoleManagement.Read.Directory",), "List directoryRoles (directoryrole-list)"
    ),
    "Get-MgDirectoryRoleMember": GraphGrant(
        ("RoleManagement.Read.Directory",), "List members of a directory role (directoryrole-list-members)"
    ),
    "Get-MgRoleManagementDirectoryRoleAssignment": GraphGrant(
        ("RoleManagement.Read.Directory",),
        "List unifiedRoleAssignments (rbacapplication-list-roleassignments)",
    ),
    "Get-MgRoleManagementDirectoryRoleEligibilitySchedule": GraphGrant(
        ("RoleEligibilitySchedule.Read.Directory",),
        "List roleEligibilitySchedules (rbacapplication-list-roleeligibilityschedules)",
    ),
    "Get-MgRoleManagementDirectoryRoleEligibilityScheduleInstance": GraphGrant(
        ("RoleEligibilitySchedule.Read.Directory",),
        "List roleEligibilityScheduleInstances (rbacapplication-list-roleeligibilityscheduleinstances)",
    ),
    "Get-MgUserOnPremiseSyncBehavior": GraphGrant(
        ("User-OnPremisesSyncBehavior.ReadWrite.All",),
        "Configure User Source of Authority (how-to-user-source-of-authority-configure, Entra docs)",
    ),
    "Update-MgUserOnPremiseSyncBehavior": GraphGrant(
        ("User-OnPremisesSyncBehavior.ReadWrite.All",),
        "Configure User Source of Authority (how-to-user-source-of-authority-configure, Entra docs)",
    ),
    "Get-MgBetaUserOnPremiseSyncBehavior": GraphGrant(
        ("User-OnPremisesSyncBehavior.ReadWrite.All",),
        "Configure User Source of Authority (how-to-user-source-of-authority-configure, Entra docs)",
    ),
    "Update-MgBetaUserOnPremiseSyncBehavior": GraphGrant(
        ("User-OnPremisesSyncBehavior.ReadWrite.All",),
        "Configure User Source of Authority (how-to-user-source-of-authority-configure, Entra docs)",
    ),
    "Get-MgServicePrincipal": GraphGrant(
        ("Application.Read.All",), "List servicePrincipals (serviceprincipal-list)"
    ),
    "Get-MgServicePrincipalSynchronizationJob": GraphGrant(
        ("Synchronization.Read.All",), "Get synchronizationJob (synchronization-synchronizationjob-get)"
    ),
    "New-MgServicePrincipalSynchronizationJobOnDemand": GraphGrant(
        ("Synchronization.ReadWrite.All",),
        "synchronizationJob: provisionOnDemand (synchronization-synchronizationjob-provisionondemand)",
    ),
    "Invoke-MgGraphRequest": GraphGrant(
        ("User.ReadWrite.All",),
        "Update user (user-update): pswrap's only raw request clears a user's onPremisesImmutableId",
    ),
}
"""Every Graph cmdlet of the catalogue (a test checks that none is missing)."""

GRAPH_PARAMETERS: dict[tuple[str, str], GraphGrant] = {
    ("Update-MgUser", "AccountEnabled"): GraphGrant(
        ("User.EnableDisableAccount.All", "User.Read.All"),
        "Update user (user-update): the least-privileged pair for accountEnabled",
    ),
}
"""Where a parameter needs a permission of its own beyond its cmdlet's."""


@dataclass(frozen=True)
class ExchangeRole:
    """The Exchange Online management role whose entries include a cmdlet."""

    role: str
    read_only: bool = False


EXCHANGE_ONLINE_CMDLETS: dict[str, ExchangeRole | None] = {
    # The connection module's own commands: no role (None).
    "Connect-ExchangeOnline": None,
    "Disconnect-ExchangeOnline": None,
    "Get-ConnectionInformation": None,
    # Readers: Mail Recipients holds them (View-Only Recipients too).
    "Get-EXOMailbox": ExchangeRole("Mail Recipients", read_only=True),
    "Get-EXORecipient": ExchangeRole("Mail Recipients", read_only=True),
    "Get-EXOMailboxPermission": ExchangeRole("Mail Recipients", read_only=True),
    "Get-EXORecipientPermission": ExchangeRole("Mail Recipients", read_only=True),
    "Get-Mailbox": ExchangeRole("Mail Recipients", read_only=True),
    "Get-Recipient": ExchangeRole("Mail Recipients", read_only=True),
    "Get-User": ExchangeRole("Mail Recipients", read_only=True),
    "Get-MailboxStatistics": ExchangeRole("Mail Recipients", read_only=True),
    "Get-CalendarProcessing": ExchangeRole("Mail Recipients", read_only=True),
    "Get-MailboxPermission": ExchangeRole("Mail Recipients", read_only=True),
    "Get-RecipientPermission": ExchangeRole("Mail Recipients", read_only=True),
    "Get-MailboxFolderPermission": ExchangeRole("Mail Recipients", read_only=True),
    "Get-Place": ExchangeRole("Mail Recipients", read_only=True),
    "Get-DistributionGroup": ExchangeRole("Distribution Groups", read_only=True),
    "Get-DistributionGroupMember": ExchangeRole("Distribution Groups", read_only=True),
    "Get-OrganizationConfig": ExchangeRole("View-Only Configuration", read_only=True),
    # Writers.
    "New-Mailbox": ExchangeRole("Mail Recipient Creation"),
    "Remove-Mailbox": ExchangeRole("Mail Recipient Creation"),
    "Set-Mailbox": ExchangeRole("Mail Recipients"),
    "Set-User": ExchangeRole("Mail Recipients"),
    "Set-CalendarProcessing": ExchangeRole("Mail Recipients"),
    "Set-Place": ExchangeRole("Mail Recipients"),
    "Add-MailboxPermission": ExchangeRole("Mail Recipients"),
    "Remove-MailboxPermission": ExchangeRole("Mail Recipients"),
    "Add-RecipientPermission": ExchangeRole("Mail Recipients"),
    "Remove-RecipientPermission": ExchangeRole("Mail Recipients"),
    "Add-MailboxFolderPermission": ExchangeRole("Mail Recipients"),
    "Set-MailboxFolderPermission": ExchangeRole("Mail Recipients"),
    "Remove-MailboxFolderPermission": ExchangeRole("Mail Recipients"),
    "New-DistributionGroup": ExchangeRole("Distribution Groups"),
    "Add-DistributionGroupMember": ExchangeRole("Distribution Groups"),
    "Remove-DistributionGroupMember": ExchangeRole("Distribution Groups"),
    "Set-OrganizationConfig": ExchangeRole("Organization Configuration"),
}
"""Every Exchange cmdlet of the catalogue that exists in Exchange Online (the on-premises-only ones, such
as the remote mailbox cmdlets of the management tools, are governed by AD permissions instead). Role
membership per Microsoft's "Permissions in Exchange Online" role list; the doctor confirms on the tenant
which cmdlets the app may run (Exchange Online creates only those in the session)."""

MODULE_CMDLETS = frozenset(
    {"Get-EXOMailbox", "Get-EXORecipient", "Get-EXOMailboxPermission", "Get-EXORecipientPermission"}
)
"""The ExchangeOnlineManagement module's own REST cmdlets: present in every session whatever the app's
roles (the service refuses a call the roles do not allow), unlike the cmdlets Connect-ExchangeOnline
creates from the roles. Their presence says nothing about the roles, so the doctor asks for the others."""

EXCHANGE_ROLE_GROUP = "Recipient Management"
"""The built-in role group holding Mail Recipients, Mail Recipient Creation and Distribution Groups."""


@cache
def _surface() -> dict[str, Any]:
    text = importlib.resources.files("pswrap.steps").joinpath("commands.json").read_text(encoding="utf-8")
    steps: dict[str, Any] = json.loads(text)["steps"]
    return steps


def graph_grants(step_id: str) -> list[tuple[str, GraphGrant]]:
    """What a step's Graph calls need, as (cmdlet or cmdlet -Parameter, grant), in the order they appear."""
    out: list[tuple[str, GraphGrant]] = []
    for cmdlet, params in _surface().get(step_id, {}).get("commands", {}).items():
        grant = GRAPH_CMDLETS.get(cmdlet)
        if grant is None or not grant.permissions:
            continue
        out.append((cmdlet, grant))
        for param in params:
            extra = GRAPH_PARAMETERS.get((cmdlet, param))
            if extra is not None:
                out.append((f"{cmdlet} -{param}", extra))
    return out


def graph_permissions(step_id: str) -> tuple[str, ...]:
    """The application permissions a step needs (sorted, without repeats)."""
    return tuple(sorted({p for _, grant in graph_grants(step_id) for p in grant.permissions}))


def exchange_roles(step_id: str) -> dict[str, str]:
    """Exchange Online cmdlet -> the management role a step needs for it."""
    out: dict[str, str] = {}
    for cmdlet in _surface().get(step_id, {}).get("commands", {}):
        role = EXCHANGE_ONLINE_CMDLETS.get(cmdlet)
        if role is not None:
            out[cmdlet] = role.role
    return out


def step_ids(need: str) -> list[str]:
    return sorted(s for s, info in _surface().items() if info["needs"] == need)


def graph_table() -> str:
    """The Markdown table of docs/permissions.md: Graph application permissions per step."""
    rows = [
        "| step | cmdlet | application permission (least privileged) | Microsoft source |",
        "|---|---|---|---|",
    ]
    for step_id in step_ids("graph"):
        grants = graph_grants(step_id)
        if not grants:
            rows.append(f"| `{step_id}` | (sign-in or session only) | none | |")
            continue
        for what, grant in grants:
            perms = ", ".join(f"`{p}`" for p in grant.permissions)
            note = f" ({grant.note})" if grant.note else ""
            rows.append(f"| `{step_id}` | `{what}` | {perms}{note} | {grant.source} |")
    union = sorted({p for s in step_ids("graph") for p in graph_permissions(s)})
    rows += ["", "All `graph` steps together: " + ", ".join(f"**`{p}`**" for p in union) + "."]
    return "\n".join(rows)


def exchange_table() -> str:
    """The Markdown table of docs/permissions.md: the Exchange Online role each exo step needs."""
    rows = ["| step | cmdlet | management role |", "|---|---|---|"]
    for step_id in step_ids("exo"):
        roles = exchange_roles(step_id)
        if not roles:
            rows.append(f"| `{step_id}` | (connection or session only) | none |")
        for cmdlet, role in roles.items():
            rows.append(f"| `{step_id}` | `{cmdlet}` | {role} |")
    return "\n".join(rows)
