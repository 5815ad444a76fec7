"""Microsoft Graph PowerShell (app-only): Get-MgUser, Update-MgUser, the tenant's sync features
(docs/sources.md §1.5, §3)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pswrap.lab.dispatch import Invocation
from pswrap.lab.handlers import records, records_service
from pswrap.lab.handlers.directory import bare, cloud_user_by, cloud_user_document
from pswrap.lab.handlers.pipeline import step
from pswrap.lab.world import parse_time


def visible(user: dict[str, Any], at: datetime) -> bool:
    """Replication delay: a user created by New-Mailbox in Exchange Online is in Entra ID only after a
    while, and Get-MgUser answers not found until then (the world's `cloud.replication_delay_seconds`,
    stamped by exo/new-mailbox). How long is not documented; the lab's delay is configurable."""
    since = user.get("graph_visible_utc")
    return not since or parse_time(str(since)) <= at


def _graph_user(world: dict[str, Any], identity: str, at: datetime) -> dict[str, Any] | None:
    user = cloud_user_by(world, identity)
    return user if user is not None and visible(user, at) else None


def graph_user_or_404(world: dict[str, Any], identity: str, at: datetime) -> dict[str, Any]:
    """The user a changing Graph template reads first (Get-MgUser -UserId), or that read's 404: a user
    not yet replicated to Entra ID is not found either."""
    user = _graph_user(world, identity, at)
    if user is None:
        raise records.graph_rest_error(
            "Get-MgUser",
            "Get",
            records.resource_not_found(identity),
            status=404,
            reason="NotFound",
            code="Request_ResourceNotFound",
            at=at,
            target=identity,
        )
    return user


@step("graph/get-user", need="graph")
def get_user(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Get-MgUser -UserId <id|upn> -Property ...; the template catches Request_ResourceNotFound (§7b item
    11), so not found is `found: false`."""
    user = _graph_user(world, str(inv.params.get("UserId") or ""), at)
    if user is None:
        return {"found": False, "user": None}
    return {"found": True, "user": cloud_user_document(user)}


@step("graph/get-users", need="graph")
def get_users(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Get-MgUser -Filter "id in ('...', ...)" 15 ids per request ("Use the $filter query parameter": an
    `in` filter takes at most 15 values): the users with those ids; an id nobody has is simply not in
    the answer (a filter, not a lookup)."""
    wanted = {str(i).lower() for i in inv.params.get("UserId") or []}
    users = [u for u in world["cloud"]["users"] if str(u["id"]).lower() in wanted and visible(u, at)]
    fields = ("id", "user_principal_name", "display_name", "on_premises_immutable_id")
    return {
        "users": [
            {
                **{f: u.get(f) for f in fields},
                "on_premises_sync_enabled": u.get("on_premises_sync_enabled"),
                "account_enabled": u.get("account_enabled"),
            }
            for u in users
        ]
    }


@step("graph/find-users", need="graph")
def find_users(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Get-MgUser -Filter "onPremisesImmutableId eq '...'" or "proxyAddresses/any(x:x eq 'smtp:...')"."""
    value = str(inv.params.get("Value") or "")
    if inv.choices.get("by", "immutableid") == "proxy-address":
        wanted = bare(value)
        users = [
            u for u in world["cloud"]["users"] if wanted in {bare(a) for a in u.get("proxy_addresses") or []}
        ]
    else:
        users = [u for u in world["cloud"]["users"] if u.get("on_premises_immutable_id") == value]
    return {"users": [cloud_user_document(u) for u in users if visible(u, at)]}


@step("graph/set-user", need="graph")
def set_user(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Update-MgUser -UserId [-OnPremisesImmutableId] [-UserPrincipalName]: refused on synced users and for
    a value another object holds (§7b item 10)."""
    cmdlet, parameter_set = "Update-MgUser", "UpdateExpanded"
    identity = str(inv.params.get("UserId") or "")
    # The template reads the user first (Get-MgUser -UserId), so a 404 comes from Get-MgUser_Get.
    user = graph_user_or_404(world, identity, at)

    def bad_request(message: str) -> Exception:
        return records.graph_rest_error(
            cmdlet,
            parameter_set,
            message,
            status=400,
            reason="BadRequest",
            code="Request_BadRequest",
            at=at,
            target=identity,
        )

    immutable = inv.params.get("OnPremisesImmutableId")
    upn = inv.params.get("UserPrincipalName")
    if user.get("on_premises_sync_enabled"):
        raise bad_request(records.SYNCED_READ_ONLY)
    if user.get("converted_from_sync"):
        # A user once synced, now cloud-only (onPremisesSyncEnabled null): Graph still refuses, in its
        # other wording (records_service.EXTERNAL_SERVICE_READ_ONLY, microsoft-graph-docs#12584).
        raise bad_request(records_service.EXTERNAL_SERVICE_READ_ONLY)
    others = [u for u in world["cloud"]["users"] if u["id"] != user["id"]]
    if immutable and any(u.get("on_premises_immutable_id") == immutable for u in others):
        raise bad_request(records.duplicate_property("onPremisesImmutableId"))
    if upn and any(str(u["user_principal_name"]).lower() == str(upn).lower() for u in others):
        raise bad_request(records.duplicate_property("userPrincipalName"))
    verified = [d.lower() for d in world["cloud"]["tenant"].get("verified_domains", [])]
    if upn and verified and str(upn).rsplit("@", 1)[-1].lower() not in verified:
        raise bad_request(records.UNVERIFIED_UPN_DOMAIN)
    if immutable:
        user["on_premises_immutable_id"] = str(immutable)
    if upn:
        user["user_principal_name"] = str(upn)
        for mailbox in world["exo"]["mailboxes"]:
            if mailbox.get("external_directory_object_id") == user["id"]:
                mailbox["user_principal_name"] = str(upn)
    return cloud_user_document(user)


@step("graph/get-sync-features", need="graph")
def get_sync_features(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Get-MgDirectoryOnPremiseSynchronization: Features.BlockSoftMatchEnabled and
    BlockCloudObjectTakeoverThroughHardMatchEnabled (docs/sources.md §3)."""
    features = world["cloud"]["features"]
    return {
        "block_soft_match": bool(features["block_soft_match"]),
        "block_hard_match_takeover": bool(features["block_hard_match_takeover"]),
    }
