"""The doctor's read-only steps that check what the identities were granted (docs/permissions.md).

- graph/get-permissions: the application permissions in the app-only Graph session's token;
- exo/get-commands: whether the cmdlets pswrap runs exist in the Exchange Online session (Exchange Online
  creates only the cmdlets the app's roles allow);
- sync/get-account: the account a session runs as on the server and its groups (ADSyncAdmins, ...).
"""

from __future__ import annotations

from pswrap.results import permissions as r
from pswrap.steps.model import Param, Step

STEPS: tuple[Step, ...] = (
    Step(
        "graph/get-permissions",
        "Read the application permissions granted to the app (the roles of its app-only access token)",
        needs="graph",
        profiles=("modern",),
        result=r.GrantedPermissions,
    ),
    Step(
        "exo/get-commands",
        "Tell which of the named cmdlets the app's Exchange Online roles make available in the session",
        needs="exo",
        profiles=("modern",),
        params=(Param("Name", "string[]", help="cmdlet names"),),
        result=r.CommandAvailability,
    ),
    Step(
        "sync/get-account",
        "Read the account the session runs as on the server and the groups in its token",
        needs="adsync",
        profiles=("modern", "hybrid-tools"),
        result=r.AccountGroups,
    ),
)
