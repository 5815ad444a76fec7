"""Output models of part 2's desired-state steps: permissions (mailbox, recipient and calendar folder
permissions, send-on-behalf, visibility), place data (Get-/Set-Place) and room lists. Keys are the JSON
the templates' emitter writes and the lab's handlers return."""

from __future__ import annotations

from pswrap.results.base import PSList, PSModel
from pswrap.results.desired import Principal, RefusedSetting


class FolderRight(PSModel):
    """One entry of the calendar folder's permissions (Get-MailboxFolderPermission)."""

    user: str
    """Default, Anonymous, or the user as Exchange names it (its display name)."""
    access_rights: str
    principal: Principal | None = None
    """The recipient the entry names, resolved (None for Default and Anonymous)."""


class AccessRead(PSModel):
    """exo/get-access: who holds FullAccess, SendAs, send-on-behalf and calendar rights on a mailbox, its
    visibility and whether its Exchange attributes are cloud-managed, and the principals asked to be
    resolved, all in one pipeline."""

    found: bool
    hidden_from_address_lists: bool = False
    is_exchange_cloud_managed: bool = False
    full_access: PSList[Principal] = []
    send_as: PSList[Principal] = []
    send_on_behalf: PSList[Principal] = []
    calendar_permissions: PSList[FolderRight] = []
    principals: PSList[Principal] = []


class StepOutcome(PSModel):
    """A write step that goes on after a refusal: the fields applied, and each refusal with its field."""

    applied: PSList[str] = []
    refused: PSList[RefusedSetting] = []


class Place(PSModel):
    """The Get-Place fields pswrap manages (spec names)."""

    building: str | None = None
    floor: int | None = None
    floor_label: str | None = None
    capacity: int | None = None
    tags: PSList[str] = []
    is_wheelchair_accessible: bool | None = None
    audio_device_name: str | None = None
    video_device_name: str | None = None
    display_device_name: str | None = None
    street: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country_or_region: str | None = None
    phone: str | None = None
    geo_coordinates: str | None = None
    type: str | None = None
    """Room or Workspace (Get-Place's Type)."""


class PlaceRead(PSModel):
    """exo/get-place."""

    found: bool
    place: Place | None = None


class RoomList(PSModel):
    name: str
    alias: str | None = None
    primary_smtp_address: str | None = None
    is_dir_synced: bool = False
    member: bool = False
    """Whether the mailbox read is one of its members."""


class NamedList(PSModel):
    """A room list as the spec names it, and the list it matched."""

    identity: str
    found: bool
    matches: int = 0
    name: str | None = None


class RoomListsRead(PSModel):
    """exo/get-room-lists: every room list with whether the mailbox is a member, and the lists named."""

    lists: PSList[RoomList] = []
    named: PSList[NamedList] = []


class AdAttributes(PSModel):
    """ad/get-resource-attributes: the AD account's address attributes and publicDelegates, and each
    principal asked for resolved in AD (identity: as given, guid: objectGUID, name: its DN)."""

    found: bool
    distinguished_name: str | None = None
    street: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country_or_region: str | None = None
    phone: str | None = None
    display_name: str | None = None
    """displayName: a synced mailbox's display name is mastered here (docs/mastering.md)."""
    mail: str | None = None
    proxy_addresses: PSList[str] = []
    """Every address, `SMTP:` marking the primary; X500 and other types as stored."""
    exchange_schema: bool = False
    """Whether the forest's schema has the Exchange attributes (msExchHideFromAddressLists among them)."""
    hidden_from_address_lists: bool | None = None
    """msExchHideFromAddressLists, read only in a forest with the Exchange schema (None otherwise)."""
    public_delegates: PSList[Principal] = []
    """Each DN in publicDelegates, resolved to its account (guid: objectGUID, primary address: mail)."""
    principals: PSList[Principal] = []
