"""The desired-state steps: Exchange Online calendar processing (Get-/Set-CalendarProcessing), principal
resolution (Get-Recipient -Identity), and the bulk reads of `mailbox list` (Get-EXOMailbox
-RecipientTypeDetails, Get-ADUser -LDAPFilter, Get-MgUser -Filter).

A mailbox's settings live in `exo.mailboxes[].calendar_processing` (created on first write; until then
the documented defaults apply). Recipients in ResourceDelegates and BookInPolicy are stored as the
recipient's ExternalDirectoryObjectId, the directory object they name.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pswrap.lab.dispatch import Invocation, PSError
from pswrap.lab.handlers import records
from pswrap.lab.handlers.directory import bare, mailbox_document, recipients
from pswrap.lab.handlers.pipeline import step

# Set-CalendarProcessing (Learn page, PARAMETERS): the defaults of a resource mailbox's settings.
# - AutomateProcessing: AutoAccept on resource mailboxes, AutoUpdate on the others. Resource mailboxes
#   created in Exchange Online after 2018 start with AutoAccept (the page's AutomateProcessing section);
#   the lab creates every mailbox now, so a room or equipment mailbox starts with AutoAccept.
# - BookingWindowInDays 180 (valid 0 to 1080); MaximumDurationInMinutes 1440 (24 hours);
#   AllowConflicts $false; AllowRecurringMeetings $true; AllBookInPolicy $true; BookInPolicy and
#   ResourceDelegates empty; AddOrganizerToSubject $true; DeleteComments $true; DeleteSubject $true;
#   ProcessExternalMeetingMessages $false.
DEFAULTS: dict[str, Any] = {
    "booking_window_in_days": 180,
    "maximum_duration_in_minutes": 1440,
    "allow_conflicts": False,
    "allow_recurring_meetings": True,
    "all_book_in_policy": True,
    "add_organizer_to_subject": True,
    "delete_comments": True,
    "delete_subject": True,
    "process_external_meeting_messages": False,
    "resource_delegates": [],
    "book_in_policy": [],
}
RESOURCE_TYPES = ("RoomMailbox", "EquipmentMailbox")

PARAMETERS = {
    "AutomateProcessing": "automate_processing",
    "BookingWindowInDays": "booking_window_in_days",
    "MaximumDurationInMinutes": "maximum_duration_in_minutes",
    "AllowConflicts": "allow_conflicts",
    "AllowRecurringMeetings": "allow_recurring_meetings",
    "ResourceDelegates": "resource_delegates",
    "AllBookInPolicy": "all_book_in_policy",
    "BookInPolicy": "book_in_policy",
    "AddOrganizerToSubject": "add_organizer_to_subject",
    "DeleteComments": "delete_comments",
    "DeleteSubject": "delete_subject",
    "ProcessExternalMeetingMessages": "process_external_meeting_messages",
}

REFUSALS_PATH = ("exo", "calendar_refusals")
"""A scenario setting (`pswrap lab set exo.calendar_refusals='{"AllowConflicts": "..."}'`): the
parameters this tenant refuses, each with the error text to report (given by the test, as the lab's
`fail:` faults take theirs). Microsoft documents no tenant policy that refuses one of these settings,
so the lab invents none: without the setting nothing is refused."""


def settings_of(mailbox: dict[str, Any]) -> dict[str, Any]:
    """The mailbox's calendar processing: what was written, over the documented defaults."""
    automate = "AutoAccept" if mailbox.get("recipient_type_details") in RESOURCE_TYPES else "AutoUpdate"
    stored = mailbox.get("calendar_processing") or {}
    return {"automate_processing": automate, **DEFAULTS, **stored}


def _find_mailbox(world: dict[str, Any], identity: str) -> dict[str, Any] | None:
    wanted = identity.strip().lower()
    for mailbox in world["exo"]["mailboxes"]:
        names = {
            str(mailbox.get(k) or "").lower()
            for k in ("alias", "name", "primary_smtp_address", "user_principal_name")
        }
        if wanted in names or bare(wanted) in {bare(a) for a in mailbox.get("email_addresses") or []}:
            return mailbox  # type: ignore[no-any-return]
    return None


def _recipient_matches(world: dict[str, Any], identity: str) -> list[dict[str, Any]]:
    """Get-Recipient -Identity: by alias, name, any proxy address, the user's UPN or the object id."""
    wanted = identity.strip().lower()
    upns = {u["id"]: str(u["user_principal_name"]).lower() for u in world["cloud"]["users"]}
    hits = []
    for r in recipients(world):
        object_id = str(r.get("external_directory_object_id") or "")
        names = {str(r.get("alias") or "").lower(), str(r.get("name") or "").lower(), object_id.lower()}
        names.add(upns.get(object_id, ""))
        if wanted in names or bare(wanted) in {bare(a) for a in r["email_addresses"]}:
            hits.append(r)
    return hits


def _principal(world: dict[str, Any], identity: str) -> dict[str, Any]:
    hits = _recipient_matches(world, identity)
    entry: dict[str, Any] = {"identity": identity, "found": len(hits) == 1, "matches": len(hits)}
    if len(hits) == 1:
        r = hits[0]
        entry.update(
            alias=r.get("alias"),
            name=r.get("name"),
            primary_smtp_address=r.get("primary_smtp_address"),
            external_directory_object_id=r.get("external_directory_object_id"),
            guid=r.get("external_directory_object_id"),
        )
    return entry


def _listed(world: dict[str, Any], object_ids: list[str]) -> list[dict[str, Any]]:
    """Stored recipients as Get-CalendarProcessing lists them (by name), resolved again like the
    template does."""
    out = []
    for object_id in object_ids:
        holder = next(
            (r for r in recipients(world) if r.get("external_directory_object_id") == object_id), None
        )
        out.append(_principal(world, str(holder.get("name") or object_id) if holder else object_id))
    return out


@step("exo/get-calendar-processing", need="exo")
def get_calendar_processing(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Get-CalendarProcessing -Identity (not found is `found: false`, the template catches it), then
    Get-Recipient -Identity for each principal asked for."""
    principals = [_principal(world, str(p)) for p in inv.params.get("Principals") or []]
    mailbox = _find_mailbox(world, str(inv.params.get("Identity") or ""))
    if mailbox is None:
        return {"found": False, "calendar": None, "principals": principals}
    settings = settings_of(mailbox)
    calendar = {
        **settings,
        "resource_delegates": _listed(world, settings["resource_delegates"]),
        "book_in_policy": _listed(world, settings["book_in_policy"]),
    }
    return {"found": True, "calendar": calendar, "principals": principals}


def _refusal(world: dict[str, Any], parameter: str) -> str | None:
    refusals = world.get(REFUSALS_PATH[0], {}).get(REFUSALS_PATH[1]) or {}
    message = refusals.get(parameter)
    return None if message is None else str(message)


def _value(world: dict[str, Any], parameter: str, value: Any) -> Any:
    """The value stored for a parameter; recipients by object id. An unknown recipient is Exchange's
    not-found error (records.exchange_object_not_found, the closest documented form)."""
    if parameter in ("ResourceDelegates", "BookInPolicy"):
        ids = []
        for name in value or []:
            hits = _recipient_matches(world, str(name))
            if len(hits) != 1:
                raise records.exchange_object_not_found("Set-CalendarProcessing", str(name), "LAB0PR01MB0001")
            ids.append(hits[0]["external_directory_object_id"])
        return ids
    return value


@step("exo/set-calendar-processing", need="exo")
def set_calendar_processing(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Set-CalendarProcessing with the given parameters; as the template does, a refused parameter is
    reported on its own and the others are applied."""
    identity = str(inv.params.get("Identity") or "")
    mailbox = _find_mailbox(world, identity)
    if mailbox is None:
        raise records.exchange_object_not_found("Set-CalendarProcessing", identity, "LAB0PR01MB0001")
    given = {p: v for p, v in inv.params.items() if p in PARAMETERS}
    applied: list[str] = []
    refused: list[dict[str, Any]] = []
    stored = dict(mailbox.get("calendar_processing") or {})
    for parameter, value in given.items():
        message = _refusal(world, parameter)
        if message is not None:
            refused.append({"parameter": parameter, "message": message, "error_id": "PswrapLabRefused"})
            continue
        try:
            stored[PARAMETERS[parameter]] = _value(world, parameter, value)
        except PSError as exc:
            refused.append({"parameter": parameter, "message": str(exc), "error_id": "PswrapLabRefused"})
            continue
        applied.append(parameter)
    mailbox["calendar_processing"] = stored
    return {"applied": applied, "refused": refused}


@step("exo/list-mailboxes", need="exo")
def list_mailboxes(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Get-EXOMailbox -RecipientTypeDetails RoomMailbox,EquipmentMailbox,SharedMailbox -ResultSize
    Unlimited: every resource and shared mailbox in one read."""
    kinds = (*RESOURCE_TYPES, "SharedMailbox")
    found = [mailbox_document(m) for m in world["exo"]["mailboxes"] if m["recipient_type_details"] in kinds]
    return {"mailboxes": found}


@step("ad/list-users", need="ad")
def list_ad_users(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Get-ADUser -LDAPFilter '(mailNickname=*)' -SearchBase -ResultPageSize: the mail-enabled accounts
    in that OU and below (SearchScope Subtree, the default). A missing search base is AD's not-found."""
    from pswrap.lab.handlers.ad import check_credential, check_server, container_exists, user_document

    check_credential(inv, world, "Get-ADUser")
    check_server(inv, world, "Get-ADUser")
    base = str(inv.params.get("SearchBase") or "")
    if not container_exists(world, base):
        raise records.ad_container_not_found("Get-ADUser", base)
    suffix = "," + base.lower()
    users = [
        user_document(u)
        for u in world["ad"]["users"]
        if u.get("mail_nickname") and str(u["distinguished_name"]).lower().endswith(suffix)
    ]
    return {"users": users}


@step("graph/list-synced-users", need="graph")
def list_synced_users(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Get-MgUser -Filter 'onPremisesSyncEnabled eq true' -All: the synced users, with their anchors."""
    users = [
        {
            "id": u["id"],
            "user_principal_name": u["user_principal_name"],
            "display_name": u.get("display_name"),
            "on_premises_immutable_id": u.get("on_premises_immutable_id"),
            "on_premises_sync_enabled": u.get("on_premises_sync_enabled"),
        }
        for u in world["cloud"]["users"]
        if u.get("on_premises_sync_enabled") is True
    ]
    return {"users": users}
