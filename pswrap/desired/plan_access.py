"""Part 2's diff and apply: permissions, visibility, place data and room lists.

`plan` is a pure function of (spec, observed, area facts): each given field is compared the way its
value means (principals by the directory object they resolve to, lists as sets, a country code without
case) and becomes a `Planned` write in the system the mastering table names for the mailbox's link
state, or drift when that is nowhere (`not_settable`) or cannot be expressed there (a cloud-only
delegate in AD's publicDelegates). `apply` sends one write step per area and system; a refused value
fails alone (its field is named with Exchange's or AD's text) and the others are applied.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any, cast

from pswrap.desired.diff import shown
from pswrap.desired.facts import Observed
from pswrap.desired.facts_access import AreaFacts, room_list_names
from pswrap.desired.spec import ListEdit, MailboxSpec
from pswrap.desired.spec_access import SPECIAL_USERS, CalendarRightsEdit
from pswrap.errors import PswrapError, RemoteError
from pswrap.mastering import LinkState, Master, where_written
from pswrap.steps.access import AD_PLACE_PARAMETERS, PLACE_PARAMETERS
from pswrap.workflows.results import Change, Drift, MailboxResult, Where

SET_PLACE = {f: p for f, p, _kind in PLACE_PARAMETERS}
SET_ADUSER = dict(AD_PLACE_PARAMETERS)


@dataclass(frozen=True)
class Planned:
    """One field to write: how it reads now and after, where, and the step and parameters carrying it."""

    field: str
    before: Any
    after: Any
    where: Master
    step: str
    key: str
    """The name the step reports the field by in `applied` / `refused`."""
    params: dict[str, Any] = dc_field(default_factory=dict)


def as_change(item: Planned) -> Change:
    return Change(item.field, item.before, item.after, cast(Where, item.where))


def as_drift(item: Planned) -> Drift:
    return Drift(item.field, item.before, item.after, cast(Where, item.where))


def ordered_rights(rights: dict[str, str]) -> dict[str, str]:
    """Calendar entries as shown: Default and Anonymous first, then the users by name."""
    return dict(sorted(rights.items(), key=lambda kv: (kv[0] not in SPECIAL_USERS, kv[0].lower())))


def ident(principal: Any) -> str:
    """How a principal is named to a cmdlet: its primary SMTP address, else as resolved."""
    return str(principal.primary_smtp_address or principal.identity)


def _target(wanted: list[str] | ListEdit, now: dict[str, Any], by_name: dict[str, Any]) -> dict[str, Any]:
    """The members after the change, by key (the directory object)."""
    if isinstance(wanted, ListEdit):
        removed = {by_name[n.lower()].key for n in wanted.remove if n.lower() in by_name}
        out = {k: p for k, p in now.items() if k not in removed}
        for n in wanted.add:
            out.setdefault(by_name[n.lower()].key, by_name[n.lower()])
        return out
    return {by_name[n.lower()].key: by_name[n.lower()] for n in wanted}


def _members(
    name: str,
    wanted: Any,
    current: list[Any],
    by_name: dict[str, Any],
    add: str,
    remove: str,
    state: LinkState,
) -> Planned | None:
    now = {p.key: p for p in current}
    target = _target(wanted, now, by_name)
    if set(target) == set(now):
        return None
    params: dict[str, Any] = {}
    if added := [ident(p) for k, p in target.items() if k not in now]:
        params[add] = added
    if removed := [ident(p) for k, p in now.items() if k not in target]:
        params[remove] = removed
    before, after = [shown(p) for p in now.values()], [shown(p) for p in target.values()]
    where = where_written(name, state)  # Exchange Online in every state (permissions are not synced)
    return Planned(f"permissions.{name}", before, after, where, "exo/set-access", name, params)


def _calendar(wanted: Any, current: list[Any], by_name: dict[str, Any], where: Master) -> Planned | None:
    """Folder entries by user (Default/Anonymous by name, others by directory object)."""
    now: dict[str, tuple[str, str, str]] = {}  # key -> (label, cmdlet name, role)
    for entry in current:
        if entry.principal is None:
            now[entry.user] = (entry.user, entry.user, entry.access_rights)
        else:
            now[entry.principal.key] = (shown(entry.principal), ident(entry.principal), entry.access_rights)

    def resolve(user: str) -> tuple[str, str, str]:
        special = next((s for s in SPECIAL_USERS if s.lower() == user.lower()), None)
        if special:
            return special, special, special
        p = by_name[user.lower()]
        return p.key, shown(p), ident(p)

    if isinstance(wanted, CalendarRightsEdit):
        target = dict(now)
        for user in wanted.remove:
            key = resolve(user)[0]
            if key not in SPECIAL_USERS:
                target.pop(key, None)
        entries = wanted.add
    else:  # a mapping replaces every named user's entry; Default and Anonymous stay unless named
        target = {k: v for k, v in now.items() if k in SPECIAL_USERS}
        entries = wanted
    for user, role in entries.items():
        key, label, name = resolve(user)
        target[key] = (label, name, role)
    add = [(v[1], v[2]) for k, v in target.items() if k not in now]
    change = [(v[1], v[2]) for k, v in target.items() if k in now and now[k][2].lower() != v[2].lower()]
    remove = [v[1] for k, v in now.items() if k not in target]
    if not (add or change or remove):
        return None
    params: dict[str, Any] = {}
    if add:
        params.update(CalendarAddUser=[u for u, _ in add], CalendarAddRights=[r for _, r in add])
    if change:
        params.update(CalendarSetUser=[u for u, _ in change], CalendarSetRights=[r for _, r in change])
    if remove:
        params["CalendarRemoveUser"] = remove
    before = ordered_rights({v[0]: v[2] for v in now.values()})
    after = ordered_rights({v[0]: v[2] for v in target.values()})
    return Planned(
        "permissions.calendar_permissions",
        before,
        after,
        where,
        "exo/set-access",
        "calendar_permissions",
        params,
    )


def plan(spec: MailboxSpec, observed: Observed, found: AreaFacts) -> tuple[list[Planned], list[Drift]]:
    out: list[Planned] = []
    drift: list[Drift] = []
    state = found.state

    def add(item: Planned | None) -> None:
        if item is None:
            return
        if item.where == "not_settable":
            drift.append(Drift(item.field, item.before, item.after, "exo"))
        else:
            out.append(item)

    access = found.access
    perms = spec.permissions
    if perms is not None and access is not None:
        by_name = {p.identity.lower(): p for p in access.principals}
        for name, now, add_p, remove_p in (
            ("full_access", access.full_access, "FullAccessAdd", "FullAccessRemove"),
            ("send_as", access.send_as, "SendAsAdd", "SendAsRemove"),
        ):
            wanted = getattr(perms, name)
            if wanted is not None:
                add(_members(name, wanted, list(now), by_name, add_p, remove_p, state))
        if perms.send_on_behalf is not None:
            _send_on_behalf(perms.send_on_behalf, observed, found, by_name, add, drift)
        if perms.calendar_permissions is not None:
            where = where_written("calendar_permissions", state)
            add(_calendar(perms.calendar_permissions, list(access.calendar_permissions), by_name, where))
    if spec.hidden_from_address_lists is not None and access is not None:
        add(_hidden(spec.hidden_from_address_lists, access, found))
    if spec.place is not None:
        for name, wanted in spec.place.given().items():
            add(_place(name, wanted, found, state))
    if spec.room_lists is not None and found.lists is not None:
        add(_room_lists(spec, found.lists, where_written("room_lists", state)))
    if spec.workspace is not None:
        now_ws = None if found.place is None else found.place.type == "Workspace"
        if now_ws != spec.workspace:
            kind = "Workspace" if spec.workspace else "Room"
            where = where_written("workspace", state)
            add(
                Planned(
                    "workspace", now_ws, spec.workspace, where, "exo/set-mailbox-type", "Type", {"Type": kind}
                )
            )
    return out, drift


def _hidden(wanted: bool, access: Any, found: AreaFacts) -> Planned | None:
    """HiddenFromAddressListsEnabled in Exchange Online, or msExchHideFromAddressLists in AD (a forest
    with the Exchange schema), or not settable (a forest without it)."""
    where = where_written("hidden_from_address_lists", found.state)
    field_name = "hidden_from_address_lists"
    if where == "ad":
        now = None if found.ad is None else bool(found.ad.hidden_from_address_lists)
        if now == wanted:
            return None
        step, key = "ad/set-resource-attributes", "HideFromAddressLists"
        return Planned(field_name, now, wanted, "ad", step, key, {key: wanted})
    now = bool(access.hidden_from_address_lists) if access.found else None
    if now == wanted:
        return None
    key = "HiddenFromAddressListsEnabled"
    return Planned(field_name, now, wanted, where, "exo/set-mailbox", key, {key: wanted})


def _send_on_behalf(
    wanted: Any,
    observed: Observed,
    found: AreaFacts,
    by_name: dict[str, Any],
    add: Callable[[Planned | None], None],
    drift: list[Drift],
) -> None:
    field_name = "permissions.send_on_behalf"
    where = where_written("send_on_behalf", found.state)
    access = found.access
    assert access is not None
    if where == "ad" and found.ad is not None and found.ad.found:
        ad_by_name = {p.identity.lower(): p for p in found.ad.principals}
        now = {p.key: p for p in found.ad.public_delegates}
        names = [*wanted.add, *wanted.remove] if isinstance(wanted, ListEdit) else list(wanted)
        cloud_only = [n for n in names if not (ad_by_name.get(n.lower()) and ad_by_name[n.lower()].found)]
        target = None if cloud_only else _target(wanted, now, ad_by_name)
        before = [shown(p) for p in now.values()]
        if target is None:  # publicDelegates holds DNs: a delegate with no AD account cannot be written
            drift.append(Drift(field_name, before, names, "ad"))
        elif set(target) != set(now):
            params = {"PublicDelegates": [str(p.name) for p in target.values()]}
            after = [shown(p) for p in target.values()]
            add(
                Planned(
                    field_name, before, after, "ad", "ad/set-resource-attributes", "PublicDelegates", params
                )
            )
        return
    now = {p.key: p for p in access.send_on_behalf}
    before = [shown(p) for p in now.values()]
    if where != "exo" and observed.mailbox is None:  # check mode of a room apply will create and link
        after = list(wanted) if isinstance(wanted, list) else list(wanted.add)
        add(Planned(field_name, [], after, "ad", "ad/set-resource-attributes", "PublicDelegates"))
        return
    if where != "exo":  # mastered in AD, but no AD account was found for the mailbox
        drift.append(Drift(field_name, before, wanted if isinstance(wanted, list) else None, "ad"))
        return
    target = _target(wanted, now, by_name)
    if set(target) != set(now):
        params = {"SendOnBehalf": [ident(p) for p in target.values()]}
        after = [shown(p) for p in target.values()]
        add(Planned(field_name, before, after, "exo", "exo/set-access", "send_on_behalf", params))


def _place(name: str, wanted: Any, found: AreaFacts, state: Any) -> Planned | None:
    field_name = f"place.{name}"
    where = where_written(field_name, state)
    source = found.ad if where == "ad" else found.place
    before = None if source is None else getattr(source, name, None)
    if name == "tags":
        now = list(before or [])
        after: Any = wanted.apply(now) if isinstance(wanted, ListEdit) else list(wanted)
        same = {t.lower() for t in now} == {t.lower() for t in after}
        before = now
    elif name == "country_or_region":
        after = wanted
        same = str(before or "").upper() == str(wanted).upper()
    else:
        after = wanted
        same = before == wanted
    if same and source is not None:
        return None
    if where == "ad":
        return Planned(
            field_name,
            before,
            after,
            "ad",
            "ad/set-resource-attributes",
            SET_ADUSER[name],
            {SET_ADUSER[name]: after},
        )
    parameter = SET_PLACE[name]
    return Planned(field_name, before, after, where, "exo/set-place", parameter, {parameter: after})


def _room_lists(spec: MailboxSpec, lists: Any, where: Master) -> Planned | None:
    current = [entry.name for entry in lists.lists if entry.member]
    resolved = {n.identity.lower(): n.name for n in lists.named}

    def name_of(given: str) -> str:
        return resolved.get(given.lower()) or given

    wanted = spec.room_lists
    if isinstance(wanted, ListEdit):
        gone = {name_of(n).lower() for n in wanted.remove}
        target = [n for n in current if n.lower() not in gone]
        target += [name_of(n) for n in wanted.add if name_of(n).lower() not in {t.lower() for t in target}]
    else:
        target = [name_of(n) for n in wanted or []]
    now = {n.lower() for n in current}
    after = {n.lower() for n in target}
    if now == after:
        return None
    params: dict[str, Any] = {}
    if create := [n for n in room_list_names(spec) if not resolved.get(n.lower()) and n.lower() in after]:
        params["Create"] = create
    if add_to := [n for n in target if n.lower() not in now]:
        params["AddTo"] = add_to
    if remove_from := [n for n in current if n.lower() not in after]:
        params["RemoveFrom"] = remove_from
    return Planned(
        "room_lists", sorted(current), sorted(target), where, "exo/set-room-lists", "room_lists", params
    )


# --- apply -------------------------------------------------------------------------------------------------


def apply(
    runner: Any, spec: MailboxSpec, observed: Observed, planned: list[Planned], result: MailboxResult
) -> list[PswrapError]:
    """One write step per area and system; each refusal fails its field alone. Returns the errors."""
    errors: list[PswrapError] = []
    steps: dict[str, list[Planned]] = {}
    for item in planned:
        steps.setdefault(item.step, []).append(item)
    for step_id, items in steps.items():
        if step_id == "ad/set-resource-attributes":
            params: dict[str, Any] = {
                "UserPrincipalName": observed.mailbox.user_principal_name if observed.mailbox else None
            }
        else:
            params = {"Identity": spec.alias}
        for item in items:
            params.update(item.params)
        if "FullAccessAdd" in params and spec.permissions is not None:
            params["AutoMapping"] = spec.permissions.automapping
        try:
            done = runner(step_id, params=params)
        except PswrapError as exc:
            errors.append(exc)
            continue
        applied = {str(a) for a in getattr(done, "applied", [item.key for item in items])}
        for item in items:
            if item.key in applied:
                result.changes.append(as_change(item))
        refused = list(getattr(done, "refused", []))
        if refused:
            by_key = {item.key: item.field for item in items}
            parts = [f"{by_key.get(r.parameter, r.parameter)}: {r.message}" for r in refused]
            errors.append(
                RemoteError(
                    f"{spec.alias}: {len(parts)} setting(s) refused: " + "; ".join(parts),
                    hint="the other settings were applied; fix or remove the refused ones and apply again",
                )
            )
    return errors
