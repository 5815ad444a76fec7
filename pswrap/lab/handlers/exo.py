"""Exchange Online (ExchangeOnlineManagement V3, app-only) recipients: Get-Mailbox, Get-Recipient,
New-Mailbox -Room|-Equipment|-Shared (docs/sources.md §4)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pswrap.lab.dispatch import Invocation, PSError
from pswrap.lab.handlers import records
from pswrap.lab.handlers.directory import bare, mailbox_document, recipients
from pswrap.lab.handlers.pipeline import step
from pswrap.lab.sync_engine import MAILBOX_TYPES
from pswrap.lab.world import iso, new_guid

INITIAL_ACCOUNT_ENABLED = {"room": True, "shared": False, "equipment": True}
"""The account New-Mailbox creates (New-Mailbox.md): -Room "an active account with an unknown password"
(Microsoft suggests blocking its sign-in); -Shared a disabled account. Equipment: the page says nothing; the
lab takes the conservative reading, enabled like a room, so a workflow that must block sign-in is tested
against the case that needs it (docs/mastering.md says so)."""


def legacy_exchange_dn(object_id: str, alias: str) -> str:
    """Exchange Online's LegacyExchangeDN form: the ExchangeLabs organization, the FYDIBOHF23SPDLT
    administrative group, a Recipients container and `<hex id>-<alias>` (as Get-Mailbox shows them)."""
    return (
        "/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/"
        f"cn={object_id.replace('-', '')}-{alias}"
    )


def _matches(mailbox: dict[str, Any], identity: str) -> bool:
    wanted = identity.strip().lower()
    names = {
        str(mailbox.get("alias") or "").lower(),
        str(mailbox.get("name") or "").lower(),
        str(mailbox.get("user_principal_name") or "").lower(),
        str(mailbox.get("external_directory_object_id") or "").lower(),
        str(mailbox.get("primary_smtp_address") or "").lower(),
    }
    return wanted in names or bare(wanted) in {bare(a) for a in mailbox.get("email_addresses") or []}


@step("exo/find-mailbox", need="exo")
def find_mailbox(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Get-EXOMailbox -Identity; the template catches ManagementObjectNotFoundException (§7b item 9), so not
    found is `found: false`. Several matches is the documented "matches multiple entries" error."""
    identity = str(inv.params.get("Identity") or "")
    hits = [m for m in world["exo"]["mailboxes"] if _matches(m, identity)]
    if len(hits) > 1:
        # §7b item 9 (community, verbatim): Ex9E65A2|...ManagementObjectNotFoundException|...
        # matches multiple entries.
        raise records.exo_v3_error(
            "Get-EXOMailbox",
            "Ex9E65A2",
            "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
            f"The operation couldn't be performed because object: '{identity}' matches multiple entries.",
        )
    if not hits:
        return {"found": False, "mailbox": None}
    return {"found": True, "mailbox": mailbox_document(hits[0])}


@step("exo/find-recipients", need="exo")
def find_recipients(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Get-Recipient for the alias and each address: every recipient holding any of them."""
    alias = str(inv.params.get("Alias") or "").lower()
    wanted = {bare(a) for a in (inv.params.get("Addresses") or [])}
    found = []
    for recipient in recipients(world):
        addresses = {bare(a) for a in recipient["email_addresses"]}
        if (alias and str(recipient.get("alias") or "").lower() == alias) or (wanted & addresses):
            found.append(recipient)
    return {"recipients": found}


def _address_holder(world: dict[str, Any], address: str) -> dict[str, Any] | None:
    wanted = bare(address)
    for recipient in recipients(world):
        if wanted in {bare(a) for a in recipient["email_addresses"]}:
            return recipient
    return None


@step("exo/new-mailbox", need="exo")
def new_mailbox(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """New-Mailbox -Name -Alias -DisplayName -PrimarySmtpAddress [-ResourceCapacity] -Room|-Equipment|-Shared:
    creates the mailbox and its cloud user, with a UPN on the tenant's onmicrosoft.com domain (the service
    derives it in EXO, docs/sources.md §4); -ResourceCapacity exists only in the Room set (§4, SYNTAX)."""
    kind = inv.choices.get("type", "room")
    p = inv.params
    capacity = p.get("ResourceCapacity")
    if capacity is not None and kind != "room":
        raise PSError(
            "Parameter set cannot be resolved using the specified named parameters.",
            fqid="AmbiguousParameterSet,New-Mailbox",
            category="InvalidArgument",
            exception_type="System.Management.Automation.ParameterBindingException",
            activity="New-Mailbox",
        )
    alias = str(p.get("Alias") or "")
    primary = str(p.get("PrimarySmtpAddress") or "")
    name = str(p.get("Name") or "")
    if any(str(m.get("name") or "").lower() == name.lower() for m in world["exo"]["mailboxes"]):
        # -Name is unique (docs/sources.md §4, New-Mailbox.md); the text is the closest
        # (records.exo_name_in_use).
        # A duplicate alias meets the proxy-address check below: the service stamps <alias>@<tenant>.
        raise records.exo_name_in_use("New-Mailbox", name)
    tenant = world["cloud"]["tenant"]["initial_domain"]
    addresses = [f"SMTP:{primary}"]
    if bare(primary) != f"{alias}@{tenant}".lower():
        addresses.append(f"smtp:{alias}@{tenant}")
    for address in addresses:
        if _address_holder(world, address) is not None:
            # §7b item 8: the V3 WLCDManagedMemberExistsException, address as it was asked for.
            raise records.proxy_address_in_use("New-Mailbox", "SMTP:" + address.split(":", 1)[1])
    upn = f"{alias}@{tenant}"
    if any(str(u["user_principal_name"]).lower() == upn.lower() for u in world["cloud"]["users"]):
        raise records.proxy_address_in_use("New-Mailbox", f"SMTP:{upn}")
    cloud_user = {
        "id": new_guid(),
        "user_principal_name": upn,
        "display_name": p.get("DisplayName") or p.get("Name"),
        "mail": primary,
        "on_premises_immutable_id": None,
        "on_premises_sync_enabled": None,
        "on_premises_last_sync_date_time": None,
        "on_premises_distinguished_name": None,
        "proxy_addresses": addresses,
        "directory_roles": [],
        "role_assignments": [],
        "account_enabled": INITIAL_ACCOUNT_ENABLED[kind],
    }
    delay = float(world["cloud"].get("replication_delay_seconds") or 0)
    if delay > 0:
        # Replication delay: a mailbox created in Exchange Online reaches Entra ID later; until then Graph
        # answers not found for its user (pswrap.lab.handlers.graph.visible).
        cloud_user["graph_visible_utc"] = iso(at + timedelta(seconds=delay))
    world["cloud"]["users"].append(cloud_user)
    mailbox = {
        "alias": alias,
        "name": name,
        "display_name": p.get("DisplayName") or name,
        "primary_smtp_address": primary,
        "recipient_type_details": MAILBOX_TYPES[kind],
        "email_addresses": addresses,
        "user_principal_name": upn,
        "external_directory_object_id": cloud_user["id"],
        "resource_capacity": int(capacity) if capacity is not None else None,
        "is_dir_synced": False,
        "legacy_exchange_dn": legacy_exchange_dn(str(cloud_user["id"]), alias),
    }
    world["exo"]["mailboxes"].append(mailbox)
    return mailbox_document(mailbox)
