"""Session rules of a runspace pool, and the connect steps that change them.

A real runspace keeps its imported modules and connections between pipelines; the lab keeps them in the
pool's `Invocation.session`. Exchange Online's V3 cmdlets do not exist before Connect-ExchangeOnline
(docs/sources.md §7b item 2), Graph cmdlets refuse to run before Connect-MgGraph (§7b item 3), the Exchange
RecipientManagement snap-in's cmdlets do not exist before Add-PSSnapin (§7b item 1), and the Graph and
Exchange login libraries clash in one Windows PowerShell process (§7b item 4, msgraph-sdk-powershell#3394).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pswrap.lab.dispatch import Invocation
from pswrap.lab.handlers import records, records_connect
from pswrap.lab.world import parse_time

SESSION_KEY = "pswrap_lab"
SNAPIN = "Microsoft.Exchange.Management.PowerShell.RecipientManagement"
"""The snap-in the Exchange management tools install (docs/sources.md §5)."""


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


_AD = "ActiveDirectory"
_ADSYNC = "ADSync"
STEP_MODULES: dict[str, str] = {
    **{
        f"ad/{name}": _AD
        for name in ("get-domain", "get-ous", "find-user", "new-user", "move-user", "get-anchor", "find-name")
    },
    "exo/connect": "ExchangeOnlineManagement",
    "graph/connect": "Microsoft.Graph.Authentication",
    "graph/get-permissions": "Microsoft.Graph.Authentication",
    **{f"graph/{name}": "Microsoft.Graph.Users" for name in ("get-user", "find-users", "set-user")},
    "graph/get-sync-features": "Microsoft.Graph.Identity.DirectoryManagement",
    **{
        f"sync/{name}": _ADSYNC
        for name in (
            "get-settings",
            "get-scheduler",
            "set-scheduler",
            "start-cycle",
            "get-run-results",
            "install-lease",
            "remove-lease",
            "list-leases",
        )
    },
    # issue #11
    **{f"ad/{name}": _AD for name in ("add-addresses", "get-exchange-schema", "stamp-exchange-attributes")},
    "graph/set-account-enabled": "Microsoft.Graph.Users",
}
"""The module each step's template imports first (`Import-Module <name> -ErrorAction Stop`, ps_templates/),
among those the host facts list (`host.modules`, pswrap.lab.facts); tests/lab/test_handlers_sessions.py
checks this table against the templates."""
# The desired-state steps' bulk reads (`mailbox list --drift`).
STEP_MODULES.update({"ad/list-users": _AD, "graph/list-synced-users": "Microsoft.Graph.Users"})
STEP_MODULES.update({"graph/get-users": "Microsoft.Graph.Users"})
# Removal, restore and unlink (issue #16); the source-of-authority steps use the Graph beta module.
STEP_MODULES.update(
    {
        **{
            f"ad/{name}": _AD
            for name in (
                "remove-user",
                "retire-user",
                "reinstate-user",
                "get-recycle-bin",
                "find-deleted-user",
                "restore-user",
            )
        },
        "graph/get-deleted-user": "Microsoft.Graph.Identity.DirectoryManagement",
        "graph/get-sync-behavior": "Microsoft.Graph.Beta.Users",
        "graph/set-sync-behavior": "Microsoft.Graph.Beta.Users",
    }
)
# Desired state part 2: a synced room's AD attributes.
STEP_MODULES.update({"ad/get-resource-attributes": _AD, "ad/set-resource-attributes": _AD})


def require_modules(inv: Invocation, world: dict[str, Any]) -> None:
    """The template's Import-Module fails when the host lacks the module: §7b item 1, "Module missing"
    (verbatim): `The specified module '<name>' was not loaded because no valid module file was found in any
    module directory.`; hybrid/connect's Add-PSSnapin fails when the management tools' snap-in is not
    registered (`host.snapins`). A world without host facts (an old state file) imports everything."""
    host = world.get("host")
    if not isinstance(host, dict):
        return
    module = STEP_MODULES.get(inv.step_id)
    if module is not None and "modules" in host:
        names = {str(m.get("name", "")).lower() for m in host["modules"] if isinstance(m, dict)}
        if module.lower() not in names:
            raise records.module_not_found(module)
    if inv.step_id == "hybrid/connect" and "snapins" in host and not state(inv).get("hybrid"):
        names = {str(s.get("name", "")).lower() for s in host["snapins"] if isinstance(s, dict)}
        if SNAPIN.lower() not in names:
            raise records_connect.snapin_not_installed(SNAPIN)


def check_app_identity(world: dict[str, Any], cmdlet: str, app_id: str, tenant: str, at: datetime) -> None:
    """The app-only sign-in must name this tenant and its app registration (docs/sources.md §1.4/§1.5:
    Connect-ExchangeOnline -AppId -Organization, Connect-MgGraph -ClientId -TenantId). Entra ID answers an
    unknown tenant with AADSTS90002 and an app the tenant does not have with AADSTS700016 (texts and
    sources in records_connect.tenant_not_found / records_connect.application_not_found; not in
    docs/sources.md). The tenant may be named by its id, its onmicrosoft.com domain or another verified
    domain (inference: the token endpoint resolves any of them to the tenant)."""
    known = world["cloud"]["tenant"]
    names = {str(known.get("tenant_id", "")).lower(), str(known.get("initial_domain", "")).lower()}
    names |= {str(d).lower() for d in known.get("verified_domains", [])}
    if tenant.strip().lower() not in names:
        raise records_connect.tenant_not_found(cmdlet, tenant, at)
    if app_id.strip().lower() != str(known.get("app_id", "")).lower():
        domain = str(known.get("initial_domain", tenant))
        raise records_connect.application_not_found(cmdlet, app_id, domain, at)


def load_certificate(world: dict[str, Any], thumbprint: str, cmdlet: str, at: datetime) -> dict[str, Any]:
    """The app certificate from LocalMachine\\My by thumbprint, as the connect templates load it: a malformed
    thumbprint is the template's own refusal; a missing certificate is Get-Item's not-found error (the
    template reads the store with Get-Item); an expired one is §7b item 14's "not found in certificate store
    or has expired"; no private key, or one the remoting account cannot open (`private_key_usable`, the
    doctor's fact), is §7b item 14's "Keyset does not exist"."""
    text = str(thumbprint)
    if not re.fullmatch(r"[0-9A-Fa-f]{40}", text):
        raise records_connect.bad_thumbprint()
    for cert in world.get("certs", {}).get("local_machine_my", []):
        if str(cert.get("thumbprint", "")).upper() != text.upper():
            continue
        if parse_time(cert["not_after"]) < at:
            raise records_connect.certificate_not_found(text, cmdlet)
        if not cert.get("has_private_key") or cert.get("private_key_usable") is False:
            raise records_connect.keyset_missing(cmdlet)
        return dict(cert)
    raise records_connect.certificate_path_not_found(text)
