"""The read-backs of desired state part 2's changing steps (permissions, place data, room lists, the
mailbox type, a synced room's AD attributes), on issue #12's one mechanism (pswrap/steps/readback.py).

Each judges whether *our* change is there: every value we set reads back as we sent it, every member we
added is listed and every member we removed is gone. Then it returns the step's own result (StepOutcome)
with everything we asked reported applied and nothing refused; otherwise None and the change is sent
again (each of these writes leaves the same state when sent twice, and a refusal is then reported).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pswrap.steps.model import ReadBack
from pswrap.steps.readback import _get, _same

_SPECIAL = ("default", "anonymous")  # the calendar folder's built-in entries, named, never resolved


def _outcome(applied: list[str]) -> Any:
    from pswrap.results.access import StepOutcome

    return StepOutcome(applied=applied, refused=[])


def _names(p: Mapping[str, Any], *keys: str) -> list[str]:
    return [str(n) for key in keys for n in _get(p, key) or []]


# --- exo/set-access: FullAccess, SendAs, send-on-behalf, calendar folder rights ------------------------

_ACCESS_NAMED = (
    "FullAccessAdd", "FullAccessRemove", "SendAsAdd", "SendAsRemove", "SendOnBehalf",
    "CalendarAddUser", "CalendarSetUser", "CalendarRemoveUser",
)  # fmt: skip


def _access_inputs(_c: Mapping[str, str], p: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    """The mailbox, and every principal we named resolved, to compare by directory object."""
    named = [n for n in _names(p, *_ACCESS_NAMED) if n.casefold() not in _SPECIAL]
    return {}, {"Identity": _get(p, "Identity"), "Principals": list(dict.fromkeys(named))}


def _access_applied(found: Any, p: Mapping[str, Any], _sent: datetime) -> Any:
    """Every grant we sent is listed, every revocation gone, send-on-behalf is exactly our list and each
    calendar entry has our role (or is gone). AutoMapping is not shown by Get-EXOMailboxPermission's
    read here: it is judged on the grant alone (sending the grant again would not change it either). A
    principal that does not resolve cannot be judged: the change is sent again and reports the refusal."""
    if not getattr(found, "found", False):
        return None
    keys: dict[str, str] = {}
    for principal in found.principals:
        if not principal.found:
            return None
        keys[principal.identity.casefold()] = principal.key

    def key(name: str) -> str:
        return name.casefold() if name.casefold() in _SPECIAL else keys.get(name.casefold(), "")

    def members(add: str, remove: str, listed: Any) -> bool:
        have = {x.key for x in listed}
        return all(key(n) in have for n in _names(p, add)) and all(
            key(n) not in have for n in _names(p, remove)
        )

    applied: list[str] = []
    if _get(p, "FullAccessAdd") or _get(p, "FullAccessRemove"):
        if not members("FullAccessAdd", "FullAccessRemove", found.full_access):
            return None
        applied.append("full_access")
    if _get(p, "SendAsAdd") or _get(p, "SendAsRemove"):
        if not members("SendAsAdd", "SendAsRemove", found.send_as):
            return None
        applied.append("send_as")
    if _get(p, "SendOnBehalf") is not None:
        if {key(n) for n in _names(p, "SendOnBehalf")} != {x.key for x in found.send_on_behalf}:
            return None
        applied.append("send_on_behalf")
    rights = {
        (e.user.casefold() if e.principal is None else e.principal.key): str(e.access_rights).casefold()
        for e in found.calendar_permissions
    }
    wanted = [
        *zip(_names(p, "CalendarAddUser"), _names(p, "CalendarAddRights"), strict=False),
        *zip(_names(p, "CalendarSetUser"), _names(p, "CalendarSetRights"), strict=False),
    ]
    removed = _names(p, "CalendarRemoveUser")
    if wanted or removed:
        if any(rights.get(key(u)) != r.casefold() for u, r in wanted):
            return None
        if any(key(u) in rights for u in removed if u.casefold() not in _SPECIAL):
            return None  # Default and Anonymous are never removed, only their role set
        applied.append("calendar_permissions")
    return _outcome(applied)


SET_ACCESS = ReadBack("exo/get-access", _access_inputs, _access_applied)


# --- exo/set-place and exo/set-mailbox-type: what Get-Place shows ----------------------------------------


def _identity(_c: Mapping[str, str], p: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    return {}, {"Identity": _get(p, "Identity")}


def _place_value_matches(parameter: str, have: Any, wanted: Any) -> bool:
    if parameter == "Tags":  # the plan compares tags without case and order
        return {str(t).casefold() for t in have or []} == {str(t).casefold() for t in wanted or []}
    if parameter == "CountryOrRegion":  # an ISO code: the plan compares it without case
        return str(have or "").upper() == str(wanted or "").upper()
    if isinstance(wanted, bool) or isinstance(have, bool):
        return have is not None and bool(have) == bool(wanted)
    if isinstance(have, int):
        return have == int(wanted)
    return bool(have == wanted)  # a change of case is a change


def _place_applied(found: Any, p: Mapping[str, Any], _sent: datetime) -> Any:
    """Every Set-Place value we sent reads back as we sent it."""
    from pswrap.steps.access import PLACE_PARAMETERS

    place = getattr(found, "place", None) if getattr(found, "found", False) else None
    if place is None:
        return None
    applied: list[str] = []
    for field, parameter, _kind in PLACE_PARAMETERS:
        wanted = _get(p, parameter)
        if wanted is None:
            continue
        if not _place_value_matches(parameter, getattr(place, field), wanted):
            return None
        applied.append(parameter)
    return _outcome(applied)


SET_PLACE = ReadBack("exo/get-place", _identity, _place_applied)


def _type_applied(found: Any, p: Mapping[str, Any], _sent: datetime) -> Any:
    """Get-Place's Type is the one we set (Workspace or Room)."""
    place = getattr(found, "place", None) if getattr(found, "found", False) else None
    if place is None or not place.type or not _same(place.type, _get(p, "Type")):
        return None
    return _outcome(["Type"])


SET_MAILBOX_TYPE = ReadBack("exo/get-place", _identity, _type_applied)


# --- exo/set-room-lists: lists created, the room added to and removed from ----------------------------


def _lists_inputs(_c: Mapping[str, str], p: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    names = list(dict.fromkeys(_names(p, "Create", "AddTo", "RemoveFrom")))
    return {}, {"Identity": _get(p, "Identity"), "Names": names}


def _lists_applied(found: Any, p: Mapping[str, Any], _sent: datetime) -> Any:
    """Each list we created exists, the room is a member of each we added it to and of none we removed it
    from. A name that matches no list or several cannot be judged: the change is sent again."""
    matched = {n.identity.casefold(): n.name for n in found.named if n.found and n.name}
    member = {entry.name.casefold(): entry.member for entry in found.lists}

    def is_member(name: str) -> bool | None:
        listed = matched.get(name.casefold())
        return None if listed is None else member.get(listed.casefold())

    if any(n.casefold() not in matched for n in _names(p, "Create")):
        return None
    if any(is_member(n) is not True for n in _names(p, "AddTo")):
        return None
    if any(is_member(n) is not False for n in _names(p, "RemoveFrom")):
        return None
    return _outcome(["room_lists"])


SET_ROOM_LISTS = ReadBack("exo/get-room-lists", _lists_inputs, _lists_applied)


# --- ad/set-resource-attributes: address attributes, msExchHideFromAddressLists, publicDelegates ---------


def _ad_inputs(_c: Mapping[str, str], p: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    """The account by its UPN on the same domain controller the change went to (the AD credential is a
    session parameter the session fills in, as for the change)."""
    params: dict[str, Any] = {"UserPrincipalName": _get(p, "UserPrincipalName")}
    if _get(p, "Server"):
        params["Server"] = _get(p, "Server")
    return {}, params


def _ad_applied(found: Any, p: Mapping[str, Any], _sent: datetime) -> Any:
    """Every address attribute we wrote reads back as sent, msExchHideFromAddressLists (readable only with
    the Exchange schema) is ours, and publicDelegates holds exactly the distinguished names we wrote."""
    from pswrap.steps.access import AD_PLACE_PARAMETERS

    if not getattr(found, "found", False):
        return None
    applied: list[str] = []
    for field, parameter in AD_PLACE_PARAMETERS:
        wanted = _get(p, parameter)
        if wanted is None:
            continue
        have = getattr(found, field)
        same = _same(have, wanted) if parameter == "Country" else have == wanted
        if not same:
            return None
        applied.append(parameter)
    hide = _get(p, "HideFromAddressLists")
    if hide is not None:
        if found.hidden_from_address_lists is None or bool(found.hidden_from_address_lists) != bool(hide):
            return None
        applied.append("HideFromAddressLists")
    delegates = _get(p, "PublicDelegates")
    if delegates is not None:
        have = {str(d.identity).casefold() for d in found.public_delegates}
        if have != {str(dn).casefold() for dn in delegates}:
            return None
        applied.append("PublicDelegates")
    display_name = _get(p, "DisplayName")
    if display_name is not None:
        if found.display_name != display_name:
            return None
        applied.append("DisplayName")
    addresses = _get(p, "ProxyAddresses")
    if addresses is not None:
        mail = _get(p, "EmailAddress")
        if _address_set(found.proxy_addresses) != _address_set(addresses):
            return None
        if mail is not None and str(found.mail or "").casefold() != str(mail).casefold():
            return None
        applied.append("ProxyAddresses")
    elif _get(p, "EmailAddress") is not None:
        if str(found.mail or "").casefold() != str(_get(p, "EmailAddress")).casefold():
            return None
        applied.append("EmailAddress")
    return _outcome(applied)


def _address_set(addresses: Any) -> set[str]:
    """proxyAddresses as written: the prefix's case marks the primary (SMTP:), the address's does not."""
    out = set()
    for entry in addresses or []:
        prefix, _, address = str(entry).partition(":")
        out.add(f"{prefix}:{address.casefold()}")
    return out


SET_RESOURCE_ATTRIBUTES = ReadBack("ad/get-resource-attributes", _ad_inputs, _ad_applied)
