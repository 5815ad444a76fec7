"""Each calendar field against the lab: apply (one change, in Exchange Online), re-apply (no change),
change it (one change), and check mode (changed true, nothing changed). Plus the create path, the
show -> apply round trip, principals, refusals and bad input."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.desired.conftest import mailbox_in
from tests.e2e.conftest import Ran

# field, a first value (not the default), a second value, the value as the lab stores it
FIELDS: list[tuple[str, Any, Any]] = [
    ("automate_processing", "AutoUpdate", "None"),
    ("booking_window_days", 90, 365),
    ("max_duration_minutes", 240, 60),
    ("allow_conflicts", True, False),
    ("allow_recurring_meetings", False, True),
    ("all_book_in_policy", False, True),
    ("add_organizer_to_subject", False, True),
    ("delete_comments", False, True),
    ("delete_subject", False, True),
    ("process_external_meeting_messages", True, False),
    ("resource_delegates", ["deleg1"], ["deleg2@lab.example"]),
    ("book_in_policy", ["deleg1@lab.example", "deleg2"], {"remove": ["deleg1"]}),
]
STORED = {
    "booking_window_days": "booking_window_in_days",
    "max_duration_minutes": "maximum_duration_in_minutes",
}


@pytest.fixture(scope="module")
def rooms(lab_env: Path) -> None:
    """room1 (the one configured) and two rooms that serve as principals."""
    from pswrap.cli import app
    from pswrap.cli.app import run_app

    for alias in ("room1", "deleg1", "deleg2"):
        assert run_app(app, ["mailbox", "create", alias, "--alias", alias, "--yes"]) == 0


def apply(run: Callable[..., Ran], spec: dict[str, Any], *extra: str) -> tuple[Ran, dict[str, Any]]:
    ran = run("mailbox", "apply", "-", "-f", "json", "-o", "json", *extra, stdin=json.dumps(spec))
    return ran, json.loads(ran.out) if ran.out.strip() else {}


def stored(world: dict[str, Any], field: str) -> Any:
    return (mailbox_in(world, "room1").get("calendar_processing") or {}).get(STORED.get(field, field))


@pytest.mark.parametrize(("field", "first", "second"), FIELDS, ids=[f[0] for f in FIELDS])
def test_each_calendar_field_converges(
    rooms: None,
    run: Callable[..., Ran],
    world: Callable[[], dict[str, Any]],
    field: str,
    first: Any,
    second: Any,
) -> None:
    spec = {"alias": "room1", "calendar": {field: first}}
    ran, out = apply(run, spec)
    assert ran.code == 0, ran.err
    assert out["changed"] is True and out["status"] == "completed"
    assert [(c["field"], c["where"]) for c in out["changes"]] == [(f"calendar.{field}", "exo")]
    after_first = world()
    assert stored(after_first, field) is not None

    ran, out = apply(run, spec)
    assert (ran.code, out["changed"], out["status"], out["changes"]) == (0, False, "unchanged", [])

    ran, out = apply(run, {"alias": "room1", "calendar": {field: second}}, "--dry-run")
    assert (ran.code, out["changed"], out["dry_run"]) == (0, True, True)
    assert [c["field"] for c in out["changes"]] == [f"calendar.{field}"]
    assert world()["exo"] == after_first["exo"], "a dry run changed the world"

    ran, out = apply(run, {"alias": "room1", "calendar": {field: second}})
    assert ran.code == 0, ran.err
    assert [(c["field"], c["where"]) for c in out["changes"]] == [(f"calendar.{field}", "exo")]
    assert stored(world(), field) != stored(after_first, field)
    assert world()["ad"] == after_first["ad"], "a calendar field was written in AD"


def test_principals_are_compared_by_the_object_they_name(rooms: None, run: Callable[..., Ran]) -> None:
    apply(run, {"alias": "room1", "calendar": {"resource_delegates": ["deleg1"]}})
    # The same recipient by its address, its alias in another case: nothing to change.
    for same in (["deleg1@lab.example"], ["DELEG1"], {"add": ["deleg1@lab.example"]}):
        ran, out = apply(run, {"alias": "room1", "calendar": {"resource_delegates": same}})
        assert (ran.code, out["changed"]) == (0, False), same


def test_unknown_principal_is_refused_before_any_change(
    rooms: None, run: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    before = world()["exo"]
    spec = {
        "alias": "room1",
        "calendar": {"booking_window_days": 7, "book_in_policy": ["nobody@lab.example"]},
    }
    ran, _ = apply(run, spec)
    assert ran.code == 2
    assert "nobody@lab.example" in ran.err
    assert world()["exo"] == before


def test_a_refused_setting_fails_alone(
    rooms: None, run: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    message = "lab tenant policy: AllowConflicts is not allowed"
    ran = run("lab", "set", "exo.calendar_refusals=" + json.dumps({"AllowConflicts": message}))
    assert ran.code == 0, ran.err
    try:
        spec = {"alias": "room1", "calendar": {"allow_conflicts": True, "booking_window_days": 33}}
        ran, out = apply(run, spec)
    finally:
        run("lab", "set", "exo.calendar_refusals={}")
    assert ran.code == 5
    assert out["status"] == "failed" and out["changed"] is True
    assert [c["field"] for c in out["changes"]] == ["calendar.booking_window_days"]
    assert message in out["error"]["message"] and "calendar.allow_conflicts" in out["error"]["message"]
    assert stored(world(), "booking_window_days") == 33


def test_show_yaml_applies_as_a_no_op(rooms: None, run: Callable[..., Ran], lab_env: Path) -> None:
    apply(run, {"alias": "room1", "calendar": {"resource_delegates": ["deleg2"], "booking_window_days": 12}})
    shown = run("mailbox", "show", "room1", "-o", "yaml")
    assert shown.code == 0, shown.err
    assert "resource_delegates:\n  - deleg2@lab.example" in shown.out
    path = lab_env / "room1.yaml"
    path.write_text(shown.out)
    ran = run("mailbox", "apply", str(path), "-o", "json")
    assert ran.code == 0, ran.err
    out = json.loads(ran.out)
    assert (out["changed"], out["changes"], out["drift"]) == (False, [], [])


def test_show_reports_the_link(rooms: None, run: Callable[..., Ran]) -> None:
    ran = run("mailbox", "show", "room1", "-o", "json")
    link = json.loads(ran.out)["link"]
    assert link["synced"] is True and link["anchors_agree"] is True
    assert link["cloud_immutable_id"] == link["ad_anchor"]
    assert link["exchange_attributes_mastered_in"] == "ad"


def test_list_reads_every_resource_mailbox(rooms: None, run: Callable[..., Ran]) -> None:
    ran = run("mailbox", "list", "--type", "room", "-o", "json")
    assert ran.code == 0, ran.err
    rows = {r["alias"]: r for r in json.loads(ran.out)}
    assert {"room1", "deleg1", "deleg2"} <= set(rows)
    assert rows["room1"]["synced"] is True
    unlinked = run("mailbox", "list", "--unlinked", "-o", "json")
    assert json.loads(unlinked.out) == []


def test_apply_creates_a_missing_mailbox_then_configures_it(
    rooms: None, run: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    spec = {"alias": "newroom", "name": "New Room", "calendar": {"booking_window_days": 30}}
    ran, out = apply(run, spec, "--dry-run")
    assert (ran.code, out["changed"]) == (0, True)
    assert not any(m["alias"] == "newroom" for m in world()["exo"]["mailboxes"])
    ran, out = apply(run, spec)
    assert ran.code == 0, ran.err
    fields = [c["field"] for c in out["changes"]]
    assert fields[0] == "mailbox" and "calendar.booking_window_days" in fields
    assert mailbox_in(world(), "newroom")["is_dir_synced"] is True
    ran, out = apply(run, spec)
    assert (ran.code, out["changed"]) == (0, False)


def test_state_absent_removes_and_shared_calendars_are_refused(rooms: None, run: Callable[..., Ran]) -> None:
    assert apply(run, {"alias": "gone1"})[0].code == 0  # its own room: the others share this world
    ran, out = apply(run, {"alias": "gone1", "state": "absent"})  # removal: issue #16, docs/lifecycle.md
    assert ran.code == 0 and out["status"] == "completed" and out["kind"] == "remove"
    ran, _ = apply(run, {"alias": "sharedx", "type": "shared", "calendar": {"allow_conflicts": True}})
    assert ran.code == 2 and "shared" in ran.err


def test_create_dry_run_says_changed_only_when_something_would_change(
    rooms: None, run: Callable[..., Ran]
) -> None:
    missing = run("mailbox", "create", "Room Nine", "--alias", "room9", "--dry-run", "-o", "json")
    assert missing.code == 0 and json.loads(missing.out)["changed"] is True
    existing = run("mailbox", "create", "room1", "--alias", "room1", "--dry-run", "-o", "json")
    assert existing.code == 0 and json.loads(existing.out)["changed"] is False


def test_create_flags_fill_the_same_spec(
    rooms: None, run: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    args = [
        "mailbox",
        "create",
        "Flag Room",
        "--alias",
        "flagroom",
        "--auto-accept",
        "--booking-window-days",
        "60",
    ]
    args += ["--max-duration", "120", "--delegate", "deleg1", "--yes", "-o", "json"]
    checked = run(*args, "--dry-run")
    assert checked.code == 0 and json.loads(checked.out)["changed"] is True
    ran = run(*args)
    assert ran.code == 0, ran.err
    out = json.loads(ran.out)
    # create's own result (its status, objects and changes), with the calendar changes added
    assert out["status"] == "completed" and out["changed"] is True and out["ad_user"]["sam_account_name"]
    fields = {c["field"] for c in out["changes"]}
    assert {"calendar.booking_window_days", "calendar.max_duration_minutes"} <= fields
    assert "calendar.resource_delegates" in fields
    stored_ = mailbox_in(world(), "flagroom")["calendar_processing"]
    assert (stored_["booking_window_in_days"], stored_["maximum_duration_in_minutes"]) == (60, 120)
    again = run(*args)
    assert (again.code, json.loads(again.out)["changed"]) == (0, False)
    bad = run("mailbox", "create", "Bad", "--alias", "bad1", "--booking-window-days", "5000", "--yes")
    assert bad.code == 2 and "booking_window_days" in bad.err


def test_a_no_op_apply_reads_once_per_area(
    rooms: None, run: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    spec = {
        "alias": "room1",
        "name": "room1",
        "calendar": {"booking_window_days": 44, "book_in_policy": ["deleg1"]},
    }
    apply(run, spec)
    before = world()["stats"]["requests"]["Command"]
    ran, out = apply(run, spec)
    assert (ran.code, out["changed"]) == (0, False)
    pipelines = world()["stats"]["requests"]["Command"] - before
    # exo/connect, then one read per area the spec manages: identity (exo/find-mailbox) and calendar
    # (exo/get-calendar-processing, which also resolves the principals).
    assert pipelines == 3


def test_apply_links_an_existing_cloud_only_mailbox_first(
    rooms: None, run: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    params = [
        "Name=Cloud Cart",
        "Alias=cart1",
        "DisplayName=Cloud Cart",
        "PrimarySmtpAddress=cart1@lab.example",
    ]
    made = run(
        "run", "exo/new-mailbox", "--var", "type=equipment", *[a for p in params for a in ("--param", p)]
    )
    assert made.code == 0, made.err
    spec = {"alias": "cart1", "calendar": {"allow_conflicts": True}}
    ran, out = apply(run, spec, "--dry-run")
    assert (ran.code, out["changed"]) == (0, True)
    assert out["changes"][0]["field"] == "link"
    ran, out = apply(run, spec)
    assert ran.code == 0, ran.err
    fields = [c["field"] for c in out["changes"]]
    assert fields[0] == "link" and fields[-1] == "calendar.allow_conflicts"
    mailbox = mailbox_in(world(), "cart1")
    assert mailbox["is_dir_synced"] is True and mailbox["recipient_type_details"] == "EquipmentMailbox"
    account = next(u for u in world()["ad"]["users"] if u["sam_account_name"] == "cart1")
    assert account["display_name"] == "Cloud Cart"


def test_many_specs_report_each_and_exit_with_the_worst(rooms: None, run: Callable[..., Ran]) -> None:
    specs = [
        {"alias": "room1", "calendar": {"delete_subject": True}},
        {"alias": "deleg1", "type": "equipment"},
    ]
    ran = run("mailbox", "apply", "-", "-f", "json", "-o", "json", stdin=json.dumps(specs))
    out = json.loads(ran.out)
    assert ran.code == 6  # deleg1 is a room: apply does not convert types
    assert out["items"][0]["status"] in ("completed", "unchanged")
    assert out["items"][1]["status"] == "refused" and out["items"][1]["error"]["exit_code"] == 6
    assert out["summary"]["total"] == 2 and out["summary"]["refused"] == 1
    lines = run("mailbox", "apply", "-", "-f", "json", "-o", "jsonl", stdin=json.dumps(specs[:1]))
    assert lines.code == 0 and len(lines.out.strip().splitlines()) == 1


def test_diff_shows_before_and_after(rooms: None, run: Callable[..., Ran]) -> None:
    apply(run, {"alias": "room1", "calendar": {"booking_window_days": 21}})
    spec = {"alias": "room1", "calendar": {"booking_window_days": 22}}
    _, out = apply(run, spec, "--dry-run", "--diff")
    assert out["diff"] == {
        "before": {"calendar.booking_window_days": 21},
        "after": {"calendar.booking_window_days": 22},
    }
    text = run("mailbox", "apply", "-", "-f", "json", "--dry-run", "--diff", stdin=json.dumps(spec))
    assert (
        "- calendar.booking_window_days: 21" in text.out and "+ calendar.booking_window_days: 22" in text.out
    )


def test_show_of_a_missing_mailbox_is_bad_input(rooms: None, run: Callable[..., Ran]) -> None:
    ran = run("mailbox", "show", "nosuchroom")
    assert ran.code == 2 and "nosuchroom" in ran.err


def test_capacity_is_written_in_exchange_online(
    rooms: None, run: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    ran, out = apply(run, {"alias": "room1", "capacity": 8})
    assert ran.code == 0, ran.err
    assert [(c["field"], c["from"], c["to"], c["where"]) for c in out["changes"]] == [
        ("capacity", None, 8, "exo")
    ]
    ran, out = apply(run, {"alias": "room1", "capacity": 8})
    assert (ran.code, out["changed"]) == (0, False)
    before = world()
    ran, out = apply(run, {"alias": "room1", "capacity": 12}, "--dry-run")
    assert (ran.code, out["changed"], [c["field"] for c in out["changes"]]) == (0, True, ["capacity"])
    assert world()["exo"] == before["exo"]
    ran, out = apply(run, {"alias": "room1", "capacity": 12})
    assert [(c["field"], c["to"]) for c in out["changes"]] == [("capacity", 12)]
    assert mailbox_in(world(), "room1")["resource_capacity"] == 12
    assert world()["ad"] == before["ad"]


def test_identity_fields_ad_masters_are_written_in_ad_after_the_link(
    rooms: None, run: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    """tests/desired/test_apply_identity.py has each identity field's four tests."""
    before = world()
    ran, out = apply(run, {"alias": "room1", "display_name": "Renamed Room"})
    assert (ran.code, out["changed"], out["status"]) == (0, True, "completed")
    assert [(c["field"], c["from"], c["to"], c["where"]) for c in out["changes"]] == [
        ("display_name", "room1", "Renamed Room", "ad")
    ]
    assert world()["exo"] == before["exo"], "Exchange Online shows it after the next sync cycle"
    account = next(u for u in world()["ad"]["users"] if u["sam_account_name"] == "room1")
    assert account["display_name"] == "Renamed Room"


def test_in_a_terminal_apply_asks_first(
    rooms: None, run: Callable[..., Ran], world: Callable[[], dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    import typer

    import pswrap.cli.desired_cmd as desired_cmd

    asked: list[str] = []

    def decline(text: str, **_: Any) -> bool:
        asked.append(text)
        return False

    monkeypatch.setattr(desired_cmd, "_interactive", lambda: True)
    monkeypatch.setattr(typer, "confirm", decline)
    before = world()["exo"]
    ran, _ = apply(run, {"alias": "room1", "calendar": {"booking_window_days": 77}})
    assert ran.code == 2 and asked and "declined" in ran.err
    assert "would change: calendar.booking_window_days" in ran.err
    assert world()["exo"] == before
    ran, _ = apply(run, {"alias": "room1", "calendar": {"booking_window_days": 77}}, "--yes")
    assert ran.code == 0 and len(asked) == 1


def test_no_wait_leaves_the_link_pending_and_the_next_apply_finishes_it(
    rooms: None, run: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    spec = {"alias": "later1", "calendar": {"booking_window_days": 15}}
    ran, out = apply(run, spec, "--no-wait")
    assert ran.code == 0, ran.err
    assert out["status"] == "pending-sync" and out["changed"] is True
    assert mailbox_in(world(), "later1")["calendar_processing"]["booking_window_in_days"] == 15
    ran, out = apply(run, spec)
    assert ran.code == 0, ran.err
    assert out["status"] in ("completed", "unchanged")
    assert mailbox_in(world(), "later1")["is_dir_synced"] is True
    ran, out = apply(run, spec)
    assert (ran.code, out["changed"], out["status"]) == (0, False, "unchanged")


def test_show_says_who_masters_the_exchange_attributes(rooms: None, run: Callable[..., Ran]) -> None:
    moved = run("run", "exo/set-exchange-cloud-managed", "--param", "Identity=deleg2")
    assert moved.code == 0, moved.err
    link = json.loads(run("mailbox", "show", "deleg2", "-o", "json").out)["link"]
    assert link["state"] == "linked_exchange_cloud_managed"
    assert link["exchange_attributes_mastered_in"] == "exo"
    assert json.loads(run("mailbox", "show", "room1", "-o", "json").out)["link"]["state"] == "linked"
