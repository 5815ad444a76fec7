"""The lab's refusals of cloud writes agree with the mastering table (pswrap/mastering.py): for every cloud
step parameter the table knows, in every linked state, Exchange Online or Graph refuses exactly when the
table says the value is mastered elsewhere, so pswrap's guard (`check_cloud_write`) never lets through a
write the service would refuse, and never stops one it would take."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pswrap import mastering
from pswrap.lab.handlers.exo import INITIAL_ACCOUNT_ENABLED
from tests.lab.world_harness import Harness

VALUES: dict[str, Any] = {
    "DisplayName": "Another Name",
    "Name": "Conference One",
    "EmailAddresses": ["SMTP:conf1@lab.example"],
    "HiddenFromAddressListsEnabled": True,
    "ResourceCapacity": 9,
    "AccountEnabled": True,
}


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Harness]:
    lab = Harness(tmp_path / "world.json")
    lab.connect_exo()
    lab.connect_graph()
    yield lab


def stage(lab: Harness, state: mastering.LinkState) -> str:
    """A room mailbox in `state`: its user and mailbox flagged as the sync leaves them."""
    mailbox = lab.new_mailbox("conf1")
    with lab.edit() as world:
        world["cloud"]["users"][0]["account_enabled"] = False
        if state != "not_linked":
            world["cloud"]["users"][0]["on_premises_sync_enabled"] = True
            world["exo"]["mailboxes"][0]["is_dir_synced"] = True
        world["exo"]["mailboxes"][0]["is_exchange_cloud_managed"] = state == "linked_exchange_cloud_managed"
        world["ad"]["exchange_schema"]["present"] = state == "linked_with_exchange_schema"
    return str(mailbox["external_directory_object_id"])


@pytest.mark.parametrize("state", mastering.LINK_STATES)
@pytest.mark.parametrize(("step_id", "param"), sorted(mastering.CLOUD_WRITES))
def test_the_lab_refuses_exactly_what_the_table_masters_elsewhere(
    lab: Harness, state: mastering.LinkState, step_id: str, param: str
) -> None:
    user_id = stage(lab, state)
    identity = {"UserId": user_id} if step_id.startswith("graph/") else {"Identity": "conf1"}
    params = {**identity, param: VALUES[param]}
    pool = step_id.split("/", 1)[0]
    try:
        mastering.check_cloud_write(step_id, params, state)
        allowed = True
    except mastering.WrongMaster:
        allowed = False
    if allowed:
        lab.run(step_id, params, pool=pool)
    else:
        error = lab.fails(step_id, params, pool=pool)
        assert any(
            text in error.message
            for text in (
                "is being synchronized from your on-premises organization",
                "DualWrite (Graph)",
                "on-premises mastered Directory Sync objects",
            )
        ), error.message


def test_new_mailbox_accounts_start_as_new_mailbox_documents(lab: Harness) -> None:
    """New-Mailbox: a room's account is active, a shared mailbox's disabled; equipment is not stated and the
    lab takes it as enabled (the conservative reading, docs/mastering.md)."""
    assert INITIAL_ACCOUNT_ENABLED == {"room": True, "shared": False, "equipment": True}
    for kind in ("room", "shared", "equipment"):
        user_id = lab.new_mailbox(f"{kind}1", kind)["external_directory_object_id"]
        user = lab.run("graph/get-user", {"UserId": user_id}, pool="graph")["user"]
        assert user["account_enabled"] is INITIAL_ACCOUNT_ENABLED[kind]
