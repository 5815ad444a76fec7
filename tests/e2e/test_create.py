"""`pswrap mailbox create` end to end against the lab: every type x valid profile/hold/match, both
anchor attributes, dry-run, convergence with and without the journal, legacy and local refusals."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.e2e.conftest import Ran, by

RESOURCE_OU = "OU=Resources,DC=lab,DC=example"
STAGING_OU = "OU=Staging,DC=lab,DC=example"

MODERN = [
    ("anchor", None),
    ("staging-ou", None),
    ("scheduler", None),
    ("none", "soft"),
]


def b64_guid(guid: str) -> str:
    return base64.b64encode(uuid.UUID(guid).bytes_le).decode()


RESULT_KEYS = {
    "operation", "status", "changed", "changes", "immutable_id", "ad_user", "mailbox", "cloud_user", "drift",
}  # fmt: skip
"""Issue #6 item 6, exactly (plus `error` when failed)."""
AD_USER_KEYS = {"object_guid", "sam_account_name", "user_principal_name", "distinguished_name"}
MAILBOX_KEYS = {"alias", "primary_smtp_address", "recipient_type_details"}
CLOUD_USER_KEYS = {"id", "user_principal_name", "on_premises_sync_enabled", "on_premises_immutable_id"}


def assert_result_shape(out: dict[str, Any]) -> None:
    assert set(out) - {"error"} == RESULT_KEYS
    assert out["status"] in ("completed", "pending-sync", "failed")
    if out["status"] != "pending-sync":  # pending-sync carries the timeout (exit 7) or nothing (--no-wait)
        assert ("error" in out) == (out["status"] == "failed")
    for key, keys in (("ad_user", AD_USER_KEYS), ("mailbox", MAILBOX_KEYS), ("cloud_user", CLOUD_USER_KEYS)):
        assert out[key] is None or set(out[key]) == keys, key
    if out["status"] == "failed":
        assert {"type", "message", "exit_code"} <= set(out["error"])


def assert_linked(w: dict[str, Any], alias: str, sam: str, out: dict[str, Any], rtype: str) -> None:
    """One AD account, one mailbox of the type, one cloud user synced with the reported anchor."""
    assert_result_shape(out)
    ad = by(w["ad"]["users"], "sam_account_name", sam)
    assert len(ad) == 1
    assert ad[0]["distinguished_name"].endswith("," + RESOURCE_OU)
    assert ad[0]["mail_nickname"] == alias
    assert ad[0]["proxy_addresses"][0] == f"SMTP:{alias}@lab.example"
    mailboxes = by(w["exo"]["mailboxes"], "alias", alias)
    assert len(mailboxes) == 1
    assert mailboxes[0]["recipient_type_details"] == rtype
    cloud = [u for u in w["cloud"]["users"] if u["id"] == mailboxes[0]["external_directory_object_id"]]
    assert len(cloud) == 1
    assert cloud[0]["on_premises_sync_enabled"] is True
    assert cloud[0]["on_premises_immutable_id"] == out["immutable_id"]
    assert len(by(w["cloud"]["users"], "user_principal_name", f"{alias}@lab.example")) == 1
    assert out["status"] == "completed"
    assert out["ad_user"]["object_guid"] == ad[0]["object_guid"]
    assert out["ad_user"]["distinguished_name"] == ad[0]["distinguished_name"]
    assert out["mailbox"] == {
        "alias": alias,
        "primary_smtp_address": f"{alias}@lab.example",
        "recipient_type_details": rtype,
    }
    assert out["cloud_user"]["on_premises_sync_enabled"] is True
    assert out["cloud_user"]["on_premises_immutable_id"] == out["immutable_id"]
    assert out["drift"] == []
    assert w["sync"]["scheduler"]["sync_cycle_enabled"] is True
    assert w["sync"]["leases"] == []


RTYPE = {"room": "RoomMailbox", "equipment": "EquipmentMailbox", "shared": "SharedMailbox"}


@pytest.mark.parametrize("mtype", ["room", "equipment", "shared"])
@pytest.mark.parametrize(("hold", "match"), MODERN)
def test_modern_creates_a_linked_mailbox(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]], mtype: str, hold: str, match: str | None
) -> None:
    alias = f"{mtype[:2]}{hold[:3]}"
    args = ["mailbox", "create", f"Res {alias}", "--alias", alias, "--type", mtype, "--hold", hold]
    if match:
        args += ["--match", match]
    ran = cli(*args, "--output", "json")
    assert ran.code == 0, ran.err
    out = ran.json()
    assert out["changed"] is True
    w = world()
    assert_linked(w, alias, alias, out, RTYPE[mtype])
    ad = by(w["ad"]["users"], "sam_account_name", alias)[0]
    if hold == "anchor":
        # Born with the anchor: mS-DS-ConsistencyGuid is a new GUID, not the objectGUID.
        assert ad["consistency_guid"] != ad["object_guid"]
        assert out["immutable_id"] == b64_guid(ad["consistency_guid"])
    else:
        # Connect wrote the objectGUID into mS-DS-ConsistencyGuid at the first sync (docs/sources.md §3).
        assert out["immutable_id"] == b64_guid(ad["object_guid"])
    steps = cli("ops", "show", out["operation"], "--output", "json").json()["steps"]
    changing = [s["step_id"] for s in steps if s["step_id"] not in ("sync/start-cycle", "pswrap/plan")]
    plan = next(s for s in steps if s["step_id"] == "pswrap/plan")["output"]
    expected = order(hold, mtype)
    assert plan["steps"] == [s for s in expected if "lease" not in s] and plan["linked"] is False
    assert changing == expected  # the hold's order, docs/design.md "Workflows"


def order(hold: str, mtype: str = "room") -> list[str]:
    """The hold's changing steps; a room's or equipment's cloud account is created enabled, so its sign-in
    is blocked right after the mailbox is created, before anything links it (docs/mastering.md)."""
    steps = list(ORDER[hold])
    if mtype != "shared":
        steps.insert(steps.index("exo/new-mailbox") + 1, "graph/set-account-enabled")
    return steps


ORDER = {
    "anchor": ["exo/new-mailbox", "graph/set-user", "ad/new-user"],
    "staging-ou": ["exo/new-mailbox", "ad/new-user", "graph/set-user", "ad/move-user"],
    "scheduler": [
        "sync/install-lease", "exo/new-mailbox", "ad/new-user", "graph/set-user", "sync/remove-lease",
    ],
    "none": ["exo/new-mailbox", "ad/new-user"],
}  # fmt: skip


@pytest.mark.parametrize("mtype", ["room", "equipment", "shared"])
def test_hybrid_tools_creates_a_remote_mailbox_and_sync_creates_the_cloud_one(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]], mtype: str
) -> None:
    alias = f"hy{mtype[:2]}"
    args = ["mailbox", "create", f"Res {alias}", "--alias", alias, "--type", mtype]
    args += ["--profile", "hybrid-tools"]
    ran = cli(*args, "--output", "json")
    assert ran.code == 0, ran.err
    out = ran.json()
    w = world()
    ad = by(w["ad"]["users"], "sam_account_name", alias)
    assert len(ad) == 1
    remote = ad[0]["remote_mailbox"]  # New-RemoteMailbox -Room/-Equipment/-Shared, routed to the tenant
    assert remote["type"] == mtype
    assert remote["remote_routing_address"].startswith(f"{alias}@")
    assert remote["remote_routing_address"].endswith(".mail.onmicrosoft.com")
    assert out["status"] == "completed" and out["changed"] is True
    assert out["immutable_id"] == b64_guid(ad[0]["object_guid"])
    assert out["cloud_user"]["on_premises_immutable_id"] == out["immutable_id"]
    assert out["mailbox"]["recipient_type_details"] == RTYPE[mtype]
    assert_result_shape(out)
    assert out["drift"] == []
    again = cli(*args, "--output", "json")
    assert again.code == 0, again.err
    assert again.json()["changed"] is False
    assert len(by(world()["ad"]["users"], "sam_account_name", alias)) == 1


def test_objectguid_anchor_defaults_to_staging_ou_and_refuses_the_anchor_hold(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]], lab_set: Callable[..., None]
) -> None:
    lab_set("sync.settings.anchor_attribute=objectGUID")
    refused = cli("mailbox", "create", "Room G", "--alias", "roomg", "--hold", "anchor")
    assert refused.code == 2
    assert "objectGUID" in refused.err and "staging-ou" in refused.err
    assert by(world()["ad"]["users"], "sam_account_name", "roomg") == []
    ran = cli("mailbox", "create", "Room G", "--alias", "roomg", "--output", "json")
    assert ran.code == 0, ran.err
    out = ran.json()
    w = world()
    assert_linked(w, "roomg", "roomg", out, "RoomMailbox")
    ad = by(w["ad"]["users"], "sam_account_name", "roomg")[0]
    assert out["immutable_id"] == b64_guid(ad["object_guid"])
    steps = cli("ops", "show", out["operation"], "--output", "json").json()["steps"]
    assert "ad/move-user" in [s["step_id"] for s in steps]  # the staging-ou hold was the default


@pytest.mark.parametrize("route", [["--hold", "staging-ou"], ["--hold", "scheduler"], ["--match", "soft"]])
def test_objectguid_anchor_with_other_holds(
    cli: Callable[..., Ran],
    world: Callable[[], dict[str, Any]],
    lab_set: Callable[..., None],
    route: list[str],
) -> None:
    lab_set("sync.settings.anchor_attribute=objectGUID")
    ran = cli("mailbox", "create", "Room H", "--alias", "roomh", *route, "--output", "json")
    assert ran.code == 0, ran.err
    out = ran.json()
    w = world()
    assert_linked(w, "roomh", "roomh", out, "RoomMailbox")
    assert out["immutable_id"] == b64_guid(
        by(w["ad"]["users"], "sam_account_name", "roomh")[0]["object_guid"]
    )


def _stable(w: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in w.items() if k not in ("stats",)}


@pytest.mark.parametrize("hold", ["anchor", "staging-ou", "scheduler"])
def test_dry_run_prints_every_step_in_powershell_syntax_and_changes_nothing(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]], hold: str
) -> None:
    before = _stable(world())
    ran = cli(
        "mailbox",
        "create",
        "Meeting Room 1",
        "--alias",
        "room1",
        "--capacity",
        "8",
        "--hold",
        hold,
        "--dry-run",
    )
    assert ran.code == 0, ran.err
    assert _stable(world()) == before
    text = ran.out
    for step in ("exo/new-mailbox", "graph/set-user", "ad/new-user", "sync/start-cycle"):
        assert f"# pswrap-step: {step}" in text
    # Values in PowerShell syntax (the encoder's literals), never Python's; the connect steps shown; the
    # prologue every step shares printed once.
    assert "$ResourceCapacity = 8" in text
    assert "$MailNickname = 'room1'" in text
    # A value known only at run time says where it comes from (the new mailbox's addresses).
    assert "$ProxyAddresses = $null  # at run time: SMTP:room1@lab.example" in text
    assert "['SMTP:" not in text
    assert "# pswrap-step: exo/connect" in text and "# pswrap-step: graph/connect" in text
    assert text.count("Set-StrictMode -Version 2") == 1
    assert "New-Mailbox @newMailbox -Room -ErrorAction Stop" in text
    assert "Dry run: nothing was changed." in text
    full = cli("mailbox", "create", "Meeting Room 1", "--alias", "room1", "--capacity", "8", "--hold", hold,
               "--dry-run", "--scripts").out  # fmt: skip
    assert full.count("Set-StrictMode -Version 2") == full.count("# pswrap-step: ") >= 4
    assert len(text.splitlines()) < len(full.splitlines())
    if hold == "scheduler":
        assert "# pswrap-step: sync/install-lease" in text and "# pswrap-step: sync/remove-lease" in text
    if hold == "staging-ou":
        assert "# pswrap-step: ad/move-user" in text and "OU=Staging,DC=lab,DC=example" in text
    asked = datetime.now(timezone.utc)
    js = cli(
        "mailbox", "create", "Meeting Room 1", "--alias", "room1", "--hold", hold, "--sync-timeout", "100",
        "--dry-run", "--output", "json",
    )  # fmt: skip
    answered = datetime.now(timezone.utc)
    plan = js.json()
    if hold == "scheduler":
        # The lease shown is the one that would be installed: it fires --timeout + 300 s from now.
        lease = next(s for s in plan["steps"] if s["step"] == "sync/install-lease")
        due = datetime.fromisoformat(lease["parameters"]["DeadlineUtc"])
        assert asked + timedelta(seconds=400) <= due <= answered + timedelta(seconds=400)
    # Check mode: the room does not exist, so a real run would change something.
    assert plan["status"] == "planned" and plan["changed"] is True and plan["hold"] == hold
    new_user = next(s for s in plan["steps"] if s["step"] == "ad/new-user")
    # Known once the mailbox exists: its addresses and X500:<its LegacyExchangeDN> (docs/mastering.md).
    assert new_user["parameters"]["ProxyAddresses"] == (
        "<SMTP:room1@lab.example, smtp:room1@labtenant.onmicrosoft.com and X500:<the new mailbox's "
        "LegacyExchangeDN>>"
    )
    assert new_user["parameters"]["MailNickname"] == "room1"
    assert _stable(world()) == before
    assert cli("ops", "list", "--output", "json").json() == []  # a dry run is not an operation


def test_rerun_converges_with_and_without_the_journal(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]], env: dict[str, str]
) -> None:
    import pathlib

    args = ("mailbox", "create", "Meeting Room 1", "--alias", "room1", "--output", "json")
    first = cli(*args)
    assert first.code == 0, first.err
    assert "sync cycle" not in first.err and "exo/new-mailbox" not in first.err  # no terminal: no progress
    before = _stable(world())
    again = cli(*args)
    assert again.code == 0, again.err
    assert again.json()["changed"] is False and again.json()["status"] == "completed"
    assert again.json()["immutable_id"] == first.json()["immutable_id"]
    pathlib.Path(env["PSWRAP_STATE_DIR"], "journal.sqlite3").unlink()
    other_machine = cli(*args)
    assert other_machine.code == 0, other_machine.err
    out = other_machine.json()
    assert out["changed"] is False and out["immutable_id"] == first.json()["immutable_id"]
    after = _stable(world())
    for path in (("ad", "users"), ("cloud", "users"), ("exo", "mailboxes")):
        assert after[path[0]][path[1]] == before[path[0]][path[1]]


def test_rerun_with_another_name_changes_nothing_and_reports_the_difference(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    """Identity is the alias: a re-run that asks for another name changes nothing (AD is authoritative
    after the link) but says what differs, instead of a silent `no change`."""
    first = cli("mailbox", "create", "Meeting Room 1", "--alias", "room1", "--output", "json")
    assert first.code == 0, first.err
    assert first.json()["drift"] == []
    before = _stable(world())
    again = cli("mailbox", "create", "Board Room", "--alias", "room1", "--output", "json")
    assert again.code == 0, again.err
    out = again.json()
    assert out["changed"] is False and out["status"] == "completed"
    assert out["drift"] == [
        {"field": "display_name", "found": "Meeting Room 1", "wanted": "Board Room", "where": "ad"}
    ]
    assert _stable(world()) == before


def test_legacy_renders_the_seed_runbook_and_refuses_to_run(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    before = _stable(world())
    ran = cli("mailbox", "create", "Meeting Room 1", "--alias", "room1", "--profile", "legacy", "--dry-run")
    assert ran.code == 0, ran.err
    for cmdlet in (
        "Stop-Service",
        "New-ADUser",
        "New-Mailbox",
        "Set-MsolUserPrincipalName",
        "Start-OnlineCoexistenceSync",
    ):
        assert cmdlet in ran.out
    refused = cli("mailbox", "create", "Meeting Room 1", "--alias", "room1", "--profile", "legacy")
    assert refused.code == 2
    assert "legacy/stop-dirsync" in refused.err and "sync/install-lease" in refused.err
    assert "2025-05-30" in refused.err  # MSOnline's retirement
    assert _stable(world()) == before


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--alias", "averyveryverylongalias1"], "--sam"),
        (["--alias", "room1", "--sam", "bad[sam]"], "--sam"),
        (["--alias", "room1", "--type", "shared", "--capacity", "4"], "rooms only"),
        (["--alias", "room1", "--hold", "none"], "race"),
        (["--alias", "room1", "--match", "soft", "--hold", "anchor"], "soft"),
        (["--alias", "room1", "--profile", "hybrid-tools", "--hold", "anchor"], "hybrid-tools"),
        (["--alias", "room 1"], "alias"),
        (["--alias", "room1", "--email", "not-an-address"], "--email"),
    ],
)
def test_invalid_input_is_refused_before_anything_remote(
    cli: Callable[..., Ran], env: dict[str, str], args: list[str], needle: str
) -> None:
    import pathlib

    ran = cli("mailbox", "create", "Room", *args)
    assert ran.code == 2
    assert needle in ran.err
    assert not pathlib.Path(env["PSWRAP_LAB_STATE"]).exists()  # the lab never started
    as_json = cli("mailbox", "create", "Room", *args, "--output", "json")
    assert as_json.code == 2
    out = as_json.json()
    assert (
        out["status"] == "failed"
        and out["operation"] is None
        and needle in out["error"]["message"] + out["error"].get("hint", "")
    )


def test_long_alias_works_with_sam(cli: Callable[..., Ran], world: Callable[[], dict[str, Any]]) -> None:
    ran = cli(
        "mailbox",
        "create",
        "Board room",
        "--alias",
        "boardroom.third.floor",
        "--sam",
        "boardroom3",
        "--output",
        "json",
    )
    assert ran.code == 0, ran.err
    out = ran.json()
    assert out["ad_user"]["sam_account_name"] == "boardroom3"
    assert out["ad_user"]["user_principal_name"] == "boardroom.third.floor@lab.example"
    assert out["status"] == "completed"


def test_primary_address_other_than_the_upn(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    ran = cli(
        "mailbox", "create", "Meeting Room 4", "--alias", "room4", "--email", "meeting4@lab.example",
        "--display-name", "Meeting Room 4 (2nd floor)", "--output", "json",
    )  # fmt: skip
    assert ran.code == 0, ran.err
    out = ran.json()
    assert out["mailbox"]["primary_smtp_address"] == "meeting4@lab.example"
    assert out["ad_user"]["user_principal_name"] == "room4@lab.example"
    assert out["drift"] == []
    ad = by(world()["ad"]["users"], "sam_account_name", "room4")[0]
    mailbox = by(world()["exo"]["mailboxes"], "alias", "room4")[0]
    assert ad["proxy_addresses"] == [
        "SMTP:meeting4@lab.example",
        "smtp:room4@labtenant.onmicrosoft.com",
        "X500:" + mailbox["legacy_exchange_dn"],  # replies to old messages keep resolving after the link
    ]
    assert ad["display_name"] == "Meeting Room 4 (2nd floor)"
