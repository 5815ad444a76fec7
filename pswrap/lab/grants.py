"""What the admin granted pswrap's identities, as the lab's world records it (`grants`), and the one rule
the lab enforces from it on every step.

Exchange Online creates in a session only the cmdlets the caller's roles allow (each Exchange cmdlet's
page: "You need to be assigned permissions before you can run this cmdlet"), so an `exo` step whose
cmdlet belongs to a role the app lacks fails as an unknown command (docs/sources.md §7b item 1). Graph
permissions and the server's groups are reported to the doctor (pswrap.lab.handlers.permissions) but
not enforced: Microsoft documents no error text the lab could give for them, so it does not invent one.
"""

from __future__ import annotations

from typing import Any

from pswrap.lab.facts import default_grants
from pswrap.lab.handlers import records


def grants_of(world: dict[str, Any]) -> dict[str, Any]:
    """The world's grants; a world from before they existed grants everything, as it always behaved."""
    grants = world.get("grants")
    if isinstance(grants, dict):
        return grants
    return default_grants(str(world.get("host", {}).get("computer_name", "SYNC1")))


def require_exchange_roles(step_id: str, world: dict[str, Any]) -> None:
    """The first Exchange Online cmdlet of the step that the app's roles do not allow does not exist."""
    from pswrap.steps import permissions

    granted = set(grants_of(world).get("exchange_roles", []))
    for cmdlet in permissions.exchange_roles(step_id):
        if cmdlet in permissions.MODULE_CMDLETS:
            continue  # the module's own cmdlets exist anyway; the service's refusal text is undocumented
        role = permissions.EXCHANGE_ONLINE_CMDLETS.get(cmdlet)
        if role is not None and role.role not in granted:
            raise records.command_not_found(cmdlet)
