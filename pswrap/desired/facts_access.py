"""Reading part 2's areas: one read step per area and system, never one per field.

- permissions and visibility (Exchange Online): exo/get-access, which also resolves every principal the
  permissions name and tells whether the mailbox's Exchange attributes are cloud-managed;
- place (Exchange Online): exo/get-place;
- room lists (Exchange Online): exo/get-room-lists, which also matches the lists the spec names;
- AD (a synced mailbox only, when a field the spec gives is mastered there): ad/get-resource-attributes,
  the address attributes, publicDelegates, display name and addresses, resolving the principals in AD too.

Everything the spec names is resolved here, before anything changes: an unknown principal or room list
(without `create_room_lists`) is bad input (exit 2) naming it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pswrap.desired import facts
from pswrap.desired.spec import ListEdit, MailboxSpec
from pswrap.desired.spec_access import principals_in
from pswrap.errors import BadInput, Conflict
from pswrap.mastering import LinkState, link_state, where_written
from pswrap.workflows.ports import StepSession

AD_PLACE_FIELDS = ("street", "city", "state", "postal_code", "country_or_region", "phone")


@dataclass
class AreaFacts:
    """What part 2's reads found (None: the area was not read)."""

    state: LinkState = "not_linked"
    access: Any | None = None
    """results.access.AccessRead"""
    place: Any | None = None
    """results.access.Place (None also when the mailbox is missing)"""
    lists: Any | None = None
    """results.access.RoomListsRead"""
    ad: Any | None = None
    """results.access.AdAttributes"""
    reads: list[str] = field(default_factory=list)


def room_list_names(spec: MailboxSpec) -> list[str]:
    value = spec.room_lists
    if isinstance(value, ListEdit):
        return [*value.add, *value.remove]
    return list(value or [])


def _needs_ad(spec: MailboxSpec, state: LinkState, everything: bool) -> bool:
    if state == "not_linked":
        return False
    if everything:
        return True
    fields = [f"place.{f}" for f in AD_PLACE_FIELDS if spec.place is not None and getattr(spec.place, f)]
    if spec.permissions is not None and spec.permissions.send_on_behalf is not None:
        fields.append("send_on_behalf")
    fields += [f for f in ("display_name", "email", "addresses", "ou") if getattr(spec, f) is not None]
    if spec.hidden_from_address_lists is not None:
        if state == "linked":  # AD masters it only with the Exchange schema, which this read tells
            return True
        fields.append("hidden_from_address_lists")
    return any(where_written(f, state) == "ad" for f in fields)


def read(
    session: StepSession, spec: MailboxSpec, observed: facts.Observed, *, everything: bool = False
) -> AreaFacts:
    """The areas the spec manages (`everything`: all of them, for `show`)."""
    mailbox = observed.mailbox
    out = AreaFacts()
    synced = bool(mailbox is not None and mailbox.is_dir_synced)
    names = principals_in(spec.permissions)
    # The permissions read also says whether the Exchange attributes are cloud-managed, which decides
    # where send-on-behalf, visibility and the workspace type are written.
    state_matters = spec.hidden_from_address_lists is not None or spec.workspace is not None
    # ... and the addresses: AD's after the link, Exchange Online's again once cloud-managed.
    state_matters = state_matters or (synced and (spec.email is not None or spec.addresses is not None))
    if everything or spec.permissions is not None or state_matters:
        params: dict[str, Any] = {"Identity": spec.alias}
        if names:
            params["Principals"] = names
        out.access = session.step("exo/get-access", params=params)
        out.reads.append("exo/get-access")
    cloud_managed = bool(out.access is not None and out.access.is_exchange_cloud_managed)
    out.state = link_state(linked=synced, exchange_cloud_managed=cloud_managed)
    is_room = observed.mailbox_type == "room" or (mailbox is None and (spec.type or "room") == "room")
    wants_place = spec.place is not None or spec.workspace is not None
    if ((everything and is_room) or wants_place) and mailbox is not None:
        read_place = session.step("exo/get-place", params={"Identity": spec.alias})
        out.place = read_place.place
        out.reads.append("exo/get-place")
    if (everything and is_room) or spec.room_lists is not None:
        params = {"Identity": spec.alias}
        if room_list_names(spec):
            params["Names"] = room_list_names(spec)
        out.lists = session.step("exo/get-room-lists", params=params)
        out.reads.append("exo/get-room-lists")
    if mailbox is not None and mailbox.user_principal_name and _needs_ad(spec, out.state, everything):
        params = {"UserPrincipalName": mailbox.user_principal_name}
        if names:
            params["Principals"] = names
        out.ad = session.step("ad/get-resource-attributes", params=params)
        out.reads.append("ad/get-resource-attributes")
        if out.state == "linked" and out.ad.exchange_schema:  # the same AD read says whether AD has it
            out.state = "linked_with_exchange_schema"
    return out


def check(spec: MailboxSpec, observed: facts.Observed, found: AreaFacts) -> None:
    """Before anything changes: the principals and room lists the spec names exist; place data and room
    lists are for rooms."""
    kind = observed.mailbox_type or spec.type or "room"
    for section in ("place", "room_lists", "workspace"):
        if getattr(spec, section) is not None and kind != "room":
            raise BadInput(
                f"mailbox {spec.alias} is a {kind} mailbox: {section} is managed for rooms only",
                hint=f"remove the {section} section, or declare type room",
            )
    if found.ad is not None and not found.ad.found:
        upn = observed.mailbox.user_principal_name if observed.mailbox is not None else None
        raise Conflict(
            f"mailbox {spec.alias} is synced, but no single AD account has its UPN {upn}: the fields AD "
            "masters (the room's address, send-on-behalf, the display name and addresses) cannot be written",
            hint="`pswrap mailbox show` reports the link; fix the account's UPN, or leave those fields out",
        )
    names = principals_in(spec.permissions)
    if names and found.access is not None:
        resolved = facts.Observed(
            spec.alias, principals={p.identity.lower(): p for p in found.access.principals}
        )
        facts.check_principals(resolved, names)
    if found.lists is not None:
        missing = [n.identity for n in found.lists.named if n.matches == 0]
        ambiguous = [n.identity for n in found.lists.named if n.matches > 1]
        if ambiguous:
            raise BadInput(f"mailbox {spec.alias}: more than one room list matches " + ", ".join(ambiguous))
        wanted_missing = [n for n in missing if not _only_removed(spec, n)]
        if wanted_missing and not spec.create_room_lists:
            raise BadInput(
                f"mailbox {spec.alias}: no room list is named " + ", ".join(wanted_missing),
                hint="create it first, or set create_room_lists: true to let apply create it",
            )


def _only_removed(spec: MailboxSpec, name: str) -> bool:
    """A list named only under `remove`: missing means nothing to remove."""
    value = spec.room_lists
    return isinstance(value, ListEdit) and name in value.remove and name not in value.add
