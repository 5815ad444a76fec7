"""Who masters what: for each field pswrap reads or writes, where it is written in each link state.

This is THE one table. Every command that writes a mailbox's attribute asks `where_written(field, state)`
and writes there, or reports the value as not settable; nothing else in pswrap decides it. The table is
pure data with the Microsoft document (or, where Microsoft documents nothing, the community source)
behind each row; docs/mastering.md is generated from it (`render_markdown`) and a test keeps the two equal.

Link states (`LinkState`), derived from what pswrap reads (`link_state`):
- `not_linked`: the mailbox's account is cloud-only (no AD account has hard-matched it yet);
- `linked`: synced from AD, Exchange attributes mastered on-premises (the default after a hard match),
  in a forest WITHOUT the Exchange schema (no msExch* attributes to hold Exchange values);
- `linked_exchange_cloud_managed`: synced, and `Set-Mailbox -IsExchangeCloudManaged $true` moved the
  Exchange attributes' source of authority to Exchange Online (identity attributes stay in AD);
- `linked_with_exchange_schema`: synced, Exchange attributes mastered on-premises, in a forest WITH the
  Exchange schema (msExch* attributes exist in AD and sync carries them).
Cloud-managed wins over the schema: a cloud-managed mailbox in a forest with the schema is
`linked_exchange_cloud_managed`.

Masters (`Master`): `ad`, `exo`, `graph` (written there by pswrap) or `not_settable` (nobody may write it
in that state: pswrap reports a difference as drift and never sends the write).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, get_args

LinkState = Literal["not_linked", "linked", "linked_exchange_cloud_managed", "linked_with_exchange_schema"]
LINK_STATES: tuple[LinkState, ...] = get_args(LinkState)

Master = Literal["ad", "exo", "graph", "not_settable"]
MASTERS: tuple[Master, ...] = get_args(Master)

SourceKind = Literal["learn", "community"]


@dataclass(frozen=True)
class Source:
    """A document a row follows: a Microsoft page (title and section) or a community page, said so."""

    title: str
    url: str
    kind: SourceKind = "learn"

    def cite(self) -> str:
        prefix = "community: " if self.kind == "community" else ""
        return f"{prefix}{self.title} <{self.url}>"


@dataclass(frozen=True)
class Rule:
    """One row: a field as the desired-state spec names it, and where it is written in each link state."""

    field: str
    attribute: str
    """What holds the value: the AD attribute and the Exchange/Graph property."""
    masters: Mapping[LinkState, Master]
    writers: Mapping[Master, str]
    """How pswrap writes the value where it is mastered (cmdlet and parameter), per master used."""
    sources: tuple[Source, ...]
    note: str = ""

    def master(self, state: LinkState) -> Master:
        return self.masters[state]


class UnknownField(KeyError):
    """A field the mastering table has no row for (a programming error, not user input)."""


# -- sources ------------------------------------------------------------------------------------------------
_ATTRS = Source(
    'Attributes synchronized to Microsoft Entra ID, section "Exchange Online"',
    "https://learn.microsoft.com/entra/identity/hybrid/connect/reference-connect-sync-attributes-synchronized",
)
_ATTRS_WRITEBACK = Source(
    'Attributes synchronized to Microsoft Entra ID, section "Exchange hybrid writeback"',
    "https://learn.microsoft.com/entra/identity/hybrid/connect/reference-connect-sync-attributes-synchronized",
)
_EXISTING_TENANT = Source(
    "Microsoft Entra Connect: When you have an existing tenant",
    "https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-install-existing-tenant",
)
_FILTERING = Source(
    'Microsoft Entra Connect Sync: Configure filtering, section "Organizational unit-based filtering"',
    "https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-sync-configure-filtering",
)
_SET_MAILBOX = Source(
    "Set-Mailbox (parameters Name, DisplayName, EmailAddresses, Alias, Type, ResourceCapacity,"
    " GrantSendOnBehalfTo, HiddenFromAddressListsEnabled, IsExchangeCloudManaged)",
    "https://learn.microsoft.com/powershell/module/exchange/set-mailbox",
)
_SET_PLACE = Source(
    "Set-Place, description: \"In hybrid environments, this cmdlet doesn't work on the following properties"
    " on synchronized room mailboxes: City, CountryOrRegion, GeoCoordinates, Phone, PostalCode, State, or"
    ' Street" (GeoCoordinates excepted from the on-premises route too)',
    "https://learn.microsoft.com/powershell/module/exchange/set-place",
)
_CALENDAR = Source(
    "Set-CalendarProcessing (the settings live in the mailbox; no AD attribute holds them)",
    "https://learn.microsoft.com/powershell/module/exchange/set-calendarprocessing",
)
_DELEGATION = Source(
    "Delegation in an Exchange hybrid deployment: \"Permissions aren't synchronized by Microsoft Entra"
    ' Connect"',
    "https://learn.microsoft.com/exchange/troubleshoot/send-emails/overview-delegation-office-365-hybrid",
)
_FOLDER_PERMS = Source(
    "Add-MailboxFolderPermission (calendar folder rights are mailbox content, Exchange Online only)",
    "https://learn.microsoft.com/powershell/module/exchange/add-mailboxfolderpermission",
)
_SET_MAILBOX_TYPE = Source(
    'Set-Mailbox, parameter Type: "Workspace (cloud-only)"',
    "https://learn.microsoft.com/powershell/module/exchange/set-mailbox",
)
_ROOM_LISTS = Source(
    "New-DistributionGroup, parameter RoomList; Add-DistributionGroupMember (a cloud group's members are"
    " kept in Exchange Online)",
    "https://learn.microsoft.com/powershell/module/exchange/new-distributiongroup",
)
_KB2710029 = Source(
    "Shared mailboxes are unexpectedly converted to user mailboxes after directory synchronization runs in"
    " an Exchange hybrid deployment (KB2710029)",
    "https://learn.microsoft.com/exchange/troubleshoot/user-and-shared-mailboxes/"
    "shared-mailboxes-unexpectedly-converted-to-user-mailboxes",
)
_NEW_MAILBOX = Source(
    'New-Mailbox, parameters "Room" and "Shared" (the account\'s initial state)',
    "https://learn.microsoft.com/powershell/module/exchange/new-mailbox",
)
_UPDATE_MGUSER = Source(
    "Update-MgUser (AccountEnabled; least privilege User.EnableDisableAccount.All)",
    "https://learn.microsoft.com/powershell/module/microsoft.graph.users/update-mguser",
)
_SOA_COMMUNITY = Source(
    "Understanding IsCloudManaged and IsExchangeCloudManaged (Exchange attributes move to the cloud,"
    " identity attributes stay in AD)",
    "https://c7solutions.com/2026/01/understanding-iscloudmanaged-and-isexchangecloudmanaged",
    "community",
)
_SYNCED_REFUSAL = Source(
    'Exchange Online refuses such writes: "... because the object is being synchronized from your'
    " on-premises organization. This action should be performed on the object in your on-premises"
    ' organization."',
    "https://www.michev.info/blog/post/1228/deprovisioning-on-prem-authored-online-archive-for-synced-user",
    "community",
)


def _states(
    not_linked: Master, linked: Master, cloud_managed: Master, with_schema: Master
) -> Mapping[LinkState, Master]:
    return {
        "not_linked": not_linked,
        "linked": linked,
        "linked_exchange_cloud_managed": cloud_managed,
        "linked_with_exchange_schema": with_schema,
    }


_EXO_ALWAYS = _states("exo", "exo", "exo", "exo")
# Identity attributes: AD masters them from the hard match on, whoever masters the Exchange attributes.
_IDENTITY = _states("exo", "ad", "ad", "ad")
# Exchange attributes AD can hold without the Exchange schema (proxyAddresses, mailNickname and
# publicDelegates are in the base AD schema); cloud-managed moves them to Exchange Online.
_EXCHANGE_BASE_SCHEMA = _states("exo", "ad", "exo", "ad")
# Exchange attributes only the Exchange schema can hold (msExch*): without it nobody may write them.
_EXCHANGE_SCHEMA_ONLY = _states("exo", "not_settable", "exo", "ad")

_PLACE_SOURCES = (_SET_PLACE,)
_PLACE_EXO = {
    "place.building": ("Building", "Building"),
    "place.floor": ("Floor", "Floor"),
    "place.floor_label": ("FloorLabel", "FloorLabel"),
    "place.tags": ("Tags", "Tags"),
    "place.is_wheelchair_accessible": ("IsWheelChairAccessible", "IsWheelChairAccessible"),
    "place.audio_device_name": ("AudioDeviceName", "AudioDeviceName"),
    "place.video_device_name": ("VideoDeviceName", "VideoDeviceName"),
    "place.display_device_name": ("DisplayDeviceName", "DisplayDeviceName"),
}
# Place address fields: Set-Place refuses them on a synced room; on-premises they are these AD attributes
# (written with Set-ADUser's parameter of the same meaning, synced per "Attributes synchronized").
_PLACE_AD = {
    "place.city": ("City", "l", "City"),
    "place.street": ("Street", "streetAddress", "StreetAddress"),
    "place.phone": ("Phone", "telephoneNumber", "OfficePhone"),
    "place.postal_code": ("PostalCode", "postalCode", "PostalCode"),
    "place.state": ("State", "st", "State"),
    "place.country_or_region": ("CountryOrRegion", "c", "Country"),
}


def _rules() -> tuple[Rule, ...]:
    rows: list[Rule] = [
        Rule(
            "display_name",
            "AD displayName / Exchange DisplayName",
            _IDENTITY,
            {"exo": "Set-Mailbox -DisplayName", "ad": "Set-ADUser -DisplayName"},
            (_ATTRS, _EXISTING_TENANT, _SOA_COMMUNITY),
            "An identity attribute: it stays in AD when the Exchange attributes are cloud-managed.",
        ),
        Rule(
            "upn",
            "AD userPrincipalName / Entra userPrincipalName (the mailbox's UserPrincipalName)",
            _states("graph", "ad", "ad", "ad"),
            {
                "graph": "Update-MgUser -UserPrincipalName (pswrap does not change it)",
                "ad": "Set-ADUser -UserPrincipalName (pswrap reports a difference as drift)",
            },
            (_ATTRS,),
            "Given with the account pswrap creates. Changing the UPN of a linked account changes the sign-in"
            " name of its cloud user; pswrap leaves that to the admin and reports a difference as drift.",
        ),
        Rule(
            "ou",
            "The AD container of the mailbox's account",
            _states("not_settable", "ad", "ad", "ad"),
            {"ad": "Move-ADObject (pswrap reports a difference as drift)"},
            (_FILTERING,),
            "Where pswrap creates the account. A linked account moved out of the connectors' OU filtering is"
            " deleted from Entra ID at the next cycle (its mailbox soft-deleted), so pswrap never moves a"
            " linked account: a difference is drift, and the admin moves it within sync scope.",
        ),
        Rule(
            "name",
            "AD cn (the object's name) / Exchange Name",
            _IDENTITY,
            {
                "exo": "Set-Mailbox -Name",
                "ad": "Rename-ADObject (not in pswrap's catalogue: pswrap reports the difference as drift)",
            },
            (_ATTRS, _SET_MAILBOX),
            "The Exchange Online table syncs cn: a synced mailbox's Name follows the AD object's name, which"
            " only a rename of the AD object changes. pswrap does not rename AD objects; the admin does"
            " (Rename-ADObject, or Active Directory Users and Computers) and the next sync cycle carries it.",
        ),
        Rule(
            "addresses",
            "AD proxyAddresses / Exchange EmailAddresses (primary SMTP and every other address)",
            _EXCHANGE_BASE_SCHEMA,
            {
                "exo": "Set-Mailbox -EmailAddresses",
                "ad": "Set-ADUser -EmailAddress (mail) and -Replace @{proxyAddresses=...}",
            },
            (_ATTRS, _EXISTING_TENANT, _SOA_COMMUNITY),
            "After a hard match the cloud keeps only what AD carries: the link writes every address of the"
            " mailbox in a verified domain, and an X500 address with its LegacyExchangeDN, into AD first.",
        ),
        Rule(
            "alias",
            "AD mailNickname / Exchange Alias",
            _EXCHANGE_BASE_SCHEMA,
            {"exo": "Set-Mailbox -Alias", "ad": "Set-ADUser -Replace @{mailNickname=...}"},
            (_ATTRS, _EXISTING_TENANT),
            "The alias is the mailbox's identity in pswrap; a different alias is a different mailbox.",
        ),
        Rule(
            "type",
            "AD msExchRecipientTypeDetails + msExchRemoteRecipientType / Exchange RecipientTypeDetails",
            _EXCHANGE_SCHEMA_ONLY,
            {
                "exo": "Set-Mailbox -Type",
                "ad": "Set-ADUser -Replace @{msExchRecipientTypeDetails=...; msExchRemoteRecipientType=...}",
            },
            (_ATTRS, _KB2710029, _SET_MAILBOX),
            "Without the recipient-type attributes in AD, sync can turn a shared or resource mailbox back"
            " into a user mailbox (KB2710029). Without the Exchange schema AD cannot hold them: change the"
            " type only after moving the Exchange attributes to the cloud.",
        ),
        Rule(
            "capacity",
            "Exchange ResourceCapacity (AD msExchResourceCapacity is synced but not consumed by Exchange"
            " Online)",
            _EXO_ALWAYS,
            {"exo": "Set-Mailbox -ResourceCapacity"},
            (_ATTRS, _SET_MAILBOX),
            'The Exchange Online table marks msExchResourceCapacity "currently not consumed by Exchange'
            ' Online": the value that counts is the one set in Exchange Online. Set-Place -Capacity sets'
            " the same value.",
        ),
        Rule(
            "send_on_behalf",
            "AD publicDelegates / Exchange GrantSendOnBehalfTo",
            _EXCHANGE_BASE_SCHEMA,
            {"exo": "Set-Mailbox -GrantSendOnBehalfTo", "ad": "Set-ADUser -Replace @{publicDelegates=...}"},
            (_ATTRS, _ATTRS_WRITEBACK, _SOA_COMMUNITY),
            "publicDelegates is synced from AD and is also an Exchange hybrid write-back attribute. In AD it"
            " holds distinguished names: a delegate that exists only in the cloud cannot be expressed there"
            " and is reported as drift. pswrap reads publicDelegates as part of the base AD schema (its"
            " attributeID 1.2.840.113556.1.2.238 is in the range of proxyAddresses and mailNickname); Learn"
            " does not say so in as many words.",
        ),
        Rule(
            "calendar",
            "Exchange calendar processing (AutomateProcessing, BookingWindowInDays, ResourceDelegates, ...)",
            _EXO_ALWAYS,
            {"exo": "Set-CalendarProcessing"},
            (_CALENDAR, _ATTRS),
            "Every calendar.* field. No synced attribute carries it.",
        ),
        Rule(
            "full_access",
            "Exchange mailbox permission FullAccess",
            _EXO_ALWAYS,
            {"exo": "Add-MailboxPermission / Remove-MailboxPermission"},
            (_DELEGATION,),
        ),
        Rule(
            "send_as",
            "Exchange recipient permission SendAs",
            _EXO_ALWAYS,
            {"exo": "Add-RecipientPermission / Remove-RecipientPermission"},
            (_DELEGATION,),
        ),
        Rule(
            "calendar_permissions",
            "Calendar folder rights (e.g. Default: LimitedDetails, a delegate: Editor)",
            _EXO_ALWAYS,
            {"exo": "Add-/Set-/Remove-MailboxFolderPermission"},
            (_FOLDER_PERMS, _DELEGATION),
        ),
        Rule(
            "hidden_from_address_lists",
            "AD msExchHideFromAddressLists / Exchange HiddenFromAddressListsEnabled",
            _EXCHANGE_SCHEMA_ONLY,
            {
                "exo": "Set-Mailbox -HiddenFromAddressListsEnabled",
                "ad": "Set-ADUser -Replace @{msExchHideFromAddressLists=...}",
            },
            (_ATTRS, _SYNCED_REFUSAL, _SOA_COMMUNITY),
            "msExchHideFromAddressLists exists only with the Exchange schema; without it and without"
            " cloud-managed Exchange attributes nobody may set it.",
        ),
        Rule(
            "account_enabled",
            "AD userAccountControl (enabled) / Entra accountEnabled",
            _states("graph", "ad", "ad", "ad"),
            {"graph": "Update-MgUser -AccountEnabled", "ad": "Enable-ADAccount / Disable-ADAccount"},
            (_ATTRS, _NEW_MAILBOX, _UPDATE_MGUSER),
            "After the link accountEnabled follows AD. A room's account is created enabled with an unknown"
            " password, a shared mailbox's disabled.",
        ),
    ]
    for name, (param, label) in _PLACE_EXO.items():
        rows.append(Rule(name, f"Place {label}", _EXO_ALWAYS, {"exo": f"Set-Place -{param}"}, _PLACE_SOURCES))
    for name, (param, ad_attr, ad_param) in _PLACE_AD.items():
        rows.append(
            Rule(
                name,
                f"AD {ad_attr} / Place {param}",
                _IDENTITY,
                {"exo": f"Set-Place -{param}", "ad": f"Set-ADUser -{ad_param}"},
                (_SET_PLACE, _ATTRS),
                "Set-Place refuses it on a synced room; on-premises it is this AD attribute.",
            )
        )
    rows.append(
        Rule(
            "place.geo_coordinates",
            "Place GeoCoordinates",
            _states("exo", "not_settable", "not_settable", "not_settable"),
            {"exo": "Set-Place -GeoCoordinates"},
            (_SET_PLACE,),
            "Set-Place refuses it on a synced room and the on-premises route excepts it too.",
        )
    )
    rows.append(  # issue #14: room list membership (the room lists pswrap creates are cloud groups)
        Rule(
            "room_lists",
            "Membership in room lists (distribution groups created with New-DistributionGroup -RoomList)",
            _EXO_ALWAYS,
            {"exo": "Add-/Remove-DistributionGroupMember"},
            (_ROOM_LISTS,),
            "The membership is the group's, not the room's: a room list synced from AD (IsDirSynced) is"
            " changed in AD, which pswrap does not do; it reports such a list as not settable.",
        )
    )
    rows.append(  # issue #14: a room declared a workspace (Set-Mailbox -Type Workspace, cloud-only)
        Rule(
            "workspace",
            "Exchange mailbox subtype Workspace (RecipientTypeDetails stays a room; Places lists it as a"
            " workspace)",
            _states("exo", "not_settable", "exo", "not_settable"),
            {"exo": "Set-Mailbox -Type Workspace|Room"},
            (_SET_MAILBOX_TYPE,),
            "The Type value Workspace is cloud-only: on-premises Exchange (and so AD's msExch* attributes)"
            " has no such type, so a synced room whose Exchange attributes AD masters cannot be made one.",
        )
    )
    return tuple(rows)


RULES: tuple[Rule, ...] = _rules()
_BY_FIELD: dict[str, Rule] = {rule.field: rule for rule in RULES}

ALIASES: Mapping[str, str] = {
    "email": "addresses",
    "extra_addresses": "addresses",
    "mail_nickname": "alias",
    "place.capacity": "capacity",
}
"""Spec names that are the same value as a row (the primary address is one of the addresses)."""

FAMILIES: tuple[str, ...] = ("calendar",)
"""Rows that cover every sub-field: `calendar.booking_window_days` is mastered as `calendar`."""


def rule_for(field: str) -> Rule:
    """The row for a spec field (`display_name`, `calendar.booking_window_days`, `place.city`, ...)."""
    name = ALIASES.get(field, field)
    rule = _BY_FIELD.get(name)
    if rule is not None:
        return rule
    family = name.split(".", 1)[0]
    if family in FAMILIES and "." in name:
        return _BY_FIELD[family]
    raise UnknownField(f"the mastering table has no row for field {field!r}")


def where_written(field: str, state: LinkState) -> Master:
    """Where a field of a mailbox in link state `state` is written, or `not_settable`."""
    if state not in LINK_STATES:
        raise ValueError(f"unknown link state {state!r}; expected one of {', '.join(LINK_STATES)}")
    return rule_for(field).master(state)


def writer(field: str, state: LinkState) -> str | None:
    """The cmdlet and parameter that writes the field in that state (None when not settable)."""
    rule = rule_for(field)
    master = where_written(field, state)
    return None if master == "not_settable" else rule.writers[master]


def may_write(field: str, state: LinkState, where: Master) -> bool:
    """True when writing `field` in system `where` is what the table says (the guard every write passes)."""
    return where != "not_settable" and where_written(field, state) == where


def link_state(
    *, linked: bool, exchange_cloud_managed: bool = False, exchange_schema: bool = False
) -> LinkState:
    """The link state of a mailbox from what was read: synced or not, the mailbox's Exchange-attribute
    source of authority, and whether the forest's schema has the Exchange attributes."""
    if not linked:
        return "not_linked"
    if exchange_cloud_managed:
        return "linked_exchange_cloud_managed"
    if exchange_schema:
        return "linked_with_exchange_schema"
    return "linked"


# -- the guard every cloud write passes ------------------------------------------------------------------
CLOUD_WRITES: Mapping[tuple[str, str], tuple[str, Master]] = {
    ("exo/set-mailbox", "DisplayName"): ("display_name", "exo"),
    ("exo/set-mailbox", "Name"): ("name", "exo"),
    ("exo/set-mailbox", "EmailAddresses"): ("addresses", "exo"),
    ("exo/set-mailbox", "HiddenFromAddressListsEnabled"): ("hidden_from_address_lists", "exo"),
    ("exo/set-mailbox", "ResourceCapacity"): ("capacity", "exo"),
    ("graph/set-account-enabled", "AccountEnabled"): ("account_enabled", "graph"),
}
"""Which field each cloud step parameter writes, and in which system: the table decides whether it may."""


class WrongMaster(ValueError):
    """A cloud write of a value the table places elsewhere in this link state (pswrap never sends it)."""


def check_cloud_write(step_id: str, params: Mapping[str, object], state: LinkState) -> None:
    """Raise WrongMaster when `step_id` with `params` would write, in Exchange Online or Graph, a field
    that the table masters elsewhere in `state` (Exchange Online and Graph refuse those writes on a synced
    object: "... being synchronized from your on-premises organization", or the DualWrite form)."""
    wrong = []
    for name, value in params.items():
        entry = CLOUD_WRITES.get((step_id, name))
        if entry is None or value is None:
            continue
        field, where = entry
        master = where_written(field, state)
        if master != where:
            wrong.append(f"{field} (written in {master.replace('_', ' ')} when {state.replace('_', ' ')})")
    if wrong:
        raise WrongMaster(f"{step_id} would write {', '.join(wrong)}")


# -- the documentation --------------------------------------------------------------------------------------
_STATE_HEADINGS: Mapping[LinkState, str] = {
    "not_linked": "not linked",
    "linked": "linked",
    "linked_exchange_cloud_managed": "linked, Exchange attributes cloud-managed",
    "linked_with_exchange_schema": "linked, Exchange schema in AD",
}


def render_markdown() -> str:
    """The table as docs/mastering.md reproduces it (between its generated-table markers)."""
    head = ["field", "value", *(_STATE_HEADINGS[s] for s in LINK_STATES), "written with", "sources"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for rule in RULES:
        masters = [rule.masters[s].replace("not_settable", "not settable") for s in LINK_STATES]
        writers = "; ".join(f"{m}: `{w}`" for m, w in rule.writers.items())
        sources = "; ".join(_md_source(s) for s in rule.sources)
        cells = [f"`{rule.field}`", rule.attribute, *masters, writers, sources]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    notes = [f"- `{rule.field}`: {rule.note}" for rule in RULES if rule.note]
    aliases = [f"- `{alias}` is mastered as `{target}`" for alias, target in ALIASES.items()]
    return "\n".join([*lines, "", "Notes per row:", "", *notes, "", "Other spec names:", "", *aliases]) + "\n"


def _md_source(source: Source) -> str:
    prefix = "community: " if source.kind == "community" else ""
    return f"{prefix}[{source.title}]({source.url})"


if __name__ == "__main__":  # python -m pswrap.mastering prints the table docs/mastering.md reproduces
    print(render_markdown(), end="")
