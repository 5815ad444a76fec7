"""Duplicate attribute resiliency, the cloud side of a sync export ("Identity synchronization and duplicate
attribute resiliency", Learn).

Always on. A synced object whose UserPrincipalName or SMTP proxyAddress another object already holds is
still created or updated: a UPN, which an object needs, gets a placeholder
`<OriginalPrefix>+<4DigitNumber>@<InitialTenantDomain>.onmicrosoft.com`; a proxyAddress, which it does not
need, is left off ("quarantined"). The conflicting value is kept on the object (DirSyncProvisioningErrors;
in Graph the user's `onPremisesProvisioningErrors`), no export error is logged, and a background task
that runs every hour releases a quarantined value once no other object holds it. Two objects therefore
never share a UPN or an SMTP proxyAddress. The page's "Known issues" keep a classic export error in some
cases, e.g. a proxyAddress that conflicts with a group's (`group_holder`).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from pswrap.lab.world import iso, parse_time

RELEASE_INTERVAL = timedelta(hours=1)
"""The background timer task "runs every hour" (same page, "Behavior with Duplicate Attribute Resiliency")."""

CATEGORY = "PropertyConflict"
"""Graph onPremisesProvisioningError.category: its only documented value (Microsoft Graph v1.0 reference,
"onPremisesProvisioningError resource type")."""

UPN = "UserPrincipalName"
PROXY = "ProxyAddress"
"""propertyCausingError's documented values (same Graph page)."""


def _bare(address: str) -> str:
    return address.split(":", 1)[-1].strip().lower()


def _is_smtp(address: str) -> bool:
    return address.lower().startswith("smtp:")


def _others(world: dict[str, Any], me: dict[str, Any]) -> list[dict[str, Any]]:
    return [u for u in world["cloud"]["users"] if u is not me] + list(world["cloud"].get("groups") or [])


def upn_holder(world: dict[str, Any], me: dict[str, Any], upn: str) -> dict[str, Any] | None:
    """Another user holding `upn` (only users have UPNs, same page)."""
    for other in world["cloud"]["users"]:
        if other is not me and str(other.get("user_principal_name") or "").lower() == upn.lower():
            return dict(other)
    return None


def address_holder(world: dict[str, Any], me: dict[str, Any], address: str) -> dict[str, Any] | None:
    """Another user or group holding the SMTP `address` (unique across users, groups and contacts)."""
    wanted = _bare(address)
    for other in _others(world, me):
        if any(_is_smtp(a) and _bare(a) == wanted for a in other.get("proxy_addresses") or []):
            return dict(other)
    return None


def group_holder(world: dict[str, Any], addresses: list[str]) -> dict[str, Any] | None:
    """A cloud group holding one of these SMTP addresses: the "Known issues" case where a new user's
    proxyAddress conflicts with a group and a classic export error is thrown instead of a quarantine."""
    wanted = {_bare(a) for a in addresses if _is_smtp(a)}
    for group in world["cloud"].get("groups") or []:
        if wanted & {_bare(a) for a in group.get("proxy_addresses") or [] if _is_smtp(a)}:
            return dict(group)
    return None


def placeholder_upn(world: dict[str, Any], cloud_user: dict[str, Any], upn: str) -> str:
    """`<OriginalPrefix>+<4DigitNumber>@<InitialTenantDomain>.onmicrosoft.com` (the page's format; its own
    example, `User1234@contoso.onmicrosoft.com`, has no `+`, and pswrap recognises both). The number comes
    from the object id so that a lab run is repeatable."""
    number = 1000 + uuid.UUID(cloud_user["id"]).int % 9000
    return f"{upn.split('@', 1)[0]}+{number}@{world['cloud']['tenant']['initial_domain']}"


def _errors(cloud_user: dict[str, Any]) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = cloud_user.setdefault("on_premises_provisioning_errors", [])
    return errors


def _quarantined(cloud_user: dict[str, Any], prop: str, value: str) -> bool:
    return any(
        e["property_causing_error"] == prop and e["value"].lower() == value.lower()
        for e in _errors(cloud_user)
    )


def _record(world: dict[str, Any], cloud_user: dict[str, Any], prop: str, value: str, at: datetime) -> None:
    if not _quarantined(cloud_user, prop, value):
        _errors(cloud_user).append(
            {
                "category": CATEGORY,
                "property_causing_error": prop,
                "value": value,
                "occurred_date_time": iso(at),
            }
        )
    cloud = world["cloud"]
    if not cloud.get("quarantine_release_utc"):
        cloud["quarantine_release_utc"] = iso(at + RELEASE_INTERVAL)


def apply_upn(world: dict[str, Any], cloud_user: dict[str, Any], upn: str, at: datetime) -> None:
    """Give the object the account's UPN, or a placeholder while another object holds it. A value already
    quarantined stays so until the hourly task releases it (sync exports only changes)."""
    if _quarantined(cloud_user, UPN, upn):
        return
    if upn_holder(world, cloud_user, upn) is None:
        cloud_user["user_principal_name"] = upn
        return
    if not cloud_user.get("user_principal_name") or cloud_user["user_principal_name"].lower() != upn.lower():
        cloud_user["user_principal_name"] = placeholder_upn(world, cloud_user, upn)
    _record(world, cloud_user, UPN, upn, at)


def apply_proxy_addresses(
    world: dict[str, Any], cloud_user: dict[str, Any], wanted: list[str], at: datetime
) -> list[str]:
    """The addresses the object keeps: every SMTP address another object holds is quarantined."""
    kept: list[str] = []
    for address in wanted:
        if _is_smtp(address) and (
            _quarantined(cloud_user, PROXY, address) or address_holder(world, cloud_user, address) is not None
        ):
            _record(world, cloud_user, PROXY, address, at)
            continue
        kept.append(address)
    return kept


def next_release(world: dict[str, Any]) -> datetime | None:
    value = world["cloud"].get("quarantine_release_utc")
    return parse_time(value) if value else None


def release_quarantined(world: dict[str, Any], at: datetime) -> None:
    """The hourly task: a quarantined value no other object holds any longer is given back to its object."""
    remaining = False
    for cloud_user in world["cloud"]["users"]:
        keep: list[dict[str, Any]] = []
        for error in cloud_user.get("on_premises_provisioning_errors") or []:
            value = error["value"]
            if error["property_causing_error"] == UPN and upn_holder(world, cloud_user, value) is None:
                cloud_user["user_principal_name"] = value
                _follow_in_exchange(world, cloud_user)
            elif (
                error["property_causing_error"] == PROXY and address_holder(world, cloud_user, value) is None
            ):
                cloud_user.setdefault("proxy_addresses", []).append(value)
                _follow_in_exchange(world, cloud_user)
            else:
                keep.append(error)
        cloud_user["on_premises_provisioning_errors"] = keep
        remaining = remaining or bool(keep)
    world["cloud"]["quarantine_release_utc"] = iso(at + RELEASE_INTERVAL) if remaining else None


def _follow_in_exchange(world: dict[str, Any], cloud_user: dict[str, Any]) -> None:
    for mailbox in world["exo"]["mailboxes"]:
        if mailbox.get("external_directory_object_id") == cloud_user["id"]:
            mailbox["user_principal_name"] = cloud_user["user_principal_name"]
            have = {_bare(a) for a in mailbox.get("email_addresses") or []}
            for address in cloud_user.get("proxy_addresses") or []:
                if _bare(address) not in have:
                    mailbox.setdefault("email_addresses", []).append(address)
