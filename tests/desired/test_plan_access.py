"""Part 2's spec and diff as pure functions: the spec's forms (CSV cells, user:Role pairs), and how each
field is compared and where it is written, from hand-made reads (no lab)."""

from __future__ import annotations

from typing import Any

import pytest

from pswrap.desired.facts import Observed
from pswrap.desired.facts_access import AreaFacts
from pswrap.desired.load import load_specs
from pswrap.desired.plan_access import plan
from pswrap.desired.spec import MailboxSpec
from pswrap.errors import BadInput
from pswrap.results.access import AccessRead, AdAttributes, Place, RoomListsRead
from pswrap.results.models import Mailbox


def principal(alias: str, oid: str | None = None) -> dict[str, Any]:
    return {
        "identity": alias,
        "found": True,
        "matches": 1,
        "alias": alias,
        "primary_smtp_address": f"{alias}@contoso.com",
        "external_directory_object_id": oid or f"id-{alias}",
    }


MAILBOX = Mailbox(
    alias="room1",
    primary_smtp_address="room1@contoso.com",
    recipient_type_details="RoomMailbox",
    is_dir_synced=True,
    user_principal_name="room1@contoso.com",
)


def facts(**areas: Any) -> AreaFacts:
    return AreaFacts(state=areas.pop("state", "linked"), **areas)


def access(**fields: Any) -> AccessRead:
    return AccessRead.model_validate({"found": True, **fields})


def spec(**fields: Any) -> MailboxSpec:
    return MailboxSpec.model_validate({"alias": "room1", **fields})


def test_csv_cells_fill_part_two() -> None:
    text = (
        "alias,permissions.full_access,permissions.calendar_permissions,place.tags,place.floor,"
        "room_lists.add,create_room_lists\n"
        "room1,a;b,Default:LimitedDetails;bob@x.com:Editor,Whiteboard;TV,3,HQ Rooms,true\n"
    )
    (loaded,) = load_specs(text, "csv")
    managed = loaded.managed()
    assert managed["permissions.calendar_permissions"] == {"Default": "LimitedDetails", "bob@x.com": "Editor"}
    assert managed["place.tags"] == ["Whiteboard", "TV"] and managed["place.floor"] == 3
    assert loaded.create_room_lists is True


@pytest.mark.parametrize("rights", [{"Default": "Readers"}, "Default"])
def test_unknown_role_or_malformed_pair_is_bad_input(rights: Any) -> None:
    with pytest.raises(BadInput, match="calendar_permissions"):
        load_specs(
            f'{{"alias": "room1", "permissions": {{"calendar_permissions": {rights!r}}}}}'.replace("'", '"'),
            "json",
        )


def test_calendar_mapping_replaces_named_users_and_keeps_builtin_entries() -> None:
    current = [
        {"user": "Default", "access_rights": "AvailabilityOnly"},
        {"user": "Anonymous", "access_rights": "None"},
        {"user": "Old", "access_rights": "Editor", "principal": principal("old")},
    ]
    read = access(calendar_permissions=current, principals=[principal("bob")])
    planned, drift = plan(
        spec(permissions={"calendar_permissions": {"bob": "Editor"}}),
        Observed("room1", mailbox=MAILBOX),
        facts(access=read),
    )
    assert drift == [] and len(planned) == 1
    params = planned[0].params
    assert params == {
        "CalendarAddUser": ["bob@contoso.com"],
        "CalendarAddRights": ["Editor"],
        "CalendarRemoveUser": ["old@contoso.com"],
    }
    assert planned[0].after == {
        "Default": "AvailabilityOnly",
        "Anonymous": "None",
        "bob@contoso.com": "Editor",
    }


def test_send_on_behalf_of_a_synced_room_goes_to_ad_by_distinguished_name_or_is_drift() -> None:
    dn = "CN=alice,OU=Users,DC=contoso,DC=com"
    ad = AdAttributes.model_validate(
        {
            "found": True,
            "principals": [
                {**principal("alice"), "name": dn, "guid": "g-alice"},
                {"identity": "cloudonly", "found": False},
            ],
        }
    )
    read = access(principals=[principal("alice"), principal("cloudonly")])
    planned, _ = plan(
        spec(permissions={"send_on_behalf": ["alice"]}),
        Observed("room1", mailbox=MAILBOX),
        facts(access=read, ad=ad),
    )
    assert [(p.where, p.step, p.params) for p in planned] == [
        ("ad", "ad/set-resource-attributes", {"PublicDelegates": [dn]})
    ]
    planned, drift = plan(
        spec(permissions={"send_on_behalf": ["cloudonly"]}),
        Observed("room1", mailbox=MAILBOX),
        facts(access=read, ad=ad),
    )
    assert planned == [] and [(d.field, d.where) for d in drift] == [("permissions.send_on_behalf", "ad")]


def test_place_fields_go_where_mastered_and_compare_by_meaning() -> None:
    place = Place(tags=["whiteboard", "TV"], country_or_region="no", building="B1")
    ad = AdAttributes(found=True, country_or_region="NO")
    given = {
        "tags": ["TV", "Whiteboard"],
        "country_or_region": "NO",
        "building": "B2",
        "geo_coordinates": "1;2",
        "city": "Oslo",
    }
    planned, drift = plan(spec(place=given), Observed("room1", mailbox=MAILBOX), facts(place=place, ad=ad))
    assert [(p.field, p.where) for p in planned] == [("place.building", "exo"), ("place.city", "ad")]
    assert [d.field for d in drift] == ["place.geo_coordinates"]
    planned, drift = plan(
        spec(place=given), Observed("room1", mailbox=MAILBOX), facts(place=place, state="not_linked")
    )
    assert {p.field for p in planned} == {
        "place.building",
        "place.city",
        "place.geo_coordinates",
    }


def test_room_lists_create_only_what_is_missing() -> None:
    lists = RoomListsRead.model_validate(
        {
            "lists": [{"name": "HQ Rooms", "member": True}, {"name": "Oslo Rooms", "member": False}],
            "named": [
                {"identity": "oslo rooms", "found": True, "matches": 1, "name": "Oslo Rooms"},
                {"identity": "New List", "found": False, "matches": 0},
            ],
        }
    )
    wanted = spec(room_lists=["oslo rooms", "New List"], create_room_lists=True)
    (item,), _ = plan(wanted, Observed("room1", mailbox=MAILBOX), facts(lists=lists))
    assert item.params == {
        "Create": ["New List"],
        "AddTo": ["Oslo Rooms", "New List"],
        "RemoveFrom": ["HQ Rooms"],
    }
    same = spec(room_lists={"add": ["hq rooms"]})
    assert plan(same, Observed("room1", mailbox=MAILBOX), facts(lists=lists))[0] == []
