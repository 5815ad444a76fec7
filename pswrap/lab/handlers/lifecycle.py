"""The lifecycle steps against the lab's world (`mailbox remove|restore|unlink`, issue #16): deleting and
retiring AD accounts, the AD Recycle Bin, Entra ID's deleted items, soft-deleted and inactive mailboxes,
and the user source-of-authority switch. The rules themselves live in `pswrap.lab.lifecycle`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pswrap.dn import parent_of, split_rdns
from pswrap.lab import lifecycle
from pswrap.lab.dispatch import Invocation, PSError
from pswrap.lab.grants import grants_of
from pswrap.lab.handlers import records
from pswrap.lab.handlers.ad import (
    account_by_guid,
    check_credential,
    check_server,
    container_exists,
    find_by_guid,
    user_document,
)
from pswrap.lab.handlers.directory import bare, mailbox_document
from pswrap.lab.handlers.pipeline import step
from pswrap.lab.sync_engine import version_tuple

SOA_MIN_CONNECT = (2, 5, 76, 0)
"""Configure User SOA, prerequisites: Entra Connect Sync 2.5.76.0 or later."""


@step("ad/remove-user", need="ad")
def remove_user(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Remove-ADUser -Identity <objectGUID>; the template reads the account first, so one already gone is
    `existed: false` (check, then act)."""
    check_server(inv, world, "Remove-ADUser")
    check_credential(inv, world, "Remove-ADUser")
    guid = str(inv.params.get("Identity") or "").strip("{}").lower()
    user = find_by_guid(world, guid)
    if user is None:
        return {"object_guid": guid, "existed": False}
    live = next(u for u in world["ad"]["users"] if u["object_guid"].lower() == guid)
    lifecycle.delete_account(world, live, at)
    return {"object_guid": guid, "existed": True}


def _moved(inv: Invocation, world: dict[str, Any]) -> dict[str, Any]:
    """Move-ADObject -Identity <objectGUID> -TargetPath <OU>, only when the account is elsewhere: the live
    account, moved."""
    cmdlet = "Move-ADObject"
    user = account_by_guid(inv, world, cmdlet, "ADObject")
    live: dict[str, Any] = next(u for u in world["ad"]["users"] if u["object_guid"] == user["object_guid"])
    target = str(inv.params.get("TargetPath") or "")
    if parent_of(live["distinguished_name"]).lower() != target.lower():
        if not container_exists(world, target):
            raise records.ad_container_not_found(cmdlet, target)
        live["distinguished_name"] = f"{split_rdns(live['distinguished_name'])[0]},{target}"
    return live


@step("ad/retire-user", need="ad")
def retire_user(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Move-ADObject -TargetPath <retired OU>, then Disable-ADAccount, each only when needed."""
    live = _moved(inv, world)
    live["enabled"] = False
    return user_document(live)


@step("ad/reinstate-user", need="ad")
def reinstate_user(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Move-ADObject back to the account's OU, then Enable-ADAccount or Disable-ADAccount to the enabled
    state it had, each only when needed (the reverse of ad/retire-user)."""
    live = _moved(inv, world)
    live["enabled"] = bool(inv.params.get("Enabled"))
    return user_document(live)


@step("ad/get-recycle-bin", need="ad")
def get_recycle_bin(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Get-ADOptionalFeature: the Recycle Bin Feature's EnabledScopes (`ad.recycle_bin_enabled`)."""
    check_server(inv, world, "Get-ADOptionalFeature")
    check_credential(inv, world, "Get-ADOptionalFeature")
    return {"enabled": bool(world["ad"].get("recycle_bin_enabled"))}


@step("ad/find-deleted-user", need="ad")
def find_deleted_user(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Get-ADObject -Filter 'objectGUID -eq $Identity' -IncludeDeletedObjects: a live account, a deleted
    object the Recycle Bin keeps, or nothing."""
    check_server(inv, world, "Get-ADObject")
    check_credential(inv, world, "Get-ADObject")
    guid = str(inv.params.get("Identity") or "")
    live = find_by_guid(world, guid)
    if live is not None:
        return {"found": True, "live": True, "object_guid": live["object_guid"], "last_known_parent": None}
    kept = lifecycle.find_deleted_account(world, guid)
    if kept is None:
        return {"found": False, "live": False, "object_guid": None, "last_known_parent": None}
    return {
        "found": True,
        "live": False,
        "object_guid": kept["object_guid"],
        "last_known_parent": kept.get("last_known_parent"),
    }


@step("ad/restore-user", need="ad")
def restore_user(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Restore-ADObject for a deleted object (only one that is deleted), then Get-ADUser."""
    check_server(inv, world, "Restore-ADObject")
    check_credential(inv, world, "Restore-ADObject")
    guid = str(inv.params.get("Identity") or "")
    lifecycle.restore_account(world, guid)
    return user_document(account_by_guid(inv, world, "Get-ADUser", "ADUser"))


@step("graph/get-deleted-user", need="graph")
def get_deleted_user(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Get-MgDirectoryDeletedItemAsUser -DirectoryObjectId; not found (never deleted, restored, or purged
    after 30 days) is `found: false`."""
    wanted = str(inv.params.get("DirectoryObjectId") or "").lower()
    for user in world["cloud"].get("deleted_users", []):
        if str(user["id"]).lower() == wanted:
            return {
                "found": True,
                "id": user["id"],
                "user_principal_name": user["user_principal_name"],
                "deleted_date_time": user.get("deleted_date_time"),
            }
    return {"found": False, "id": None, "user_principal_name": None, "deleted_date_time": None}


@step("exo/find-deleted-mailbox", need="exo")
def find_deleted_mailbox(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Get-EXOMailbox -SoftDeletedMailbox -Identity: soft-deleted mailboxes and inactive ones."""
    identity = str(inv.params.get("Identity") or "").strip().lower()
    for key in ("soft_deleted_mailboxes", "inactive_mailboxes"):
        for mailbox in world["exo"].get(key, []):
            names = {
                str(mailbox.get("alias") or "").lower(),
                str(mailbox.get("external_directory_object_id") or "").lower(),
                bare(str(mailbox.get("primary_smtp_address") or "")),
            }
            if identity in names:
                return {
                    "found": True,
                    "mailbox": mailbox_document(mailbox),
                    "is_inactive_mailbox": bool(mailbox.get("is_inactive_mailbox")),
                    "when_soft_deleted": mailbox.get("when_soft_deleted"),
                }
    return {"found": False, "mailbox": None, "is_inactive_mailbox": False, "when_soft_deleted": None}


def _soa_user(inv: Invocation, world: dict[str, Any], at: datetime, cmdlet: str, parameter_set: str) -> Any:
    """The user onPremisesSyncBehavior is read or written on, after the permission check: without
    User-OnPremisesSyncBehavior.ReadWrite.All Graph answers 403 Authorization_RequestDenied (the code
    pswrap's classifier knows; the text is Graph's common one, community: learn.microsoft.com Q&A threads
    on "Insufficient privileges to complete the operation")."""
    identity = str(inv.params.get("UserId") or "")
    if lifecycle.SOA_PERMISSION not in grants_of(world).get("graph_permissions", []):
        raise records.graph_rest_error(
            cmdlet,
            parameter_set,
            "Insufficient privileges to complete the operation.",
            status=403,
            reason="Forbidden",
            code="Authorization_RequestDenied",
            at=at,
            target=identity,
        )
    for user in world["cloud"]["users"]:
        if str(user["id"]).lower() == identity.lower():
            return user
    raise records.graph_rest_error(
        cmdlet,
        parameter_set,
        records.resource_not_found(identity),
        status=404,
        reason="NotFound",
        code="Request_ResourceNotFound",
        at=at,
        target=identity,
    )


@step("graph/get-sync-behavior", need="graph")
def get_sync_behavior(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """GET /beta/users/{id}/onPremisesSyncBehavior?$select=isCloudManaged (Configure User SOA)."""
    user = _soa_user(inv, world, at, "Get-MgBetaUserOnPremiseSyncBehavior", "Get")
    return {
        "id": user["id"],
        "is_cloud_managed": lifecycle.is_cloud_managed(user),
        "is_cloud_managed_before": None,
    }


@step("graph/set-sync-behavior", need="graph")
def set_sync_behavior(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """PATCH isCloudManaged=true ("Configure User SOA"): the user stays with everything it has (mailbox,
    addresses), onPremisesSyncEnabled becomes null, and Connect stops flowing AD changes to it
    (blockOnPremisesSync; the export rules in pswrap.lab.lifecycle). The page names Connect 2.5.76.0 as the
    minimum; with an older engine the lab refuses the switch (conservative: the page says nothing of what
    the API answers then, so the lab's message is its own and says so)."""
    user = _soa_user(inv, world, at, "Update-MgBetaUserOnPremiseSyncBehavior", "UpdateExpanded")
    before = lifecycle.is_cloud_managed(user)
    if not before:
        if version_tuple(world["sync"]["settings"]["connect_version"]) < SOA_MIN_CONNECT:
            raise PSError(
                "pswrap lab: the user source-of-authority switch needs Entra Connect Sync 2.5.76.0 or later "
                "(lab rule; Microsoft documents no error text for an older engine)",
                fqid="PswrapLabSoaEngineTooOld,Microsoft.Graph.Beta.PowerShell.Cmdlets."
                "UpdateMgBetaUserOnPremiseSyncBehavior_UpdateExpanded",
                category="InvalidOperation",
                target=str(user["id"]),
            )
        user["is_cloud_managed"] = True
        user["on_premises_sync_enabled"] = None
    return {"id": user["id"], "is_cloud_managed": True, "is_cloud_managed_before": before}
