"""Place data (Get-/Set-Place) and room lists (Get-/New-DistributionGroup -RoomList, Get-/Add-/Remove-
DistributionGroupMember): the steps of desired state part 2.

World paths this module adds (all optional, so an older world still loads):
- a mailbox's `place`: the Set-Place values by spec name (`building`, `floor`, ...); the capacity is the
  mailbox's `resource_capacity` (Set-Place -Capacity and Set-Mailbox -ResourceCapacity set one value);
- `exo.room_lists`: `[{"name", "alias", "primary_smtp_address", "guid", "is_dir_synced", "members": [id]}]`,
  members by ExternalDirectoryObjectId.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from pswrap.lab.dispatch import Invocation, PSError
from pswrap.lab.handlers.access import _Outcome, mailbox_or_not_found, not_found, object_id
from pswrap.lab.handlers.mastering import _synced_refusal, cloud_managed, mailbox_by
from pswrap.lab.handlers.pipeline import step

PLACE_PARAMETERS = {
    "Building": "building",
    "Floor": "floor",
    "FloorLabel": "floor_label",
    "Capacity": "capacity",
    "Tags": "tags",
    "IsWheelChairAccessible": "is_wheelchair_accessible",
    "AudioDeviceName": "audio_device_name",
    "VideoDeviceName": "video_device_name",
    "DisplayDeviceName": "display_device_name",
    "Street": "street",
    "City": "city",
    "State": "state",
    "PostalCode": "postal_code",
    "CountryOrRegion": "country_or_region",
    "Phone": "phone",
    "GeoCoordinates": "geo_coordinates",
}

SYNCED_REFUSED = ("City", "CountryOrRegion", "GeoCoordinates", "Phone", "PostalCode", "State", "Street")
"""Set-Place (Learn page, description): "In hybrid environments, this cmdlet doesn't work on the following
properties on synchronized room mailboxes: City, CountryOrRegion, GeoCoordinates, Phone, PostalCode,
State, or Street." Microsoft gives no error text: the lab answers with Exchange Online's on-premises
refusal (the mastering handlers' community-known form), the conservative reading of "doesn't work"."""


def _room(world: dict[str, Any], identity: str, cmdlet: str) -> dict[str, Any]:
    """Set-Place and Get-Place work on room mailboxes (Learn: "update room mailboxes with additional
    metadata"); another mailbox is not a place: the lab answers not found."""
    mailbox = mailbox_or_not_found(world, identity, cmdlet)
    if mailbox.get("recipient_type_details") != "RoomMailbox":
        raise not_found(cmdlet, identity)
    return mailbox


def place_of(mailbox: dict[str, Any]) -> dict[str, Any]:
    place: dict[str, Any] = {key: None for key in PLACE_PARAMETERS.values()}
    place.update(mailbox.get("place") or {})
    place["tags"] = list(place.get("tags") or [])
    place["capacity"] = mailbox.get("resource_capacity")
    place["type"] = mailbox.get("resource_type") or "Room"
    return place


@step("exo/get-place", need="exo")
def get_place(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Get-Place -Identity (not found is `found: false`, the template catches it)."""
    try:
        mailbox = _room(world, str(inv.params.get("Identity") or ""), "Get-Place")
    except PSError:
        return {"found": False, "place": None}
    return {"found": True, "place": place_of(mailbox)}


@step("exo/set-place", need="exo")
def set_place(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Set-Place with the given parameters, each refusal on its own as the template reports them."""
    identity = str(inv.params.get("Identity") or "")
    mailbox = _room(world, identity, "Set-Place")
    out = _Outcome()
    for parameter, key in PLACE_PARAMETERS.items():
        if parameter in inv.params:
            value = inv.params[parameter]
            out.attempt(parameter, "", lambda p=parameter, k=key, v=value: _set(mailbox, identity, p, k, v))
    return out.result()


def _set(mailbox: dict[str, Any], identity: str, parameter: str, key: str, value: Any) -> None:
    if parameter in SYNCED_REFUSED and mailbox.get("is_dir_synced"):
        raise _synced_refusal("Set-Place", parameter, identity)
    if parameter == "Capacity":
        mailbox["resource_capacity"] = int(value)
        return
    if parameter == "Tags":
        value = [str(t) for t in value or []]
    mailbox.setdefault("place", {})[key] = value


# --- room lists ---------------------------------------------------------------------------------------


def room_lists(world: dict[str, Any]) -> list[dict[str, Any]]:
    return world["exo"].setdefault("room_lists", [])  # type: ignore[no-any-return]


def _list_by(world: dict[str, Any], identity: str, cmdlet: str) -> dict[str, Any]:
    wanted = identity.strip().lower()
    hits = [
        g
        for g in room_lists(world)
        if wanted in {str(g.get(k) or "").lower() for k in ("name", "alias", "primary_smtp_address", "guid")}
    ]
    if len(hits) != 1:
        raise not_found(cmdlet, identity)
    return hits[0]


@step("exo/get-room-lists", need="exo")
def get_room_lists(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Get-Recipient -Identity (the mailbox), Get-DistributionGroup -RecipientTypeDetails RoomList, and
    Get-DistributionGroupMember for each; the named lists are matched as the template does."""
    mailbox = mailbox_by(world, str(inv.params.get("Identity") or ""))
    me = None if mailbox is None else mailbox.get("external_directory_object_id")
    lists = [
        {
            "name": g["name"],
            "alias": g.get("alias"),
            "primary_smtp_address": g.get("primary_smtp_address"),
            "is_dir_synced": bool(g.get("is_dir_synced")),
            "member": me is not None and me in (g.get("members") or []),
        }
        for g in world["exo"].get("room_lists") or []  # a read creates nothing
    ]
    named = []
    for wanted in inv.params.get("Names") or []:
        w = str(wanted).lower()
        hits = [
            g
            for g in lists
            if w in {str(g.get(k) or "").lower() for k in ("name", "alias", "primary_smtp_address")}
        ]
        named.append(
            {
                "identity": str(wanted),
                "found": len(hits) == 1,
                "matches": len(hits),
                "name": hits[0]["name"] if len(hits) == 1 else None,
            }
        )
    return {"lists": lists, "named": named}


@step("exo/set-room-lists", need="exo")
def set_room_lists(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """New-DistributionGroup -Name -RoomList, Add-/Remove-DistributionGroupMember -Identity -Member."""
    identity = str(inv.params.get("Identity") or "")
    out = _Outcome()
    for name in inv.params.get("Create") or []:
        out.attempt("room_lists", str(name), lambda n=str(name): _create(world, n))
    for name in inv.params.get("AddTo") or []:
        out.attempt("room_lists", str(name), lambda n=str(name): _membership(world, n, identity, add=True))
    for name in inv.params.get("RemoveFrom") or []:
        out.attempt("room_lists", str(name), lambda n=str(name): _membership(world, n, identity, add=False))
    if not out.given:
        out.given.append("room_lists")
    return out.result()


def _create(world: dict[str, Any], name: str) -> None:
    """New-DistributionGroup -Name -RoomList: the alias is the name without characters an alias may not
    hold, the address <alias>@<tenant's initial domain> (the service's default when none is given)."""
    alias = re.sub(r"[^A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]", "", name) or "roomlist"
    tenant = world["cloud"]["tenant"]["initial_domain"]
    room_lists(world).append(
        {
            "name": name,
            "alias": alias,
            "primary_smtp_address": f"{alias}@{tenant}",
            "guid": str(uuid.uuid4()),
            "is_dir_synced": False,
            "members": [],
        }
    )


def _membership(world: dict[str, Any], name: str, member: str, *, add: bool) -> None:
    """A synced group's membership is AD's: Exchange Online refuses the change (the on-premises refusal
    form). Adding a member already there, or removing one that is not, is an error in Exchange whose text
    the lab has no transcript of: the lab lets it pass (pswrap sends only real differences)."""
    cmdlet = "Add-DistributionGroupMember" if add else "Remove-DistributionGroupMember"
    group = _list_by(world, name, cmdlet)
    if group.get("is_dir_synced"):
        raise _synced_refusal(cmdlet, "Member", name)
    oid = object_id(world, cmdlet, member)
    members = group.setdefault("members", [])
    if add and oid not in members:
        members.append(oid)
    elif not add and oid in members:
        members.remove(oid)


@step("exo/set-mailbox-type", need="exo")
def set_mailbox_type(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Set-Mailbox -Type Workspace|Room on a room (Set-Mailbox, parameter Type: "Workspace (cloud-only)").
    On a synced room whose Exchange attributes AD masters it is refused with Exchange Online's on-premises
    refusal (the type is msExchRecipientTypeDetails, mastered on-premises; docs/mastering.md)."""
    identity = str(inv.params.get("Identity") or "")
    mailbox = _room(world, identity, "Set-Mailbox")
    out = _Outcome()

    def convert() -> None:
        if mailbox.get("is_dir_synced") and not cloud_managed(mailbox):
            raise _synced_refusal("Set-Mailbox", "Type", identity)
        mailbox["resource_type"] = str(inv.params.get("Type"))

    out.attempt("Type", "", convert)
    return out.result()
