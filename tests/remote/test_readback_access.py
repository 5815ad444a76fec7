"""The read-backs of desired state part 2's changing steps (permissions, place data, room lists, the
mailbox type, a synced room's AD attributes; issue #12 section 1's one mechanism): each says applied only
when our values are there (members added listed, members removed gone), and then returns the step's own
StepOutcome with everything asked applied and nothing refused (what plan_access.apply reads); a lost reply
in the lab is read back and nothing is done twice."""

from __future__ import annotations

from typing import Any

from pswrap.remote.session import open_session
from pswrap.results import access as a
from pswrap.results.desired import Principal
from pswrap.workflows.steps_run import JournaledRunner
from tests.remote.conftest import set_faults
from tests.remote.lab_inputs import mailbox_params
from tests.remote.readbacks import inputs, judge


def who(name: str, oid: str) -> Principal:
    return Principal(identity=name, found=True, matches=1, external_directory_object_id=oid)


def outcome(done: Any, applied: list[str]) -> bool:
    return isinstance(done, a.StepOutcome) and list(done.applied) == applied and list(done.refused) == []


# --- exo/set-access ---------------------------------------------------------------------------------------

ACCESS = {
    "Identity": "room1",
    "FullAccessAdd": ["ann@x"],
    "FullAccessRemove": ["bob@x"],
    "AutoMapping": False,
    "SendOnBehalf": ["ann@x"],
    "CalendarAddUser": ["bob@x"],
    "CalendarAddRights": ["Reviewer"],
    "CalendarSetUser": ["Default"],
    "CalendarSetRights": ["LimitedDetails"],
}
ANN, BOB = who("ann@x", "id-ann"), who("bob@x", "id-bob")


def access(**over: Any) -> a.AccessRead:
    base: dict[str, Any] = {
        "found": True,
        "full_access": [ANN],
        "send_on_behalf": [ANN],
        "calendar_permissions": [
            a.FolderRight(user="Default", access_rights="LimitedDetails"),
            a.FolderRight(user="Bob", access_rights="Reviewer", principal=BOB),
        ],
        "principals": [ANN, BOB],
    }
    return a.AccessRead(**{**base, **over})


def test_access_inputs_resolve_every_principal_named_once() -> None:
    _, params = inputs("exo/set-access", ACCESS)
    assert params == {"Identity": "room1", "Principals": ["ann@x", "bob@x"]}  # Default is not resolved


def test_access_is_applied_only_when_grants_revocations_and_roles_are_ours() -> None:
    done = judge("exo/set-access", access(), ACCESS)
    assert outcome(done, ["full_access", "send_on_behalf", "calendar_permissions"])
    assert judge("exo/set-access", access(full_access=[]), ACCESS) is None  # grant missing
    assert judge("exo/set-access", access(full_access=[ANN, BOB]), ACCESS) is None  # revoke not done
    assert judge("exo/set-access", access(send_on_behalf=[ANN, BOB]), ACCESS) is None  # not our list
    wrong_role = [
        a.FolderRight(user="Default", access_rights="AvailabilityOnly"),
        a.FolderRight(user="Bob", access_rights="Reviewer", principal=BOB),
    ]
    assert judge("exo/set-access", access(calendar_permissions=wrong_role), ACCESS) is None
    no_bob = [a.FolderRight(user="Default", access_rights="LimitedDetails")]
    assert judge("exo/set-access", access(calendar_permissions=no_bob), ACCESS) is None
    unresolved = [ANN, Principal(identity="bob@x", found=False)]
    assert judge("exo/set-access", access(principals=unresolved), ACCESS) is None
    assert judge("exo/set-access", a.AccessRead(found=False), ACCESS) is None


def test_access_removals_are_applied_when_gone() -> None:
    params = {"Identity": "room1", "SendAsRemove": ["bob@x"], "CalendarRemoveUser": ["bob@x"]}
    gone = access(send_as=[ANN], calendar_permissions=[])
    assert outcome(judge("exo/set-access", gone, params), ["send_as", "calendar_permissions"])
    assert judge("exo/set-access", access(send_as=[BOB]), params) is None


# --- exo/set-place and exo/set-mailbox-type ---------------------------------------------------------------


def place(**values: Any) -> a.PlaceRead:
    return a.PlaceRead(found=True, place=a.Place(**values))


def test_place_is_applied_only_with_every_value_we_set() -> None:
    params = {
        "Identity": "room1",
        "Building": "B1",
        "Floor": 3,
        "Tags": ["Quiet", "tv"],
        "CountryOrRegion": "de",
    }
    assert inputs("exo/set-place", params) == ({}, {"Identity": "room1"})
    mine = place(building="B1", floor=3, tags=["TV", "quiet"], country_or_region="DE")
    assert outcome(judge("exo/set-place", mine, params), ["Building", "Floor", "Tags", "CountryOrRegion"])
    assert judge("exo/set-place", place(building="B1", floor=2, tags=["tv", "quiet"]), params) is None
    assert judge("exo/set-place", place(building="b1", floor=3, tags=["tv", "quiet"]), params) is None
    assert judge("exo/set-place", place(building="B1", floor=3, tags=["tv"]), params) is None
    assert judge("exo/set-place", a.PlaceRead(found=False), params) is None
    accessible = {"Identity": "room1", "IsWheelChairAccessible": False}
    assert outcome(
        judge("exo/set-place", place(is_wheelchair_accessible=False), accessible), ["IsWheelChairAccessible"]
    )
    assert judge("exo/set-place", place(), accessible) is None  # unknown is not ours


def test_mailbox_type_is_applied_only_when_get_place_shows_it() -> None:
    params = {"Identity": "room1", "Type": "Workspace"}
    assert inputs("exo/set-mailbox-type", params) == ({}, {"Identity": "room1"})
    assert outcome(judge("exo/set-mailbox-type", place(type="Workspace"), params), ["Type"])
    assert judge("exo/set-mailbox-type", place(type="Room"), params) is None
    assert judge("exo/set-mailbox-type", a.PlaceRead(found=False), params) is None


# --- exo/set-room-lists -----------------------------------------------------------------------------------


def lists(member: dict[str, bool]) -> a.RoomListsRead:
    return a.RoomListsRead(
        lists=[a.RoomList(name=n, member=m) for n, m in member.items()],
        named=[a.NamedList(identity=n.lower(), found=True, matches=1, name=n) for n in member],
    )


def test_room_lists_are_applied_only_when_created_joined_and_left() -> None:
    params = {"Identity": "room1", "Create": ["new"], "AddTo": ["new", "east"], "RemoveFrom": ["west"]}
    assert inputs("exo/set-room-lists", params) == (
        {},
        {"Identity": "room1", "Names": ["new", "east", "west"]},
    )
    mine = lists({"New": True, "East": True, "West": False})
    assert outcome(judge("exo/set-room-lists", mine, params), ["room_lists"])
    assert judge("exo/set-room-lists", lists({"New": True, "East": True, "West": True}), params) is None
    assert judge("exo/set-room-lists", lists({"New": True, "East": False, "West": False}), params) is None
    assert judge("exo/set-room-lists", lists({"East": True, "West": False}), params) is None  # not created


# --- ad/set-resource-attributes ---------------------------------------------------------------------------

DN = "CN=Ann,OU=Users,DC=x"


def ad(**over: Any) -> a.AdAttributes:
    base: dict[str, Any] = {
        "found": True,
        "city": "Berlin",
        "country_or_region": "DE",
        "exchange_schema": True,
        "hidden_from_address_lists": True,
        "public_delegates": [Principal(identity=DN, found=True, matches=1)],
    }
    return a.AdAttributes(**{**base, **over})


def test_ad_attributes_are_applied_only_with_our_values_and_delegates() -> None:
    params = {
        "UserPrincipalName": "room1@x",
        "City": "Berlin",
        "Country": "de",
        "HideFromAddressLists": True,
        "PublicDelegates": [DN.upper()],
        "Server": "dc1",
    }
    assert inputs("ad/set-resource-attributes", params) == (
        {},
        {"UserPrincipalName": "room1@x", "Server": "dc1"},
    )
    done = judge("ad/set-resource-attributes", ad(), params)
    assert outcome(done, ["City", "Country", "HideFromAddressLists", "PublicDelegates"])
    assert judge("ad/set-resource-attributes", ad(city="Bonn"), params) is None
    assert judge("ad/set-resource-attributes", ad(hidden_from_address_lists=None), params) is None
    assert judge("ad/set-resource-attributes", ad(public_delegates=[]), params) is None
    assert judge("ad/set-resource-attributes", a.AdAttributes(found=False), params) is None
    cleared = {"UserPrincipalName": "room1@x", "PublicDelegates": []}
    assert outcome(judge("ad/set-resource-attributes", ad(public_delegates=[]), cleared), ["PublicDelegates"])


# --- the lab: a lost reply is read back, nothing done twice ----------------------------------------------


def test_lost_reply_of_a_room_list_change_is_read_back(lab_factory: Any, lab_target: Any) -> None:
    """New-DistributionGroup and Add-DistributionGroupMember ran, the reply was lost: the read-back finds
    the list and the membership, so the list is not created a second time."""
    lab = lab_factory()
    with open_session(lab_target(lab)) as s:
        s.step("exo/new-mailbox", choices={"type": "room"}, params=mailbox_params("lostlist"))
        params = {"Identity": "lostlist", "Create": ["Lost Rooms"], "AddTo": ["Lost Rooms"]}
        set_faults(lab, "drop:Receive@1")
        runner = JournaledRunner(s, None, None)
        out = runner("exo/set-room-lists", params=params)
        set_faults(lab)
        assert runner.read_back == [("exo/set-room-lists", True)] and s.retries == {}
        assert lab.faults.fired == {"drop:Receive@1": 1}
        assert isinstance(out, a.StepOutcome) and out.applied == ["room_lists"] and out.refused == []
    created = [g for g in lab.store.read()["exo"]["room_lists"] if g["name"] == "Lost Rooms"]
    assert len(created) == 1 and len(created[0]["members"]) == 1


def test_lost_reply_of_a_permission_grant_is_read_back(lab_factory: Any, lab_target: Any) -> None:
    """Add-MailboxPermission ran, the reply was lost: the read-back finds the grant (by directory
    object) and the run continues with the step's outcome; the mailbox holds the grant once."""
    lab = lab_factory()
    with open_session(lab_target(lab)) as s:
        s.step("exo/new-mailbox", choices={"type": "room"}, params=mailbox_params("lostgrant"))
        ann = s.step("exo/new-mailbox", choices={"type": "shared"}, params=mailbox_params("lostann"))
        params = {"Identity": "lostgrant", "FullAccessAdd": [ann.primary_smtp_address]}
        set_faults(lab, "drop:Receive@1")
        runner = JournaledRunner(s, None, None)
        out = runner("exo/set-access", params=params)
        set_faults(lab)
        assert runner.read_back == [("exo/set-access", True)] and s.retries == {}
        assert lab.faults.fired == {"drop:Receive@1": 1}
        assert isinstance(out, a.StepOutcome) and out.applied == ["full_access"] and out.refused == []
    boxes = [b for b in lab.store.read()["exo"]["mailboxes"] if b.get("alias") == "lostgrant"]
    grants = boxes[0]["permissions"]["full_access"]
    assert [g["id"] for g in grants] == [ann.external_directory_object_id]
