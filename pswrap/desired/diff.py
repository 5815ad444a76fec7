"""Diff, field by field: only the fields the spec gives, each compared the way its value means.

Pure functions of (spec, observed): no I/O. Each difference is written where the mastering table says
for the mailbox's link state: calendar fields with Set-CalendarProcessing (always Exchange Online), and
the identity fields Set-Mailbox can write when Exchange Online masters them (capacity always, the
display name before the link). Any other difference of an existing mailbox (name, primary address,
extra addresses, a display name AD masters) is reported as drift, with the system that masters it:
pswrap does not write those yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pswrap.desired.facts import Observed
from pswrap.desired.spec import CalendarSpec, ListEdit, MailboxSpec
from pswrap.mastering import where_written
from pswrap.steps.desired import CALENDAR_PARAMETERS
from pswrap.workflows.results import Drift, Where

OBSERVED_NAME = {
    "booking_window_days": "booking_window_in_days",
    "max_duration_minutes": "maximum_duration_in_minutes",
}
"""Spec field -> the Get-CalendarProcessing field (results.desired.CalendarProcessing) where they differ."""

PARAMETER = {spec_field: parameter for spec_field, parameter, _kind in CALENDAR_PARAMETERS}
PRINCIPAL_LISTS = ("resource_delegates", "book_in_policy")


@dataclass(frozen=True)
class FieldChange:
    """One field to change: how it reads now and after, where, and the step parameter carrying it."""

    field: str
    before: Any
    after: Any
    where: Where
    parameter: str
    value: Any
    """What the parameter is sent as (principals: their primary SMTP addresses)."""
    step: str = "exo/set-calendar-processing"


def shown(principal: Any) -> str:
    """How a principal is shown (and written back by `show`): its primary SMTP address."""
    return str(principal.primary_smtp_address or principal.identity)


def calendar_changes(spec: CalendarSpec, observed: Observed) -> list[FieldChange]:
    """Each given calendar field whose value differs (a missing mailbox: every given field)."""
    current = observed.calendar
    state = observed.link_state
    out: list[FieldChange] = []
    for name, wanted in spec.given().items():
        field = f"calendar.{name}"
        where = where_written(field, state)
        if where == "not_settable":  # the table has none for calendar.*; kept for the rule's sake
            continue
        if name in PRINCIPAL_LISTS:
            change = _principal_change(name, wanted, current, observed)
        else:
            before = None if current is None else getattr(current, OBSERVED_NAME.get(name, name))
            change = None if before == wanted else (before, wanted, wanted)
        if change is not None:
            before, after, value = change
            out.append(FieldChange(field, before, after, where, PARAMETER[name], value))
    return out


def _principal_change(
    name: str, wanted: list[str] | ListEdit, current: Any, observed: Observed
) -> tuple[Any, Any, Any] | None:
    """Compared by the directory object each resolves to, as sets; the order is not meaningful."""
    now = [] if current is None else list(getattr(current, name))
    before = [shown(p) for p in now]
    by_key = {p.key: p for p in now}
    if isinstance(wanted, ListEdit):
        removed = {observed.principals[n.lower()].key for n in wanted.remove}
        result = {k: p for k, p in by_key.items() if k not in removed}
        for n in wanted.add:
            principal = observed.principals[n.lower()]
            result.setdefault(principal.key, principal)
    else:
        result = {}
        for n in wanted:
            principal = observed.principals[n.lower()]
            result.setdefault(principal.key, principal)
    if set(result) == set(by_key) and current is not None:
        return None
    after = [shown(p) for p in result.values()]
    return before, after, after


SET_MAILBOX = {"display_name": "DisplayName", "capacity": "ResourceCapacity"}
"""Identity fields exo/set-mailbox writes when Exchange Online masters them."""


def identity_changes(spec: MailboxSpec, observed: Observed) -> tuple[list[FieldChange], list[Drift]]:
    """Identity fields of an existing mailbox that differ: changes where pswrap writes them, else drift."""
    mailbox = observed.mailbox
    if mailbox is None:
        return [], []
    state = observed.link_state
    found: dict[str, Any] = {
        "name": mailbox.name,
        "display_name": mailbox.display_name,
        "email": mailbox.primary_smtp_address,
        "capacity": mailbox.resource_capacity,
    }
    changes: list[FieldChange] = []
    drift: list[Drift] = []
    for name, current in found.items():
        wanted = getattr(spec, name)
        if wanted is None:
            continue
        same = str(current or "").lower() == str(wanted).lower() if name == "email" else current == wanted
        if same:
            continue
        where = where_written(name, state)
        if name in SET_MAILBOX and where == "exo":
            changes.append(
                FieldChange(name, current, wanted, where, SET_MAILBOX[name], wanted, "exo/set-mailbox")
            )
        else:
            drift.append(Drift(name, current, wanted, "exo" if where == "not_settable" else where))
    if spec.addresses is not None:
        drift.extend(_address_drift(spec.addresses, mailbox, state))
    return changes, drift


def _address_drift(wanted: list[str] | ListEdit, mailbox: Any, state: Any) -> list[Drift]:
    """Extra SMTP addresses: the primary and the service's *.onmicrosoft.com addresses are not counted."""
    have = [
        a.split(":", 1)[1]
        for a in mailbox.email_addresses
        if a.startswith("smtp:") and not a.lower().endswith(".onmicrosoft.com")
    ]
    target = wanted.apply(have) if isinstance(wanted, ListEdit) else list(wanted)
    if {a.lower() for a in have} == {a.lower() for a in target}:
        return []
    where = where_written("addresses", state)
    return [Drift("addresses", have, target, "exo" if where == "not_settable" else where)]
