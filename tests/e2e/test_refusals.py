"""What pswrap refuses (exit 6) and why: conflicts named with where they are, blocked matches, a
role-holding cloud user, and an export error reported as the failure it is rather than waited out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.conftest import Ran, Spawned, by, journal_step_done
from tests.e2e.test_create import assert_result_shape

RESOURCE_OU = "OU=Resources,DC=lab,DC=example"


def new_cloud_mailbox(
    cli: Callable[..., Ran], alias: str, mtype: str = "room", smtp: str | None = None
) -> None:
    ran = cli(
        "run", "exo/new-mailbox", "--var", f"type={mtype}",
        "--param", f"Name={alias}", "--param", f"Alias={alias}", "--param", f"DisplayName={alias}",
        "--param", f"PrimarySmtpAddress={smtp or alias + '@lab.example'}",
    )  # fmt: skip
    assert ran.code == 0, ran.err


def new_ad_user(cli: Callable[..., Ran], sam: str, nickname: str, ou: str = RESOURCE_OU) -> None:
    ran = cli(
        "run", "ad/new-user",
        "--param", f"Name={nickname}", "--param", f"Path={ou}", "--param", f"SamAccountName={sam}",
        "--param", f"UserPrincipalName={nickname}@lab.example", "--param", f"DisplayName={nickname}",
        "--param", f"EmailAddress={nickname}@lab.example",
        "--param", f"ProxyAddresses=SMTP:{nickname}@lab.example", "--param", f"MailNickname={nickname}",
    )  # fmt: skip
    assert ran.code == 0, ran.err


def objects(w: dict[str, Any]) -> tuple[Any, ...]:
    return (w["ad"]["users"], w["cloud"]["users"], w["exo"]["mailboxes"])


def test_alias_held_by_another_recipient(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    new_cloud_mailbox(cli, "room1", "equipment", "projector@lab.example")
    before = objects(world())
    ran = cli("mailbox", "create", "Meeting Room 1", "--alias", "room1", "--output", "json")
    assert ran.code == 6
    out = ran.json()
    assert_result_shape(out)
    assert out["status"] == "failed" and out["changed"] is False
    assert out["error"]["type"] == "Conflict" and out["error"]["exit_code"] == 6
    assert (
        "EquipmentMailbox" in out["error"]["message"] and "projector@lab.example" in out["error"]["message"]
    )
    assert objects(world()) == before


def test_smtp_address_held_by_another_recipient(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    new_cloud_mailbox(cli, "frontdesk", "shared", "room3@lab.example")
    before = objects(world())
    ran = cli("mailbox", "create", "Room 3", "--alias", "room3")
    assert ran.code == 6
    assert "the address room3@lab.example" in ran.err and "SharedMailbox frontdesk" in ran.err
    assert objects(world()) == before


def test_sam_held_by_another_account(cli: Callable[..., Ran], world: Callable[[], dict[str, Any]]) -> None:
    new_ad_user(cli, "room2", "alice")
    before = objects(world())
    ran = cli("mailbox", "create", "Room 2", "--alias", "room2")
    assert ran.code == 6
    assert "sAMAccountName room2" in ran.err and "CN=alice,OU=Resources,DC=lab,DC=example" in ran.err
    assert objects(world()) == before


def test_account_already_linked_to_another_cloud_object(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    assert cli("mailbox", "create", "Room 4", "--alias", "room4").code == 0
    new_cloud_mailbox(cli, "lonely")
    before = objects(world())
    ran = cli("mailbox", "link", "lonely", "--ad-user", "room4", "--output", "json")
    assert ran.code == 6
    message = ran.json()["error"]["message"]
    assert "already linked to another cloud user" in message and "room4@lab.example" in message
    assert objects(world()) == before


def test_blocked_soft_match_is_refused_before_any_change(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]], lab_set: Callable[..., None]
) -> None:
    lab_set("cloud.features.block_soft_match=true")
    before = objects(world())
    ran = cli("mailbox", "create", "Room 5", "--alias", "room5", "--match", "soft")
    assert ran.code == 6
    assert "blocks soft match" in ran.err and "--match hard" in ran.err
    assert objects(world()) == before
    assert world()["cloud"]["features"]["block_soft_match"] is True  # never changed by pswrap


def test_blocked_hard_match_is_refused_before_any_change(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]], lab_set: Callable[..., None]
) -> None:
    lab_set("cloud.features.block_hard_match_takeover=true")
    before = objects(world())
    for hold in ("anchor", "staging-ou", "scheduler"):
        ran = cli("mailbox", "create", "Room 6", "--alias", "room6", "--hold", hold)
        assert ran.code == 6
        assert "BlockCloudObjectTakeoverThroughHardMatchEnabled" in ran.err
        assert "hybrid-tools" in ran.err  # what the admin can do instead
    assert objects(world()) == before
    assert world()["cloud"]["features"]["block_hard_match_takeover"] is True
    assert world()["sync"]["scheduler"]["sync_cycle_enabled"] is True


def test_role_holding_cloud_user_is_refused(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]], lab_set: Callable[..., None]
) -> None:
    new_cloud_mailbox(cli, "boss")
    w = world()
    mailbox = by(w["exo"]["mailboxes"], "alias", "boss")[0]
    index = next(
        i for i, u in enumerate(w["cloud"]["users"]) if u["id"] == mailbox["external_directory_object_id"]
    )
    lab_set(f'cloud.users.{index}.directory_roles=["Exchange Administrator"]')
    before = objects(world())
    ran = cli("mailbox", "link", "boss", "--create-ad-user")
    assert ran.code == 6
    assert "Exchange Administrator" in ran.err and "remove the role" in ran.err
    assert objects(world()) == before


def test_export_error_is_reported_not_waited_out(
    spawn: Callable[..., Spawned], cli: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    """The tenant starts blocking hard-match takeover after pswrap checked: the cycle's run results
    carry InvalidHardMatch for our account (tshoot-connect-sync-errors.md), and pswrap reports that at
    the end of the cycle (exit 6), long before --timeout."""
    proc = spawn(
        "mailbox", "create", "Room 7", "--alias", "room7", "--timeout", "120", "--output", "json",
        extra={"PSWRAP_LAB_SYNC_SECONDS": "30"},
    )  # fmt: skip
    journal_step_done("sync/start-cycle", proc)
    assert cli("lab", "set", "cloud.features.block_hard_match_takeover=true").code == 0
    assert cli("lab", "advance", "30").code == 0  # the cycle ends (whatever this machine's speed)
    ran = proc.finish()
    assert ran.code == 6, ran.err
    out = ran.json()
    assert out["status"] == "failed"
    assert "InvalidHardMatch" in out["error"]["message"]
    assert "CN=Room 7,OU=Resources,DC=lab,DC=example" in out["error"]["message"]
    # Reported at the end of the first cycle: no second cycle was started to wait the error out.
    steps = cli("ops", "show", out["operation"], "--output", "json").json()["steps"]
    assert [s["step_id"] for s in steps].count("sync/start-cycle") == 1


@pytest.mark.parametrize(
    ("setting", "route", "needle"),
    [
        ("sync.settings.connect_version=2.4.18.0", [], "2.5.79.0"),
        ("ad.ous.1.in_sync_scope=true", ["--hold", "staging-ou"], "OU=Staging"),
    ],
)
def test_failed_preflight_check_blocks_before_any_change(
    cli: Callable[..., Ran],
    world: Callable[[], dict[str, Any]],
    lab_set: Callable[..., None],
    setting: str,
    route: list[str],
    needle: str,
) -> None:
    """Issue #7's checks are part of the plan: a check that matters to it fails -> exit 6, no change."""
    lab_set(setting)
    before = objects(world())
    ran = cli("mailbox", "create", "Room 8", "--alias", "room8", *route)
    assert ran.code == 6, ran.err
    assert "preflight check(s) failed" in ran.err and needle in ran.err
    assert objects(world()) == before


def test_hybrid_tools_sam_held_by_an_account_without_remote_mailbox(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    new_ad_user(cli, "hyroom", "hyperson")
    before = objects(world())
    ran = cli("mailbox", "create", "Hy Room", "--alias", "hyroom", "--profile", "hybrid-tools")
    assert ran.code == 6
    assert "sAMAccountName hyroom" in ran.err and "no remote mailbox" in ran.err
    assert objects(world()) == before


def test_hybrid_tools_type_mismatch(cli: Callable[..., Ran]) -> None:
    assert cli("mailbox", "create", "Hy Eq", "--alias", "hyeq", "--type", "equipment",
               "--profile", "hybrid-tools").code == 0  # fmt: skip
    ran = cli("mailbox", "create", "Hy Eq", "--alias", "hyeq", "--type", "room", "--profile", "hybrid-tools")
    assert ran.code == 6 and "RemoteEquipmentMailbox" in ran.err


def test_ou_outside_sync_scope_is_refused(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    before = objects(world())
    ran = cli("mailbox", "create", "Room O", "--alias", "roomo", "--ou", "OU=Staging,DC=lab,DC=example")
    assert ran.code == 2
    assert "outside the sync server's OU filtering" in ran.err
    assert objects(world()) == before


def test_preflight_runs_once_per_plan_that_changes_something(
    cli: Callable[..., Ran], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The preflight runs once per planning: when the plan has steps to apply (with its profile and hold),
    or when a fact read fails; never for a converged re-run (nothing to change, nothing to block)."""
    from pswrap.workflows import preflight

    calls: list[tuple[str, str | None]] = []
    real = preflight.refuse_when_blocked

    def counted(session: Any, *, profile: str, hold: str | None, known: Any = None) -> None:
        calls.append((profile, hold))
        real(session, profile=profile, hold=hold, known=known)

    monkeypatch.setattr(preflight, "refuse_when_blocked", counted)
    assert cli("mailbox", "create", "Room 9", "--alias", "room9", "--dry-run").code == 0
    assert calls == [("modern", "anchor")]
    assert cli("mailbox", "create", "Room 9", "--alias", "room9", "--hold", "staging-ou").code == 0
    assert calls[1:] == [("modern", "staging-ou")]
    assert cli("mailbox", "create", "Room 9", "--alias", "room9", "--hold", "staging-ou").code == 0
    assert len(calls) == 2  # converged: nothing planned, no preflight
    assert cli("mailbox", "create", "Hy 9", "--alias", "hy9", "--profile", "hybrid-tools").code == 0
    assert calls[2:] == [("hybrid-tools", None)]
    # A fact that cannot be read: the preflight is asked once whether it explains that (here it does
    # not: the step's own error, exit 5), and planning stops there.
    monkeypatch.setenv("PSWRAP_LAB_FAULTS", "fail:exo/find-mailbox@1")
    assert cli("mailbox", "create", "Room 10", "--alias", "room10", "--hold", "scheduler").code == 5
    assert calls[3:] == [("modern", "scheduler")]


def test_preflight_judges_the_facts_the_run_has_read_without_reading_them_again(
    cli: Callable[..., Ran], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before the first change, a create reads the sync settings, the scheduler and the tenant's switches
    once: the preflight judges the workflow's reads (each read is a round trip to a server)."""
    from pswrap.remote.session import Session

    read: list[str] = []
    real = Session.step

    def counted(self: Session, step_id: str, **kwargs: Any) -> Any:
        read.append(step_id)
        return real(self, step_id, **kwargs)

    monkeypatch.setattr(Session, "step", counted)
    ran = cli("mailbox", "create", "Room 11", "--alias", "room11", "--no-wait", "--output", "json")
    assert ran.code == 0, ran.err
    assert ran.json()["changed"] is True  # something to change: the preflight ran
    before_change = read[: read.index("exo/new-mailbox")]
    for step_id in ("sync/get-settings", "sync/get-scheduler", "graph/get-sync-features"):
        assert before_change.count(step_id) == 1, (step_id, before_change)
    assert "sync/list-leases" in before_change  # a check of its own, still read by the preflight
