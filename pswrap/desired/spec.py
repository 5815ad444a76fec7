"""The desired state of one resource mailbox, as an admin declares it (`pswrap mailbox apply`).

One pydantic model, each field documented (`pswrap mailbox schema` prints its JSON Schema). The rules,
decided here once:

- Only fields that are given are managed: a field left out (None) is left alone.
- A list field replaces the whole list by default; `{add: [...]}` / `{remove: [...]}` change only those
  members.
- Principals (resource delegates, book-in policy) are given as UPN, SMTP address or alias and compared by
  the directory object they resolve to.
- The alias is the identity: a different alias is a different mailbox (renames are out of scope).
- `state: absent` removes the mailbox the way `pswrap mailbox remove` does (docs/lifecycle.md); the other
  fields are then ignored.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MailboxType = Literal["room", "equipment", "shared"]
AutomateProcessing = Literal["AutoAccept", "AutoUpdate", "None"]


class ListEdit(BaseModel):
    """Change only some members of a list: `{add: [...]}`, `{remove: [...]}` or both."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    add: list[str] = Field(default_factory=list, description="Members to add when missing.")
    remove: list[str] = Field(default_factory=list, description="Members to remove when present.")

    def apply(self, current: list[str], key: Any = str.lower) -> list[str]:
        """The list after the edit, in the current order, new members last."""
        removed = {key(x) for x in self.remove}
        out = [x for x in current if key(x) not in removed]
        present = {key(x) for x in out}
        for item in self.add:
            if key(item) not in present and key(item) not in removed:
                out.append(item)
                present.add(key(item))
        return out


ListField = list[str] | ListEdit
"""A list: the whole list (replaced), or `{add, remove}` (only those members change)."""

# Part 2's sections (permissions, place) need ListEdit above.
from pswrap.desired.spec_access import ACCESS_LIST_FIELDS, PermissionsSpec, PlaceSpec  # noqa: E402


class CalendarSpec(BaseModel):
    """How the resource's calendar handles meeting requests (Set-CalendarProcessing). Rooms and equipment
    only. Each field left out is left as it is."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    automate_processing: AutomateProcessing | None = Field(
        None,
        description="AutomateProcessing: AutoAccept (the resource booking assistant accepts or declines), "
        "AutoUpdate (only tentative placement), None (no processing).",
    )
    booking_window_days: int | None = Field(
        None, ge=0, le=1080, description="BookingWindowInDays: how far ahead it can be booked (0-1080)."
    )
    max_duration_minutes: int | None = Field(
        None, ge=0, le=2147483647, description="MaximumDurationInMinutes: the longest meeting accepted."
    )
    allow_conflicts: bool | None = Field(None, description="AllowConflicts: accept overlapping meetings.")
    allow_recurring_meetings: bool | None = Field(
        None, description="AllowRecurringMeetings: accept recurring meetings."
    )
    resource_delegates: ListField | None = Field(
        None,
        description="ResourceDelegates: who may approve or decline requests sent to the resource (UPN, "
        "SMTP address or alias).",
    )
    all_book_in_policy: bool | None = Field(
        None, description="AllBookInPolicy: accept in-policy requests from everyone."
    )
    book_in_policy: ListField | None = Field(
        None,
        description="BookInPolicy: who may book in-policy requests automatically (UPN, SMTP address or "
        "alias).",
    )
    add_organizer_to_subject: bool | None = Field(
        None, description="AddOrganizerToSubject: put the organizer's name in the subject."
    )
    delete_comments: bool | None = Field(
        None, description="DeleteComments: remove the text body of incoming requests."
    )
    delete_subject: bool | None = Field(
        None, description="DeleteSubject: remove the subject of incoming requests."
    )
    process_external_meeting_messages: bool | None = Field(
        None, description="ProcessExternalMeetingMessages: process requests from outside the organization."
    )

    def given(self) -> dict[str, Any]:
        """The managed fields: those given (not None)."""
        return {k: v for k, v in self if v is not None}


class MailboxSpec(BaseModel):
    """One resource mailbox: its identity (used to create it when missing) and its calendar processing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    alias: str = Field(
        ...,
        min_length=1,
        max_length=64,
        description="The mailbox alias (mailNickname): its identity. A different alias is a different "
        "mailbox; renames are out of scope.",
    )
    state: Literal["present", "absent"] = Field(
        "present",
        description="present (the default), or absent: remove the mailbox through sync as `pswrap mailbox "
        "remove` does (the AD account deleted, the mailbox soft-deleted, restorable for 30 days).",
    )
    name: str | None = Field(
        None,
        max_length=64,
        description="Name (default: the alias). Once linked it is the AD object's name, which pswrap does "
        "not rename: a different one is reported as drift.",
    )
    type: MailboxType | None = Field(None, description="room (the default), equipment or shared.")
    display_name: str | None = Field(None, description="Display name (default: the name).")
    sam: str | None = Field(None, description="sAMAccountName of the AD account (default: the alias).")
    upn: str | None = Field(
        None,
        description="UPN of the AD account (default: alias@UPN suffix); once linked, a different UPN is "
        "reported as drift, never changed.",
    )
    email: str | None = Field(None, description="Primary SMTP address (default: the UPN).")
    addresses: ListField | None = Field(
        None,
        description="Extra SMTP addresses besides the primary one (other address types are kept).",
    )
    ou: str | None = Field(
        None,
        description="OU of the AD account (default: the target's resource OU); once linked, an account "
        "elsewhere is reported as drift, never moved.",
    )
    capacity: int | None = Field(None, ge=0, description="Room capacity (rooms only).")
    calendar: CalendarSpec | None = Field(
        None, description="Calendar processing (rooms and equipment); left out: left alone."
    )
    # -- part 2: permissions, place data, room lists, visibility (pswrap/desired/spec_access.py) --
    permissions: PermissionsSpec | None = Field(
        None, description="FullAccess, SendAs, SendOnBehalf and calendar folder rights."
    )
    place: PlaceSpec | None = Field(None, description="Room Finder's place data (Set-Place); rooms only.")
    room_lists: ListField | None = Field(
        None,
        description="Room lists (distribution groups created with -RoomList) the room is a member of, "
        "by name, alias or SMTP address. Rooms only.",
    )
    create_room_lists: bool = Field(
        False, description="Create a room list that does not exist yet (otherwise: exit 2 naming it)."
    )
    hidden_from_address_lists: bool | None = Field(
        None, description="HiddenFromAddressListsEnabled, where the mastering table lets it be written."
    )
    workspace: bool | None = Field(
        None,
        description="A room booked as a workspace (Set-Mailbox -Type Workspace, cloud-only): not settable "
        "on a synced room whose Exchange attributes AD masters. Rooms only.",
    )

    @field_validator("alias")
    @classmethod
    def _alias_has_no_spaces(cls, value: str) -> str:
        if value != value.strip() or " " in value:
            raise ValueError("an alias has no spaces")
        return value

    def managed(self) -> dict[str, Any]:
        """Every managed field by its dotted name (`calendar.booking_window_days`), identity included."""
        out: dict[str, Any] = {}
        for key, value in self:
            if key in ("calendar", "permissions", "place") and value is not None:
                out.update({f"{key}.{k}": v for k, v in value.given().items()})
            elif key == "create_room_lists":
                continue
            elif value is not None and key != "state":
                out[key] = value
        return out


LIST_FIELDS = frozenset(
    {"addresses", "calendar.resource_delegates", "calendar.book_in_policy", *ACCESS_LIST_FIELDS}
)
"""Fields holding lists (CSV cells split on `;`)."""

PRINCIPAL_FIELDS = ("calendar.resource_delegates", "calendar.book_in_policy")


def json_schema() -> dict[str, Any]:
    """The JSON Schema of one spec (`pswrap mailbox schema`)."""
    schema = MailboxSpec.model_json_schema()
    schema["$id"] = "https://pswrap.invalid/schemas/mailbox-spec.json"
    return schema
