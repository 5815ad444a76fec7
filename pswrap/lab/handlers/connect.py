"""The connect steps: Exchange Online, Microsoft Graph (app-only, certificate from LocalMachine\\My) and the
Exchange management tools' snap-in. Connect steps do nothing when already connected (docs/design.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pswrap.lab.dispatch import Invocation
from pswrap.lab.handlers import records_connect, records_service
from pswrap.lab.handlers.pipeline import step
from pswrap.lab.handlers.sessions import SNAPIN, check_app_identity, load_certificate, state


@step("exo/connect")
def exo_connect(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Connect-ExchangeOnline -AppId -Organization -Certificate (docs/sources.md §1.4)."""
    session = state(inv)
    organization = str(inv.params.get("Organization") or "")
    # Already connected to this organization (the template compares Get-ConnectionInformation's).
    if session.get("exo") and str(session["exo"]).lower() == organization.lower():
        return {"connected": True, "already_connected": True, "detail": organization}
    load_certificate(world, str(inv.params.get("CertificateThumbprint") or ""), "Connect-ExchangeOnline", at)
    if session.get("graph"):
        # §7b item 4, reverse order: EXO after Graph in one WinPS 5.1 process (SamErde/DLLPickle#156).
        raise records_connect.exo_after_graph()
    # The clash above happens as the login library loads, before Entra ID answers the sign-in.
    app_id = str(inv.params.get("AppId") or "")
    check_app_identity(world, "Connect-ExchangeOnline", app_id, organization, at)
    # After a token: EXO checks the app's Exchange permission and its Entra role (records_service sources).
    # `cloud.tenant.app_exchange_permission` / `app_exchange_role` = false switch them off in the world.
    tenant = world["cloud"]["tenant"]
    if tenant.get("app_exchange_permission") is False:
        raise records_service.exo_unauthorized()
    if tenant.get("app_exchange_role") is False:
        raise records_service.exo_app_role_not_supported(app_id)
    session["exo"] = organization
    return {"connected": True, "already_connected": False, "detail": organization}


@step("graph/connect")
def graph_connect(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Connect-MgGraph -ClientId -TenantId -Certificate (docs/sources.md §1.5)."""
    session = state(inv)
    tenant = str(inv.params.get("TenantId") or "")
    client = str(inv.params.get("ClientId") or "")
    # Already connected with this app to this tenant (the template compares Get-MgContext's).
    if session.get("graph") and session.get("graph_client") == client and session["graph"] == tenant:
        return {"connected": True, "already_connected": True, "detail": tenant}
    load_certificate(world, str(inv.params.get("CertificateThumbprint") or ""), "Connect-MgGraph", at)
    if session.get("exo"):
        # §7b item 4: Connect-MgGraph after Connect-ExchangeOnline in one process (msgraph-sdk-powershell
        # #3394; the WinPS 5.1 report in #2227).
        raise records_connect.graph_after_exo()
    check_app_identity(world, "Connect-MgGraph", client, tenant, at)
    session["graph"] = tenant
    session["graph_client"] = client
    return {"connected": True, "already_connected": False, "detail": tenant}


@step("hybrid/connect")
def hybrid_connect(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Add-PSSnapin Microsoft.Exchange.Management.PowerShell.RecipientManagement (docs/sources.md §5)."""
    session = state(inv)
    if session.get("hybrid"):
        return {"connected": True, "already_connected": True, "detail": SNAPIN}
    session["hybrid"] = True
    return {"connected": True, "already_connected": False, "detail": SNAPIN}
