"""The part-2 handlers (permissions, places, room lists, a synced room's AD attributes) through the real
templates and directly: what they store, and the refusals Microsoft documents — a synced attribute written
in the cloud, an unknown principal, a Set-Place field that cannot be set on a synced room — each failing
alone while the other values are applied."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.lab.world_harness import Harness, harness


@pytest.fixture(params=["direct", "wire"])
def lab(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    for lab in harness(request, tmp_path / "world.json"):
        lab.connect_exo()
        lab.new_mailbox("conf1")
        lab.new_mailbox("deleg1")
        yield lab


def exo(lab: Harness, step_id: str, params: dict[str, Any]) -> Any:
    return lab.run(step_id, params, pool="exo")


def _synced(lab: Harness, alias: str) -> None:
    with lab.edit() as world:
        next(m for m in world["exo"]["mailboxes"] if m["alias"] == alias)["is_dir_synced"] = True


def _mailbox(lab: Harness, alias: str) -> dict[str, Any]:
    return next(m for m in lab.world()["exo"]["mailboxes"] if m["alias"] == alias)


def test_permissions_are_stored_by_directory_object_and_read_back(lab: Harness) -> None:
    params = {
        "Identity": "conf1",
        "FullAccessAdd": ["deleg1@lab.example"],
        "AutoMapping": False,
        "SendAsAdd": ["deleg1"],
        "SendOnBehalf": ["deleg1"],
        "CalendarSetUser": ["Default"],
        "CalendarSetRights": ["LimitedDetails"],
    }
    done = exo(lab, "exo/set-access", params)
    assert (set(done["applied"]), done["refused"]) == (
        {"full_access", "send_as", "send_on_behalf", "calendar_permissions"},
        [],
    )
    deleg1 = _mailbox(lab, "deleg1")["external_directory_object_id"]
    assert _mailbox(lab, "conf1")["permissions"]["full_access"] == [{"id": deleg1, "automapping": False}]
    read = exo(lab, "exo/get-access", {"Identity": "conf1", "Principals": ["DELEG1"]})
    assert [p["primary_smtp_address"] for p in read["full_access"]] == ["deleg1@lab.example"]
    assert [p["alias"] for p in read["send_as"]] == ["deleg1"]
    assert [p["alias"] for p in read["send_on_behalf"]] == ["deleg1"]
    assert {e["user"]: e["access_rights"] for e in read["calendar_permissions"]} == {
        "Default": "LimitedDetails",
        "Anonymous": "None",
    }
    assert read["principals"][0]["external_directory_object_id"] == deleg1


def test_unknown_principal_and_synced_send_on_behalf_fail_alone(lab: Harness) -> None:
    _synced(lab, "conf1")
    done = exo(
        lab,
        "exo/set-access",
        {
            "Identity": "conf1",
            "FullAccessAdd": ["nobody@lab.example"],
            "SendAsAdd": ["deleg1"],
            "SendOnBehalf": ["deleg1"],
        },
    )
    assert done["applied"] == ["send_as"]
    refused = {r["parameter"]: r["message"] for r in done["refused"]}
    assert "nobody@lab.example" in refused["full_access"] and "couldn't be found" in refused["full_access"]
    assert "synchronized from your on-premises organization" in refused["send_on_behalf"]
    assert not _mailbox(lab, "conf1").get("grant_send_on_behalf_to")


def test_set_place_refuses_the_address_of_a_synced_room_and_applies_the_rest(lab: Harness) -> None:
    _synced(lab, "conf1")
    done = exo(lab, "exo/set-place", {"Identity": "conf1", "Building": "B1", "Floor": 2, "City": "Oslo"})
    assert sorted(done["applied"]) == ["Building", "Floor"]
    assert [r["parameter"] for r in done["refused"]] == ["City"]
    assert "Set-Place" in done["refused"][0]["message"]
    place = exo(lab, "exo/get-place", {"Identity": "conf1"})["place"]
    assert (place["building"], place["floor"], place["city"]) == ("B1", 2, None)


def test_room_lists_are_created_joined_and_left(lab: Harness) -> None:
    done = exo(
        lab, "exo/set-room-lists", {"Identity": "conf1", "Create": ["Oslo Rooms"], "AddTo": ["Oslo Rooms"]}
    )
    assert (done["applied"], done["refused"]) == (["room_lists"], [])
    read = exo(lab, "exo/get-room-lists", {"Identity": "conf1", "Names": ["oslo rooms", "Nope"]})
    assert [(x["name"], x["member"]) for x in read["lists"]] == [("Oslo Rooms", True)]
    assert [(n["found"], n["name"]) for n in read["named"]] == [(True, "Oslo Rooms"), (False, None)]
    exo(lab, "exo/set-room-lists", {"Identity": "conf1", "RemoveFrom": ["Oslo Rooms"]})
    assert exo(lab, "exo/get-room-lists", {"Identity": "conf1"})["lists"][0]["member"] is False


def test_a_synced_room_list_is_not_changed_in_the_cloud(lab: Harness) -> None:
    exo(lab, "exo/set-room-lists", {"Identity": "conf1", "Create": ["AD Rooms"]})
    with lab.edit() as world:
        world["exo"]["room_lists"][0]["is_dir_synced"] = True
    done = exo(lab, "exo/set-room-lists", {"Identity": "conf1", "AddTo": ["AD Rooms"]})
    assert done["applied"] == [] and "on-premises" in done["refused"][0]["message"]
