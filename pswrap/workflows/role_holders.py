"""Cloud users that hold Microsoft Entra roles: refused before any change.

Documented: Entra ID does not match an on-premises account with a cloud user that has an admin role
(Learn: "Microsoft Entra Connect: When you have an existing tenant"; for soft match "Existing Admin Role
Conflict", "Understanding errors during Microsoft Entra synchronization"), and since MC1262584 (Microsoft 365
message center, 2026-03-26; rollout early June to early July 2026) hard-match attempts that target
cloud-managed users holding Microsoft Entra roles are blocked with InvalidHardMatch. The post names no
roles and says nothing of PIM-eligible assignments or of assignments scoped to an administrative unit.

pswrap's choice (docs/sync.md, "Role holders"): every assignment blocks, whatever the role, the scope or
whether it is active or only eligible. An eligible role can be activated at any moment, and a scoped role
is still a role held; a refused run costs the admin a minute, a blocked match mid-run costs a cleanup.
"""

from __future__ import annotations

from typing import Any

from pswrap.errors import NeedsHuman

AU_PREFIX = "/administrativeUnits/"


def describe(assignment: Any) -> str:
    """`User Administrator (administrative unit au7, eligible)` in words an admin recognises."""
    notes: list[str] = []
    scope = str(getattr(assignment, "directory_scope_id", "/") or "/")
    if scope.startswith(AU_PREFIX):
        notes.append(f"administrative unit {scope[len(AU_PREFIX) :]}")
    elif scope != "/":
        notes.append(f"scope {scope}")
    if str(getattr(assignment, "status", "active")).lower() == "eligible":
        notes.append("eligible (PIM), not active")
    return f"{assignment.role} ({', '.join(notes)})" if notes else str(assignment.role)


def held_roles(cloud: Any) -> list[str]:
    """Every role of the user, described: directory roles (memberOf) and role assignments."""
    roles = [str(r) for r in getattr(cloud, "directory_roles", []) or []]
    for assignment in getattr(cloud, "role_assignments", []) or []:
        text = describe(assignment)
        if text not in roles:
            roles.append(text)
    return roles


def refuse_role_holder(cloud: Any | None) -> None:
    """Exit 6 when the cloud user holds or may activate any Microsoft Entra role."""
    if cloud is None:
        return
    roles = held_roles(cloud)
    if not roles:
        return
    documented = [
        a
        for a in getattr(cloud, "role_assignments", []) or []
        if str(getattr(a, "status", "active")).lower() != "eligible"
        and not str(getattr(a, "directory_scope_id", "/") or "/").startswith(AU_PREFIX)
    ]
    caution = (
        ""
        if getattr(cloud, "directory_roles", None) or documented
        else " (Microsoft documents the block for roles held; pswrap also refuses administrative-unit scoped "
        "and eligible assignments, to be safe)"
    )
    raise NeedsHuman(
        f"the cloud user {cloud.user_principal_name} holds Microsoft Entra role(s) {', '.join(roles)}; "
        "Entra ID does not match an on-premises account with a cloud user that holds a role (MC1262584: "
        f"InvalidHardMatch){caution}",
        hint="remove the role assignment(s) from the cloud user (for eligible ones, the eligibility in PIM), "
        "run the command again, then re-assign them after the link (how-to-connect-install-existing-tenant)",
    )
