"""Output models of the doctor's permission steps (same emitter rules as models.py).

They report what the identities hold; whether that is enough is judged in
`pswrap.workflows.permission_checks`, against what the steps need (`pswrap.steps.permissions`).
"""

from __future__ import annotations

from pswrap.results.base import PSList, PSModel


class GrantedPermissions(PSModel):
    """graph/get-permissions: the app-only session's context; its scopes are the token's roles."""

    app_id: str | None = None
    auth_type: str | None = None
    permissions: PSList[str] = []


class CommandAvailability(PSModel):
    """exo/get-commands: which of the cmdlets asked for exist in the connected Exchange Online session."""

    available: PSList[str] = []
    missing: PSList[str] = []


class AccountGroups(PSModel):
    """sync/get-account: who the session runs as on the server, and the groups in its token."""

    user: str | None = None
    groups: PSList[str] = []
