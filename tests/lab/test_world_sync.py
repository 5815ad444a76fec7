"""Entra Connect Sync in the lab: the scheduler and cycles (docs/sources.md §2, §7b item 12), the sourceAnchor
and matching at a cycle's end (§3), export errors as Get-ADSyncRunProfileResult shows them (§7b item 13),
leases (docs/design.md workflows). Time moves with `advance` (the lab's clock), never by sleeping."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pswrap.immutableid import connector_space_dn
from pswrap.lab.world import LAB_DEFAULTS, immutable_id
from tests.lab.world_harness import Harness, WireHarness, harness

TENANT = LAB_DEFAULTS.tenant_domain
SYNC_STACK_HEAD = "System.InvalidOperationException: "


@pytest.fixture(params=["direct", "wire"])
def lab(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    for lab in harness(request, tmp_path / "world.json"):
        lab.connect_exo()
        lab.connect_graph()
        yield lab


# --- scheduler and cycles --------------------------------------------------------------------------


def test_start_cycle_success_then_busy_while_it_runs(lab: Harness) -> None:
    """§2 / §7b item 12: Start-ADSyncSyncCycle returns Result=Success; while a cycle runs it fails with
    "Sync is already running. Cannot start a new run till this one completes." (community text)."""
    assert lab.run("sync/start-cycle", pool="sync", policy="delta") == {"result": "Success"}
    assert lab.run("sync/get-scheduler", pool="sync")["sync_cycle_in_progress"] is True
    error = lab.fails("sync/start-cycle", pool="sync", policy="delta")
    assert error.message.startswith(
        SYNC_STACK_HEAD + "Sync is already running. Cannot start a new run till this one completes."
    )
    assert error.exception_type == "System.InvalidOperationException"
    assert error.category == "WriteError"
    assert error.fqid.endswith(",Microsoft.IdentityManagement.PowerShell.Cmdlet.StartADSyncSyncCycle")
    lab.advance(LAB_DEFAULTS.sync_cycle_seconds + 1)
    assert lab.run("sync/get-scheduler", pool="sync")["sync_cycle_in_progress"] is False
    assert lab.run("sync/start-cycle", pool="sync", policy="initial") == {"result": "Success"}


def test_cycle_length_is_configurable(lab: Harness) -> None:
    """A cycle takes `cycle_seconds` (`--sync-seconds`, PSWRAP_LAB_SYNC_SECONDS)."""
    with lab.edit() as world:
        world["sync"]["scheduler"]["cycle_seconds"] = 120
    lab.run("sync/start-cycle", pool="sync", policy="delta")
    lab.advance(60)
    assert lab.run("sync/get-scheduler", pool="sync")["sync_cycle_in_progress"] is True
    lab.advance(61)
    assert lab.run("sync/get-scheduler", pool="sync")["sync_cycle_in_progress"] is False


def test_run_results_newest_first(lab: Harness) -> None:
    """§2 item 4: Get-ADSyncRunProfileResult; a cycle imports, synchronizes and exports per connector
    (AAD connector named "<tenant>.onmicrosoft.com - AAD", tshoot-connect-sync-errors.md)."""
    lab.sync_cycle()
    runs = lab.run("sync/get-run-results", pool="sync")["runs"]
    names = [(r["connector_name"], r["run_profile_name"]) for r in runs]
    assert (f"{TENANT} - AAD", "Export") in names
    assert names[-1] == (LAB_DEFAULTS.dns_root, "Delta Import")  # the cycle's first run is the oldest
    assert all(r["result"] == "success" for r in runs)
    lab.sync_cycle()
    assert len(lab.run("sync/get-run-results", {"NumberRequested": 2}, pool="sync")["runs"]) == 2
    newest = lab.run("sync/get-run-results", pool="sync")["runs"]
    assert newest[0]["start_date"] > runs[0]["start_date"]


def test_scheduler_starts_cycles_when_enabled_and_due(lab: Harness) -> None:
    """§1.3/§2: the built-in scheduler runs a cycle every 30 minutes when SyncCycleEnabled is true; a paused
    scheduler (Set-ADSyncScheduler -SyncCycleEnabled $false) starts none; NextSyncCycleStartTimeInUTC
    advances when a cycle finishes (§2 item 3)."""
    before = lab.run("sync/get-scheduler", pool="sync")
    paused = lab.run("sync/set-scheduler", {"SyncCycleEnabled": False}, pool="sync")
    assert paused["sync_cycle_enabled"] is False
    lab.advance(1801)
    assert lab.run("sync/get-run-results", pool="sync")["runs"] == []
    resumed = lab.run("sync/set-scheduler", {"SyncCycleEnabled": True}, pool="sync")
    assert resumed["sync_cycle_enabled"] is True
    lab.advance(LAB_DEFAULTS.sync_cycle_seconds + 1)
    state = lab.run("sync/get-scheduler", pool="sync")
    runs = lab.run("sync/get-run-results", pool="sync")["runs"]  # a cycle ran once the scheduler resumed
    assert [r["run_profile_name"] for r in runs] == [
        "Export", "Export", "Delta Synchronization", "Delta Import", "Delta Import",
    ]  # fmt: skip
    assert state["next_sync_cycle_start_time_utc"] > before["next_sync_cycle_start_time_utc"]


def test_suspended_scheduler_starts_no_cycle(lab: Harness) -> None:
    """§2: SchedulerSuspended (set by Connect during an upgrade) stops scheduled cycles."""
    with lab.edit() as world:
        world["sync"]["scheduler"]["suspended"] = True
    lab.advance(3600)
    assert lab.run("sync/get-scheduler", pool="sync")["scheduler_suspended"] is True
    assert lab.run("sync/get-run-results", pool="sync")["runs"] == []


def test_get_settings(lab: Harness) -> None:
    assert lab.run("sync/get-settings", pool="sync") == {
        "anchor_attribute": "mS-DS-ConsistencyGuid",
        "staging_mode": False,
        "connect_version": LAB_DEFAULTS.connect_version,
    }


# --- sourceAnchor and matching -----------------------------------------------------------------------


def test_new_account_in_scope_gets_a_cloud_user_and_its_guid_written_back(lab: Harness) -> None:
    """§3: with mS-DS-ConsistencyGuid as anchor and the attribute empty, Connect writes objectGUID into it
    and the ImmutableId is Base64(objectGUID); no match, so a new cloud user (on_premises_sync_enabled)."""
    user = lab.new_ad_user("room1")
    lab.sync_cycle()
    cloud = lab.cloud_user("room1@lab.example")
    assert cloud is not None
    assert cloud["on_premises_immutable_id"] == immutable_id(user["object_guid"])
    assert cloud["on_premises_sync_enabled"] is True
    assert cloud["proxy_addresses"] == ["SMTP:room1@lab.example"]
    ad = lab.world()["ad"]["users"][0]
    assert ad["consistency_guid"] == user["object_guid"]


def test_object_guid_anchor_ignores_consistency_guid(lab: Harness) -> None:
    """§3: with objectGUID as anchor (DirSync heritage) the sourceAnchor is objectGUID and nothing is written
    into mS-DS-ConsistencyGuid."""
    with lab.edit() as world:
        world["sync"]["settings"]["anchor_attribute"] = "objectGUID"
    stamped = str(uuid.uuid4())
    user = lab.new_ad_user("room1", ConsistencyGuid=stamped)
    lab.new_ad_user("room2")
    lab.sync_cycle()
    assert lab.cloud_user("room1@lab.example")["on_premises_immutable_id"] == immutable_id(
        user["object_guid"]
    )
    assert lab.world()["ad"]["users"][1]["consistency_guid"] is None


def test_prestamped_consistency_guid_hard_matches_the_cloud_mailbox(lab: Harness) -> None:
    """docs/design.md `anchor` hold + §3: a value written into mS-DS-ConsistencyGuid before the first sync
    is the
    sourceAnchor; hard match first takes over the cloud object: it becomes synced, AD attributes flow (UPN,
    display name, addresses, with mailNickname set), the mailbox becomes dir-synced."""
    mailbox = lab.new_mailbox("room1", PrimarySmtpAddress="room1@lab.example")
    anchor_guid = str(uuid.uuid4())
    lab.stamp_immutable_id(mailbox["external_directory_object_id"], anchor_guid)
    lab.new_ad_user(
        "room1",
        ConsistencyGuid=anchor_guid,
        DisplayName="Room One (AD)",
        ProxyAddresses=["SMTP:room1@lab.example", f"smtp:room1@{TENANT}"],
    )
    lab.sync_cycle()
    assert lab.export_errors() == []
    cloud = lab.run("graph/get-user", {"UserId": mailbox["external_directory_object_id"]}, pool="graph")[
        "user"
    ]
    assert cloud["on_premises_sync_enabled"] is True
    assert cloud["user_principal_name"] == "room1@lab.example"
    assert cloud["display_name"] == "Room One (AD)"
    assert len(lab.world()["cloud"]["users"]) == 1  # matched, no duplicate provisioned
    after = lab.run("exo/find-mailbox", {"Identity": "room1"}, pool="exo")["mailbox"]
    assert after["is_dir_synced"] is True
    assert after["recipient_type_details"] == "RoomMailbox"
    assert after["display_name"] == "Room One (AD)"
    # Now on-prem-mastered: Graph refuses writes (§7b item 10).
    error = lab.fails(
        "graph/set-user", {"UserId": cloud["id"], "UserPrincipalName": "x@lab.example"}, pool="graph"
    )
    assert "on-premises mastered Directory Sync objects" in error.message


def test_hard_match_blocked_is_an_invalid_hard_match_export_error(lab: Harness) -> None:
    """§3 / §7b item 13: with BlockCloudObjectTakeoverThroughHardMatch, the hard match raises InvalidHardMatch
    "Another cloud created object with the same source anchor already exists in Azure Active Directory" as an
    export error of the run (not a cmdlet error); the cloud object is not taken over."""
    mailbox = lab.new_mailbox("room1")
    anchor_guid = str(uuid.uuid4())
    lab.stamp_immutable_id(mailbox["external_directory_object_id"], anchor_guid)
    with lab.edit() as world:
        world["cloud"]["features"]["block_hard_match_takeover"] = True
    lab.new_ad_user("room1", ConsistencyGuid=anchor_guid)
    lab.sync_cycle()  # Start-ADSyncSyncCycle itself succeeds
    (error,) = lab.export_errors()
    assert error["error_type"] == "InvalidHardMatch"
    assert error["error_literal"].startswith(
        "Another cloud created object with the same source anchor already exists in Azure Active Directory"
    )
    # The Entra ID connector names the object by its connector-space DN, not the AD DN ("Understanding
    # errors during Microsoft Entra synchronization", "Error example"), and carries its cs-guid.
    assert error["dn"] == connector_space_dn(immutable_id(anchor_guid))
    assert re.fullmatch(r"\{[0-9A-F-]{36}\}", error["cs_guid"])
    export = next(
        r
        for r in lab.run("sync/get-run-results", pool="sync")["runs"]
        if r["run_profile_name"] == "Export" and r["connector_name"].endswith("- AAD")
    )
    assert export["result"] == "completed-export-errors"
    cloud = lab.cloud_user(f"room1@{TENANT}")
    assert cloud is not None and not cloud["on_premises_sync_enabled"]


def test_soft_match_on_primary_smtp(lab: Harness) -> None:
    """§3: no hard match -> soft match on the primary SMTP address (SMTP: proxy value) first; the cloud
    object is taken over and its ImmutableId stamped with the sourceAnchor."""
    mailbox = lab.new_mailbox("room1")
    user = lab.new_ad_user("room1")
    lab.sync_cycle()
    assert lab.export_errors() == []
    cloud = lab.run("graph/get-user", {"UserId": mailbox["external_directory_object_id"]}, pool="graph")[
        "user"
    ]
    assert cloud["on_premises_immutable_id"] == immutable_id(user["object_guid"])
    assert cloud["on_premises_sync_enabled"] is True
    assert len(lab.world()["cloud"]["users"]) == 1
    # On-prem proxyAddresses win; the service keeps its onmicrosoft.com address as a secondary one.
    assert cloud["proxy_addresses"] == ["SMTP:room1@lab.example", f"smtp:room1@{TENANT}"]
    addresses = lab.run("exo/find-mailbox", {"Identity": "room1"}, pool="exo")["mailbox"]["email_addresses"]
    assert addresses == ["SMTP:room1@lab.example", f"smtp:room1@{TENANT}"]


def test_soft_match_on_upn(lab: Harness) -> None:
    """§3: then soft match on userPrincipalName (on for tenants syncing since 2016-03-30)."""
    mailbox = lab.new_mailbox("room1", PrimarySmtpAddress="other@lab.example")
    lab.run(
        "graph/set-user",
        {"UserId": mailbox["external_directory_object_id"], "UserPrincipalName": "room1@lab.example"},
        pool="graph",
    )
    lab.new_ad_user("room1", ProxyAddresses=["SMTP:room1-ad@lab.example"])
    lab.sync_cycle()
    assert lab.cloud_user("room1@lab.example")["on_premises_sync_enabled"] is True
    assert len(lab.world()["cloud"]["users"]) == 1


def test_soft_match_blocked_creates_a_new_object_with_the_duplicates_quarantined(lab: Harness) -> None:
    """ "Identity synchronization and duplicate attribute resiliency": BlockSoftMatch stops the soft match,
    and the account is still provisioned as a NEW cloud object: its UPN, held by the mailbox's user, gets
    the placeholder <prefix>+<4 digits>@<initial domain>, its SMTP address is quarantined, both are
    recorded as provisioning errors, and no export error is logged. Two objects never share a value."""
    mailbox = lab.new_mailbox("room1")
    cloud_id = mailbox["external_directory_object_id"]
    lab.run("graph/set-user", {"UserId": cloud_id, "UserPrincipalName": "room1@lab.example"}, pool="graph")
    with lab.edit() as world:
        world["cloud"]["features"]["block_soft_match"] = True
    user = lab.new_ad_user("room1")
    lab.sync_cycle()
    assert lab.export_errors() == []
    (stray,) = lab.run(
        "graph/find-users", {"Value": immutable_id(user["object_guid"])}, pool="graph", by="immutableid"
    )["users"]
    assert stray["id"] != cloud_id and stray["on_premises_sync_enabled"] is True
    assert re.fullmatch(rf"room1\+\d{{4}}@{re.escape(TENANT)}", stray["user_principal_name"])
    assert "SMTP:room1@lab.example" not in stray["proxy_addresses"]
    assert {(e["property_causing_error"], e["value"]) for e in stray["on_premises_provisioning_errors"]} == {
        ("UserPrincipalName", "room1@lab.example"),
        ("ProxyAddress", "SMTP:room1@lab.example"),
    }
    assert all(e["category"] == "PropertyConflict" for e in stray["on_premises_provisioning_errors"])
    mine = lab.run("graph/get-user", {"UserId": cloud_id}, pool="graph")["user"]
    assert mine["user_principal_name"] == "room1@lab.example" and mine["on_premises_sync_enabled"] is None


def test_quarantined_values_are_released_by_the_hourly_task(lab: Harness) -> None:
    """Same page: a background task runs every hour and gives a quarantined value back once the conflict
    is gone; not before the hour, and not by the next sync cycle (sync exports only changes)."""
    mailbox = lab.new_mailbox("room1")
    with lab.edit() as world:
        world["cloud"]["features"]["block_soft_match"] = True
    user = lab.new_ad_user("room1")
    lab.sync_cycle()
    with lab.edit() as world:  # the conflict goes: the cloud mailbox's user is deleted
        world["cloud"]["users"] = [
            u for u in world["cloud"]["users"] if u["id"] != mailbox["external_directory_object_id"]
        ]
        world["exo"]["mailboxes"] = []
    lab.sync_cycle()
    anchor = immutable_id(user["object_guid"])
    (stray,) = lab.run("graph/find-users", {"Value": anchor}, pool="graph", by="immutableid")["users"]
    assert "SMTP:room1@lab.example" not in stray["proxy_addresses"]
    lab.advance(3601)
    (stray,) = lab.run("graph/find-users", {"Value": anchor}, pool="graph", by="immutableid")["users"]
    assert "SMTP:room1@lab.example" in stray["proxy_addresses"]
    assert stray["on_premises_provisioning_errors"] == []


def test_proxy_address_held_by_a_group_keeps_the_classic_export_error(lab: Harness) -> None:
    """Same page, "Known issues": a new user whose proxyAddress conflicts with a group gets a classic
    export error instead of a quarantine (AttributeValueMustBeUnique, closest text: the "Unable to update
    this object because ..." family); nothing is created."""
    with lab.edit() as world:
        world["cloud"]["groups"] = [
            {
                "id": str(uuid.uuid4()),
                "display_name": "Room1 group",
                "proxy_addresses": ["SMTP:room1@lab.example"],
            }
        ]
    user = lab.new_ad_user("room1")
    lab.sync_cycle()
    (error,) = lab.export_errors()
    assert error["error_type"] == "AttributeValueMustBeUnique"
    assert "[ProxyAddresses SMTP:room1@lab.example" in error["error_literal"]
    assert error["dn"] == connector_space_dn(immutable_id(user["object_guid"]))
    assert lab.world()["cloud"]["users"] == []


def test_hard_match_quarantines_an_address_another_user_holds(lab: Harness) -> None:
    """Resiliency also applies to updates: after a hard match the account's SMTP address, still held by
    another cloud user, is quarantined on the matched object, never shared."""
    mailbox = lab.new_mailbox("room1")
    lab.new_mailbox("other", PrimarySmtpAddress="shared@lab.example")
    anchor_guid = str(uuid.uuid4())
    lab.stamp_immutable_id(mailbox["external_directory_object_id"], anchor_guid)
    lab.new_ad_user(
        "room1",
        ConsistencyGuid=anchor_guid,
        ProxyAddresses=["SMTP:room1@lab.example", "smtp:shared@lab.example"],
    )
    lab.sync_cycle()
    assert lab.export_errors() == []
    holders = [
        u
        for u in lab.world()["cloud"]["users"]
        if "shared@lab.example" in [a.split(":", 1)[1] for a in u["proxy_addresses"]]
    ]
    assert len(holders) == 1 and holders[0]["id"] != mailbox["external_directory_object_id"]


def test_soft_match_refused_when_the_cloud_object_has_an_immutable_id(lab: Harness) -> None:
    """§3: soft match only works if the cloud object has no immutableId; otherwise InvalidSoftMatch (detail
    verbatim incl. double spaces, terenceluk blog, §7b item 13)."""
    mailbox = lab.new_mailbox("room1")
    lab.stamp_immutable_id(mailbox["external_directory_object_id"], str(uuid.uuid4()))
    lab.new_ad_user("room1")
    lab.sync_cycle()
    (error,) = lab.export_errors()
    assert error["error_type"] == "InvalidSoftMatch"
    assert (
        ";].  Correct or remove the duplicate values in your local directory.  Please refer to"
        in (error["error_literal"])
    )


@pytest.mark.parametrize(
    "assignment",
    [
        {"role": "Exchange Administrator", "directory_scope_id": "/", "status": "active"},
        {
            "role": "Helpdesk Administrator",
            "directory_scope_id": "/administrativeUnits/au1",
            "status": "active",
        },
        {"role": "Reports Reader", "directory_scope_id": "/", "status": "active"},
    ],
)
def test_role_holder_is_not_hard_matched(lab: Harness, assignment: dict[str, str]) -> None:
    """MC1262584 (Microsoft 365 message center, 2026-03-26): hard-match attempts that target cloud-managed
    users who hold Microsoft Entra roles are blocked with InvalidHardMatch. No role list: any active
    assignment, also one scoped to an administrative unit, blocks. The text is the documented
    InvalidHardMatch text, nothing invented."""
    mailbox = lab.new_mailbox("room1")
    anchor_guid = str(uuid.uuid4())
    lab.stamp_immutable_id(mailbox["external_directory_object_id"], anchor_guid)
    with lab.edit() as world:
        world["cloud"]["users"][0]["role_assignments"] = [assignment]
    lab.new_ad_user("room1", ConsistencyGuid=anchor_guid)
    lab.sync_cycle()
    (error,) = lab.export_errors()
    assert error["error_type"] == "InvalidHardMatch"
    assert error["error_literal"].split("\r\n")[0] == (
        "Another cloud created object with the same source anchor already exists in Azure Active Directory"
    )
    (cloud,) = lab.world()["cloud"]["users"]
    assert not cloud["on_premises_sync_enabled"]


def test_eligible_only_role_does_not_block_the_lab_match(lab: Harness) -> None:
    """An eligible (PIM) assignment is not a role held until activated and MC1262584 says nothing of it:
    the lab matches (pswrap refuses such a user itself, conservatively, before any change)."""
    mailbox = lab.new_mailbox("room1")
    anchor_guid = str(uuid.uuid4())
    lab.stamp_immutable_id(mailbox["external_directory_object_id"], anchor_guid)
    with lab.edit() as world:
        world["cloud"]["users"][0]["role_assignments"] = [
            {"role": "Exchange Administrator", "directory_scope_id": "/", "status": "eligible"}
        ]
    lab.new_ad_user("room1", ConsistencyGuid=anchor_guid)
    lab.sync_cycle()
    assert lab.export_errors() == []
    assert lab.world()["cloud"]["users"][0]["on_premises_sync_enabled"] is True


def test_admin_role_blocks_the_soft_match(lab: Harness) -> None:
    """ "Understanding errors during Microsoft Entra synchronization": a soft match to a user with an
    administrative role is refused, "Existing Admin Role Conflict" (closest text, that page)."""
    lab.new_mailbox("room1")
    with lab.edit() as world:
        world["cloud"]["users"][0]["directory_roles"] = ["Exchange Administrator"]
    lab.new_ad_user("room1")
    lab.sync_cycle()
    (error,) = lab.export_errors()
    assert error["error_type"] == "ExistingAdminRoleConflict"
    assert "isn't allowed to soft match a user object from on-premises AD" in error["error_literal"]
    (cloud,) = lab.world()["cloud"]["users"]
    assert not cloud["on_premises_sync_enabled"]


def test_anchor_is_written_back_by_the_ad_export_even_when_the_cloud_export_fails(lab: Harness) -> None:
    """ "Microsoft Entra Connect: Design concepts": with mS-DS-ConsistencyGuid as the anchor and the value
    empty, the engine uses objectGUID and writes it to mS-DS-ConsistencyGuid by an export to AD: in that
    export, whatever the Entra ID export did (here InvalidHardMatch)."""
    mailbox = lab.new_mailbox("room1")
    user = lab.new_ad_user("room1")
    lab.stamp_immutable_id(mailbox["external_directory_object_id"], user["object_guid"])
    with lab.edit() as world:
        world["cloud"]["features"]["block_hard_match_takeover"] = True
    lab.sync_cycle()
    assert [e["error_type"] for e in lab.export_errors()] == ["InvalidHardMatch"]
    assert lab.world()["ad"]["users"][0]["consistency_guid"] == user["object_guid"]


def test_ad_connector_export_errors_carry_the_ad_dn(lab: Harness) -> None:
    """An AD connector export error names the object by its AD DN (its connector space holds AD objects)."""
    with lab.edit() as world:
        world["sync"]["settings"]["ad_write_back_permitted"] = False
    lab.new_ad_user("room1")
    lab.sync_cycle()
    (error,) = lab.export_errors()
    assert error["dn"] == f"CN=room1,{LAB_DEFAULTS.resource_ou}"
    assert error["error_type"] == "permission-issue" and error["error_literal"] is None


def test_manual_cycle_is_refused_while_the_scheduler_is_suspended(lab: Harness) -> None:
    """ "Entra Connect Sync: Scheduler": an upgrade or an open wizard suspends the scheduler; what a manual
    Start-ADSyncSyncCycle does then is undocumented. The lab's ASSUMPTION: no cycle starts, and the
    cmdlet's Result (which says whether it could start one) is not Success."""
    with lab.edit() as world:
        world["sync"]["scheduler"]["suspended"] = True
    started = lab.run("sync/start-cycle", pool="sync", policy="delta")
    assert started["result"] != "Success" and "suspended" in started["result"]
    assert lab.run("sync/get-scheduler", pool="sync")["sync_cycle_in_progress"] is False


def test_a_new_mailbox_reaches_graph_after_the_replication_delay(lab: Harness) -> None:
    """A mailbox created in Exchange Online appears in Entra ID after a delay; until then Get-MgUser
    answers not found (the lab's configurable `cloud.replication_delay_seconds`)."""
    with lab.edit() as world:
        world["cloud"]["replication_delay_seconds"] = 30
    mailbox = lab.new_mailbox("room1")
    cloud_id = mailbox["external_directory_object_id"]
    assert lab.run("graph/get-user", {"UserId": cloud_id}, pool="graph")["found"] is False
    lab.advance(31)
    assert lab.run("graph/get-user", {"UserId": cloud_id}, pool="graph")["found"] is True


def test_hard_match_comes_before_a_soft_match_candidate(lab: Harness) -> None:
    """§3 matching order (how-to-connect-install-existing-tenant.md): hard match first — the object whose
    ImmutableId is the sourceAnchor is taken over even though another object would soft-match on the UPN;
    that object is left alone. The UPN the matched object would take is already held, so duplicate attribute
    resiliency quarantines it as <prefix>+<4 digits>@<initial domain> (§7b item 13, doc)."""
    by_upn = lab.new_mailbox("room1", PrimarySmtpAddress="room1-cloud@lab.example")
    upn_id = by_upn["external_directory_object_id"]
    lab.run("graph/set-user", {"UserId": upn_id, "UserPrincipalName": "room1@lab.example"}, pool="graph")
    by_anchor = lab.new_mailbox("room2")["external_directory_object_id"]
    anchor_guid = str(uuid.uuid4())
    lab.stamp_immutable_id(by_anchor, anchor_guid)
    lab.new_ad_user("room1", ConsistencyGuid=anchor_guid, ProxyAddresses=["SMTP:room1-ad@lab.example"])
    lab.sync_cycle()
    assert lab.export_errors() == []
    hard = lab.run("graph/get-user", {"UserId": by_anchor}, pool="graph")["user"]
    assert hard["on_premises_sync_enabled"] is True
    assert re.fullmatch(rf"room1\+\d{{4}}@{re.escape(TENANT)}", hard["user_principal_name"])
    soft = lab.run("graph/get-user", {"UserId": upn_id}, pool="graph")["user"]
    assert soft["on_premises_sync_enabled"] is None and soft["on_premises_immutable_id"] is None
    assert soft["user_principal_name"] == "room1@lab.example"


def test_soft_match_tries_primary_smtp_before_upn(lab: Harness) -> None:
    """§3 (Set-MsolDirSyncFeature.md): soft match tries the primary SMTP address first, then the UPN. One
    cloud object holds the account's primary SMTP, another its UPN: the first is matched and stamped with
    the sourceAnchor; the second is left alone (and keeps its UPN: the matched one is quarantined)."""
    by_smtp = lab.new_mailbox("room1")["external_directory_object_id"]
    by_upn = lab.new_mailbox("other", PrimarySmtpAddress="other@lab.example")["external_directory_object_id"]
    lab.run("graph/set-user", {"UserId": by_upn, "UserPrincipalName": "room1@lab.example"}, pool="graph")
    user = lab.new_ad_user("room1")
    lab.sync_cycle()
    assert lab.export_errors() == []
    matched = lab.run("graph/get-user", {"UserId": by_smtp}, pool="graph")["user"]
    assert matched["on_premises_immutable_id"] == immutable_id(user["object_guid"])
    assert matched["on_premises_sync_enabled"] is True
    left = lab.run("graph/get-user", {"UserId": by_upn}, pool="graph")["user"]
    assert left["on_premises_immutable_id"] is None
    assert left["user_principal_name"] == "room1@lab.example"
    assert len(lab.world()["cloud"]["users"]) == 2


def test_cycles_need_no_thread(lab: Harness) -> None:
    """Issue #4: time is simulated lazily from timestamps: starting a cycle starts no thread, and the cycle
    ends when the lab's clock passes its end (here moved by `advance`), not by waiting."""
    import threading

    lab.new_ad_user("room1")
    with lab.edit() as world:
        world["sync"]["scheduler"]["cycle_seconds"] = 3600
    lab.run("sync/get-scheduler", pool="sync")  # over the wire: the pool's connection (and its thread) exists
    before = set(threading.enumerate())
    lab.run("sync/start-cycle", pool="sync", policy="delta")
    assert set(threading.enumerate()) - before == set()  # no new thread (others may have ended meanwhile)
    assert lab.cloud_user("room1@lab.example") is None
    lab.advance(3601)
    assert lab.run("sync/get-scheduler", pool="sync")["sync_cycle_in_progress"] is False
    assert lab.cloud_user("room1@lab.example") is not None


def test_proxy_addresses_flow_only_with_mail_nickname(lab: Harness) -> None:
    """§3 (Microsoft Japan support blog): Connect flows Exchange attributes only for users whose mailNickname
    is set; the seed's account had proxyAddresses but no mailNickname. Direct only: pswrap's ad/new-user
    always sets mailNickname (a mandatory parameter), so only other tools create such an account."""
    if isinstance(lab, WireHarness):
        pytest.skip("pswrap's ad/new-user cannot create an account without mailNickname")
    lab.new_ad_user("room1", MailNickname=None)
    lab.sync_cycle()
    cloud = lab.cloud_user("room1@lab.example")
    assert cloud is not None and cloud["proxy_addresses"] == []


def test_staging_ou_is_out_of_scope_until_moved(lab: Harness) -> None:
    """docs/design.md `staging-ou` hold: an account in an OU outside sync scope does not sync; moved into
    scope,
    it does (OU filtering)."""
    user = lab.new_ad_user("room1", ou=LAB_DEFAULTS.staging_ou)
    lab.sync_cycle()
    assert lab.cloud_user("room1@lab.example") is None
    lab.run(
        "ad/move-user",
        {
            "Identity": user["object_guid"],
            "TargetPath": LAB_DEFAULTS.resource_ou,
            "Server": LAB_DEFAULTS.domain_controller,
        },
        pool="ad",
    )
    lab.sync_cycle()
    assert lab.cloud_user("room1@lab.example") is not None


def test_staging_mode_suppresses_exports(lab: Harness) -> None:
    """§7b item 12 (how-to-connect-sync-feature-scheduler.md): staging mode is no error; it suppresses the
    exports but still runs import and synchronization."""
    with lab.edit() as world:
        world["sync"]["settings"]["staging_mode"] = True
    lab.new_ad_user("room1")
    lab.sync_cycle()
    assert lab.cloud_user("room1@lab.example") is None
    assert lab.world()["ad"]["users"][0]["consistency_guid"] is None  # no export to AD either
    runs = lab.run("sync/get-run-results", pool="sync")["runs"]
    assert runs and all(r["run_profile_name"] != "Export" for r in runs)
    assert lab.run("sync/get-scheduler", pool="sync")["staging_mode_enabled"] is True


def test_retired_connect_version_does_not_sync(lab: Harness) -> None:
    """§1.3: below 2.5.79.0 "All synchronization services in Microsoft Entra Connect Sync will fail" after
    2026-09-30; the AAD connector's runs report no-start-connection (a documented Result value, §2 item 4)."""
    with lab.edit() as world:
        world["sync"]["settings"]["connect_version"] = "2.4.18.0"
    lab.new_ad_user("room1")
    lab.sync_cycle()
    assert lab.cloud_user("room1@lab.example") is None
    runs = lab.run("sync/get-run-results", pool="sync")["runs"]
    assert {r["result"] for r in runs if r["connector_name"].endswith("- AAD")} == {"no-start-connection"}


def test_remote_mailbox_gets_its_cloud_mailbox_when_it_syncs(lab: Harness) -> None:
    """§5 (New-RemoteMailbox.md): the AD account is created on-prem, the mailbox in EXO by directory sync."""
    lab.run("hybrid/connect", pool="hybrid")
    lab.run(
        "hybrid/new-remote-mailbox",
        lab.remote_mailbox_params("conf9"),
        pool="hybrid",
        type="room",
    )
    assert lab.run("exo/find-mailbox", {"Identity": "conf9"}, pool="exo")["found"] is False
    lab.sync_cycle()
    mailbox = lab.run("exo/find-mailbox", {"Identity": "conf9"}, pool="exo")["mailbox"]
    assert mailbox["recipient_type_details"] == "RoomMailbox"
    assert mailbox["is_dir_synced"] is True
    assert mailbox["external_directory_object_id"] == lab.cloud_user("conf9@lab.example")["id"]


# --- leases ---------------------------------------------------------------------------------------------


def _deadline(lab: Harness, seconds: float) -> str:
    from datetime import timedelta

    from pswrap.lab.world import iso, now

    return iso(now(lab.world()) + timedelta(seconds=seconds))


def test_overlapping_leases_record_once_and_the_last_restores(lab: Harness) -> None:
    """docs/design.md (workflows, `scheduler` hold): the state before the first lease is recorded once; leases
    pause the scheduler; only the end of the last lease restores the recorded state."""
    first = lab.run(
        "sync/install-lease",
        {"LeaseName": "pswrap-lease-a", "DeadlineUtc": _deadline(lab, 3600)},
        pool="sync",
    )
    assert first["prior_sync_cycle_enabled"] is True and first["sync_cycle_enabled"] is False
    second = lab.run(
        "sync/install-lease",
        {"LeaseName": "pswrap-lease-b", "DeadlineUtc": _deadline(lab, 3600)},
        pool="sync",
    )
    assert second["prior_sync_cycle_enabled"] is True  # recorded before the first, not the paused state
    assert [lease["name"] for lease in second["leases"]] == ["pswrap-lease-a", "pswrap-lease-b"]
    assert lab.run("sync/list-leases", pool="sync") == second
    removed = lab.run("sync/remove-lease", {"LeaseName": "pswrap-lease-a"}, pool="sync")
    assert removed["restored"] is False and removed["sync_cycle_enabled"] is False
    last = lab.run("sync/remove-lease", {"LeaseName": "pswrap-lease-b"}, pool="sync")
    assert last["restored"] is True and last["sync_cycle_enabled"] is True
    assert last["leases"] == [] and last["prior_sync_cycle_enabled"] is None
    assert lab.run("sync/remove-lease", {"LeaseName": "pswrap-lease-b"}, pool="sync")["restored"] is False


def test_leases_restore_a_paused_prior_state(lab: Harness) -> None:
    """The recorded state is restored as it was: a scheduler paused before the first lease stays paused."""
    lab.run("sync/set-scheduler", {"SyncCycleEnabled": False}, pool="sync")
    lab.run("sync/install-lease", {"LeaseName": "a", "DeadlineUtc": _deadline(lab, 60)}, pool="sync")
    done = lab.run("sync/remove-lease", {"LeaseName": "a"}, pool="sync")
    assert done["restored"] is True and done["sync_cycle_enabled"] is False


def test_lease_fires_at_its_deadline_on_the_lab_clock(lab: Harness) -> None:
    """docs/design.md: the one-shot task restores the prior state at the deadline if pswrap never comes back;
    an earlier lease firing does not restore while a later one remains."""
    lab.run("sync/install-lease", {"LeaseName": "short", "DeadlineUtc": _deadline(lab, 60)}, pool="sync")
    lab.run("sync/install-lease", {"LeaseName": "long", "DeadlineUtc": _deadline(lab, 600)}, pool="sync")
    lab.advance(61)
    state = lab.run("sync/list-leases", pool="sync")
    assert [lease["name"] for lease in state["leases"]] == ["long"]
    assert state["sync_cycle_enabled"] is False
    lab.advance(540)
    state = lab.run("sync/list-leases", pool="sync")
    assert state["leases"] == [] and state["sync_cycle_enabled"] is True


def test_leaving_scope_soft_deletes_and_returning_restores(lab: Harness) -> None:
    """§6.2 step 1: a synced object moved out of sync scope is soft-deleted in Entra ID (DirSyncEnabled
    false) and its mailbox becomes soft-deleted; back in scope, the deleted object returns (the restore
    reconnects the mailbox, §6.2 step 3, inference) — same object id, no duplicate."""
    mailbox = lab.new_mailbox("room1")
    user = lab.new_ad_user("room1")
    lab.sync_cycle()
    cloud_id = mailbox["external_directory_object_id"]
    linked = lab.run("graph/get-user", {"UserId": cloud_id}, pool="graph")["user"]
    assert linked["on_premises_sync_enabled"] is True
    move = {"Identity": user["object_guid"], "Server": LAB_DEFAULTS.domain_controller}
    lab.run("ad/move-user", {**move, "TargetPath": LAB_DEFAULTS.staging_ou}, pool="ad")
    lab.sync_cycle()
    assert lab.run("graph/get-user", {"UserId": cloud_id}, pool="graph") == {"found": False, "user": None}
    assert lab.run("exo/find-mailbox", {"Identity": "room1"}, pool="exo")["found"] is False
    (deleted,) = lab.world()["cloud"]["deleted_users"]
    assert deleted["id"] == cloud_id and deleted["on_premises_sync_enabled"] is False
    lab.run("ad/move-user", {**move, "TargetPath": LAB_DEFAULTS.resource_ou}, pool="ad")
    lab.sync_cycle()
    back = lab.run("graph/get-user", {"UserId": cloud_id}, pool="graph")["user"]
    assert back["on_premises_sync_enabled"] is True
    assert lab.run("exo/find-mailbox", {"Identity": "room1"}, pool="exo")["mailbox"]["is_dir_synced"] is True
    assert len(lab.world()["cloud"]["users"]) == 1 and lab.world()["cloud"]["deleted_users"] == []
