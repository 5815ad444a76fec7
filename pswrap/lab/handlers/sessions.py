"""Session rules of a runspace pool, and the connect steps that change them.

A real runspace keeps its imported modules and connections between pipelines; the lab keeps them in the
pool's `Invocation.session`. Exchange Online's V3 cmdlets do not exist before Connect-ExchangeOnline
(domain.md §7b item 2), Graph cmdlets refuse to run before Connect-MgGraph (§7b item 3), the Exchange
RecipientManagement snap-in's cmdlets do not exist before Add-PSSnapin (§7b item 1), and the Graph and
Exchange login libraries clash in one Windows PowerShell process (§7b item 4, msgraph-sdk-powershell#3394).
"""

from __future__ import annotations

import re
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
        if cmdlet.startswith("Get-EXO"):
            # §7b item 2 (closest): the module's own REST cmdlets exist, and ask for the connection.
            raise records.exo_connect_first(cmdlet)
        # §7b item 2: V3 cmdlets exist only in the temporary module Connect-ExchangeOnline creates.
        raise records.command_not_found(cmdlet or "Get-Mailbox")
    if need == "graph" and not session.get("graph"):
        # §7b item 3: "Authentication needed. Please call Connect-MgGraph."
        raise records.graph_auth_needed(cmdlet or "Get-MgUser", parameter_set or "Get")
    if need == "hybrid" and not session.get("hybrid"):
        # §7b item 1: the snap-in's cmdlets are unknown until Add-PSSnapin.
        raise records.command_not_found(cmdlet or "Get-RemoteMailbox")


def load_certificate(world: dict[str, Any], thumbprint: str, cmdlet: str, at: datetime) -> dict[str, Any]:
    """The app certificate from LocalMachine\\My by thumbprint, as the connect templates load it: a malformed
    thumbprint is the template's own refusal; a missing certificate is Get-Item's not-found error (the
    template reads the store with Get-Item); an expired one is §7b item 14's "not found in certificate store
    or has expired"; no private key, or one the remoting account cannot open (`private_key_usable`, the
    doctor's fact), is §7b item 14's "Keyset does not exist"."""
    text = str(thumbprint)
    if not re.fullmatch(r"[0-9A-Fa-f]{40}", text):
        raise records.bad_thumbprint()
    for cert in world.get("certs", {}).get("local_machine_my", []):
        if str(cert.get("thumbprint", "")).upper() != text.upper():
            continue
        if parse_time(cert["not_after"]) < at:
            raise records.certificate_not_found(text, cmdlet)
        if not cert.get("has_private_key") or cert.get("private_key_usable") is False:
            raise records.keyset_missing(cmdlet)
        return dict(cert)
    raise records.certificate_path_not_found(text)
