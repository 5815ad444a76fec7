"""The steps of part 2 of the desired-state engine: permissions, place data, room lists, and the AD
attributes a synced room keeps on-premises. One read step per area (a single pipeline), one write step per
area that reports each refusal with its field and goes on with the others. The contract with its template
and lab handler as in runbook.py.
"""

from __future__ import annotations

from pswrap.results import access as a
from pswrap.steps import readback_access as rb
from pswrap.steps.model import Param, Profile, Step

MODERN: tuple[Profile, ...] = ("modern",)

PLACE_PARAMETERS: tuple[tuple[str, str, str], ...] = (
    # (spec field under place., Set-Place parameter, its type in the param() block)
    ("building", "Building", "string"),
    ("floor", "Floor", "int"),
    ("floor_label", "FloorLabel", "string"),
    ("capacity", "Capacity", "int"),
    ("tags", "Tags", "string[]"),
    ("is_wheelchair_accessible", "IsWheelChairAccessible", "bool"),
    ("audio_device_name", "AudioDeviceName", "string"),
    ("video_device_name", "VideoDeviceName", "string"),
    ("display_device_name", "DisplayDeviceName", "string"),
    ("street", "Street", "string"),
    ("city", "City", "string"),
    ("state", "State", "string"),
    ("postal_code", "PostalCode", "string"),
    ("country_or_region", "CountryOrRegion", "string"),
    ("phone", "Phone", "string"),
    ("geo_coordinates", "GeoCoordinates", "string"),
)

AD_PLACE_PARAMETERS: tuple[tuple[str, str], ...] = (
    # (spec field under place., Set-ADUser parameter) for a synced room (docs/mastering.md)
    ("street", "StreetAddress"),
    ("city", "City"),
    ("state", "State"),
    ("postal_code", "PostalCode"),
    ("country_or_region", "Country"),
    ("phone", "OfficePhone"),
)

AD_SERVER = Param("Server", help="the domain controller pinned for the whole run")
AD_CRED = (
    Param("CredentialUser", mandatory=False, help="AD account for the second hop (DOMAIN\\user)"),
    Param("CredentialPassword", "securestring", mandatory=False, secret=True, help="its password"),
)
AD_SESSION = ("Server", "CredentialUser", "CredentialPassword")
IDENTITY = Param("Identity", help="the mailbox: alias, SMTP address or name")
PRINCIPALS = Param(
    "Principals", "string[]", mandatory=False, help="UPNs, SMTP addresses or aliases to resolve"
)


def _optional(name: str, kind: str = "string[]", help: str = "") -> Param:
    return Param(name, kind, mandatory=False, help=help)  # type: ignore[arg-type]


STEPS = (
    Step(
        "exo/get-access",
        "Read a mailbox's FullAccess, SendAs, send-on-behalf, calendar folder rights and visibility "
        "(Get-Mailbox, Get-EXOMailboxPermission, Get-RecipientPermission, Get-MailboxFolderPermission); "
        "resolve principals (Get-Recipient)",
        needs="exo",
        profiles=MODERN,
        params=(IDENTITY, PRINCIPALS),
        result=a.AccessRead,
    ),
    Step(
        "exo/set-access",
        "Grant and revoke FullAccess (Add-/Remove-MailboxPermission), SendAs (Add-/Remove-"
        "RecipientPermission), send-on-behalf (Set-Mailbox -GrantSendOnBehalfTo) and calendar folder "
        "rights (Add-/Set-/Remove-MailboxFolderPermission), each refusal on its own",
        needs="exo",
        profiles=MODERN,
        params=(
            IDENTITY,
            _optional("FullAccessAdd", help="principals to grant FullAccess"),
            _optional("FullAccessRemove", help="principals whose FullAccess is removed"),
            _optional("AutoMapping", "bool", help="AutoMapping of the FullAccess grants"),
            _optional("SendAsAdd", help="principals to grant SendAs"),
            _optional("SendAsRemove", help="principals whose SendAs is removed"),
            _optional("SendOnBehalf", help="the whole GrantSendOnBehalfTo list (empty: cleared)"),
            _optional("CalendarAddUser", help="users given a calendar folder entry"),
            _optional("CalendarAddRights", help="their roles, in the same order"),
            _optional("CalendarSetUser", help="users (or Default/Anonymous) whose entry changes"),
            _optional("CalendarSetRights", help="their roles, in the same order"),
            _optional("CalendarRemoveUser", help="users whose calendar folder entry is removed"),
        ),
        result=a.StepOutcome,
        changes=True,
        read_back=rb.SET_ACCESS,
    ),
    Step(
        "exo/get-place",
        "Read a room's place data (Get-Place)",
        needs="exo",
        profiles=MODERN,
        params=(IDENTITY,),
        result=a.PlaceRead,
    ),
    Step(
        "exo/set-place",
        "Set a room's place data (Set-Place), each refusal on its own",
        needs="exo",
        profiles=MODERN,
        params=(
            IDENTITY,
            *(
                _optional(parameter, kind, help=f"place.{field}")
                for field, parameter, kind in PLACE_PARAMETERS
            ),
        ),
        result=a.StepOutcome,
        changes=True,
        read_back=rb.SET_PLACE,
    ),
    Step(
        "exo/get-room-lists",
        "Read every room list and whether the mailbox is a member (Get-DistributionGroup"
        " -RecipientTypeDetails RoomList, Get-DistributionGroupMember); match the lists named",
        needs="exo",
        profiles=MODERN,
        params=(IDENTITY, _optional("Names", help="room lists by name, alias or SMTP address")),
        result=a.RoomListsRead,
    ),
    Step(
        "exo/set-room-lists",
        "Create room lists (New-DistributionGroup -RoomList) and add the room to or remove it from room "
        "lists (Add-/Remove-DistributionGroupMember), each refusal on its own",
        needs="exo",
        profiles=MODERN,
        params=(
            IDENTITY,
            _optional("Create", help="names of room lists to create first"),
            _optional("AddTo", help="room lists to add the room to"),
            _optional("RemoveFrom", help="room lists to remove the room from"),
        ),
        result=a.StepOutcome,
        changes=True,
        read_back=rb.SET_ROOM_LISTS,
    ),
    Step(
        "exo/set-mailbox-type",
        "Make a room a workspace or a room again (Set-Mailbox -Type Workspace|Room; Workspace is cloud-only)",
        needs="exo",
        profiles=MODERN,
        params=(IDENTITY, Param("Type", help="Workspace or Room")),
        result=a.StepOutcome,
        changes=True,
        read_back=rb.SET_MAILBOX_TYPE,
    ),
    Step(
        "ad/get-resource-attributes",
        "Read a synced room's address attributes, publicDelegates, displayName, mail, proxyAddresses and, "
        "when the forest has the Exchange schema, msExchHideFromAddressLists (Get-ADRootDSE, Get-ADObject, "
        "Get-ADUser); resolve principals",
        needs="ad",
        profiles=MODERN,
        params=(
            Param("UserPrincipalName", help="the room account's UPN"),
            PRINCIPALS,
            AD_SERVER,
            *AD_CRED,
        ),
        result=a.AdAttributes,
        session_params=AD_SESSION,
    ),
    Step(
        "ad/set-resource-attributes",
        "Write a synced mailbox's address attributes, publicDelegates, display name and addresses "
        "(Set-ADUser), each value on its own",
        needs="ad",
        profiles=MODERN,
        params=(
            Param("UserPrincipalName", help="the room account's UPN"),
            *(
                _optional(parameter, "string", help=f"place.{field}")
                for field, parameter in AD_PLACE_PARAMETERS
            ),
            _optional(
                "PublicDelegates", help="distinguished names: the whole publicDelegates (empty: cleared)"
            ),
            _optional(
                "HideFromAddressLists", "bool", help="msExchHideFromAddressLists (Exchange schema only)"
            ),
            _optional("DisplayName", "string", help="displayName of a synced mailbox"),
            _optional("EmailAddress", "string", help="mail, the primary SMTP address (with ProxyAddresses)"),
            _optional(
                "ProxyAddresses", help="the whole proxyAddresses, SMTP: for the primary (X500 etc. kept)"
            ),
            AD_SERVER,
            *AD_CRED,
        ),
        result=a.StepOutcome,
        changes=True,
        read_back=rb.SET_RESOURCE_ATTRIBUTES,
        session_params=AD_SESSION,
    ),
)
