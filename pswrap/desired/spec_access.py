"""The spec sections of part 2: permissions, place data, room lists and visibility.

Same rules as the rest of the spec (pswrap/desired/spec.py): a field left out is left alone; a list
replaces the whole list unless given as `{add: [...]}` / `{remove: [...]}`; principals are named by UPN,
SMTP address or alias and compared by the directory object they resolve to.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pswrap.desired.spec import ListEdit, ListField

FolderRight = Literal[
    "None",
    "AvailabilityOnly",
    "LimitedDetails",
    "Reviewer",
    "Contributor",
    "NonEditingAuthor",
    "Author",
    "PublishingAuthor",
    "Editor",
    "PublishingEditor",
    "Owner",
]
"""The calendar folder roles of Add-MailboxFolderPermission -AccessRights (Learn page, AccessRights)."""

SPECIAL_USERS = ("Default", "Anonymous")
"""The folder's built-in entries: always present, set but never removed."""


def _rights_mapping(value: Any) -> Any:
    """`user:Right` strings (a CSV cell split on `;`, or one string) as a mapping."""
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        out: dict[str, str] = {}
        for item in value:
            user, sep, right = item.rpartition(":")
            if not sep or not user.strip():
                raise ValueError(f"{item!r} is not user:Right (e.g. Default:LimitedDetails)")
            out[user.strip()] = right.strip()
        return out
    return value


class CalendarRightsEdit(BaseModel):
    """Change only some entries: `{add: {user: Right}, remove: [user]}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    add: dict[str, FolderRight] = Field(default_factory=dict, description="Entries to add or set.")
    remove: list[str] = Field(default_factory=list, description="Users whose entry is removed.")

    @field_validator("add", mode="before")
    @classmethod
    def _add(cls, value: Any) -> Any:
        return _rights_mapping(value)


CalendarRights = dict[str, FolderRight] | CalendarRightsEdit


class PermissionsSpec(BaseModel):
    """Who may open, send as, send on behalf of, and see the calendar of this mailbox."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    full_access: ListField | None = Field(
        None, description="FullAccess (Add-/Remove-MailboxPermission): who may open the mailbox."
    )
    automapping: bool = Field(
        True,
        description="AutoMapping of the FullAccess grants pswrap adds (Outlook opens the mailbox by "
        "itself). Used when granting; Exchange does not report it back, so it is not compared.",
    )
    send_as: ListField | None = Field(
        None, description="SendAs (Add-/Remove-RecipientPermission): who may send as the mailbox."
    )
    send_on_behalf: ListField | None = Field(
        None,
        description="GrantSendOnBehalfTo (Exchange Online) / publicDelegates (AD, when the Exchange "
        "attributes are mastered on-premises): who may send on behalf of the mailbox.",
    )
    calendar_permissions: CalendarRights | None = Field(
        None,
        description="Calendar folder rights (Add-/Set-/Remove-MailboxFolderPermission), user -> role, "
        "e.g. {Default: LimitedDetails, deleg1: Editor}. A mapping replaces every named user's entry "
        "(Default and Anonymous are only set, never removed); {add, remove} changes only those.",
    )

    @field_validator("calendar_permissions", mode="before")
    @classmethod
    def _calendar(cls, value: Any) -> Any:
        return _rights_mapping(value)

    def given(self) -> dict[str, Any]:
        return {k: v for k, v in self if v is not None and k != "automapping"}


class PlaceSpec(BaseModel):
    """Room Finder's data about a room (Set-Place). Rooms only."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    building: str | None = Field(None, description="Building (Set-Place -Building).")
    floor: int | None = Field(None, description="Floor number (Set-Place -Floor).")
    floor_label: str | None = Field(None, description="Floor label (Set-Place -FloorLabel).")
    capacity: int | None = Field(None, ge=0, description="Seats (Set-Place -Capacity).")
    tags: ListField | None = Field(None, description="Features, e.g. Whiteboard (Set-Place -Tags).")
    is_wheelchair_accessible: bool | None = Field(
        None, description="Wheelchair accessible (Set-Place -IsWheelChairAccessible)."
    )
    audio_device_name: str | None = Field(None, description="Audio device (Set-Place -AudioDeviceName).")
    video_device_name: str | None = Field(None, description="Video device (Set-Place -VideoDeviceName).")
    display_device_name: str | None = Field(
        None, description="Display device (Set-Place -DisplayDeviceName)."
    )
    street: str | None = Field(None, description="Street: Set-Place, or AD streetAddress on a synced room.")
    city: str | None = Field(None, description="City: Set-Place, or AD l on a synced room.")
    state: str | None = Field(None, description="State: Set-Place, or AD st on a synced room.")
    postal_code: str | None = Field(None, description="Postal code: Set-Place, or AD postalCode when synced.")
    country_or_region: str | None = Field(
        None, description="Country or region (ISO 3166 two-letter code): Set-Place, or AD c when synced."
    )
    phone: str | None = Field(None, description="Phone: Set-Place, or AD telephoneNumber on a synced room.")
    geo_coordinates: str | None = Field(
        None,
        description="GeoCoordinates 'latitude;longitude[;altitude]': Set-Place on a cloud-only room; "
        "not settable on a synced room.",
    )

    def given(self) -> dict[str, Any]:
        return {k: v for k, v in self if v is not None}


ACCESS_LIST_FIELDS = frozenset(
    {
        "permissions.full_access",
        "permissions.send_as",
        "permissions.send_on_behalf",
        "permissions.calendar_permissions",
        "place.tags",
        "room_lists",
    }
)
"""Part 2's list fields (CSV cells split on `;`; calendar permissions as `user:Right`)."""


def principals_in(permissions: PermissionsSpec | None) -> list[str]:
    """Every principal the permissions name (Default and Anonymous are not principals)."""
    if permissions is None:
        return []
    names: list[str] = []
    for value in (permissions.full_access, permissions.send_as, permissions.send_on_behalf):
        if isinstance(value, ListEdit):
            names.extend([*value.add, *value.remove])
        elif value is not None:
            names.extend(value)
    rights = permissions.calendar_permissions
    if isinstance(rights, CalendarRightsEdit):
        names.extend([*rights.add, *rights.remove])
    elif rights is not None:
        names.extend(rights)
    return [n for n in names if n not in SPECIAL_USERS]
