"""The Exchange management tools (RecipientManagement snap-in): New-RemoteMailbox creates the AD account
and the remote mailbox; directory sync creates the cloud mailbox (docs/sources.md §5,
New-RemoteMailbox.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pswrap.lab.dispatch import Invocation, PSError
from pswrap.lab.handlers import records
from pswrap.lab.handlers.ad import add_account, container_exists, escape_rdn
from pswrap.lab.handlers.directory import bare
from pswrap.lab.handlers.pipeline import step

REMOTE_TYPES = {
    "room": "RemoteRoomMailbox",
    "equipment": "RemoteEquipmentMailbox",
    "shared": "RemoteSharedMailbox",
}


def check_domain_controller(inv: Invocation, world: dict[str, Any], cmdlet: str) -> None:
    """-DomainController, when given, must name a DC of the domain. Not in docs/sources.md: Exchange's
    suitability-check error text for an unreachable DC (closest)."""
    server = str(inv.params.get("DomainController") or "").strip().lower()
    if not server:
        return
    for dc in world["ad"]["domain"]["domain_controllers"]:
        if server in (dc.lower(), dc.lower().split(".", 1)[0]):
            return
    raise PSError(
        f"An Active Directory error 0x51 occurred when trying to check the suitability of server '{server}'. "
        "Error: 'Active directory response: The LDAP server is unavailable.'",
        fqid=f"[Server={server}] 0,Microsoft.Exchange.Management.RecipientTasks.{cmdlet.replace('-', '')}",
        category="NotSpecified",
        exception_type="Microsoft.Exchange.Data.Directory.SuitabilityDirectoryException",
        activity=cmdlet,
    )


def remote_document(user: dict[str, Any]) -> dict[str, Any]:
    """The RemoteMailbox JSON keys (pswrap/results/models.py)."""
    remote = user["remote_mailbox"]
    return {
        "alias": user.get("mail_nickname") or user["sam_account_name"],
        "name": user.get("name"),
        "display_name": user.get("display_name"),
        "primary_smtp_address": next(
            (a[5:] for a in user.get("proxy_addresses") or [] if a.startswith("SMTP:")),
            user.get("mail") or "",
        ),
        "user_principal_name": user.get("user_principal_name"),
        "sam_account_name": user["sam_account_name"],
        "distinguished_name": user["distinguished_name"],
        "remote_routing_address": remote.get("remote_routing_address"),
        "recipient_type_details": REMOTE_TYPES.get(remote.get("type", "room"), "RemoteRoomMailbox"),
        "guid": user["object_guid"],
    }


@step("hybrid/new-remote-mailbox", need="hybrid")
def new_remote_mailbox(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """New-RemoteMailbox -Name -Alias -Room|-Equipment|-Shared -OnPremisesOrganizationalUnit ... (§5)."""
    cmdlet = "New-RemoteMailbox"
    check_domain_controller(inv, world, cmdlet)
    kind = inv.choices.get("type", "room")
    p = inv.params
    name = str(p.get("Name") or "")
    alias = str(p.get("Alias") or "")
    sam = str(p.get("SamAccountName") or alias)
    ou = str(p.get("OnPremisesOrganizationalUnit") or "")
    dn = f"CN={escape_rdn(name)},{ou}"
    primary = str(p.get("PrimarySmtpAddress") or "")
    tenant = world["cloud"]["tenant"]["initial_domain"]
    if not container_exists(world, ou):
        dc = str(inv.params.get("DomainController") or world["ad"]["domain"]["pdc_emulator"])
        raise records.exchange_object_not_found(cmdlet, ou, dc)
    routing = str(
        p.get("RemoteRoutingAddress")
        or f"{alias}@{tenant.replace('.onmicrosoft.com', '.mail.onmicrosoft.com')}"
    )
    if any(u["sam_account_name"].lower() == sam.lower() for u in world["ad"]["users"]):
        # Closest: the AD account-exists record of §7b item 5 (the tools create the account through AD).
        raise records.ad_account_exists(cmdlet, dn)
    addresses = [f"SMTP:{primary}", f"smtp:{routing}"]
    for user in world["ad"]["users"]:
        held = {bare(a) for a in user.get("proxy_addresses") or []}
        if bare(primary) in held:
            # §7b item 8, the documented form with `of "<name>"`
            # (microsoft-365-docs about-shared-mailboxes.md).
            raise PSError(
                f'The proxy address "SMTP:{primary}" is already being used by the proxy addresses or '
                f'LegacyExchangeDN of "{user.get("name") or user["sam_account_name"]}". '
                "Please choose another proxy address.",
                fqid=f"[Server={world['ad']['domain']['pdc_emulator']}] ProxyAddressExists,"
                "Microsoft.Exchange.Management.RecipientTasks.NewRemoteMailbox",
                category="NotSpecified",
                exception_type="Microsoft.Exchange.Data.ProxyAddressExistsException",
                activity=cmdlet,
            )
    user = add_account(
        world,
        at,
        sam=sam,
        name=name,
        dn=dn,
        upn=p.get("UserPrincipalName"),
        display_name=p.get("DisplayName") or name,
        mail=primary,
        proxy_addresses=addresses,
        mail_nickname=alias,
        remote_mailbox={"type": kind, "remote_routing_address": routing},
    )
    return remote_document(user)


@step("hybrid/find-remote-mailbox", need="hybrid")
def find_remote_mailbox(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Get-RemoteMailbox -Identity; the template catches the not-found error: `found: false`."""
    check_domain_controller(inv, world, "Get-RemoteMailbox")
    wanted = str(inv.params.get("Identity") or "").strip().lower()
    for user in world["ad"]["users"]:
        if not user.get("remote_mailbox"):
            continue
        names = {
            str(user.get(k) or "").lower()
            for k in ("mail_nickname", "name", "sam_account_name", "user_principal_name", "object_guid")
        }
        if wanted in names or bare(wanted) in {bare(a) for a in user.get("proxy_addresses") or []}:
            return {"found": True, "remote_mailbox": remote_document(user)}
    return {"found": False, "remote_mailbox": None}
