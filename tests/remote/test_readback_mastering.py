"""The read-backs of the changing steps the mastering and desired-state work added (issue #12 section 1's
one mechanism): each says applied only when our values are there, and its result is what the step's
callers expect; a lost reply in the lab is read back and the run ends as without the fault."""

from __future__ import annotations

from typing import Any

import pytest

from pswrap.remote.session import open_session
from pswrap.results import desired as d
from pswrap.results import models as m
from pswrap.workflows.steps_run import JournaledRunner
from tests.remote.conftest import set_faults
from tests.remote.lab_inputs import mailbox_params
from tests.remote.readbacks import inputs, judge

GUID = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"



def ad_user(*addresses: str) -> m.AdUserLookup:
    user = m.AdUser(
        object_guid=GUID, sam_account_name="room1", distinguished_name="CN=Room1,OU=R,DC=x",
        proxy_addresses=list(addresses),
    )  # fmt: skip
    return m.AdUserLookup(found=True, user=user)


def test_added_addresses_are_applied_only_when_every_one_is_there() -> None:
    params = {"Identity": GUID, "Addresses": ["smtp:alt@x.com", "X500:/o=old"]}
    assert inputs("ad/add-addresses", params) == ({"by": "guid"}, {"Value": GUID})
    done = judge("ad/add-addresses", ad_user("SMTP:room1@x.com", "SMTP:ALT@x.com", "x500:/O=OLD"), params)
    assert isinstance(done, m.AdUser) and done.object_guid == GUID  # mailbox_mastering.changes_of reads it
    assert judge("ad/add-addresses", ad_user("SMTP:room1@x.com", "smtp:alt@x.com"), params) is None
    assert judge("ad/add-addresses", m.AdUserLookup(found=False), params) is None


def test_the_stamp_cannot_be_read_so_it_is_sent_again() -> None:
    params = {"Identity": GUID, "RecipientTypeDetails": "8589934592", "Server": "dc1"}
    assert inputs("ad/stamp-exchange-attributes", params) == ({}, {"Identity": GUID, "Server": "dc1"})
    anchor = m.AdAnchor(object_guid=GUID)
    assert judge("ad/stamp-exchange-attributes", anchor, params) is None  # a -Replace: re-sending is safe


def test_cloud_managed_is_applied_only_when_exchange_online_says_so() -> None:
    params = {"Identity": "room1"}
    assert inputs("exo/set-exchange-cloud-managed", params) == ({}, {"Identity": "room1"})
    yes = m.MailboxAuthority(identity="room1", is_dir_synced=True, is_exchange_cloud_managed=True)
    assert judge("exo/set-exchange-cloud-managed", yes, params) is yes
    for value in (False, None):
        other = m.MailboxAuthority(identity="room1", is_exchange_cloud_managed=value)
        assert judge("exo/set-exchange-cloud-managed", other, params) is None


def mailbox(**values: Any) -> m.MailboxLookup:
    box = m.Mailbox(
        alias="room1", primary_smtp_address="room1@x.com", recipient_type_details="RoomMailbox", **values
    )
    return m.MailboxLookup(found=True, mailbox=box)


def test_set_mailbox_is_applied_only_with_every_value_we_set() -> None:
    params: dict[str, Any] = {"Identity": "room1", "DisplayName": "Room One", "ResourceCapacity": 8}
    done = judge("exo/set-mailbox", mailbox(display_name="Room One", resource_capacity=8), params)
    assert isinstance(done, m.Mailbox) and done.display_name == "Room One"  # desired/apply keeps it
    assert judge("exo/set-mailbox", mailbox(display_name="room one", resource_capacity=8), params) is None
    assert judge("exo/set-mailbox", mailbox(display_name="Room One", resource_capacity=6), params) is None
    assert judge("exo/set-mailbox", m.MailboxLookup(found=False), params) is None
    addresses = {"Identity": "room1", "EmailAddresses": ["SMTP:room1@x.com", "smtp:alt@x.com"]}
    have = mailbox(email_addresses=["smtp:ALT@x.com", "SMTP:room1@x.com"])
    assert judge("exo/set-mailbox", have, addresses) is not None
    swapped = mailbox(email_addresses=["SMTP:alt@x.com", "smtp:room1@x.com"])  # another primary
    assert judge("exo/set-mailbox", swapped, addresses) is None
    hidden = {"Identity": "room1", "HiddenFromAddressListsEnabled": True}  # not in what is read
    assert judge("exo/set-mailbox", mailbox(), hidden) is None


def cloud(enabled: bool | None) -> m.CloudUserLookup:
    user = m.CloudUser(id="oid-1", user_principal_name="room1@x.com", account_enabled=enabled)
    return m.CloudUserLookup(found=True, user=user)


def test_sign_in_change_is_applied_only_in_the_state_we_asked_for() -> None:
    params = {"UserId": "oid-1", "AccountEnabled": False}
    assert inputs("graph/set-account-enabled", params) == ({}, {"UserId": "oid-1"})
    done = judge("graph/set-account-enabled", cloud(False), params)
    assert done == m.SignInChange(id="oid-1", user_principal_name="room1@x.com", account_enabled=False)
    assert judge("graph/set-account-enabled", cloud(True), params) is None
    assert judge("graph/set-account-enabled", cloud(None), params) is None
    assert judge("graph/set-account-enabled", m.CloudUserLookup(found=False), params) is None


def calendar(**values: Any) -> d.CalendarRead:
    base: dict[str, Any] = {
        "automate_processing": "AutoAccept", "booking_window_in_days": 180,
        "maximum_duration_in_minutes": 1440, "allow_conflicts": False, "allow_recurring_meetings": True,
        "all_book_in_policy": True,
        "add_organizer_to_subject": True, "delete_comments": True, "delete_subject": True,
        "process_external_meeting_messages": False,
    }  # fmt: skip
    return d.CalendarRead(found=True, calendar=d.CalendarProcessing(**{**base, **values}))


def delegate(address: str) -> d.Principal:
    return d.Principal(identity="Ann", found=True, alias=address.split("@")[0], primary_smtp_address=address)


def test_calendar_processing_is_applied_only_with_every_setting_we_sent() -> None:
    params: dict[str, Any] = {
        "Identity": "room1", "AutomateProcessing": "AutoAccept", "BookingWindowInDays": 30,
        "AllowConflicts": True, "ResourceDelegates": ["ann@x.com"],
    }  # fmt: skip
    ann, bob = [delegate("ann@x.com")], [delegate("bob@x.com")]
    ours = calendar(booking_window_in_days=30, allow_conflicts=True, resource_delegates=ann)
    done = judge("exo/set-calendar-processing", ours, params)
    assert isinstance(done, d.CalendarSet) and not done.refused  # desired/apply reads `applied`, `refused`
    assert set(done.applied) == set(params) - {"Identity"}
    not_ours = [
        calendar(booking_window_in_days=180, allow_conflicts=True, resource_delegates=ann),
        calendar(booking_window_in_days=30, allow_conflicts=False, resource_delegates=ann),
        calendar(booking_window_in_days=30, allow_conflicts=True, resource_delegates=bob),
        calendar(booking_window_in_days=30, allow_conflicts=True),
        d.CalendarRead(found=False),
    ]
    for found in not_ours:
        assert judge("exo/set-calendar-processing", found, params) is None
    cleared = {"Identity": "room1", "ResourceDelegates": []}
    assert judge("exo/set-calendar-processing", calendar(), cleared) is not None
    assert judge("exo/set-calendar-processing", ours, cleared) is None


@pytest.mark.parametrize(
    ("step_id", "params"),
    [
        ("exo/set-mailbox", {"Identity": "lostset", "DisplayName": "Lost Set Renamed"}),
        ("graph/set-account-enabled", {"UserId": "lostset@", "AccountEnabled": False}),
        (
            "exo/set-calendar-processing",
            {"Identity": "lostset", "BookingWindowInDays": 30, "AllowConflicts": True},
        ),
    ],
)
def test_lost_reply_of_a_mastering_change_is_read_back(
    lab_factory: Any, lab_target: Any, step_id: str, params: dict[str, Any]
) -> None:
    """The change ran, its reply was lost: the read-back finds our value and the run continues with it,
    the step not sent again."""
    lab = lab_factory()
    with open_session(lab_target(lab)) as s:
        box = s.step("exo/new-mailbox", choices={"type": "room"}, params=mailbox_params("lostset"))
        assert isinstance(box, m.Mailbox)
        if step_id.startswith("graph/"):
            params = {**params, "UserId": box.user_principal_name}
            s.step("graph/get-user", params={"UserId": box.user_principal_name})  # the pool is open
        set_faults(lab, "drop:Receive@1")
        runner = JournaledRunner(s, None, None)
        out = runner(step_id, params=params)
        set_faults(lab)
        assert runner.read_back == [(step_id, True)] and s.retries == {}
        assert lab.faults.fired == {"drop:Receive@1": 1}
        if step_id == "exo/set-mailbox":
            assert isinstance(out, m.Mailbox) and out.display_name == "Lost Set Renamed"
        elif step_id == "exo/set-calendar-processing":
            assert isinstance(out, d.CalendarSet) and not out.refused
            assert set(out.applied) == {"BookingWindowInDays", "AllowConflicts"}
        else:
            assert isinstance(out, m.SignInChange) and out.account_enabled is False
            user = s.step("graph/get-user", params={"UserId": box.user_principal_name})
            assert user.user is not None and user.user.account_enabled is False
