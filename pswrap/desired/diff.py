"""Diff, field by field: only the fields the spec gives, each compared the way its value means.

Pure functions of (spec, observed): no I/O. Each difference is written where the mastering table says
for the mailbox's link state: calendar fields with Set-CalendarProcessing (always Exchange Online), the
capacity with Set-Mailbox (always Exchange Online), and the identity fields (name, display name, primary
and extra addresses; pswrap.desired.identity) in Exchange Online before the link and in AD after it, with
Set-ADUser on the mailbox's account. The one identity value pswrap does not write is the name of a synced
mailbox (AD's cn: a rename of the AD object); it is reported as drift with a hint for the admin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from pswrap.desired import identity
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
    params: dict[str, Any] | None = None
    """Every parameter the step is sent for this field (None: just `parameter`)."""

    def sent(self) -> dict[str, Any]:
        return dict(self.params) if self.params is not None else {self.parameter: self.value}


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


def identity_changes(
    spec: MailboxSpec, observed: Observed, found: Any | None = None
) -> tuple[list[FieldChange], list[Drift]]:
    """Identity fields of an existing mailbox that differ: changes where pswrap writes them, else drift.

    `found`: part 2's AreaFacts when they were read (their link state says whether the Exchange
    attributes are cloud-managed, their `ad` holds the AD values a synced mailbox's fields are compared
    with); without them the state is read from Exchange Online alone and AD's values are not known."""
    mailbox = observed.mailbox
    if mailbox is None:
        return [], []
    state = found.state if found is not None else observed.link_state
    ad = found.ad if found is not None and found.ad is not None and found.ad.found else None
    changes: list[FieldChange] = []
    drift: list[Drift] = []
    for item in identity.changes(spec, mailbox, state, ad):
        if item.step is None or item.params is None:
            where = cast(Where, item.where)
            drift.append(Drift(item.field, item.before, item.after, where, item.hint))
        else:
            parameter, value = next(iter(item.params.items()))
            changes.append(
                FieldChange(
                    item.field,
                    item.before,
                    item.after,
                    cast(Where, item.where),
                    parameter,
                    value,
                    item.step,
                    item.params,
                )
            )
    if spec.capacity is not None and spec.capacity != mailbox.resource_capacity:
        master = where_written("capacity", state)  # Exchange Online in every state
        changes.append(
            FieldChange(
                "capacity",
                mailbox.resource_capacity,
                spec.capacity,
                cast(Where, master),
                "ResourceCapacity",
                spec.capacity,
                "exo/set-mailbox",
            )
        )
    return changes, drift
