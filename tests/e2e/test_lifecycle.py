"""`mailbox remove`, `restore` and `unlink` against the embedded lab (issue #16): the order sync requires,
the retention window, both anchor attributes, refusals before any change, the deletion threshold, and a
process killed at every changing step then resumed (nothing lost, nothing duplicated)."""

from __future__ import annotations

import signal
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.e2e.conftest import Ran, Spawned, by, journal_step_running
from tests.e2e.test_refusals import new_cloud_mailbox

OBJECT_GUID = "objectGUID"
CONSISTENCY = "mS-DS-ConsistencyGuid"
MONTH = str(31 * 24 * 3600)


def create(cli: Callable[..., Ran], alias: str) -> None:
    """A linked room with a non-default setting (booking window 90) and an extra address."""
    ran = cli("mailbox", "create", f"Room {alias}", "--alias", alias, "--booking-window-days", "90", "--yes")
    assert ran.code == 0, ran.err
    extra = f"{alias}-extra@lab.example"
    user = by(cli("lab", "show").json()["ad"]["users"], "sam_account_name", alias)[0]
    added = cli(
        "run", "ad/add-addresses", "--param", f"Identity={user['object_guid']}",
        "--param", f"Addresses=smtp:{extra}",
    )  # fmt: skip
    assert added.code == 0, added.err
    assert cli("sync", "start").code == 0 and cli("sync", "wait").code == 0


def snapshot(cli: Callable[..., Ran], w: dict[str, Any], alias: str) -> dict[str, Any]:
    mailbox = by(w["exo"]["mailboxes"], "alias", alias)[0]
    cloud = by(w["cloud"]["users"], "id", mailbox["external_directory_object_id"])[0]
    shown = cli("mailbox", "show", alias, "-o", "json")
    assert shown.code == 0, shown.err
    return {
        "addresses": sorted(a.lower() for a in mailbox["email_addresses"]),
        "primary": mailbox["primary_smtp_address"],
        "cloud_id": cloud["id"],
        "anchor": cloud["on_premises_immutable_id"],
        "spec": shown.json()["spec"],
    }


def assert_recorded(op: str, alias: str, before: dict[str, Any], anchor_attribute: str) -> None:
    """The journal holds what a restore needs (issue #16): spec, addresses, the account and OU, anchor."""
    from pswrap.journal import Journal

    operation = Journal().get(op)
    assert operation is not None
    record = operation.state["record"]
    assert record["spec"] == before["spec"]
    assert sorted(a.lower() for a in record["addresses"]) == before["addresses"]
    assert record["anchor"] == before["anchor"] and record["anchor_attribute"] == anchor_attribute
    assert record["ad_account"]["sam_account_name"] == alias
    assert record["ad_account"]["ou"] == "OU=Resources,DC=lab,DC=example"


def assert_removed(w: dict[str, Any], alias: str, cloud_id: str) -> None:
    assert by(w["exo"]["mailboxes"], "alias", alias) == []
    assert len(by(w["exo"]["soft_deleted_mailboxes"], "alias", alias)) == 1
    assert by(w["cloud"]["users"], "id", cloud_id) == []
    assert len(by(w["cloud"]["deleted_users"], "id", cloud_id)) == 1


@pytest.mark.parametrize("anchor", [CONSISTENCY, OBJECT_GUID])
def test_remove_then_restore_keeps_addresses_settings_and_anchor(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]], lab_set: Callable[..., None], anchor: str
) -> None:
    if anchor == OBJECT_GUID:
        lab_set(f"sync.settings.anchor_attribute={anchor}", "ad.recycle_bin_enabled=true")
    create(cli, "rooma")
    before = snapshot(cli, world(), "rooma")
    assert before["spec"]["calendar"]["booking_window_days"] == 90

    ran = cli("mailbox", "remove", "rooma", "--yes", "-o", "json")
    assert ran.code == 0, ran.err
    out = ran.json()
    assert out["status"] == "completed" and out["changed"] is True and out["mailbox_state"] == "soft-deleted"
    until = datetime.fromisoformat(out["restorable_until"].replace("Z", "+00:00"))
    assert timedelta(days=29) < until - datetime.now(timezone.utc) <= timedelta(days=30)
    assert [c["field"] for c in out["changes"]] == ["ad_account", "cloud_user", "mailbox"]
    w = world()
    assert by(w["ad"]["users"], "sam_account_name", "rooma") == []
    assert_removed(w, "rooma", before["cloud_id"])
    steps = [s["step_id"] for s in cli("ops", "show", out["operation"], "-o", "json").json()["steps"]]
    assert steps.index("ad/remove-user") < steps.index("sync/start-cycle")  # AD first, then one cycle
    assert_recorded(out["operation"], "rooma", before, anchor)

    restored = cli("mailbox", "restore", "rooma", "--yes", "-o", "json")
    assert restored.code == 0, restored.err
    assert restored.json()["status"] == "completed" and restored.json()["drift"] == []
    after = snapshot(cli, world(), "rooma")
    assert after == before  # same addresses, settings, cloud user and anchor
    w = world()
    assert len(by(w["ad"]["users"], "sam_account_name", "rooma")) == 1
    assert w["exo"]["soft_deleted_mailboxes"] == [] and w["cloud"]["deleted_users"] == []
    again = cli("mailbox", "restore", "rooma", "-o", "json")
    assert again.code == 0 and again.json()["changed"] is False


def test_objectguid_without_the_recycle_bin_cannot_be_relinked(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]], lab_set: Callable[..., None]
) -> None:
    lab_set(f"sync.settings.anchor_attribute={OBJECT_GUID}")
    create(cli, "roomo")
    assert cli("mailbox", "remove", "roomo", "--yes").code == 0
    before = world()
    ran = cli("mailbox", "restore", "roomo", "-o", "json")
    assert ran.code == 6
    assert ran.json()["status"] == "refused"
    assert "cannot be relinked" in ran.err and "AD Recycle Bin" in ran.err
    after = world()
    assert after["ad"]["users"] == before["ad"]["users"]


def test_restore_after_the_window_says_what_is_gone(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    create(cli, "roomw")
    assert cli("mailbox", "remove", "roomw", "--keep-ad-account", "--yes").code == 0
    assert cli("lab", "advance", MONTH).code == 0
    w = world()
    assert w["cloud"]["deleted_users"] == [] and w["exo"]["soft_deleted_mailboxes"] == []
    ran = cli("mailbox", "restore", "roomw")
    assert ran.code == 6
    assert "can no longer be restored" in ran.err and "permanently deleted" in ran.err
    assert "still exists" in ran.err and "pswrap mailbox apply" in ran.err


def test_keep_ad_account_retires_it_and_restore_moves_it_back(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    create(cli, "roomk")
    ran = cli("mailbox", "remove", "roomk", "--keep-ad-account", "--yes", "-o", "json")
    assert ran.code == 0, ran.err
    account = by(world()["ad"]["users"], "sam_account_name", "roomk")[0]
    assert account["distinguished_name"].endswith(",OU=Retired,DC=lab,DC=example")
    assert account["enabled"] is False
    restored = cli("mailbox", "restore", "roomk", "--yes", "-o", "json")
    assert restored.code == 0, restored.err
    w = world()
    accounts = by(w["ad"]["users"], "sam_account_name", "roomk")
    assert len(accounts) == 1
    assert accounts[0]["distinguished_name"].endswith(",OU=Resources,DC=lab,DC=example")
    assert accounts[0]["enabled"] is False  # as it was: sign-in blocked before the removal
    assert "account_enabled" not in [c["field"] for c in restored.json()["changes"]]
    assert len(by(w["exo"]["mailboxes"], "alias", "roomk")) == 1


def test_restore_gives_a_kept_account_back_its_enabled_state(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Teams Rooms account signs in (enabled); --keep-ad-account disables it with the retirement, and the
    restore enables it again (the state the removal recorded), or the room could no longer sign in."""
    monkeypatch.setenv("PSWRAP_SIGN_IN_PASSWORD", "Sign-in-Pa55word!")
    ran = cli("mailbox", "create", "Teams Room K", "--alias", "mtrk", "--allow-sign-in", "--yes")
    assert ran.code == 0, ran.err
    assert cli("mailbox", "remove", "mtrk", "--keep-ad-account", "--yes").code == 0
    assert by(world()["ad"]["users"], "sam_account_name", "mtrk")[0]["enabled"] is False
    planned = cli("mailbox", "restore", "mtrk", "--dry-run", "-o", "json")
    assert planned.code == 0, planned.err
    enable = {"field": "account_enabled", "from": False, "to": True, "where": "ad"}
    assert enable in planned.json()["changes"]
    assert by(world()["ad"]["users"], "sam_account_name", "mtrk")[0]["enabled"] is False
    restored = cli("mailbox", "restore", "mtrk", "--yes", "-o", "json")
    assert restored.code == 0, restored.err
    assert enable in restored.json()["changes"]
    w = world()
    account = by(w["ad"]["users"], "sam_account_name", "mtrk")[0]
    assert account["enabled"] is True
    assert account["distinguished_name"].endswith(",OU=Resources,DC=lab,DC=example")
    cloud = by(w["cloud"]["users"], "user_principal_name", account["user_principal_name"])[0]
    assert cloud["account_enabled"] is True  # follows AD again after the cycle


def test_a_recreated_account_that_signed_in_is_reported_disabled(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """mS-DS-ConsistencyGuid: the deleted account is re-created, disabled (enabling needs a password pswrap
    does not keep); an account that was enabled is reported as drift, where the admin enables it."""
    monkeypatch.setenv("PSWRAP_SIGN_IN_PASSWORD", "Sign-in-Pa55word!")
    assert cli("mailbox", "create", "Teams Room R", "--alias", "mtrr", "--allow-sign-in", "--yes").code == 0
    assert cli("mailbox", "remove", "mtrr", "--yes").code == 0
    restored = cli("mailbox", "restore", "mtrr", "--yes", "-o", "json")
    assert restored.code == 0, restored.err
    assert {"field": "account_enabled", "found": False, "wanted": True, "where": "ad"} in restored.json()[
        "drift"
    ]
    assert by(world()["ad"]["users"], "sam_account_name", "mtrr")[0]["enabled"] is False


def test_a_mailbox_under_a_hold_becomes_inactive(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]], lab_set: Callable[..., None]
) -> None:
    create(cli, "roomh")
    lab_set('exo.holds=["roomh"]')
    ran = cli("mailbox", "remove", "roomh", "--yes", "-o", "json")
    assert ran.code == 0, ran.err
    assert ran.json()["mailbox_state"] == "inactive (kept by its hold)"
    assert len(by(world()["exo"]["inactive_mailboxes"], "alias", "roomh")) == 1


def test_remove_refuses_a_user_mailbox(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]], lab_set: Callable[..., None]
) -> None:
    create(cli, "roomu")
    lab_set("exo.mailboxes.0.recipient_type_details=UserMailbox")
    before = world()
    ran = cli("mailbox", "remove", "roomu", "--yes", "-o", "json")
    assert ran.code == 2
    assert ran.json()["status"] == "refused" and ran.json()["changed"] is False
    assert "UserMailbox" in ran.err and "only room, equipment and shared" in ran.err
    after = world()
    assert after["ad"]["users"] == before["ad"]["users"]
    assert after["cloud"]["users"] == before["cloud"]["users"]


def test_remove_refuses_a_mailbox_not_linked_to_an_account(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    new_cloud_mailbox(cli, "lonely")
    before = world()
    ran = cli("mailbox", "remove", "lonely", "--yes", "-o", "json")
    assert ran.code == 2
    assert ran.json()["status"] == "refused"
    assert "not synced from on-premises AD" in ran.err
    assert world()["exo"]["mailboxes"] == before["exo"]["mailboxes"]


def test_remove_refuses_when_the_account_is_not_the_linked_one(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]], lab_set: Callable[..., None]
) -> None:
    """The account holding the cloud user's UPN does not carry its anchor: deleting it would hit the
    wrong object."""
    create(cli, "roomx")
    lab_set("ad.users.0.consistency_guid=00000000-0000-0000-0000-000000000001")
    ran = cli("mailbox", "remove", "roomx", "--yes")
    assert ran.code == 2
    assert "is not linked to the AD account roomx" in ran.err
    assert len(by(world()["ad"]["users"], "sam_account_name", "roomx")) == 1


def test_deletion_threshold_stops_with_the_way_out_then_resume(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]], lab_set: Callable[..., None]
) -> None:
    create(cli, "roomt")
    cloud_id = by(world()["exo"]["mailboxes"], "alias", "roomt")[0]["external_directory_object_id"]
    lab_set("sync.settings.deletion_threshold.count=1")
    ran = cli("mailbox", "remove", "roomt", "--yes", "-o", "json")
    assert ran.code == 6, ran.err
    out = ran.json()
    assert out["status"] == "failed" and out["error"]["type"] == "NeedsHuman"
    assert "stopped-deletion-threshold-exceeded" in ran.err
    assert "Prevent accidental deletes" in ran.err and f"pswrap resume {out['operation']}" in ran.err
    w = world()
    assert len(by(w["cloud"]["users"], "id", cloud_id)) == 1  # nothing deleted in the cloud
    assert w["sync"]["settings"]["deletion_threshold"] == {"enabled": True, "count": 1}  # never touched
    lab_set("sync.settings.deletion_threshold.enabled=false")  # the admin lets this export through
    resumed = cli("resume", out["operation"], "-o", "json")
    assert resumed.code == 0, resumed.err
    assert resumed.json()["status"] == "completed"
    assert_removed(world(), "roomt", cloud_id)


def test_state_absent_in_apply_removes(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]], tmp_path: Any
) -> None:
    create(cli, "rooms")
    cloud_id = by(world()["exo"]["mailboxes"], "alias", "rooms")[0]["external_directory_object_id"]
    spec = tmp_path / "gone.yaml"
    spec.write_text("alias: rooms\nstate: absent\n")
    check = cli("mailbox", "apply", str(spec), "--dry-run", "-o", "json")
    assert check.code == 0 and check.json()["changed"] is True
    ran = cli("mailbox", "apply", str(spec), "--yes", "-o", "json")
    assert ran.code == 0, ran.err
    assert_removed(world(), "rooms", cloud_id)
    again = cli("mailbox", "apply", str(spec), "--yes", "-o", "json")  # absent already: no change
    assert again.code == 0 and again.json()["changed"] is False
    never = tmp_path / "never.yaml"
    never.write_text("alias: neverthere\nstate: absent\n")
    nothing = cli("mailbox", "apply", str(never), "--yes", "-o", "json")
    assert nothing.code == 0 and nothing.json()["status"] == "unchanged"
    assert cli("mailbox", "remove", "neverthere", "--yes").code == 2  # the command names a mailbox


def test_unlink_keeps_the_mailbox_and_stops_ad_authority(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    create(cli, "roomc")
    before = snapshot(cli, world(), "roomc")
    ran = cli("mailbox", "unlink", "roomc", "--yes", "-o", "json")
    assert ran.code == 0, ran.err
    out = ran.json()
    assert out["status"] == "completed" and out["drift"] == []
    assert [c["field"] for c in out["changes"]] == ["source_of_authority", "ad_account"]
    w = world()
    cloud = by(w["cloud"]["users"], "id", before["cloud_id"])[0]
    assert cloud["is_cloud_managed"] is True and cloud["on_premises_sync_enabled"] is None
    mailbox = by(w["exo"]["mailboxes"], "alias", "roomc")[0]
    assert sorted(a.lower() for a in mailbox["email_addresses"]) == before["addresses"]
    account = by(w["ad"]["users"], "sam_account_name", "roomc")[0]
    assert account["distinguished_name"].endswith(",OU=Retired,DC=lab,DC=example")
    # Later AD changes do not flow: the account back in scope changes nothing in the cloud.
    assert cli("run", "ad/move-user", "--param", f"Identity={account['object_guid']}",
               "--param", "TargetPath=OU=Resources,DC=lab,DC=example").code == 0  # fmt: skip
    assert cli("sync", "start").code == 0 and cli("sync", "wait").code == 0
    w = world()
    assert by(w["cloud"]["users"], "id", before["cloud_id"])[0]["on_premises_sync_enabled"] is None
    assert len(by(w["exo"]["mailboxes"], "alias", "roomc")) == 1
    again = cli("mailbox", "unlink", "roomc", "-o", "json")
    assert again.code == 0 and again.json()["changed"] is False


def test_unlink_without_the_permission_is_refused_and_the_doctor_says_so(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]], lab_set: Callable[..., None]
) -> None:
    create(cli, "roomp")
    lab_set('grants.graph_permissions=["User.ReadWrite.All", "User.Read.All"]')
    before = world()
    ran = cli("mailbox", "unlink", "roomp", "--yes")
    assert ran.code == 6
    assert "User-OnPremisesSyncBehavior.ReadWrite.All" in ran.err
    assert world()["cloud"]["users"] == before["cloud"]["users"]
    doctor = cli("doctor", "-o", "json")
    checks = {c["id"]: c for c in doctor.json()}
    assert checks["unlink.permission"]["status"] == "warn"
    assert checks["unlink.connect-version"]["status"] == "pass"


REMOVE_KILLS = ["ad/remove-user", "sync/start-cycle", "graph/get-deleted-user"]
UNLINK_KILLS = ["graph/set-sync-behavior", "sync/start-cycle", "ad/retire-user"]


def killed(spawn: Callable[..., Spawned], step: str, *args: str) -> str:
    proc = spawn(*args, "--yes", extra={"PSWRAP_LAB_FAULTS": f"delay:{step}=30"})
    op = journal_step_running(step, proc)
    proc.proc.send_signal(signal.SIGKILL)
    proc.proc.wait(10)
    return op


@pytest.mark.parametrize("step", REMOVE_KILLS)
def test_remove_killed_at_a_step_then_resumed(
    spawn: Callable[..., Spawned], cli: Callable[..., Ran], world: Callable[[], dict[str, Any]], step: str
) -> None:
    create(cli, "roomr")
    before = snapshot(cli, world(), "roomr")
    op = killed(spawn, step, "mailbox", "remove", "roomr")
    assert_recorded(op, "roomr", before, CONSISTENCY)  # journaled before the first change
    ran = cli("resume", op, "-o", "json")
    assert ran.code == 0, ran.err
    assert ran.json()["operation"] == op and ran.json()["status"] == "completed"
    w = world()
    assert_removed(w, "roomr", before["cloud_id"])
    assert by(w["ad"]["users"], "sam_account_name", "roomr") == []
    restored = cli("mailbox", "restore", "roomr", "--yes", "-o", "json")  # nothing lost
    assert restored.code == 0, restored.err
    assert snapshot(cli, world(), "roomr") == before


@pytest.mark.parametrize("step", UNLINK_KILLS)
def test_unlink_killed_at_a_step_then_resumed(
    spawn: Callable[..., Spawned], cli: Callable[..., Ran], world: Callable[[], dict[str, Any]], step: str
) -> None:
    create(cli, "roomq")
    before = snapshot(cli, world(), "roomq")
    op = killed(spawn, step, "mailbox", "unlink", "roomq")
    ran = cli("resume", op, "-o", "json")
    assert ran.code == 0, ran.err
    assert ran.json()["status"] == "completed"
    w = world()
    clouds = [u for u in w["cloud"]["users"] if u["user_principal_name"] == "roomq@lab.example"]
    assert len(clouds) == 1 and clouds[0]["id"] == before["cloud_id"] and clouds[0]["is_cloud_managed"]
    assert w["cloud"]["deleted_users"] == [] and w["exo"]["soft_deleted_mailboxes"] == []
    mailboxes = by(w["exo"]["mailboxes"], "alias", "roomq")
    assert len(mailboxes) == 1
    assert sorted(a.lower() for a in mailboxes[0]["email_addresses"]) == before["addresses"]
    assert len(by(w["ad"]["users"], "sam_account_name", "roomq")) == 1


def test_terminal_shows_the_plan_and_no_means_nothing_changes(
    env: dict[str, str], cli: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    from tests.e2e.test_terminal import run_in_terminal

    create(cli, "roomy")
    before = world()
    code, seen = run_in_terminal(env, ["mailbox", "remove", "roomy"], "n")
    assert code == 2, seen
    assert "Remove-ADUser" in seen and "inactive mailbox" in seen  # the plan, holds included
    assert "not removed: the plan was declined" in seen
    after = world()
    assert after["ad"]["users"] == before["ad"]["users"] and after["exo"] == before["exo"]
    code, seen = run_in_terminal(env, ["mailbox", "remove", "roomy"], "y")
    assert code == 0, seen
    assert by(world()["exo"]["soft_deleted_mailboxes"], "alias", "roomy")


@pytest.mark.parametrize("step", ["ad/new-user", "sync/start-cycle"])
def test_restore_killed_at_a_step_then_resumed(
    spawn: Callable[..., Spawned], cli: Callable[..., Ran], world: Callable[[], dict[str, Any]], step: str
) -> None:
    create(cli, "roomz")
    before = snapshot(cli, world(), "roomz")
    assert cli("mailbox", "remove", "roomz", "--yes").code == 0
    op = killed(spawn, step, "mailbox", "restore", "roomz")
    ran = cli("resume", op, "-o", "json")
    assert ran.code == 0, ran.err
    assert ran.json()["status"] == "completed"
    assert snapshot(cli, world(), "roomz") == before
    assert len(by(world()["ad"]["users"], "sam_account_name", "roomz")) == 1
