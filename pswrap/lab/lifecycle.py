"""The rest of a mailbox's life in the lab: deletion through sync, retention, holds, the AD Recycle Bin, the
user source-of-authority switch and the export deletion threshold.

The sync engine (`pswrap.lab.sync_engine`) calls these rules at the points a real engine applies them;
the step handlers of `pswrap.lab.handlers.lifecycle` read and change the same world keys. Each rule names
the document it follows. World keys added by `add_lifecycle_defaults` (so `pswrap lab set` can stage them):

- `ad.recycle_bin_enabled` (false, the forest default) and `ad.deleted_objects` (deleted accounts kept
  with their attributes while the Recycle Bin is on);
- `exo.holds` (aliases of mailboxes under a hold) and `exo.inactive_mailboxes`;
- `sync.settings.deletion_threshold` `{enabled, count}` (on, 500 objects);
The app's Graph permissions are the world's `grants.graph_permissions` (pswrap.lab.grants).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pswrap.lab.world import iso, parse_time

RETENTION_DAYS = 30
"""Deleted Entra users and soft-deleted mailboxes are kept 30 days (Learn: "Restore or remove a recently
deleted user" (Microsoft Entra ID); "Delete or restore user mailboxes in Exchange Online")."""

DEFAULT_DELETION_THRESHOLD = 500
"""Learn: "Microsoft Entra Connect Sync: Prevent accidental deletes": on by default, 500 objects."""

THRESHOLD_RESULT = "stopped-deletion-threshold-exceeded"
"""The export run's status when the threshold stops it (same page: "You can also see the status
stopped-deletion-threshold-exceeded ... for the Export profile")."""

SOA_PERMISSION = "User-OnPremisesSyncBehavior.ReadWrite.All"
"""Learn: "Configure User Source of Authority (SOA) in Microsoft Entra ID (Preview)", prerequisites."""

def add_lifecycle_defaults(world: dict[str, Any]) -> dict[str, Any]:
    """Add the lifecycle keys to a fresh world (in place; returned for chaining)."""
    world["ad"].setdefault("recycle_bin_enabled", False)
    world["ad"].setdefault("deleted_objects", [])
    world["exo"].setdefault("holds", [])
    world["exo"].setdefault("inactive_mailboxes", [])
    world["sync"]["settings"].setdefault(
        "deletion_threshold", {"enabled": True, "count": DEFAULT_DELETION_THRESHOLD}
    )
    return world


# --- AD: deletion and the Recycle Bin -----------------------------------------------------------------


def delete_account(world: dict[str, Any], user: dict[str, Any], at: datetime) -> None:
    """Remove-ADUser. With the Recycle Bin on, the object is kept as a deleted object with all its
    attributes and can be restored (Learn: "Active Directory Recycle Bin" / "AD DS: Restore deleted
    objects"); without it, only a tombstone with most attributes stripped remains, which pswrap treats as
    gone (conservative: Microsoft documents tombstone reanimation only as an LDAP operation)."""
    world["ad"]["users"] = [u for u in world["ad"]["users"] if u is not user]
    if world["ad"].get("recycle_bin_enabled"):
        from pswrap.dn import parent_of

        kept = dict(user)
        kept["last_known_parent"] = parent_of(user["distinguished_name"])
        kept["deleted_utc"] = iso(at)
        world["ad"].setdefault("deleted_objects", []).append(kept)


def find_deleted_account(world: dict[str, Any], guid: str) -> dict[str, Any] | None:
    wanted = str(guid).strip("{}").lower()
    for kept in world["ad"].get("deleted_objects", []):
        if str(kept["object_guid"]).lower() == wanted:
            return dict(kept)
    return None


def restore_account(world: dict[str, Any], guid: str) -> dict[str, Any] | None:
    """Restore-ADObject: the same object (same objectGUID and attributes) back in its last known parent."""
    wanted = str(guid).strip("{}").lower()
    for kept in list(world["ad"].get("deleted_objects", [])):
        if str(kept["object_guid"]).lower() == wanted:
            world["ad"]["deleted_objects"].remove(kept)
            kept.pop("last_known_parent", None)
            kept.pop("deleted_utc", None)
            world["ad"]["users"].append(kept)
            return dict(kept)
    return None


# --- Exchange Online: soft-deleted and inactive mailboxes ---------------------------------------------


def park_mailbox(world: dict[str, Any], mailbox: dict[str, Any], at: datetime) -> None:
    """The mailbox of a deleted user: soft-deleted for 30 days ("Delete or restore user mailboxes in
    Exchange Online"), or, when a hold was on it before the deletion, inactive and kept as long as the
    hold lasts (Microsoft Purview: "Learn about inactive mailboxes")."""
    mailbox["when_soft_deleted"] = iso(at)
    holds = {str(a).lower() for a in world["exo"].get("holds", [])}
    if str(mailbox.get("alias", "")).lower() in holds:
        mailbox["is_inactive_mailbox"] = True
        world["exo"].setdefault("inactive_mailboxes", []).append(mailbox)
    else:
        world["exo"].setdefault("soft_deleted_mailboxes", []).append(mailbox)


def reconnect_mailboxes(world: dict[str, Any], cloud_user_id: str) -> None:
    """A user restored within the retention period gets its mailbox back ("Delete or restore user
    mailboxes in Exchange Online": restoring the user account restores the mailbox). For an inactive
    mailbox the lab does the same (inference, conservative in that nothing is lost: the hold kept it)."""
    for key in ("soft_deleted_mailboxes", "inactive_mailboxes"):
        for mailbox in list(world["exo"].get(key, [])):
            if mailbox.get("external_directory_object_id") == cloud_user_id:
                world["exo"][key].remove(mailbox)
                mailbox.pop("when_soft_deleted", None)
                mailbox.pop("is_inactive_mailbox", None)
                world["exo"]["mailboxes"].append(mailbox)


def purge_expired(world: dict[str, Any], at: datetime) -> None:
    """After 30 days a deleted user is permanently deleted and its soft-deleted mailbox purged; an inactive
    mailbox stays (pages above). Run by `catch_up` with the lab's clock."""
    limit = at - timedelta(days=RETENTION_DAYS)
    kept: list[dict[str, Any]] = []
    purged: set[str] = set()
    for user in world["cloud"].get("deleted_users", []):
        when = user.get("deleted_date_time")
        if when and parse_time(when) <= limit:
            purged.add(str(user["id"]))
        else:
            kept.append(user)
    world["cloud"]["deleted_users"] = kept
    soft = world["exo"].get("soft_deleted_mailboxes", [])
    world["exo"]["soft_deleted_mailboxes"] = [
        m
        for m in soft
        if str(m.get("external_directory_object_id")) not in purged
        and not (m.get("when_soft_deleted") and parse_time(m["when_soft_deleted"]) <= limit)
    ]


# --- Entra Connect: the deletion threshold and the source-of-authority switch --------------------------


def is_cloud_managed(cloud_user: dict[str, Any]) -> bool:
    """onPremisesSyncBehavior.isCloudManaged: Connect stamps blockOnPremisesSync on the connector object and
    later AD changes (moves out of scope and deletions included) no longer flow ("Configure User SOA")."""
    return bool(cloud_user.get("is_cloud_managed"))


def pending_deletions(world: dict[str, Any], anchors: set[str]) -> int:
    """How many synced cloud users the next export would delete (their account left scope or is gone)."""
    return sum(
        1
        for u in world["cloud"]["users"]
        if u.get("on_premises_sync_enabled")
        and not is_cloud_managed(u)
        and u.get("on_premises_immutable_id") not in anchors
    )


def threshold_stops(world: dict[str, Any], anchors: set[str]) -> bool:
    """The export stops when its deletions reach the threshold ("Prevent accidental deletes": "the number of
    deletions ... has reached or exceeded the configured deletion threshold"); nothing of that export is
    written until an admin confirms (there: disable the threshold for one run, then enable it again)."""
    threshold = world["sync"]["settings"].get("deletion_threshold") or {}
    if not threshold.get("enabled", True):
        return False
    count = int(threshold.get("count", DEFAULT_DELETION_THRESHOLD))
    deletions = pending_deletions(world, anchors)
    return deletions > 0 and deletions >= count


def deleted_until(cloud_user: dict[str, Any]) -> str | None:
    when = cloud_user.get("deleted_date_time")
    if not when:
        return None
    return iso(parse_time(when) + timedelta(days=RETENTION_DAYS))
