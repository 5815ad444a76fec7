"""Part 2's fields against the lab (permissions, place data, room lists, visibility), each: apply (one
change, in the system the mastering table names), re-apply (no change), check mode of a second value
(changed true, nothing changed), change it (one change). Plus what must not be written, the refusals
and the show -> apply round trip."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.desired.conftest import mailbox_in
from tests.e2e.conftest import Ran

ROOM = "room2"

# (field path, first value, second value, where it is written for a synced room)
FIELDS: list[tuple[str, Any, Any, str]] = [
    ("permissions.full_access", ["deleg1"], ["deleg2@lab.example"], "exo"),
    ("permissions.send_as", ["deleg1"], {"add": ["deleg2"]}, "exo"),
    ("permissions.send_on_behalf", ["deleg1"], ["deleg2"], "ad"),
    (
        "permissions.calendar_permissions",
        {"Default": "LimitedDetails"},
        {"Default": "Reviewer", "deleg1": "Editor"},
        "exo",
    ),
    ("place.building", "Building 1", "Building 2", "exo"),
    ("place.floor", 2, 3, "exo"),
    ("place.floor_label", "Ground", "Mezzanine", "exo"),
    ("place.capacity", 8, 12, "exo"),
    ("place.tags", ["Whiteboard"], {"add": ["Projector"]}, "exo"),
    ("place.is_wheelchair_accessible", True, False, "exo"),
    ("place.audio_device_name", "PolyCom", "Jabra", "exo"),
    ("place.video_device_name", "InFocus", "Logitech", "exo"),
    ("place.display_device_name", "Samsung", "LG", "exo"),
    ("place.street", "1 Main St", "2 Main St", "ad"),
    ("place.city", "Oslo", "Bergen", "ad"),
    ("place.state", "Oslo", "Vestland", "ad"),
    ("place.postal_code", "0150", "5003", "ad"),
    ("place.country_or_region", "NO", "SE", "ad"),
    ("place.phone", "+47 1234", "+47 5678", "ad"),
    ("room_lists", ["Oslo Rooms"], ["Bergen Rooms"], "exo"),
]


@pytest.fixture(scope="module")
def rooms(lab_env: Path) -> None:
    """room2 (the one configured) and two rooms that serve as principals."""
    from pswrap.cli import app
    from pswrap.cli.app import run_app

    for alias in (ROOM, "deleg1", "deleg2"):
        assert run_app(app, ["mailbox", "create", alias, "--alias", alias, "--yes"]) == 0


def apply(run: Callable[..., Ran], spec: dict[str, Any], *extra: str) -> tuple[Ran, dict[str, Any]]:
    ran = run("mailbox", "apply", "-", "-f", "json", "-o", "json", *extra, stdin=json.dumps(spec))
    return ran, json.loads(ran.out) if ran.out.strip() else {}


def spec_with(path: str, value: Any, alias: str = ROOM) -> dict[str, Any]:
    spec: dict[str, Any] = {"alias": alias}
    if path == "room_lists":
        spec["create_room_lists"] = True
    node = spec
    parts = path.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return spec


def systems(world: dict[str, Any]) -> dict[str, Any]:
    return {"ad": world["ad"], "exo": world["exo"]}


@pytest.mark.parametrize(("path", "first", "second", "where"), FIELDS, ids=[f[0] for f in FIELDS])
def test_each_field_converges_where_it_is_mastered(
    rooms: None,
    run: Callable[..., Ran],
    world: Callable[[], dict[str, Any]],
    path: str,
    first: Any,
    second: Any,
    where: str,
) -> None:
    before = systems(world())
    ran, out = apply(run, spec_with(path, first))
    assert ran.code == 0, ran.err
    assert (out["changed"], out["status"]) == (True, "completed"), out
    assert [(c["field"], c["where"]) for c in out["changes"]] == [(path, where)]
    assert out["operation"], "the change was not journaled"
    after_first = systems(world())
    other = "exo" if where == "ad" else "ad"
    if path != "place.capacity":  # the capacity is also the mailbox's ResourceCapacity: same system
        assert after_first[where] != before[where], f"nothing was written in {where}"
    assert after_first[other] == before[other], f"{path} was written in {other}"

    ran, out = apply(run, spec_with(path, first))
    assert (ran.code, out["changed"], out["status"], out["changes"]) == (0, False, "unchanged", []), out
    assert out["drift"] == []

    ran, out = apply(run, spec_with(path, second), "--dry-run")
    assert (ran.code, out["changed"], out["dry_run"]) == (0, True, True)
    assert [c["field"] for c in out["changes"]] == [path]
    assert systems(world()) == after_first, "a dry run changed the world"

    ran, out = apply(run, spec_with(path, second))
    assert ran.code == 0, ran.err
    assert [(c["field"], c["where"]) for c in out["changes"]] == [(path, where)]
    assert systems(world())[where] != after_first[where]
    ran, out = apply(run, spec_with(path, second))
    assert (ran.code, out["changed"]) == (0, False), out


def test_permissions_land_in_exchange_by_directory_object(
    rooms: None, run: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    spec = spec_with("permissions.full_access", ["deleg1"])
    spec["permissions"]["automapping"] = False
    apply(run, spec)
    w = world()
    deleg1 = mailbox_in(w, "deleg1")["external_directory_object_id"]
    grants = mailbox_in(w, ROOM)["permissions"]["full_access"]
    assert grants == [{"id": deleg1, "automapping": False}]
    for same in (["DELEG1"], ["deleg1@lab.example"], {"add": ["deleg1"]}):
        ran, out = apply(run, spec_with("permissions.full_access", same))
        assert (ran.code, out["changed"]) == (0, False), same


def test_send_on_behalf_is_public_delegates_in_ad_for_a_synced_room(
    rooms: None, run: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    apply(run, spec_with("permissions.send_on_behalf", ["deleg2"]))
    w = world()
    account = next(u for u in w["ad"]["users"] if u["sam_account_name"] == ROOM)
    deleg2 = next(u for u in w["ad"]["users"] if u["sam_account_name"] == "deleg2")
    assert account["public_delegates"] == [deleg2["distinguished_name"]]
    assert not mailbox_in(w, ROOM).get("grant_send_on_behalf_to")


def test_unknown_principal_and_missing_room_list_are_refused_before_any_change(
    rooms: None, run: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    before = systems(world())
    spec = spec_with("permissions.send_as", ["nobody@lab.example"])
    spec["place"] = {"building": "Never written"}
    ran, _ = apply(run, spec)
    assert ran.code == 2 and "nobody@lab.example" in ran.err
    ran, _ = apply(run, {"alias": ROOM, "room_lists": ["No Such List"], "place": {"floor": 99}})
    assert ran.code == 2 and "No Such List" in ran.err and "create_room_lists" in ran.err
    assert systems(world()) == before


def test_values_nobody_may_write_on_a_synced_room_are_drift_not_writes(
    rooms: None, run: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    before = systems(world())
    ran, out = apply(
        run, {"alias": ROOM, "hidden_from_address_lists": True, "place": {"geo_coordinates": "59.9;10.7"}}
    )
    assert (ran.code, out["changed"], out["changes"]) == (0, False, [])
    assert {d["field"] for d in out["drift"]} == {"hidden_from_address_lists", "place.geo_coordinates"}
    assert systems(world()) == before


def test_hidden_from_address_lists_converges_once_exchange_attributes_are_cloud_managed(
    rooms: None, run: Callable[..., Ran], world: Callable[[], dict[str, Any]], lab_env: Path
) -> None:
    path = lab_env / "state" / "lab.json"
    data = json.loads(path.read_text())
    mailbox_in(data, "deleg1")["is_exchange_cloud_managed"] = True
    path.write_text(json.dumps(data))
    spec = {"alias": "deleg1", "hidden_from_address_lists": True}
    ran, out = apply(run, spec, "--dry-run")
    assert (ran.code, out["changed"]) == (0, True)
    assert mailbox_in(world(), "deleg1").get("hidden_from_address_lists") is not True
    ran, out = apply(run, spec)
    assert ran.code == 0, ran.err
    assert [(c["field"], c["where"]) for c in out["changes"]] == [("hidden_from_address_lists", "exo")]
    assert mailbox_in(world(), "deleg1")["hidden_from_address_lists"] is True
    ran, out = apply(run, spec)
    assert (ran.code, out["changed"]) == (0, False)
    ran, out = apply(run, {"alias": "deleg1", "hidden_from_address_lists": False})
    assert [c["field"] for c in out["changes"]] == ["hidden_from_address_lists"]
    assert mailbox_in(world(), "deleg1")["hidden_from_address_lists"] is False


def test_show_prints_part_two_and_applies_as_a_no_op(
    rooms: None, run: Callable[..., Ran], lab_env: Path
) -> None:
    spec = {
        "alias": ROOM,
        "create_room_lists": True,
        "room_lists": ["Oslo Rooms"],
        "permissions": {
            "full_access": ["deleg1"],
            "send_as": ["deleg2"],
            "send_on_behalf": ["deleg1"],
            "calendar_permissions": {"Default": "LimitedDetails", "deleg2": "Editor"},
        },
        "place": {"building": "B1", "floor": 4, "tags": ["Whiteboard"], "city": "Oslo"},
    }
    ran, _ = apply(run, spec)
    assert ran.code == 0, ran.err
    text = run("mailbox", "show", ROOM)
    assert "permissions.full_access:" in text.out and "place.city:" in text.out
    assert "room_lists:" in text.out and "Oslo Rooms" in text.out
    shown = run("mailbox", "show", ROOM, "-o", "yaml")
    assert shown.code == 0, shown.err
    assert "deleg2@lab.example: Editor" in shown.out
    file = lab_env / "room2.yaml"
    file.write_text(shown.out)
    ran = run("mailbox", "apply", str(file), "-o", "json")
    assert ran.code == 0, ran.err
    out = json.loads(ran.out)
    assert (out["changed"], out["changes"], out["drift"]) == (False, [], [])


def test_place_and_room_lists_are_for_rooms(rooms: None, run: Callable[..., Ran]) -> None:
    ran, _ = apply(run, {"alias": "newshared", "type": "shared", "place": {"building": "B"}})
    assert ran.code == 2 and "rooms only" in ran.err


def test_workspace_converges_where_exchange_online_masters_the_type(
    rooms: None, run: Callable[..., Ran], world: Callable[[], dict[str, Any]], lab_env: Path
) -> None:
    # A synced room whose Exchange attributes AD masters: Workspace is cloud-only, not settable.
    before = systems(world())
    ran, out = apply(run, {"alias": ROOM, "workspace": True})
    assert (ran.code, out["changed"], [d["field"] for d in out["drift"]]) == (0, False, ["workspace"])
    assert systems(world()) == before
    # Once its Exchange attributes are cloud-managed, Set-Mailbox -Type writes it.
    path = lab_env / "state" / "lab.json"
    data = json.loads(path.read_text())
    mailbox_in(data, ROOM)["is_exchange_cloud_managed"] = True
    path.write_text(json.dumps(data))
    ran, out = apply(run, {"alias": ROOM, "workspace": True}, "--dry-run")
    assert (ran.code, out["changed"]) == (0, True)
    assert mailbox_in(world(), ROOM).get("resource_type") is None
    ran, out = apply(run, {"alias": ROOM, "workspace": True})
    assert [(c["field"], c["where"]) for c in out["changes"]] == [("workspace", "exo")], out
    assert mailbox_in(world(), ROOM)["resource_type"] == "Workspace"
    ran, out = apply(run, {"alias": ROOM, "workspace": True})
    assert (ran.code, out["changed"]) == (0, False)
    ran, out = apply(run, {"alias": ROOM, "workspace": False})
    assert [c["field"] for c in out["changes"]] == ["workspace"]
    assert mailbox_in(world(), ROOM)["resource_type"] == "Room"
    data = json.loads(path.read_text())
    mailbox_in(data, ROOM)["is_exchange_cloud_managed"] = False
    path.write_text(json.dumps(data))


def test_a_no_op_apply_of_every_area_reads_once_per_area_and_system(
    rooms: None, run: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    spec = {
        "alias": ROOM,
        "create_room_lists": True,
        "room_lists": ["Oslo Rooms"],
        "permissions": {"full_access": ["deleg1"], "send_on_behalf": ["deleg1"]},
        "place": {"building": "B1", "city": "Oslo"},
        "hidden_from_address_lists": False,
    }
    apply(run, spec)
    before = world()["stats"]["requests"]["Command"]
    ran, out = apply(run, spec)
    assert (ran.code, out["changed"]) == (0, False), out
    steps = world()["stats"]["requests"]["Command"] - before
    # exo/connect, exo/find-mailbox (identity), exo/get-access (permissions and visibility), exo/get-place,
    # exo/get-room-lists, and in AD (the room's address and publicDelegates) ad/get-resource-attributes.
    assert steps == 6


def test_a_refused_room_list_fails_alone(
    rooms: None, run: Callable[..., Ran], world: Callable[[], dict[str, Any]], lab_env: Path
) -> None:
    apply(run, {"alias": ROOM, "room_lists": ["Synced Rooms"], "create_room_lists": True})
    apply(run, {"alias": ROOM, "room_lists": []})
    path = lab_env / "state" / "lab.json"
    data = json.loads(path.read_text())
    next(g for g in data["exo"]["room_lists"] if g["name"] == "Synced Rooms")["is_dir_synced"] = True
    path.write_text(json.dumps(data))
    ran, out = apply(run, {"alias": ROOM, "room_lists": ["Synced Rooms"], "place": {"building": "Refusal"}})
    assert ran.code == 5, ran.err
    assert (out["status"], out["changed"]) == ("failed", True)
    assert [c["field"] for c in out["changes"]] == ["place.building"]
    assert "room_lists" in out["error"]["message"] and "on-premises" in out["error"]["message"]
    assert mailbox_in(world(), ROOM)["place"]["building"] == "Refusal"


def test_apply_creates_a_room_then_sets_part_two(
    rooms: None, run: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    spec = {"alias": "newroom2", "permissions": {"full_access": ["deleg1"]}, "place": {"building": "New"}}
    ran, out = apply(run, spec, "--dry-run")
    assert (ran.code, out["changed"]) == (0, True)
    assert [c["field"] for c in out["changes"]] == ["mailbox", "permissions.full_access", "place.building"]
    ran, out = apply(run, spec)
    assert ran.code == 0, ran.err
    assert [c["field"] for c in out["changes"]][-2:] == ["permissions.full_access", "place.building"]
    assert mailbox_in(world(), "newroom2")["place"]["building"] == "New"
    ran, out = apply(run, spec)
    assert (ran.code, out["changed"]) == (0, False)


def test_hidden_from_address_lists_is_written_in_ad_when_the_forest_has_the_exchange_schema(
    rooms: None, run: Callable[..., Ran], world: Callable[[], dict[str, Any]], lab_env: Path
) -> None:
    assert run("lab", "set", "ad.exchange_schema.present=true").code == 0
    try:
        spec = {"alias": ROOM, "hidden_from_address_lists": True}
        ran, out = apply(run, spec, "--dry-run")
        assert (ran.code, out["changed"], [c["where"] for c in out["changes"]]) == (0, True, ["ad"])
        before = systems(world())
        ran, out = apply(run, spec)
        assert [(c["field"], c["where"]) for c in out["changes"]] == [("hidden_from_address_lists", "ad")]
        after = systems(world())
        account = next(u for u in after["ad"]["users"] if u["sam_account_name"] == ROOM)
        assert account["exchange"]["hide_from_address_lists"] is True
        assert after["exo"] == before["exo"], "written in Exchange Online too"
        ran, out = apply(run, spec)
        assert (ran.code, out["changed"], out["drift"]) == (0, False, [])
        shown = run("mailbox", "show", ROOM, "-o", "json")
        assert json.loads(shown.out)["spec"]["hidden_from_address_lists"] is True
        ran, out = apply(run, {"alias": ROOM, "hidden_from_address_lists": False})
        assert [c["field"] for c in out["changes"]] == ["hidden_from_address_lists"]
        assert not next(u for u in world()["ad"]["users"] if u["sam_account_name"] == ROOM)["exchange"][
            "hide_from_address_lists"
        ]
    finally:
        run("lab", "set", "ad.exchange_schema.present=false")
