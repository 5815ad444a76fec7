"""The diff, without a lab: spec + what was read -> changes and drift (pure functions)."""

from __future__ import annotations

from typing import Any

import pytest

from pswrap.desired.diff import calendar_changes, identity_changes
from pswrap.desired.facts import Observed, principals_named
from pswrap.desired.spec import MailboxSpec
from pswrap.results.desired import CalendarProcessing, Principal
from pswrap.results.models import Mailbox

ALICE = Principal(
    identity="alice",
    found=True,
    matches=1,
    primary_smtp_address="alice@x.example",
    external_directory_object_id="A",
)
BOB = Principal(
    identity="bob@x.example",
    found=True,
    matches=1,
    primary_smtp_address="bob@x.example",
    external_directory_object_id="B",
)
DEFAULTS: dict[str, Any] = {
    "automate_processing": "AutoAccept",
    "booking_window_in_days": 180,
    "maximum_duration_in_minutes": 1440,
    "allow_conflicts": False,
    "allow_recurring_meetings": True,
    "all_book_in_policy": True,
    "add_organizer_to_subject": True,
    "delete_comments": True,
    "delete_subject": True,
    "process_external_meeting_messages": False,
}


def observed(synced: bool = True, delegates: list[Principal] | None = None, **mailbox: Any) -> Observed:
    box = Mailbox(
        alias="room1",
        name="Room 1",
        display_name="Room 1",
        primary_smtp_address="room1@x.example",
        recipient_type_details="RoomMailbox",
        is_dir_synced=synced,
        **mailbox,
    )
    calendar = CalendarProcessing(**DEFAULTS, resource_delegates=delegates or [])
    names = {"alice": ALICE, "alice@x.example": ALICE, "bob@x.example": BOB, "bob": BOB}
    return Observed("room1", mailbox=box, calendar=calendar, principals=names)


def spec(**fields: Any) -> MailboxSpec:
    return MailboxSpec.model_validate({"alias": "room1", **fields})


@pytest.mark.parametrize(
    ("calendar", "expected"),
    [
        ({"booking_window_days": 180}, []),
        ({"booking_window_days": 90}, [("calendar.booking_window_days", 180, 90)]),
        (
            {"automate_processing": "AutoAccept", "allow_conflicts": True},
            [("calendar.allow_conflicts", False, True)],
        ),
        ({"resource_delegates": ["alice"]}, [("calendar.resource_delegates", [], ["alice@x.example"])]),
        ({"resource_delegates": []}, []),
    ],
)
def test_only_given_fields_that_differ_change(
    calendar: dict[str, Any], expected: list[tuple[str, Any, Any]]
) -> None:
    s = spec(calendar=calendar)
    assert s.calendar is not None
    got = [(c.field, c.before, c.after) for c in calendar_changes(s.calendar, observed())]
    assert got == expected
    assert all(c.where == "exo" for c in calendar_changes(s.calendar, observed()))


@pytest.mark.parametrize(
    ("wanted", "changes"),
    [
        (["alice@x.example", "bob"], False),  # the same objects, named otherwise, in another order
        (["ALICE"], True),  # bob would go
        ({"add": ["alice"]}, False),
        ({"remove": ["bob@x.example"]}, True),
        ({"add": ["bob"], "remove": ["alice"]}, True),
    ],
)
def test_principals_compare_by_the_object(wanted: Any, changes: bool) -> None:
    s = spec(calendar={"resource_delegates": wanted})
    assert s.calendar is not None
    assert bool(calendar_changes(s.calendar, observed(delegates=[BOB, ALICE]))) is changes


def test_a_missing_mailbox_changes_every_given_field() -> None:
    s = spec(calendar={"booking_window_days": 180})
    assert s.calendar is not None
    missing = Observed("room1")
    [change] = calendar_changes(s.calendar, missing)
    assert (change.before, change.after) == (None, 180)


def test_identity_fields_go_where_they_are_mastered() -> None:
    linked = observed(synced=True, resource_capacity=4)
    changes, drift = identity_changes(spec(display_name="New", capacity=6, email="ROOM1@x.example"), linked)
    assert [(c.field, c.where, c.step) for c in changes] == [("capacity", "exo", "exo/set-mailbox")]
    assert [(d.field, d.where) for d in drift] == [("display_name", "ad")]
    cloud_only = observed(synced=False)
    changes, drift = identity_changes(spec(display_name="New"), cloud_only)
    assert [(c.field, c.parameter, c.value) for c in changes] == [("display_name", "DisplayName", "New")]
    assert drift == []


def test_principals_named_lists_each_once() -> None:
    s = spec(calendar={"resource_delegates": ["a", "B"], "book_in_policy": {"add": ["b"], "remove": ["c"]}})
    assert principals_named(s) == ["a", "B", "c"]


def test_a_different_name_is_diffed_not_a_crash() -> None:
    """`name` once had no mastering row: a spec renaming an existing mailbox raised UnknownField."""
    changes, drift = identity_changes(spec(name="Room One"), observed(synced=False))
    got = [(c.field, c.parameter, c.value, c.where) for c in changes]
    assert got == [("name", "Name", "Room One", "exo")]
    assert drift == []
    changes, drift = identity_changes(spec(name="Room One"), observed(synced=True))
    assert changes == []
    assert [(d.field, d.found, d.wanted, d.where) for d in drift] == [("name", "Room 1", "Room One", "ad")]
    assert drift[0].hint is not None and "Rename-ADObject" in drift[0].hint


def _ad(**values: Any) -> Any:
    from pswrap.results.access import AdAttributes

    base: dict[str, Any] = {
        "found": True,
        "display_name": "Room 1",
        "mail": "room1@x.example",
        "proxy_addresses": ["SMTP:room1@x.example", "X500:/o=Old/cn=room1"],
    }
    return AdAttributes(**{**base, **values})


def test_after_the_link_identity_is_compared_with_ad_and_written_there() -> None:
    from pswrap.desired.facts_access import AreaFacts

    found = AreaFacts(state="linked", ad=_ad(display_name="New"))
    changes, drift = identity_changes(spec(display_name="New"), observed(synced=True), found)
    assert (changes, drift) == ([], []), "Exchange Online still shows the old name: AD's is compared"
    found = AreaFacts(state="linked", ad=_ad())
    s = spec(email="board@x.example", addresses={"add": ["alt@x.example"]})
    changes, drift = identity_changes(s, observed(synced=True), found)
    assert [(c.field, c.where, c.step) for c in changes] == [
        ("email", "ad", "ad/set-resource-attributes"),
        ("addresses", "ad", "ad/set-resource-attributes"),
    ]
    sent = changes[0].sent()
    assert sent["EmailAddress"] == "board@x.example"
    assert sent["ProxyAddresses"] == [
        "SMTP:board@x.example",
        "smtp:room1@x.example",  # the old primary stays an address
        "smtp:alt@x.example",
        "X500:/o=Old/cn=room1",  # other types are kept as they are
    ]


def test_a_refused_ad_value_fails_alone() -> None:
    """One Set-ADUser step carries the display name and the addresses; AD refusing the addresses leaves
    the display name applied and names the refused field."""
    from pswrap.desired import apply as a
    from pswrap.desired import plan_access
    from pswrap.desired.facts_access import AreaFacts
    from pswrap.results.access import StepOutcome
    from pswrap.results.desired import RefusedSetting
    from pswrap.workflows.results import MailboxResult

    s = spec(display_name="New", addresses=["alt@x.example"])
    seen = observed(synced=True, user_principal_name="room1@x.example")
    changes, _ = identity_changes(s, seen, AreaFacts(state="linked", ad=_ad()))
    _, planned = a._split_ad(changes)
    sent: list[tuple[str, dict[str, Any]]] = []

    def runner(step: str, *, params: dict[str, Any]) -> Any:
        sent.append((step, params))
        return StepOutcome(
            applied=["DisplayName"], refused=[RefusedSetting(parameter="ProxyAddresses", message="no")]
        )

    result = MailboxResult(operation=None, status="failed", target="t")
    errors = plan_access.apply(runner, s, seen, planned, result)
    assert [step for step, _ in sent] == ["ad/set-resource-attributes"]
    assert {"DisplayName", "ProxyAddresses", "UserPrincipalName"} <= set(sent[0][1])
    assert [c.field for c in result.changes] == ["display_name"]
    assert len(errors) == 1 and "addresses: no" in errors[0].message
