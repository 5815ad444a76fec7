"""The lab's lifecycle rules on a world dict (pswrap.lab.lifecycle, issue #16): each documented behaviour
the lifecycle commands rely on, without a transport."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from pswrap.lab import lifecycle
from pswrap.lab.sync_engine import finish_cycle, start_cycle
from pswrap.lab.sync_export import source_anchor
from pswrap.lab.world import LAB_DEFAULTS, fresh_world, immutable_id, new_guid

NOW = datetime(2026, 12, 7, tzinfo=timezone.utc)


def linked_world(alias: str = "room1") -> tuple[dict[str, Any], dict[str, Any]]:
    """A world with one synced room: the AD account in scope, its cloud user and mailbox linked."""
    world = fresh_world()
    guid = new_guid()
    account = {
        "sam_account_name": alias,
        "name": alias,
        "object_guid": guid,
        "user_principal_name": f"{alias}@lab.example",
        "distinguished_name": f"CN={alias},{LAB_DEFAULTS.resource_ou}",
        "display_name": alias,
        "mail": f"{alias}@lab.example",
        "proxy_addresses": [f"SMTP:{alias}@lab.example"],
        "mail_nickname": alias,
        "consistency_guid": guid,
        "remote_mailbox": None,
        "enabled": False,
    }
    world["ad"]["users"].append(account)
    cloud_id = new_guid()
    world["cloud"]["users"].append(
        {
            "id": cloud_id,
            "user_principal_name": f"{alias}@lab.example",
            "on_premises_immutable_id": immutable_id(guid),
            "on_premises_sync_enabled": True,
            "proxy_addresses": [f"SMTP:{alias}@lab.example"],
            "directory_roles": [],
        }
    )
    world["exo"]["mailboxes"].append(
        {
            "alias": alias,
            "primary_smtp_address": f"{alias}@lab.example",
            "recipient_type_details": "RoomMailbox",
            "email_addresses": [f"SMTP:{alias}@lab.example"],
            "external_directory_object_id": cloud_id,
            "is_dir_synced": True,
        }
    )
    return world, account


def cycle(world: dict[str, Any], at: datetime = NOW) -> list[dict[str, Any]]:
    start_cycle(world, at, manual=True)
    finish_cycle(world, at + timedelta(seconds=1))
    return list(world["sync"]["runs"])


def test_an_account_out_of_scope_soft_deletes_user_and_mailbox() -> None:
    world, account = linked_world()
    lifecycle.delete_account(world, account, NOW)
    cycle(world)
    assert world["cloud"]["users"] == [] and len(world["cloud"]["deleted_users"]) == 1
    assert world["exo"]["mailboxes"] == [] and len(world["exo"]["soft_deleted_mailboxes"]) == 1


def test_a_mailbox_under_a_hold_becomes_inactive_and_outlives_the_window() -> None:
    world, account = linked_world()
    world["exo"]["holds"] = ["room1"]
    lifecycle.delete_account(world, account, NOW)
    cycle(world)
    assert world["exo"]["soft_deleted_mailboxes"] == [] and len(world["exo"]["inactive_mailboxes"]) == 1
    lifecycle.purge_expired(world, NOW + timedelta(days=31))
    assert world["cloud"]["deleted_users"] == [] and len(world["exo"]["inactive_mailboxes"]) == 1


def test_retention_is_thirty_days() -> None:
    world, account = linked_world()
    lifecycle.delete_account(world, account, NOW)
    cycle(world)
    lifecycle.purge_expired(world, NOW + timedelta(days=29))
    assert len(world["cloud"]["deleted_users"]) == 1
    lifecycle.purge_expired(world, NOW + timedelta(days=30, seconds=2))
    assert world["cloud"]["deleted_users"] == [] and world["exo"]["soft_deleted_mailboxes"] == []


def test_the_same_anchor_back_in_scope_reconnects_user_and_mailbox() -> None:
    world, account = linked_world()
    cloud_id = world["cloud"]["users"][0]["id"]
    world["ad"]["recycle_bin_enabled"] = True
    lifecycle.delete_account(world, account, NOW)
    cycle(world)
    assert lifecycle.find_deleted_account(world, account["object_guid"]) is not None
    lifecycle.restore_account(world, account["object_guid"])
    cycle(world, NOW + timedelta(minutes=5))
    assert [u["id"] for u in world["cloud"]["users"]] == [cloud_id]
    assert world["cloud"]["users"][0]["on_premises_sync_enabled"] is True
    assert [m["alias"] for m in world["exo"]["mailboxes"]] == ["room1"]


def test_without_the_recycle_bin_a_deleted_account_is_gone() -> None:
    world, account = linked_world()
    lifecycle.delete_account(world, account, NOW)
    assert lifecycle.find_deleted_account(world, account["object_guid"]) is None
    assert lifecycle.restore_account(world, account["object_guid"]) is None


def test_the_deletion_threshold_stops_the_whole_export() -> None:
    world, account = linked_world()
    world["sync"]["settings"]["deletion_threshold"]["count"] = 1
    lifecycle.delete_account(world, account, NOW)
    runs = cycle(world)
    export = next(r for r in runs if r["run_profile_name"] == "Export" and "AAD" in r["connector_name"])
    assert export["result"] == lifecycle.THRESHOLD_RESULT
    assert len(world["cloud"]["users"]) == 1 and world["cloud"]["deleted_users"] == []
    world["sync"]["settings"]["deletion_threshold"]["enabled"] = False
    cycle(world, NOW + timedelta(minutes=5))
    assert world["cloud"]["users"] == []


def test_below_the_threshold_the_export_runs() -> None:
    world, account = linked_world()
    lifecycle.delete_account(world, account, NOW)
    runs = cycle(world)
    assert all(r["result"] != lifecycle.THRESHOLD_RESULT for r in runs)


def test_a_cloud_managed_user_no_longer_follows_ad() -> None:
    world, account = linked_world()
    cloud = world["cloud"]["users"][0]
    cloud["is_cloud_managed"], cloud["on_premises_sync_enabled"] = True, None
    account["display_name"] = "renamed in AD"
    cycle(world)
    assert cloud.get("display_name") != "renamed in AD"
    lifecycle.delete_account(world, account, NOW)
    cycle(world, NOW + timedelta(minutes=5))
    assert world["cloud"]["users"] == [cloud] and world["cloud"]["deleted_users"] == []
    assert len(world["exo"]["mailboxes"]) == 1


def test_a_recreated_account_with_the_recorded_consistency_guid_has_the_same_anchor() -> None:
    world, account = linked_world()
    again = {**account, "object_guid": new_guid()}
    assert source_anchor(world, again) == source_anchor(world, account)
    world["sync"]["settings"]["anchor_attribute"] = "objectGUID"
    assert source_anchor(world, again) != source_anchor(world, account)
