"""Mailbox permissions, send-on-behalf, calendar folder rights (Exchange Online) and the AD attributes a
synced room keeps on-premises (address, publicDelegates): the steps of desired state part 2.

World paths this module adds (all optional, so an older world still loads):
- a mailbox's `permissions`: `{"full_access": [{"id", "automapping"}], "send_as": [id],
  "calendar": {user: role}}`, users by ExternalDirectoryObjectId (the directory object), `Default` and
  `Anonymous` by name;
- a mailbox's `grant_send_on_behalf_to`: [id];
- an AD user's `address` (`street`, `city`, `state`, `postal_code`, `country_or_region`, `phone`) and
  `public_delegates` (distinguished names).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pswrap.lab.dispatch import Invocation, PSError
from pswrap.lab.handlers import records
from pswrap.lab.handlers.ad import check_credential, check_server
from pswrap.lab.handlers.calendar import _principal, _recipient_matches
from pswrap.lab.handlers.mastering import (
    NO_SUCH_ATTRIBUTE,
    _synced_refusal,
    cloud_managed,
    exchange_schema,
    mailbox_by,
)
from pswrap.lab.handlers.pipeline import step

CALENDAR_DEFAULTS = {"Default": "AvailabilityOnly", "Anonymous": "None"}
"""The calendar folder's built-in entries of a new Exchange Online mailbox. Microsoft documents the
Default user's role in "Share calendars in Microsoft 365" (free/busy, i.e. AvailabilityOnly, by default)
and nothing specific for resource mailboxes: the lab takes the same for every mailbox, Anonymous None."""


def not_found(cmdlet: str, identity: str) -> PSError:
    """Exchange Online's not-found error for an identity or a principal (docs/sources.md §7b item 9, the
    EXO V3 form the mastering handlers use)."""
    return records.exo_v3_error(
        cmdlet,
        "Ex6F9304",
        "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
        f"The operation couldn't be performed because object '{identity}' couldn't be found on "
        "'LAB0PR01A001DC01.LABPR01A001.prod.outlook.com'.",
    )


def object_id(world: dict[str, Any], cmdlet: str, name: str) -> str:
    """The directory object a principal names; an unknown or ambiguous one is Exchange's not-found."""
    hits = _recipient_matches(world, name)
    if len(hits) != 1:
        raise not_found(cmdlet, name)
    return str(hits[0]["external_directory_object_id"])


def resolved(world: dict[str, Any], object_ids: list[str]) -> list[dict[str, Any]]:
    """Stored ids as the template lists them: each resolved to its recipient."""
    return [_principal(world, i) for i in object_ids]


def mailbox_or_not_found(world: dict[str, Any], identity: str, cmdlet: str) -> dict[str, Any]:
    mailbox = mailbox_by(world, identity.split(":\\", 1)[0])
    if mailbox is None:
        raise not_found(cmdlet, identity)
    return mailbox


def permissions_view(mailbox: dict[str, Any]) -> dict[str, Any]:
    """The mailbox's permissions as stored, over the defaults, without changing the world (reads)."""
    stored = mailbox.get("permissions") or {}
    return {
        "full_access": list(stored.get("full_access") or []),
        "send_as": list(stored.get("send_as") or []),
        "calendar": dict(stored.get("calendar") or CALENDAR_DEFAULTS),
    }


def permissions_of(mailbox: dict[str, Any]) -> dict[str, Any]:
    """The mailbox's stored permissions, created on first write."""
    stored = mailbox.setdefault("permissions", {})
    stored.setdefault("full_access", [])
    stored.setdefault("send_as", [])
    stored.setdefault("calendar", dict(CALENDAR_DEFAULTS))
    return stored  # type: ignore[no-any-return]


@step("exo/get-access", need="exo")
def get_access(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Get-Mailbox (GrantSendOnBehalfTo, HiddenFromAddressListsEnabled, IsExchangeCloudManaged),
    Get-EXOMailboxPermission, Get-RecipientPermission -AccessRights SendAs, Get-MailboxFolderPermission
    <mailbox>:\\Calendar, and Get-Recipient for each principal asked for."""
    principals = [_principal(world, str(p)) for p in inv.params.get("Principals") or []]
    mailbox = mailbox_by(world, str(inv.params.get("Identity") or ""))
    if mailbox is None:
        empty: dict[str, Any] = {
            k: [] for k in ("full_access", "send_as", "send_on_behalf", "calendar_permissions")
        }
        return {
            "found": False,
            "hidden_from_address_lists": False,
            "is_exchange_cloud_managed": False,
            **empty,
            "principals": principals,
        }
    perms = permissions_view(mailbox)
    calendar = []
    for user, role in perms["calendar"].items():
        if user in CALENDAR_DEFAULTS:
            calendar.append({"user": user, "access_rights": role, "principal": None})
        else:
            principal = _principal(world, user)
            calendar.append(
                {"user": principal.get("name") or user, "access_rights": role, "principal": principal}
            )
    return {
        "found": True,
        "hidden_from_address_lists": bool(mailbox.get("hidden_from_address_lists")),
        "is_exchange_cloud_managed": cloud_managed(mailbox),
        "full_access": resolved(world, [g["id"] for g in perms["full_access"]]),
        "send_as": resolved(world, perms["send_as"]),
        "send_on_behalf": resolved(world, list(mailbox.get("grant_send_on_behalf_to") or [])),
        "calendar_permissions": calendar,
        "principals": principals,
    }


class _Outcome:
    """The template's bookkeeping: the fields given, and each refusal with its field."""

    def __init__(self) -> None:
        self.given: list[str] = []
        self.refused: list[dict[str, Any]] = []

    def attempt(self, field: str, item: str, action: Any) -> None:
        if field not in self.given:
            self.given.append(field)
        try:
            action()
        except PSError as exc:
            message = f"{item}: {exc}" if item else str(exc)
            self.refused.append({"parameter": field, "message": message, "error_id": exc.fqid})

    def result(self) -> dict[str, Any]:
        refused = {r["parameter"] for r in self.refused}
        return {"applied": [f for f in self.given if f not in refused], "refused": self.refused}


@step("exo/set-access", need="exo")
def set_access(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Add-/Remove-MailboxPermission -AccessRights FullAccess [-AutoMapping], Add-/Remove-
    RecipientPermission -AccessRights SendAs, Set-Mailbox -GrantSendOnBehalfTo, Add-/Set-/Remove-
    MailboxFolderPermission; each on its own, as the template does."""
    p = inv.params
    identity = str(p.get("Identity") or "")
    mailbox = mailbox_or_not_found(world, identity, "Get-Mailbox")
    perms = permissions_of(mailbox)
    out = _Outcome()
    # Add-MailboxPermission: AutoMapping defaults to $true (Learn page, AutoMapping).
    automapping = bool(p.get("AutoMapping", True))

    def grant_full(user: str) -> None:
        oid = object_id(world, "Add-MailboxPermission", user)
        if all(g["id"] != oid for g in perms["full_access"]):
            perms["full_access"].append({"id": oid, "automapping": automapping})

    def revoke_full(user: str) -> None:
        oid = object_id(world, "Remove-MailboxPermission", user)
        perms["full_access"] = [g for g in perms["full_access"] if g["id"] != oid]

    def grant_send_as(user: str) -> None:
        oid = object_id(world, "Add-RecipientPermission", user)
        if oid not in perms["send_as"]:
            perms["send_as"].append(oid)

    def revoke_send_as(user: str) -> None:
        oid = object_id(world, "Remove-RecipientPermission", user)
        perms["send_as"] = [i for i in perms["send_as"] if i != oid]

    for user in p.get("FullAccessAdd") or []:
        out.attempt("full_access", str(user), lambda u=str(user): grant_full(u))
    for user in p.get("FullAccessRemove") or []:
        out.attempt("full_access", str(user), lambda u=str(user): revoke_full(u))
    for user in p.get("SendAsAdd") or []:
        out.attempt("send_as", str(user), lambda u=str(user): grant_send_as(u))
    for user in p.get("SendAsRemove") or []:
        out.attempt("send_as", str(user), lambda u=str(user): revoke_send_as(u))
    if "SendOnBehalf" in p:
        out.attempt(
            "send_on_behalf", "", lambda: _send_on_behalf(world, mailbox, identity, p["SendOnBehalf"])
        )
    calendar_edits = [
        *(
            (u, r, "Add-MailboxFolderPermission")
            for u, r in zip(p.get("CalendarAddUser") or [], p.get("CalendarAddRights") or [], strict=True)
        ),
        *(
            (u, r, "Set-MailboxFolderPermission")
            for u, r in zip(p.get("CalendarSetUser") or [], p.get("CalendarSetRights") or [], strict=True)
        ),
        *((u, None, "Remove-MailboxFolderPermission") for u in p.get("CalendarRemoveUser") or []),
    ]
    for user, role, cmdlet in calendar_edits:
        out.attempt(
            "calendar_permissions",
            str(user),
            lambda u=str(user), r=role, c=cmdlet: _folder(world, perms, u, r, c),
        )
    return out.result()


def _send_on_behalf(world: dict[str, Any], mailbox: dict[str, Any], identity: str, names: Any) -> None:
    """Set-Mailbox -GrantSendOnBehalfTo: the whole list. On a synced mailbox whose Exchange attributes are
    mastered on-premises it is refused (publicDelegates comes from AD: "Attributes synchronized to Microsoft
    Entra ID"; the refusal text is the mastering handlers' community-known one)."""
    if mailbox.get("is_dir_synced") and not cloud_managed(mailbox):
        raise _synced_refusal("Set-Mailbox", "GrantSendOnBehalfTo", identity)
    mailbox["grant_send_on_behalf_to"] = [object_id(world, "Set-Mailbox", str(n)) for n in names or []]


def _folder(world: dict[str, Any], perms: dict[str, Any], user: str, role: str | None, cmdlet: str) -> None:
    """Add-, Set- and Remove-MailboxFolderPermission. Exchange refuses Add- for an entry that exists and
    Set-/Remove- for one that does not, with texts the lab has no transcript of: the lab lets those pass
    (pswrap sends Add- only for new entries). Default and Anonymous are never removed (Learn: Remove-
    MailboxFolderPermission removes a user's entry; the built-in ones stay)."""
    key = user if user in CALENDAR_DEFAULTS else object_id(world, cmdlet, user)
    calendar = perms["calendar"]
    if role is not None:
        calendar[key] = str(role)
    elif key not in CALENDAR_DEFAULTS:
        calendar.pop(key, None)


# --- Active Directory ----------------------------------------------------------------------------------

AD_FIELDS = {
    "StreetAddress": "street",
    "City": "city",
    "State": "state",
    "PostalCode": "postal_code",
    "Country": "country_or_region",
    "OfficePhone": "phone",
}
"""Set-ADUser's parameter -> the address key (streetAddress, l, st, postalCode, c, telephoneNumber)."""


def _domain(world: dict[str, Any]) -> str:
    return str(world["ad"]["domain"]["distinguished_name"])


def _account_by_upn(world: dict[str, Any], upn: str) -> dict[str, Any] | None:
    hits = [u for u in world["ad"]["users"] if str(u.get("user_principal_name") or "").lower() == upn.lower()]
    return hits[0] if len(hits) == 1 else None


def _ad_principal(identity: str, account: dict[str, Any] | None, matches: int) -> dict[str, Any]:
    entry: dict[str, Any] = {"identity": identity, "found": matches == 1, "matches": matches}
    if account is not None and matches == 1:
        entry.update(
            alias=account["sam_account_name"],
            name=account["distinguished_name"],
            primary_smtp_address=account.get("mail"),
            guid=account["object_guid"],
        )
    return entry


def _ad_matches(world: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """Get-ADUser -Filter 'userPrincipalName -eq $p -or mail -eq $p -or sAMAccountName -eq $p -or
    proxyAddresses -eq $proxy'."""
    wanted = name.lower()
    return [
        u
        for u in world["ad"]["users"]
        if wanted
        in {str(u.get(k) or "").lower() for k in ("user_principal_name", "mail", "sam_account_name")}
        or f"smtp:{wanted}" in {str(a).lower() for a in u.get("proxy_addresses") or []}
    ]


@step("ad/get-resource-attributes", need="ad")
def get_resource_attributes(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    check_server(inv, world, "Get-ADUser")
    check_credential(inv, world, "Get-ADUser")
    principals = []
    for name in inv.params.get("Principals") or []:
        hits = _ad_matches(world, str(name))
        principals.append(_ad_principal(str(name), hits[0] if hits else None, len(hits)))
    schema = exchange_schema(world)["present"]  # Get-ADRootDSE, Get-ADObject in the schema context
    account = _account_by_upn(world, str(inv.params.get("UserPrincipalName") or ""))
    if account is None:
        return {
            "found": False,
            "distinguished_name": None,
            **{key: None for key in AD_FIELDS.values()},
            "display_name": None,
            "mail": None,
            "proxy_addresses": [],
            "exchange_schema": schema,
            "hidden_from_address_lists": None,
            "public_delegates": [],
            "principals": principals,
        }
    by_dn = {u["distinguished_name"].lower(): u for u in world["ad"]["users"]}
    delegates = []
    for dn in account.get("public_delegates") or []:
        holder = by_dn.get(str(dn).lower())
        if holder is None:  # Get-ADUser -Identity <DN> of a deleted account: ADIdentityNotFoundException
            raise records.ad_identity_not_found("Get-ADUser", str(dn), _domain(world))
        delegates.append(_ad_principal(str(dn), holder, 1))
    return {
        "found": True,
        "distinguished_name": account["distinguished_name"],
        **{key: (account.get("address") or {}).get(key) for key in AD_FIELDS.values()},
        "display_name": account.get("display_name"),
        "mail": account.get("mail"),
        "proxy_addresses": list(account.get("proxy_addresses") or []),
        "exchange_schema": schema,
        "hidden_from_address_lists": (
            bool((account.get("exchange") or {}).get("hide_from_address_lists")) if schema else None
        ),
        "public_delegates": delegates,
        "principals": principals,
    }


@step("ad/set-resource-attributes", need="ad")
def set_resource_attributes(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Set-ADUser -StreetAddress/-City/-State/-PostalCode/-Country/-OfficePhone/-DisplayName,
    -EmailAddress with -Replace proxyAddresses, and -Replace/-Clear publicDelegates (distinguished names;
    one AD does not hold is refused as AD refuses a DN-valued attribute naming no object: the lab's
    not-found form)."""
    check_server(inv, world, "Set-ADUser")
    check_credential(inv, world, "Set-ADUser")
    upn = str(inv.params.get("UserPrincipalName") or "")
    account = _account_by_upn(world, upn)
    if account is None:
        raise records.ad_identity_not_found("Get-ADUser", upn, _domain(world))
    out = _Outcome()
    for parameter, key in AD_FIELDS.items():
        if parameter in inv.params:
            value = inv.params[parameter]
            out.attempt(
                parameter, "", lambda k=key, v=value: account.setdefault("address", {}).__setitem__(k, v)
            )
    if "HideFromAddressLists" in inv.params:
        value = bool(inv.params["HideFromAddressLists"])
        out.attempt("HideFromAddressLists", "", lambda: _hide(world, account, value))
    if "PublicDelegates" in inv.params:
        out.attempt(
            "PublicDelegates", "", lambda: _public_delegates(world, account, inv.params["PublicDelegates"])
        )
    if "DisplayName" in inv.params:
        name = str(inv.params["DisplayName"])
        out.attempt("DisplayName", "", lambda: account.__setitem__("display_name", name))
    if "ProxyAddresses" in inv.params:
        addresses = [str(a) for a in inv.params["ProxyAddresses"] or []]
        mail = inv.params.get("EmailAddress")
        out.attempt("ProxyAddresses", "", lambda: _addresses(account, addresses, mail))
    elif "EmailAddress" in inv.params:
        mail_only = str(inv.params["EmailAddress"])
        out.attempt("EmailAddress", "", lambda: account.__setitem__("mail", mail_only))
    return out.result()


def _addresses(account: dict[str, Any], addresses: list[str], mail: Any) -> None:
    """Set-ADUser [-EmailAddress] -Replace @{proxyAddresses}: one update, so both or neither. AD itself
    does not refuse an address another object holds; directory synchronization quarantines the duplicate
    (pswrap.lab.resiliency), as Microsoft documents ("Identity synchronization and duplicate attribute
    resiliency")."""
    account["proxy_addresses"] = addresses
    if mail is not None:
        account["mail"] = str(mail)


def _public_delegates(world: dict[str, Any], account: dict[str, Any], dns: Any) -> None:
    known = {u["distinguished_name"].lower() for u in world["ad"]["users"]}
    for dn in dns or []:
        if str(dn).lower() not in known:
            raise records.ad_identity_not_found("Set-ADUser", str(dn), _domain(world))
    account["public_delegates"] = [str(dn) for dn in dns or []]


def _hide(world: dict[str, Any], account: dict[str, Any], value: bool) -> None:
    """Set-ADUser -Replace @{msExchHideFromAddressLists}: refused without the Exchange schema, as the
    mastering handlers refuse msExch* values (NO_SUCH_ATTRIBUTE)."""
    if not exchange_schema(world)["present"]:
        raise PSError(
            f"{NO_SUCH_ATTRIBUTE}\r\nParameter name: msExchHideFromAddressLists",
            fqid="ActiveDirectoryCmdlet:System.ArgumentException,Microsoft.ActiveDirectory.Management.Commands.SetADUser",
            category="InvalidArgument",
            target=account["object_guid"],
            exception_type="System.ArgumentException",
            activity="Set-ADUser",
        )
    account.setdefault("exchange", {})["hide_from_address_lists"] = value
