"""Entra Connect Sync, simulated: the scheduler, cycles, the matching at a cycle's end, leases.

Everything happens lazily from timestamps (no background thread): `catch_up(world)` replays, in time
order, every event whose time has passed on the lab's clock — a running cycle's end, a lease's deadline,
a scheduled cycle's start — so a handler always sees the world as it is "now". Each behaviour below names
the documented one it imitates (domain.md section and its source).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from pswrap.lab.world import (
    ANCHOR_CONSISTENCY_GUID,
    immutable_id,
    iso,
    new_guid,
    now,
    parse_time,
)

MAX_EVENTS = 500
"""Upper bound on events replayed by one catch-up (a clock moved by months must not spin for long)."""

MAX_RUNS = 60
"""Run history kept (the real engine purges it by PurgeRunHistoryInterval, domain.md §2)."""

MIN_CONNECT_VERSION = (2, 5, 79, 0)
"""Below it "All synchronization services in Microsoft Entra Connect Sync will fail" after 2026-09-30
(domain.md §1.3, learn.microsoft.com harden-update-ad-fs-pingfederate)."""

# Export error texts (domain.md §7b item 13).
INVALID_HARD_MATCH = (
    "Another cloud created object with the same source anchor already exists in Azure Active Directory"
)
"""Verbatim from Set-MsolDirSyncFeature.md / tshoot-connect-sync-errors.md (the doc prints no period)."""

DUPLICATE_DETAIL = (
    "Unable to update this object because the following attributes associated with this object have "
    "values that may already be associated with another object in your local directory services: "
    "[{attributes}].  Correct or remove the duplicate values in your local directory.  Please refer to "
    "http://support.microsoft.com/kb/2647098 for more information on identifying objects with duplicate "
    "attribute values."
)
"""InvalidSoftMatch detail, verbatim incl. double spaces (terenceluk blog); AttributeValueMustBeUnique
uses the same family as its closest text (domain.md §7b item 13)."""

ADMIN_ROLE_CONFLICT = (
    "Microsoft Entra Connect isn't allowed to soft match a user object from on-premises AD with a user "
    "object in Microsoft Entra ID that has an administrative role assigned to it."
)
"""Closest text: tshoot-connect-sync-errors.md, "Existing Admin Role Conflict" (domain.md §7b item 13)."""

ADMIN_ROLES = (
    "Global Administrator",
    "Privileged Role Administrator",
    "User Administrator",
    "Exchange Administrator",
    "Hybrid Identity Administrator",
    "Security Administrator",
)


def dict_of(value: Any) -> dict[str, Any]:
    """A world object as a typed dict (the world is untyped JSON)."""
    if not isinstance(value, dict):
        raise TypeError(f"expected a JSON object in the lab world, got {type(value).__name__}")
    return value


# --- versions and scope -----------------------------------------------------------------------------


def version_tuple(text: str) -> tuple[int, ...]:
    parts: list[int] = []
    for piece in str(text).split("."):
        try:
            parts.append(int(piece))
        except ValueError:
            parts.append(0)
    return tuple(parts)


def connect_version_syncs(world: dict[str, Any]) -> bool:
    return version_tuple(world["sync"]["settings"]["connect_version"]) >= MIN_CONNECT_VERSION


def parent_dn(dn: str) -> str:
    """The container of a DN (escaped commas in the RDN are honoured)."""
    i = 0
    while i < len(dn):
        if dn[i] == "\\":
            i += 2
            continue
        if dn[i] == ",":
            return dn[i + 1 :]
        i += 1
    return ""


def in_sync_scope(world: dict[str, Any], dn: str) -> bool:
    """OU filtering: the nearest configured OU above the object decides (domain-based and OU-based
    filtering, how-to-connect-sync-configure-filtering.md)."""
    best: dict[str, Any] | None = None
    lowered = dn.lower()
    for ou in world["ad"]["ous"]:
        suffix = "," + ou["dn"].lower()
        if lowered.endswith(suffix) and (best is None or len(ou["dn"]) > len(best["dn"])):
            best = ou
    return bool(best and best.get("in_sync_scope"))


# --- the scheduler and cycles -------------------------------------------------------------------------


def cycle_in_progress(world: dict[str, Any]) -> bool:
    return world["sync"].get("current_cycle") is not None


def start_cycle(world: dict[str, Any], at: datetime, policy: str = "Delta", *, manual: bool) -> None:
    """A cycle begins; it ends `cycle_seconds` later (its results apply then, in `catch_up`)."""
    seconds = float(world["sync"]["scheduler"].get("cycle_seconds", 2))
    world["sync"]["current_cycle"] = {
        "run_history_id": new_guid(),
        "policy": policy,
        "manual": manual,
        "started_utc": iso(at),
        "ends_utc": iso(at + timedelta(seconds=seconds)),
    }
    world["sync"]["scheduler"]["sync_cycle_in_progress"] = True


def scheduler_runs(world: dict[str, Any]) -> bool:
    scheduler = world["sync"]["scheduler"]
    return bool(scheduler.get("sync_cycle_enabled")) and not scheduler.get("suspended")


def set_sync_cycle_enabled(world: dict[str, Any], enabled: bool, at: datetime) -> None:
    """Set-ADSyncScheduler -SyncCycleEnabled (domain.md §2). Re-enabling a scheduler whose next start
    time has passed runs a cycle at once, as the real scheduler does when it finds the time due."""
    scheduler = world["sync"]["scheduler"]
    was = bool(scheduler.get("sync_cycle_enabled"))
    scheduler["sync_cycle_enabled"] = bool(enabled)
    if enabled and not was and parse_time(scheduler["next_sync_cycle_start_time_utc"]) < at:
        scheduler["next_sync_cycle_start_time_utc"] = iso(at)


def _next_event(world: dict[str, Any], limit: datetime) -> tuple[datetime, str] | None:
    sync = world["sync"]
    candidates: list[tuple[datetime, str]] = []
    if sync.get("current_cycle"):
        candidates.append((parse_time(sync["current_cycle"]["ends_utc"]), "cycle-end"))
    for lease in sync.get("leases", []):
        candidates.append((parse_time(lease["deadline_utc"]), "lease"))
    if not sync.get("current_cycle") and scheduler_runs(world):
        candidates.append((parse_time(sync["scheduler"]["next_sync_cycle_start_time_utc"]), "scheduled"))
    due = [c for c in candidates if c[0] <= limit]
    if not due:
        return None
    # At equal times: finish a cycle, then fire leases, then start a scheduled cycle.
    order = {"cycle-end": 0, "lease": 1, "scheduled": 2}
    return min(due, key=lambda c: (c[0], order[c[1]]))


def catch_up(world: dict[str, Any]) -> None:
    """Bring the world to the lab's "now": every handler calls this first (inside its transaction)."""
    limit = now(world)
    for _ in range(MAX_EVENTS):
        event = _next_event(world, limit)
        if event is None:
            break
        at, kind = event
        if kind == "cycle-end":
            finish_cycle(world, at)
        elif kind == "lease":
            fire_due_leases(world, at)
        else:
            policy = world["sync"]["scheduler"].get("next_sync_cycle_policy_type") or "Delta"
            start_cycle(world, at, policy, manual=False)
    else:  # pragma: no cover - only after a huge clock jump; skip the rest of the backlog
        scheduler = world["sync"]["scheduler"]
        scheduler["next_sync_cycle_start_time_utc"] = iso(limit + timedelta(seconds=_interval(world)))
    world["sync"]["scheduler"]["sync_cycle_in_progress"] = cycle_in_progress(world)


def _interval(world: dict[str, Any]) -> float:
    return float(world["sync"]["scheduler"].get("interval_seconds", 1800))


def finish_cycle(world: dict[str, Any], at: datetime) -> None:
    """The end of a cycle: import, synchronize, export, and record the run results.

    NextSyncCycleStartTimeInUTC advances only when a cycle finishes (domain.md §2 item 3, community).
    Staging mode runs import and synchronization but suppresses exports (domain.md §7b item 12,
    how-to-connect-sync-feature-scheduler.md).
    """
    sync = world["sync"]
    cycle = sync["current_cycle"]
    sync["current_cycle"] = None
    sync["scheduler"]["sync_cycle_in_progress"] = False
    scheduler = sync["scheduler"]
    scheduler["next_sync_cycle_start_time_utc"] = iso(at + timedelta(seconds=_interval(world)))
    scheduler["next_sync_cycle_policy_type"] = "Delta"

    started = cycle["started_utc"]
    ended = iso(at)
    initial = str(cycle.get("policy", "Delta")).lower() == "initial"
    ad_connector = world["ad"]["domain"]["dns_root"]
    aad_connector = f"{world['cloud']['tenant']['initial_domain']} - AAD"
    runs: list[dict[str, Any]] = []

    def run(connector: str, profile: str, result: str, errors: list[dict[str, Any]]) -> None:
        runs.append(
            {
                "run_history_id": str(uuid.uuid4()),
                "connector_name": connector,
                "run_profile_name": profile,
                "result": result,
                "start_date": started,
                "end_date": ended,
                "export_errors": errors,
            }
        )

    prefix = "Full" if initial else "Delta"
    run(ad_connector, f"{prefix} Import", "success", [])
    if not connect_version_syncs(world):
        # Inference: a retired Connect build cannot talk to Entra ID ("All synchronization services ...
        # will fail", domain.md §1.3); the AAD connector runs report no-start-connection (§2 item 4).
        run(aad_connector, f"{prefix} Import", "no-start-connection", [])
        run(aad_connector, "Export", "no-start-connection", [])
    else:
        run(aad_connector, f"{prefix} Import", "success", [])
        run(ad_connector, f"{prefix} Synchronization", "success", [])
        if not sync["settings"].get("staging_mode"):
            errors = export_to_cloud(world, at)
            run(aad_connector, "Export", "completed-export-errors" if errors else "success", errors)
            run(ad_connector, "Export", "success", [])
    # Newest first, as Get-ADSyncRunProfileResult lists them (domain.md §2 item 4).
    sync["runs"] = list(reversed(runs)) + sync.get("runs", [])
    del sync["runs"][MAX_RUNS:]


# --- the export: sourceAnchor, hard match, soft match, provisioning ----------------------------------


def source_anchor(world: dict[str, Any], user: dict[str, Any]) -> str:
    """The account's sourceAnchor (ImmutableId form), domain.md §3 (plan-connect-design-concepts.md):
    mS-DS-ConsistencyGuid when that is the anchor attribute and it is set, else objectGUID."""
    anchor_attribute = world["sync"]["settings"]["anchor_attribute"]
    if anchor_attribute == ANCHOR_CONSISTENCY_GUID and user.get("consistency_guid"):
        return immutable_id(user["consistency_guid"])
    return immutable_id(user["object_guid"])


def primary_smtp(addresses: list[str]) -> str | None:
    for address in addresses:
        if address.startswith("SMTP:"):
            return address[5:]
    return None


def _smtp_set(addresses: list[str]) -> set[str]:
    return {a.split(":", 1)[1].lower() for a in addresses if a.lower().startswith("smtp:")}


def holds_admin_role(cloud_user: dict[str, Any]) -> bool:
    return any(role in ADMIN_ROLES for role in cloud_user.get("directory_roles", []))


def export_error(user: dict[str, Any], anchor: str, error_type: str, literal: str) -> dict[str, Any]:
    """One export error, shaped like a Get-ADSyncRunProfileResult export error (tshoot-connect-sync-errors.md
    "Error example": ErrorType, ErrorLiteral, Dn)."""
    return {
        "dn": user["distinguished_name"],
        "source_anchor": anchor,
        "error_type": error_type,
        "error_code": None,
        "error_literal": f"{literal}\r\nTracking Id: {uuid.uuid4()}",
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


def soft_delete_departed(world: dict[str, Any], anchors: set[str], at: datetime) -> None:
    """A synced object whose AD account left sync scope (or is gone) is soft-deleted in Entra ID, with
    DirSyncEnabled false, and its mailbox becomes soft-deleted (domain.md §6.2 step 1, delete-or-restore-
    mailboxes; tshoot-connect-sync-errors.md)."""
    cloud = world["cloud"]
    deleted = cloud.setdefault("deleted_users", [])
    soft_deleted = world["exo"].setdefault("soft_deleted_mailboxes", [])
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
                    soft_deleted.append(mailbox)
        else:
            keep.append(cloud_user)
    cloud["users"] = keep


def restore_deleted(world: dict[str, Any], anchor: str) -> dict[str, Any] | None:
    """An account back in scope within the retention time brings its soft-deleted object (and mailbox)
    back: the match includes the deleted objects (inference from domain.md §6.2: restoring within 30
    days reconnects the soft-deleted mailbox)."""
    deleted = world["cloud"].get("deleted_users", [])
    for cloud_user in list(deleted):
        if cloud_user.get("on_premises_immutable_id") == anchor:
            deleted.remove(cloud_user)
            cloud_user.pop("deleted_date_time", None)
            world["cloud"]["users"].append(cloud_user)
            for mailbox in list(world["exo"].get("soft_deleted_mailboxes", [])):
                if mailbox.get("external_directory_object_id") == cloud_user["id"]:
                    world["exo"]["soft_deleted_mailboxes"].remove(mailbox)
                    world["exo"]["mailboxes"].append(mailbox)
            return dict_of(cloud_user)
    return None


def _find_cloud(world: dict[str, Any], **match: Any) -> list[dict[str, Any]]:
    return [u for u in world["cloud"]["users"] if all(u.get(k) == v for k, v in match.items())]


def export_user(world: dict[str, Any], user: dict[str, Any], at: datetime) -> dict[str, Any] | None:
    anchor = source_anchor(world, user)
    features = world["cloud"]["features"]

    # Hard match first: incoming sourceAnchor vs an existing object's immutableId (domain.md §3,
    # how-to-connect-install-existing-tenant.md); a soft-deleted object it synced before comes back.
    hard = _find_cloud(world, on_premises_immutable_id=anchor)
    if not hard:
        restored = restore_deleted(world, anchor)
        if restored is not None:
            link(world, user, restored, anchor, at)
            return None
    if hard:
        target = hard[0]
        if not target.get("on_premises_sync_enabled"):
            # Taking over a cloud-created object.
            if features.get("block_hard_match_takeover"):
                return export_error(user, anchor, "InvalidHardMatch", INVALID_HARD_MATCH)
            if holds_admin_role(target):
                # "Entra ID won't match on-premises users with cloud users that have an admin role";
                # domain.md §3 treats it as blocking the hard match too.
                return export_error(user, anchor, "ExistingAdminRoleConflict", ADMIN_ROLE_CONFLICT)
        link(world, user, target, anchor, at)
        return None

    # Soft match: primary SMTP first, then UPN (Set-MsolDirSyncFeature.md, domain.md §3), unless the
    # tenant blocks it.
    if not features.get("block_soft_match"):
        candidate = _soft_match_candidate(world, user)
        if candidate is not None:
            if candidate.get("on_premises_immutable_id"):
                # Soft match only works if the cloud object has no immutableId (domain.md §3).
                return export_error(user, anchor, "InvalidSoftMatch", _duplicate_literal(user, candidate))
            if holds_admin_role(candidate):
                return export_error(user, anchor, "ExistingAdminRoleConflict", ADMIN_ROLE_CONFLICT)
            link(world, user, candidate, anchor, at)
            return None

    # Otherwise a new cloud object, unless a value it needs is already someone else's
    # (AttributeValueMustBeUnique: mail, proxyAddresses, userPrincipalName; tshoot-connect-sync-errors.md).
    holder = _duplicate_holder(world, user)
    if holder is not None:
        return export_error(user, anchor, "AttributeValueMustBeUnique", _duplicate_literal(user, holder))
    cloud_user: dict[str, Any] = {
        "id": new_guid(),
        "user_principal_name": user.get("user_principal_name") or "",
        "display_name": user.get("display_name"),
        "mail": None,
        "on_premises_immutable_id": anchor,
        "on_premises_sync_enabled": True,
        "on_premises_last_sync_date_time": None,
        "on_premises_distinguished_name": None,
        "proxy_addresses": [],
        "directory_roles": [],
    }
    world["cloud"]["users"].append(cloud_user)
    link(world, user, cloud_user, anchor, at)
    return None


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


def _duplicate_holder(world: dict[str, Any], user: dict[str, Any]) -> dict[str, Any] | None:
    wanted = _smtp_set(user.get("proxy_addresses", [])) if user.get("mail_nickname") else set()
    upn = (user.get("user_principal_name") or "").lower()
    for cloud_user in world["cloud"]["users"]:
        if upn and cloud_user.get("user_principal_name", "").lower() == upn:
            return dict_of(cloud_user)
        if wanted & _smtp_set(cloud_user.get("proxy_addresses", [])):
            return dict_of(cloud_user)
    return None


def _duplicate_literal(user: dict[str, Any], other: dict[str, Any]) -> str:
    mine = user.get("proxy_addresses", [])
    theirs = _smtp_set(other.get("proxy_addresses", []))
    shared = [a for a in mine if a.lower().startswith("smtp:") and a.split(":", 1)[1].lower() in theirs]
    parts: list[str] = []
    if shared:
        parts.append("ProxyAddresses " + ",".join(shared))
        if user.get("mail"):
            parts.append("Mail " + user["mail"])
    upn = user.get("user_principal_name")
    if upn and str(other.get("user_principal_name", "")).lower() == upn.lower():
        parts.append("UserPrincipalName " + upn)
    return DUPLICATE_DETAIL.format(attributes=",".join(parts) + ";")


def link(
    world: dict[str, Any], user: dict[str, Any], cloud_user: dict[str, Any], anchor: str, at: datetime
) -> None:
    """Join an AD account to its cloud object and flow attributes.

    On a match the cloud object becomes on-prem-managed and every attribute with an on-prem value is
    overwritten; the sourceAnchor is stamped (domain.md §3). Exchange attributes (proxyAddresses, mail)
    flow only for accounts whose mailNickname is set (domain.md §3 last item, Microsoft Japan blog).
    When mS-DS-ConsistencyGuid is the anchor attribute and empty, Connect writes objectGUID into it
    (plan-connect-design-concepts.md).
    """
    cloud_user["on_premises_immutable_id"] = anchor
    cloud_user["on_premises_sync_enabled"] = True
    cloud_user["on_premises_last_sync_date_time"] = iso(at)
    cloud_user["on_premises_distinguished_name"] = user["distinguished_name"]
    if user.get("user_principal_name"):
        cloud_user["user_principal_name"] = _resilient_upn(world, cloud_user, user["user_principal_name"])
    if user.get("display_name"):
        cloud_user["display_name"] = user["display_name"]
    # accountEnabled is synced ("Attributes synchronized to Microsoft Entra ID"): after the link the cloud
    # account's sign-in follows AD (New-Mailbox.md: block sign-in in Entra until then).
    cloud_user["account_enabled"] = bool(user.get("enabled"))
    if user.get("mail_nickname"):
        if user.get("proxy_addresses"):
            cloud_user["proxy_addresses"] = merged_addresses(user["proxy_addresses"], cloud_user)
        if user.get("mail"):
            cloud_user["mail"] = user["mail"]
    settings = world["sync"]["settings"]
    if settings["anchor_attribute"] == ANCHOR_CONSISTENCY_GUID and not user.get("consistency_guid"):
        user["consistency_guid"] = user["object_guid"]
    _flow_to_exchange(world, user, cloud_user)


def _resilient_upn(world: dict[str, Any], cloud_user: dict[str, Any], upn: str) -> str:
    """The UPN a matched object takes: the account's, unless another object already holds it; then duplicate
    attribute resiliency quarantines it as `<OriginalPrefix>+<4DigitNumber>@<InitialTenantDomain>`
    (domain.md §7b item 13, how-to-connect-syncservice-duplicate-attribute-resiliency.md; the number is
    derived from the object id here, so a lab run is repeatable)."""
    taken = any(
        u is not cloud_user and str(u.get("user_principal_name", "")).lower() == upn.lower()
        for u in world["cloud"]["users"]
    )
    if not taken:
        return upn
    number = 1000 + uuid.UUID(cloud_user["id"]).int % 9000
    return f"{upn.split('@', 1)[0]}+{number}@{world['cloud']['tenant']['initial_domain']}"


def merged_addresses(
    on_prem: list[str], cloud_object: dict[str, Any], key: str = "proxy_addresses"
) -> list[str]:
    """The on-premises proxyAddresses win (domain.md §3: on a match every attribute with an on-prem value is
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
    """The cloud mailbox side of a sync: an existing mailbox becomes dir-synced and takes the on-prem
    Exchange attributes; a New-RemoteMailbox account gets its cloud mailbox (domain.md §5,
    New-RemoteMailbox.md: "the mailbox is created in EXO by directory sync")."""
    mailbox = next(
        (m for m in world["exo"]["mailboxes"] if m.get("external_directory_object_id") == cloud_user["id"]),
        None,
    )
    remote = user.get("remote_mailbox")
    if mailbox is None and remote:
        mailbox = {
            "alias": user.get("mail_nickname") or user["sam_account_name"],
            "name": user.get("name") or user["sam_account_name"],
            "display_name": user.get("display_name"),
            "primary_smtp_address": primary_smtp(user.get("proxy_addresses", [])) or user.get("mail") or "",
            "recipient_type_details": MAILBOX_TYPES.get(remote.get("type", "room"), "RoomMailbox"),
            "email_addresses": list(user.get("proxy_addresses", [])),
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
            mailbox["email_addresses"] = merged_addresses(user["proxy_addresses"], mailbox, "email_addresses")
            mailbox["primary_smtp_address"] = (
                primary_smtp(user["proxy_addresses"]) or mailbox["primary_smtp_address"]
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


# --- leases ---------------------------------------------------------------------------------------------


def lease_state(world: dict[str, Any], *, restored: bool = False) -> dict[str, Any]:
    """The LeaseSet document (pswrap/results/models.py)."""
    sync = world["sync"]
    prior = sync.get("lease_prior")
    prior_enabled = None if prior is None else bool(prior["sync_cycle_enabled"])
    return {
        "leases": [
            {
                "name": lease["name"],
                "deadline_utc": lease["deadline_utc"],
                "prior_sync_cycle_enabled": lease["prior_sync_cycle_enabled"],
            }
            for lease in sync.get("leases", [])
        ],
        "prior_sync_cycle_enabled": prior_enabled,
        "sync_cycle_enabled": bool(sync["scheduler"]["sync_cycle_enabled"]),
        "restored": restored,
    }


def install_lease(world: dict[str, Any], name: str, deadline: datetime, at: datetime) -> None:
    """Overlapping leases record the scheduler state before the first one, once (DESIGN.md, workflows:
    `scheduler` hold), and pause the scheduler (Set-ADSyncScheduler -SyncCycleEnabled $false, §2)."""
    sync = world["sync"]
    if sync.get("lease_prior") is None:
        sync["lease_prior"] = {
            "sync_cycle_enabled": bool(sync["scheduler"]["sync_cycle_enabled"]),
            "recorded_utc": iso(at),
        }
    prior = bool(sync["lease_prior"]["sync_cycle_enabled"])
    existing = next((lease for lease in sync["leases"] if lease["name"] == name), None)
    if existing is not None:
        existing["deadline_utc"] = iso(deadline)
    else:
        sync["leases"].append(
            {"name": name, "deadline_utc": iso(deadline), "prior_sync_cycle_enabled": prior}
        )
    set_sync_cycle_enabled(world, False, at)


def remove_lease(world: dict[str, Any], name: str, at: datetime) -> bool:
    """Remove a lease; only the end of the last one restores the recorded state. True when restored."""
    sync = world["sync"]
    before = len(sync["leases"])
    sync["leases"] = [lease for lease in sync["leases"] if lease["name"] != name]
    if len(sync["leases"]) == before or sync["leases"]:
        return False
    prior = sync.get("lease_prior")
    sync["lease_prior"] = None
    if prior is None:
        return False
    set_sync_cycle_enabled(world, bool(prior["sync_cycle_enabled"]), at)
    return True


def fire_due_leases(world: dict[str, Any], at: datetime) -> None:
    """A lease whose deadline passed on the lab's clock runs its one-shot task: it removes itself and,
    if it was the last, restores the recorded scheduler state (DESIGN.md, workflows)."""
    for lease in list(world["sync"]["leases"]):
        if parse_time(lease["deadline_utc"]) <= at:
            remove_lease(world, lease["name"], at)
