"""`mailbox show` for part 2's fields: permissions, visibility, place data and room lists, in the spec's
shape and read from where each is mastered (a synced room's address and send-on-behalf from AD), so that
`show -o yaml | apply` changes nothing."""

from __future__ import annotations

from typing import Any

from pswrap.desired.diff import shown
from pswrap.desired.facts_access import AreaFacts
from pswrap.desired.plan_access import ordered_rights
from pswrap.mastering import where_written
from pswrap.steps.access import PLACE_PARAMETERS


def sections(found: AreaFacts) -> dict[str, Any]:
    """The spec sections that describe the mailbox as it is (empty lists and unset values left out)."""
    out: dict[str, Any] = {}
    access = found.access
    if access is not None and access.found:
        permissions: dict[str, Any] = {}
        for name in ("full_access", "send_as"):
            if members := [shown(p) for p in getattr(access, name)]:
                permissions[name] = members
        delegates = access.send_on_behalf
        if where_written("send_on_behalf", found.state) == "ad" and found.ad is not None and found.ad.found:
            delegates = found.ad.public_delegates
        if names := [shown(p) for p in delegates]:
            permissions["send_on_behalf"] = names
        rights = {
            (entry.user if entry.principal is None else shown(entry.principal)): entry.access_rights
            for entry in access.calendar_permissions
        }
        if rights:
            permissions["calendar_permissions"] = ordered_rights(rights)
        if permissions:
            out["permissions"] = permissions
        hidden = access.hidden_from_address_lists
        if where_written("hidden_from_address_lists", found.state) == "ad" and found.ad is not None:
            hidden = found.ad.hidden_from_address_lists  # msExchHideFromAddressLists, the master
        out["hidden_from_address_lists"] = bool(hidden)
    if found.place is not None:
        place: dict[str, Any] = {}
        for name, _parameter, _kind in PLACE_PARAMETERS:
            master = where_written(f"place.{name}", found.state)
            source = found.ad if master == "ad" else found.place
            value = getattr(source, name, None) if source is not None else None
            if master != "not_settable" and value not in (None, "", []):
                place[name] = list(value) if name == "tags" else value
        if place:
            out["place"] = place
        out["workspace"] = found.place.type == "Workspace"
    member_of = [] if found.lists is None else sorted(e.name for e in found.lists.lists if e.member)
    if member_of:
        out["room_lists"] = member_of
    return out


def text_lines(spec: dict[str, Any]) -> list[str]:
    """The `show` text of these sections, one line per field."""
    lines: list[str] = []
    for section in ("permissions", "place"):
        for key, value in (spec.get(section) or {}).items():
            if isinstance(value, dict):
                text = ", ".join(f"{user}: {right}" for user, right in value.items())
            elif isinstance(value, list):
                text = ", ".join(str(v) for v in value) or "(none)"
            else:
                text = str(value)
            lines.append(f"  {section + '.' + key + ':':<45}{text}")
    for key in ("room_lists", "hidden_from_address_lists", "workspace"):
        if key in spec:
            value = spec[key]
            text = ", ".join(value) if isinstance(value, list) else str(value)
            lines.append(f"  {key + ':':<45}{text}")
    return lines
