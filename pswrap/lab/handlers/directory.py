"""Lookups shared by the Exchange Online, Graph and Exchange-tools handlers: who holds an address."""

from __future__ import annotations

from typing import Any

from pswrap.lab.sync_engine import dict_of


def bare(address: str) -> str:
    """An address without its `smtp:`/`SMTP:` prefix, lower-cased for comparison."""
    text = str(address).strip()
    if ":" in text and text.split(":", 1)[0].lower() in ("smtp", "x500", "sip"):
        text = text.split(":", 1)[1]
    return text.lower()


def smtp_addresses(addresses: list[str]) -> set[str]:
    return {bare(a) for a in addresses if str(a).lower().startswith("smtp:")}


def mailbox_document(mailbox: dict[str, Any]) -> dict[str, Any]:
    """The Mailbox JSON keys (pswrap/results/models.py)."""
    return {
        "alias": mailbox["alias"],
        "name": mailbox.get("name"),
        "display_name": mailbox.get("display_name"),
        "primary_smtp_address": mailbox["primary_smtp_address"],
        "recipient_type_details": mailbox["recipient_type_details"],
        "email_addresses": list(mailbox.get("email_addresses") or []),
        "user_principal_name": mailbox.get("user_principal_name"),
        "external_directory_object_id": mailbox.get("external_directory_object_id"),
        "resource_capacity": mailbox.get("resource_capacity"),
        "is_dir_synced": bool(mailbox.get("is_dir_synced")),
        "legacy_exchange_dn": mailbox.get("legacy_exchange_dn"),
    }


def recipients(world: dict[str, Any]) -> list[dict[str, Any]]:
    """Every recipient Exchange Online knows: the mailboxes, and cloud users without a mailbox that hold
    proxy addresses (mail users; e.g. a synced AD account, docs/sources.md §7 "Proxy address already in
    use")."""
    found: list[dict[str, Any]] = []
    with_mailbox = set()
    for mailbox in world["exo"]["mailboxes"]:
        with_mailbox.add(mailbox.get("external_directory_object_id"))
        found.append(
            {
                "name": mailbox.get("name"),
                "alias": mailbox.get("alias"),
                "primary_smtp_address": mailbox.get("primary_smtp_address"),
                "recipient_type_details": mailbox["recipient_type_details"],
                "email_addresses": list(mailbox.get("email_addresses") or []),
                "external_directory_object_id": mailbox.get("external_directory_object_id"),
            }
        )
    for user in world["cloud"]["users"]:
        if user["id"] in with_mailbox or not user.get("proxy_addresses"):
            continue
        primary = next((a[5:] for a in user["proxy_addresses"] if a.startswith("SMTP:")), user.get("mail"))
        found.append(
            {
                "name": user.get("display_name"),
                "alias": str(user["user_principal_name"]).split("@", 1)[0],
                "primary_smtp_address": primary,
                "recipient_type_details": "MailUser",
                "email_addresses": list(user["proxy_addresses"]),
                "external_directory_object_id": user["id"],
            }
        )
    return found


def cloud_user_by(world: dict[str, Any], identity: str) -> dict[str, Any] | None:
    """A cloud user by object id or UPN (Graph's -UserId accepts both, docs/sources.md §1.5)."""
    wanted = str(identity).strip().lower()
    for user in world["cloud"]["users"]:
        if user["id"].lower() == wanted or str(user["user_principal_name"]).lower() == wanted:
            return dict_of(user)
    return None


def cloud_user_document(user: dict[str, Any]) -> dict[str, Any]:
    """The CloudUser JSON keys (pswrap/results/models.py)."""
    return {
        "id": user["id"],
        "user_principal_name": user["user_principal_name"],
        "display_name": user.get("display_name"),
        "mail": user.get("mail"),
        "on_premises_immutable_id": user.get("on_premises_immutable_id"),
        "on_premises_sync_enabled": user.get("on_premises_sync_enabled"),
        "on_premises_last_sync_date_time": user.get("on_premises_last_sync_date_time"),
        "proxy_addresses": list(user.get("proxy_addresses") or []),
        "directory_roles": list(user.get("directory_roles") or []),
        "role_assignments": [
            {
                "role": str(a.get("role") or ""),
                "directory_scope_id": str(a.get("directory_scope_id") or "/"),
                "status": str(a.get("status") or "active"),
            }
            for a in user.get("role_assignments") or []
        ],
        "on_premises_provisioning_errors": [
            dict(e) for e in user.get("on_premises_provisioning_errors") or []
        ],
        "account_enabled": bool(user.get("account_enabled")),
    }
