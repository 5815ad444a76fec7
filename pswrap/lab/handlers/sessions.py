"""Session rules of a runspace pool, and the connect steps that change them.

A real runspace keeps its imported modules and connections between pipelines; the lab keeps them in the
pool's `Invocation.session`. Exchange Online's V3 cmdlets do not exist before Connect-ExchangeOnline
(domain.md §7b item 2), Graph cmdlets refuse to run before Connect-MgGraph (§7b item 3), the Exchange
RecipientManagement snap-in's cmdlets do not exist before Add-PSSnapin (§7b item 1), and the Graph and
Exchange login libraries clash in one Windows PowerShell process (§7b item 4, msgraph-sdk-powershell#3394).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pswrap.lab.dispatch import Invocation
from pswrap.lab.handlers import records
from pswrap.lab.world import parse_time

SESSION_KEY = "pswrap_lab"
SNAPIN = "Microsoft.Exchange.Management.PowerShell.RecipientManagement"
"""The snap-in the Exchange management tools install (domain.md §5)."""


def state(inv: Invocation) -> dict[str, Any]:
    """This pool's connections: `exo` (organization), `graph` (tenant id), `hybrid` (snap-in loaded)."""
    current = inv.session.get(SESSION_KEY)
    if not isinstance(current, dict):
        current = {}
        inv.session[SESSION_KEY] = current
    return current


def require(inv: Invocation, need: str) -> None:
    """Fail as the real runspace does when the step's connection is missing."""
    from pswrap.lab.handlers.pipeline import FIRST_CMDLET

    cmdlet, parameter_set = FIRST_CMDLET.get(inv.step_id, ("", ""))
    session = state(inv)
    if need == "exo" and not session.get("exo"):
        # §7b item 2: V3 cmdlets exist only in the temporary module Connect-ExchangeOnline creates.
        raise records.command_not_found(cmdlet or "Get-Mailbox")
    if need == "graph" and not session.get("graph"):
        # §7b item 3: "Authentication needed. Please call Connect-MgGraph."
        raise records.graph_auth_needed(cmdlet or "Get-MgUser", parameter_set or "Get")
    if need == "hybrid" and not session.get("hybrid"):
        # §7b item 1: the snap-in's cmdlets are unknown until Add-PSSnapin.
        raise records.command_not_found(cmdlet or "Get-RemoteMailbox")


def load_certificate(world: dict[str, Any], thumbprint: str, cmdlet: str, at: datetime) -> dict[str, Any]:
    """The app certificate from LocalMachine\\My by thumbprint: missing or expired, and without a usable
    private key, fail as §7b item 14 documents."""
    wanted = "".join(str(thumbprint).split()).upper()
    for cert in world.get("certs", {}).get("local_machine_my", []):
        if str(cert.get("thumbprint", "")).upper() != wanted:
            continue
        if parse_time(cert["not_after"]) < at:
            break  # Graph searches "unexpired certs only" (§7b item 14): an expired one is not found
        if not cert.get("has_private_key"):
            raise records.keyset_missing(cmdlet)
        return dict(cert)
    raise records.certificate_not_found(thumbprint, cmdlet)
