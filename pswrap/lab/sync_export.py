"""The export of a simulated sync cycle: sourceAnchor, hard match, soft match, provisioning, write-back.

Each rule names the document it follows (Learn page title and section, or "community: <source>");
where Microsoft documents nothing, the lab picks the conservative behaviour and says so here and in
docs/sync.md. Duplicate attribute resiliency (the cloud side that quarantines a value two objects would
share) lives in `pswrap.lab.resiliency`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pswrap.immutableid import connector_space_dn
from pswrap.lab import lifecycle, resiliency
from pswrap.lab.world import ANCHOR_CONSISTENCY_GUID, immutable_id, iso, new_guid

# Export error texts (never invented: each is the documented or the closest documented wording).
INVALID_HARD_MATCH = (
    "Another cloud created object with the same source anchor already exists in Azure Active Directory"
)
"""Verbatim from Set-MsolDirSyncFeature.md and "Understanding errors during Microsoft Entra synchronization"
(the doc prints no period). MC1262584 gives role-holder blocks this type and no text of their own."""

DUPLICATE_DETAIL = (
    "Unable to update this object because the following attributes associated with this object have "
    "values that may already be associated with another object in your local directory services: "
    "[{attributes}].  Correct or remove the duplicate values in your local directory.  Please refer to "
    "http://support.microsoft.com/kb/2647098 for more information on identifying objects with duplicate "
    "attribute values."
)
"""InvalidSoftMatch detail, verbatim incl. double spaces (community: blog.terenceluk.com, 2016); the
classic AttributeValueMustBeUnique uses the same family as its closest text."""

ADMIN_ROLE_CONFLICT = (
    "Microsoft Entra Connect isn't allowed to soft match a user object from on-premises AD with a user "
    "object in Microsoft Entra ID that has an administrative role assigned to it."
)
"""Closest text: "Understanding errors during Microsoft Entra synchronization", "Existing Admin Role
Conflict" (soft match only)."""


def dict_of(value: Any) -> dict[str, Any]:
    """A world object as a typed dict (the world is untyped JSON)."""
    if not isinstance(value, dict):
        raise TypeError(f"expected a JSON object in the lab world, got {type(value).__name__}")
    return value


def in_sync_scope(world: dict[str, Any], dn: str) -> bool:
    """OU filtering: the nearest configured OU above the object decides ("Microsoft Entra Connect Sync:
    Configure filtering", "Organizational unit-based filtering")."""
    from pswrap.dn import is_within, split_rdns

    best: dict[str, Any] | None = None
    for ou in world["ad"]["ous"]:
        below = is_within(dn, ou["dn"]) and len(split_rdns(dn)) > len(split_rdns(ou["dn"]))
        if below and (best is None or len(ou["dn"]) > len(best["dn"])):
            best = ou
    return bool(best and best.get("in_sync_scope"))


def source_anchor(world: dict[str, Any], user: dict[str, Any]) -> str:
    """The account's sourceAnchor (ImmutableId form) ("Microsoft Entra Connect: Design concepts",
    "Using ms-DS-ConsistencyGuid as sourceAnchor"): mS-DS-ConsistencyGuid when that is the anchor
    attribute and it is set, else objectGUID."""
    anchor_attribute = world["sync"]["settings"]["anchor_attribute"]
    if anchor_attribute == ANCHOR_CONSISTENCY_GUID and user.get("consistency_guid"):
        return immutable_id(user["consistency_guid"])
    return immutable_id(user["object_guid"])


def primary_smtp(addresses: list[str]) -> str | None:
    for address in addresses:
        if address.startswith("SMTP:"):
            return address[5:]
    return None


def holds_active_role(cloud_user: dict[str, Any]) -> bool:
    """Any active role assignment, directory-wide or scoped to an administrative unit.

    MC1262584 (Microsoft 365 message center, 2026-03-26) blocks hard match to cloud-managed users "who
    hold Microsoft Entra roles" and names no roles; an active assignment at any scope is a role held.
    An eligible (PIM) assignment is not held until activated, and the post says nothing of it: the lab
    does not block on it (pswrap itself refuses it, conservatively, before any change)."""
    if cloud_user.get("directory_roles"):
        return True
    return any(a.get("status", "active") == "active" for a in cloud_user.get("role_assignments") or [])


def cs_guid(world: dict[str, Any], connector: str, key: str) -> str:
    """A connector-space object's GUID, stable per connector and object (the run history's `cs-guid`)."""
    ids = world["sync"].setdefault("connector_space_ids", {})
    slot = f"{connector}|{key}"
    if slot not in ids:
        ids[slot] = "{" + str(uuid.uuid4()).upper() + "}"
    return str(ids[slot])


def export_error(
    world: dict[str, Any], user: dict[str, Any], anchor: str, error_type: str, literal: str
) -> dict[str, Any]:
    """An export error of the Entra ID connector, as the run history carries it ("Understanding errors
    during Microsoft Entra synchronization", "Error example": ErrorType, ErrorLiteral with its Tracking
    Id, CsObjectIdentifier, Dn). That connector names the object by its connector-space DN, built from
    the sourceAnchor (`pswrap.immutableid.connector_space_dn`), never by the AD DN."""
    dn = connector_space_dn(anchor)
    return {
        "dn": dn,
        "cs_guid": cs_guid(world, "aad", dn),
        "source_anchor": None,
        "error_type": error_type,
        "error_code": None,
        "error_literal": f"{literal}\r\nTracking Id: {uuid.uuid4()}",
    }


def ad_export_error(world: dict[str, Any], user: dict[str, Any], error_type: str) -> dict[str, Any]:
    """An export error of the AD connector: its connector space holds the AD objects by their AD DN. No
    error literal: the lab knows of no documented text for one."""
    return {
        "dn": str(user["distinguished_name"]),
        "cs_guid": cs_guid(world, "ad", str(user["object_guid"])),
        "source_anchor": None,
        "error_type": error_type,
        "error_code": None,
        "error_literal": None,
    }


def in_scope_anchors(world: dict[str, Any]) -> set[str]:
    """The sourceAnchors of every in-scope account (what the next export keeps; the rest it deletes)."""
    return {
        source_anchor(world, u) for u in world["ad"]["users"] if in_sync_scope(world, u["distinguished_name"])
    }


def export_to_cloud(world: dict[str, Any], at: datetime) -> list[dict[str, Any]]:
    """Export every in-scope AD account to Entra ID; returns the export errors of this run."""
    errors: list[dict[str, Any]] = []
    anchors: set[str] = set()
    for user in world["ad"]["users"]:
        if not in_sync_scope(world, user["distinguished_name"]):
            continue
        anchors.add(source_anchor(world, user))
        error = export_user(world, user, at)
        if error is not None:
            errors.append(error)
    soft_delete_departed(world, anchors, at)
    return errors


def export_to_ad(world: dict[str, Any], at: datetime) -> list[dict[str, Any]]:
    """The AD connector's export: anchor write-back ("Microsoft Entra Connect: Design concepts", "How
    ms-DS-ConsistencyGuid works"). With mS-DS-ConsistencyGuid as the anchor attribute and the value
    empty, the engine uses objectGUID and writes it into mS-DS-ConsistencyGuid by an export to AD: for
    every in-scope account, whether or not its export to Entra ID linked it."""
    settings = world["sync"]["settings"]
    if settings["anchor_attribute"] != ANCHOR_CONSISTENCY_GUID:
        return []
    errors: list[dict[str, Any]] = []
    for user in world["ad"]["users"]:
        if in_sync_scope(world, user["distinguished_name"]) and not user.get("consistency_guid"):
            if settings.get("ad_write_back_permitted", True):
                user["consistency_guid"] = user["object_guid"]
            else:
                # Inference: the write-back is an AD export like any other, so it needs the AD DS
                # connector account's write permission on the attribute; without it the export fails for
                # the object. Error type as the engine's run history names it (community:
                # "permission-issue"); `lab set sync.settings.ad_write_back_permitted=false` stages it.
                errors.append(ad_export_error(world, user, "permission-issue"))
    return errors


def soft_delete_departed(world: dict[str, Any], anchors: set[str], at: datetime) -> None:
    """A synced object whose AD account left sync scope (or is gone) is soft-deleted in Entra ID, with
    DirSyncEnabled false, and its mailbox becomes soft-deleted ("Delete or restore user mailboxes in
    Exchange Online"; "Understanding errors during Microsoft Entra synchronization")."""
    cloud = world["cloud"]
    deleted = cloud.setdefault("deleted_users", [])
    keep: list[dict[str, Any]] = []
    for cloud_user in cloud["users"]:
        anchor = cloud_user.get("on_premises_immutable_id")
        if cloud_user.get("on_premises_sync_enabled") and anchor not in anchors:
            cloud_user["on_premises_sync_enabled"] = False
            cloud_user["deleted_date_time"] = iso(at)
            deleted.append(cloud_user)
            for mailbox in list(world["exo"]["mailboxes"]):
                if mailbox.get("external_directory_object_id") == cloud_user["id"]:
                    world["exo"]["mailboxes"].remove(mailbox)
                    lifecycle.park_mailbox(world, mailbox, at)  # soft-deleted, or inactive under a hold
        else:
            keep.append(cloud_user)
    cloud["users"] = keep


def restore_deleted(world: dict[str, Any], anchor: str) -> dict[str, Any] | None:
    """An account back in scope within the retention time brings its soft-deleted object (and mailbox)
    back: the match includes the deleted objects (inference: restoring within 30 days reconnects the
    soft-deleted mailbox, "Delete or restore user mailboxes in Exchange Online")."""
    deleted = world["cloud"].get("deleted_users", [])
    for cloud_user in list(deleted):
        if cloud_user.get("on_premises_immutable_id") == anchor:
            deleted.remove(cloud_user)
            cloud_user.pop("deleted_date_time", None)
            world["cloud"]["users"].append(cloud_user)
            lifecycle.reconnect_mailboxes(world, cloud_user["id"])
            return dict_of(cloud_user)
    return None


def export_user(world: dict[str, Any], user: dict[str, Any], at: datetime) -> dict[str, Any] | None:
    anchor = source_anchor(world, user)
    features = world["cloud"]["features"]

    # Hard match first: incoming sourceAnchor vs an existing object's immutableId ("Microsoft Entra
    # Connect: When you have an existing tenant", "Sync with existing users in Microsoft Entra ID"); a
    # soft-deleted object it synced before comes back.
    hard = [u for u in world["cloud"]["users"] if u.get("on_premises_immutable_id") == anchor]
    if not hard:
        restored = restore_deleted(world, anchor)
        if restored is not None:
            link(world, user, restored, anchor, at)
            return None
    if hard:
        target = dict_of(hard[0])
        if lifecycle.is_cloud_managed(target):
            return None  # blockOnPremisesSync: nothing flows to it any more ("Configure User SOA")
        # Taking over a cloud-created object: blocked by the tenant switch (Set-MsolDirSyncFeature.md,
        # BlockCloudObjectTakeoverThroughHardMatch) and, since MC1262584 (rollout June-July 2026), for a
        # cloud user holding an Entra role; both report InvalidHardMatch with the documented text.
        if not target.get("on_premises_sync_enabled") and (
            features.get("block_hard_match_takeover") or holds_active_role(target)
        ):
            return export_error(world, user, anchor, "InvalidHardMatch", INVALID_HARD_MATCH)
        link(world, user, target, anchor, at)
        return None

    # Soft match: primary SMTP first, then UPN (Set-MsolDirSyncFeature.md), unless the tenant blocks it.
    if not features.get("block_soft_match"):
        candidate = _soft_match_candidate(world, user)
        if candidate is not None:
            if candidate.get("on_premises_immutable_id"):
                # Soft match only works if the cloud object has no immutableId ("Understanding errors
                # during Microsoft Entra synchronization", InvalidSoftMatch).
                return export_error(
                    world, user, anchor, "InvalidSoftMatch", _duplicate_literal(user, [candidate])
                )
            if holds_active_role(candidate):
                return export_error(world, user, anchor, "ExistingAdminRoleConflict", ADMIN_ROLE_CONFLICT)
            link(world, user, candidate, anchor, at)
            return None

    # Otherwise a new cloud object. A proxyAddress that a group holds keeps the classic export error
    # ("Identity synchronization and duplicate attribute resiliency", "Known issues"); anything else
    # another object holds is quarantined on the new object, which is still created.
    group = resiliency.group_holder(world, _flowing_addresses(user))
    if group is not None:
        return export_error(
            world, user, anchor, "AttributeValueMustBeUnique", _duplicate_literal(user, [group])
        )
    cloud_user: dict[str, Any] = {
        "id": new_guid(),
        "user_principal_name": "",
        "display_name": user.get("display_name"),
        "mail": None,
        "on_premises_immutable_id": anchor,
        "on_premises_sync_enabled": True,
        "on_premises_last_sync_date_time": None,
        "on_premises_distinguished_name": None,
        "proxy_addresses": [],
        "directory_roles": [],
        "role_assignments": [],
        "on_premises_provisioning_errors": [],
    }
    world["cloud"]["users"].append(cloud_user)
    link(world, user, cloud_user, anchor, at)
    return None


def _flowing_addresses(user: dict[str, Any]) -> list[str]:
    """The proxyAddresses sync carries: only for accounts whose mailNickname is set (community: Microsoft
    Japan support blog, jpazureid "dirsync-adsync-20171231")."""
    return list(user.get("proxy_addresses") or []) if user.get("mail_nickname") else []


def _soft_match_candidate(world: dict[str, Any], user: dict[str, Any]) -> dict[str, Any] | None:
    primary = primary_smtp(user.get("proxy_addresses", []))
    if primary:
        for cloud_user in world["cloud"]["users"]:
            if f"smtp:{primary.lower()}" in [a.lower() for a in cloud_user.get("proxy_addresses", [])]:
                return dict_of(cloud_user)
    upn = (user.get("user_principal_name") or "").lower()
    if upn:
        for cloud_user in world["cloud"]["users"]:
            if cloud_user.get("user_principal_name", "").lower() == upn:
                return dict_of(cloud_user)
    return None


def _duplicate_literal(user: dict[str, Any], others: list[dict[str, Any]]) -> str:
    mine = user.get("proxy_addresses", [])
    theirs = {a.split(":", 1)[1].lower() for o in others for a in o.get("proxy_addresses") or [] if ":" in a}
    shared = [a for a in mine if a.lower().startswith("smtp:") and a.split(":", 1)[1].lower() in theirs]
    parts: list[str] = []
    if shared:
        parts.append("ProxyAddresses " + ",".join(shared))
        if user.get("mail"):
            parts.append("Mail " + user["mail"])
    upn = user.get("user_principal_name")
    if upn and any(str(o.get("user_principal_name", "")).lower() == upn.lower() for o in others):
        parts.append("UserPrincipalName " + upn)
    return DUPLICATE_DETAIL.format(attributes=",".join(parts) + ";")


def link(
    world: dict[str, Any], user: dict[str, Any], cloud_user: dict[str, Any], anchor: str, at: datetime
) -> None:
    """Join an AD account to its cloud object and flow attributes.

    On a match the cloud object becomes on-prem-managed and every attribute with an on-prem value is
    overwritten; the sourceAnchor is stamped ("Microsoft Entra Connect: When you have an existing
    tenant"). A UPN or SMTP proxyAddress another object holds is quarantined, never shared
    (`pswrap.lab.resiliency`). Exchange attributes flow only for accounts whose mailNickname is set.
    """
    cloud_user["on_premises_immutable_id"] = anchor
    cloud_user["on_premises_sync_enabled"] = True
    cloud_user["on_premises_last_sync_date_time"] = iso(at)
    cloud_user["on_premises_distinguished_name"] = user["distinguished_name"]
    if user.get("user_principal_name"):
        resiliency.apply_upn(world, cloud_user, user["user_principal_name"], at)
    if user.get("display_name"):
        cloud_user["display_name"] = user["display_name"]
    # accountEnabled is synced ("Attributes synchronized to Microsoft Entra ID"): after the link the cloud
    # account's sign-in follows AD (New-Mailbox.md: block sign-in in Entra until then).
    cloud_user["account_enabled"] = bool(user.get("enabled"))
    if user.get("mail_nickname") and not _exchange_cloud_managed(world, cloud_user):
        if user.get("proxy_addresses"):
            wanted = merged_addresses(user["proxy_addresses"], cloud_user)
            cloud_user["proxy_addresses"] = resiliency.apply_proxy_addresses(world, cloud_user, wanted, at)
        if user.get("mail"):
            cloud_user["mail"] = user["mail"]
    _flow_to_exchange(world, user, cloud_user)


def merged_addresses(
    on_prem: list[str], cloud_object: dict[str, Any], key: str = "proxy_addresses"
) -> list[str]:
    """The on-premises proxyAddresses win (on a match every attribute with an on-prem value is
    overwritten); the service keeps its own addresses on the tenant's *.onmicrosoft.com domains as secondary
    ones (inference: Exchange Online stamps them on every recipient)."""
    merged = list(on_prem)
    have = {a.split(":", 1)[-1].lower() for a in merged}
    for address in cloud_object.get(key) or []:
        bare = address.split(":", 1)[-1]
        if bare.lower().endswith(".onmicrosoft.com") and bare.lower() not in have:
            merged.append(f"smtp:{bare}")
            have.add(bare.lower())
    return merged


MAILBOX_TYPES = {"room": "RoomMailbox", "equipment": "EquipmentMailbox", "shared": "SharedMailbox"}


def _flow_to_exchange(world: dict[str, Any], user: dict[str, Any], cloud_user: dict[str, Any]) -> None:
    """The cloud mailbox side of a sync: an existing mailbox becomes dir-synced and takes the Exchange
    attributes the cloud object holds; a New-RemoteMailbox account gets its cloud mailbox (New-RemoteMailbox
    .md: "the mailbox is created in EXO by directory sync")."""
    mailbox = next(
        (m for m in world["exo"]["mailboxes"] if m.get("external_directory_object_id") == cloud_user["id"]),
        None,
    )
    addresses = list(cloud_user.get("proxy_addresses") or [])
    remote = user.get("remote_mailbox")
    if mailbox is None and remote:
        mailbox = {
            "alias": user.get("mail_nickname") or user["sam_account_name"],
            "name": user.get("name") or user["sam_account_name"],
            "display_name": user.get("display_name"),
            "primary_smtp_address": primary_smtp(addresses) or user.get("mail") or "",
            "recipient_type_details": MAILBOX_TYPES.get(remote.get("type", "room"), "RoomMailbox"),
            "email_addresses": addresses,
            "user_principal_name": cloud_user["user_principal_name"],
            "external_directory_object_id": cloud_user["id"],
            "resource_capacity": None,
            "is_dir_synced": True,
        }
        world["exo"]["mailboxes"].append(mailbox)
        return
    if mailbox is None:
        return
    mailbox["is_dir_synced"] = True
    mailbox["user_principal_name"] = cloud_user["user_principal_name"]
    if user.get("display_name"):
        mailbox["display_name"] = user["display_name"]
    if user.get("name"):
        # cn is synced for Exchange Online ("Attributes synchronized to Microsoft Entra ID", section
        # "Exchange Online"): a synced mailbox's Name is the AD object's name, as displayName is.
        mailbox["name"] = user["name"]
    if mailbox.get("is_exchange_cloud_managed"):
        # Set-Mailbox -IsExchangeCloudManaged: AD's Exchange attributes no longer flow to this mailbox;
        # identity attributes still do (community: c7solutions.com, Understanding IsCloudManaged and
        # IsExchangeCloudManaged).
        return
    if _reverts_to_user_mailbox(world, user, mailbox):
        mailbox["recipient_type_details"] = "UserMailbox"
    if user.get("mail_nickname"):
        mailbox["alias"] = user["mail_nickname"]
        if user.get("proxy_addresses"):
            mailbox["email_addresses"] = merged_addresses(addresses, mailbox, "email_addresses")
            mailbox["primary_smtp_address"] = primary_smtp(addresses) or mailbox["primary_smtp_address"]


def _exchange_cloud_managed(world: dict[str, Any], cloud_user: dict[str, Any]) -> bool:
    """The cloud user's mailbox has its Exchange attributes mastered in Exchange Online (issue #11)."""
    return any(
        m.get("external_directory_object_id") == cloud_user["id"] and m.get("is_exchange_cloud_managed")
        for m in world["exo"]["mailboxes"]
    )


REMOTE_TYPE_BITS = {"RoomMailbox": 32, "EquipmentMailbox": 64, "SharedMailbox": 96}
"""msExchRemoteRecipientType bits of a remote room (32), equipment (64) and shared (32|64) mailbox; 1 is a
provisioned mailbox, 4 a migrated one (community values: 33/65/97, 36/68/100 once migrated; KB2710029 sets
100 for a migrated shared mailbox)."""


def _reverts_to_user_mailbox(world: dict[str, Any], user: dict[str, Any], mailbox: dict[str, Any]) -> bool:
    """KB2710029 ("Shared mailboxes are unexpectedly converted to user mailboxes after directory
    synchronization runs in an Exchange hybrid deployment"): when the account's RemoteRecipientType does not
    reflect that the mailbox was migrated or is of its type, sync carries the account's values and Exchange
    Online converts the mailbox to a user mailbox. Modelled exactly that far: only in a forest with the
    Exchange schema, for an account whose msExchRemoteRecipientType is set; an account without the
    attribute changes nothing (Microsoft documents no conversion for that case)."""
    if not (world["ad"].get("exchange_schema") or {}).get("present"):
        return False
    remote = (user.get("exchange") or {}).get("remote_recipient_type")
    bits = REMOTE_TYPE_BITS.get(str(mailbox.get("recipient_type_details")))
    if remote is None or bits is None:
        return False
    return not (int(remote) & 4) and (int(remote) & 96) != bits
