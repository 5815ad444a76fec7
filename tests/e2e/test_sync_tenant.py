"""Sync as a real tenant does it (docs/sync.md), through the same commands an admin runs.

Each scenario stages the lab as Microsoft documents the tenant or the sync server, runs `pswrap mailbox
...`, and asserts the documented outcome in the world, pswrap's exit code and its message: an export error
named by its connector-space DN (Learn "Understanding errors during Microsoft Entra synchronization"), a
new object created by duplicate attribute resiliency instead of the link, role holders (MC1262584), a
suspended scheduler ("Microsoft Entra Connect Sync: Scheduler"), the replication delay of a new mailbox,
and the anchor write-back ("Microsoft Entra Connect: Design concepts"). Changes that happen while pswrap
waits are staged with the lab's clock (`lab advance`), never by sleeping.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from pswrap.immutableid import connector_space_dn
from pswrap.lab.world import immutable_id
from tests.e2e.conftest import Ran, Spawned, by, journal_step_done

RESOURCE_OU = "OU=Resources,DC=lab,DC=example"


def _cloud_index(w: dict[str, Any], alias: str) -> int:
    mailbox = by(w["exo"]["mailboxes"], "alias", alias)[0]
    return next(
        i for i, u in enumerate(w["cloud"]["users"]) if u["id"] == mailbox["external_directory_object_id"]
    )


def _objects(w: dict[str, Any]) -> tuple[Any, ...]:
    return (w["ad"]["users"], w["cloud"]["users"], w["exo"]["mailboxes"])


def test_role_assigned_while_waiting_is_an_invalid_hard_match_named_for_the_account(
    spawn: Callable[..., Spawned], cli: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    """The mailbox's user gets a role scoped to an administrative unit after pswrap checked it. The sync
    engine's InvalidHardMatch (MC1262584; documented text) names the object by its connector-space DN
    CN={hex of the ImmutableId's ASCII}, not the AD DN: pswrap still attributes it to its account, reports
    it at the end of the cycle (exit 6) in words an admin recognises, with both causes in the hint. The
    anchor is written back to AD by that cycle's AD export even though the Entra ID export failed."""
    proc = spawn(
        "mailbox", "create", "Room 21", "--alias", "room21", "--hold", "staging-ou", "--timeout", "120",
        "--output", "json", extra={"PSWRAP_LAB_SYNC_SECONDS": "30"},
    )  # fmt: skip
    journal_step_done("sync/start-cycle", proc)
    index = _cloud_index(world(), "room21")
    assignment = {"role": "Helpdesk Administrator", "directory_scope_id": "/administrativeUnits/au1"}
    ran = cli("lab", "set", f"cloud.users.{index}.role_assignments={json.dumps([assignment])}")
    assert ran.code == 0, ran.err
    assert cli("lab", "advance", "30").code == 0
    ran = proc.finish()
    assert ran.code == 6, ran.err
    error = ran.json()["error"]
    account = by(world()["ad"]["users"], "sam_account_name", "room21")[0]
    anchor = immutable_id(account["object_guid"])
    assert (
        "InvalidHardMatch: Another cloud created object with the same source anchor already exists"
        in (error["message"])
    )
    assert f"the account room21 (CN=Room 21,{RESOURCE_OU})" in error["message"]
    assert connector_space_dn(anchor) in error["message"]
    assert "MC1262584" in error["hint"] and "BlockCloudObjectTakeoverThroughHardMatchEnabled" in error["hint"]
    cloud = world()["cloud"]["users"][index]
    assert not cloud["on_premises_sync_enabled"]  # not taken over
    assert account["consistency_guid"] == account["object_guid"]  # written back by the AD export


def test_a_new_cloud_object_instead_of_the_link_stops_with_its_clean_up(
    spawn: Callable[..., Spawned], cli: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    """Soft match is blocked after pswrap checked the tenant: duplicate attribute resiliency provisions the
    account as a NEW cloud user with the mailbox's address quarantined, and logs no export error. pswrap
    notices after the cycle (exit 6), names the new object, why, and how to clean up; the two objects
    never share the address."""
    proc = spawn(
        "mailbox", "create", "Room 22", "--alias", "room22", "--match", "soft", "--hold", "none",
        "--timeout", "120", "--output", "json", extra={"PSWRAP_LAB_SYNC_SECONDS": "30"},
    )  # fmt: skip
    journal_step_done("sync/start-cycle", proc)
    assert cli("lab", "set", "cloud.features.block_soft_match=true").code == 0
    assert cli("lab", "advance", "30").code == 0
    ran = proc.finish()
    assert ran.code == 6, ran.err
    error = ran.json()["error"]
    w = world()
    account = by(w["ad"]["users"], "sam_account_name", "room22")[0]
    anchor = immutable_id(account["object_guid"])
    (stray,) = [u for u in w["cloud"]["users"] if u.get("on_premises_immutable_id") == anchor]
    mine = w["cloud"]["users"][_cloud_index(w, "room22")]
    assert stray["id"] != mine["id"]
    assert f"synced into a NEW cloud user {stray['user_principal_name']}" in error["message"]
    assert f"(id {stray['id']})" in error["message"]
    assert "ProxyAddress SMTP:room22@lab.example" in error["message"]
    assert "does not carry the account's ImmutableId" in error["message"]
    assert f"Remove-MgDirectoryDeletedItem -DirectoryObjectId {stray['id']}" in error["hint"]
    holders = [
        u for u in w["cloud"]["users"] if "smtp:room22@lab.example" in map(str.lower, u["proxy_addresses"])
    ]
    assert holders == [mine]


@pytest.mark.parametrize(
    ("assignment", "needle"),
    [
        (
            {"role": "User Administrator", "directory_scope_id": "/administrativeUnits/au7"},
            "administrative unit",
        ),
        ({"role": "Exchange Administrator", "directory_scope_id": "/", "status": "eligible"}, "eligible"),
    ],
)
def test_scoped_and_eligible_role_holders_are_refused_before_any_change(
    cli: Callable[..., Ran],
    world: Callable[[], dict[str, Any]],
    lab_set: Callable[..., None],
    assignment: dict[str, str],
    needle: str,
) -> None:
    """MC1262584 names no roles and says nothing of administrative-unit scope or PIM eligibility; pswrap
    treats both as blocking (its cautious choice, docs/sync.md) and refuses before changing anything."""
    ran = cli(
        "run", "exo/new-mailbox", "--var", "type=room", "--param", "Name=boss", "--param", "Alias=boss",
        "--param", "DisplayName=boss", "--param", "PrimarySmtpAddress=boss@lab.example",
    )  # fmt: skip
    assert ran.code == 0, ran.err
    lab_set(f"cloud.users.{_cloud_index(world(), 'boss')}.role_assignments={json.dumps([assignment])}")
    before = _objects(world())
    ran = cli("mailbox", "link", "boss", "--create-ad-user")
    assert ran.code == 6, ran.err
    assert assignment["role"] in ran.err and needle in ran.err and "remove" in ran.err
    assert _objects(world()) == before


def test_a_suspended_scheduler_stops_every_hold_before_any_change(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]], lab_set: Callable[..., None]
) -> None:
    """ "Microsoft Entra Connect Sync: Scheduler": an upgrade or an open wizard suspends the scheduler, and a
    manual cycle is then undocumented: pswrap does not wait for a cycle that may never come. Every hold
    stops with exit 6 and the fix, before anything changes."""
    lab_set("sync.scheduler.suspended=true")
    before = _objects(world())
    for hold in ("anchor", "staging-ou", "scheduler"):
        ran = cli("mailbox", "create", "Room 23", "--alias", "room23", "--hold", hold)
        assert ran.code == 6, (hold, ran.err)
        assert "SchedulerSuspended" in ran.err and "wizard" in ran.err and "upgrade" in ran.err
    assert _objects(world()) == before


def test_the_new_mailbox_user_is_waited_for_through_the_replication_delay(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mailbox created in Exchange Online reaches Entra ID after a delay (Get-MgUser answers not found
    until then): pswrap waits for the user, with a progress line, and completes."""
    monkeypatch.setenv("PSWRAP_LAB_REPLICATION_SECONDS", "1.5")
    ran = cli("--verbose", "mailbox", "create", "Room 24", "--alias", "room24", "--output", "json")
    assert ran.code == 0, ran.err
    assert world()["cloud"]["replication_delay_seconds"] == 1.5
    assert "to reach Entra ID (replication delay)" in ran.err
    out = ran.json()
    assert out["status"] == "completed"
    assert out["cloud_user"]["on_premises_sync_enabled"] is True
