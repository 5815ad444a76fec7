"""The bulk link check after a batch's cycle (pswrap.desired.batch_link), without a lab: a mailbox is
completed only when its AD account and its cloud user carry the same anchor; one read per system."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from pswrap.desired.apply import ApplyOptions, ApplyResult
from pswrap.desired.batch import Batch, Item, Worker
from pswrap.desired.batch_link import link_in_bulk
from pswrap.desired.batch_load import rows_of
from pswrap.immutableid import immutable_id_for_guid
from pswrap.workflows.inputs import TargetFacts
from pswrap.workflows.results import FAILED, MailboxResult

TARGET = TargetFacts(name="t", upn_suffix="contoso.com", resource_ou="OU=Rooms,DC=contoso,DC=com")
GUIDS = {"r1": "11111111-1111-1111-1111-111111111111", "r2": "22222222-2222-2222-2222-222222222222"}


class Reads:
    """Answers the four bulk reads (the accounts' OU, the cloud users by id); r2's cloud user carries
    another anchor than its AD account's."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def step(self, step_id: str, *, choices: Any = None, params: Any = None) -> Any:
        self.calls.append(step_id)
        if step_id == "sync/get-settings":
            return SimpleNamespace(anchor_attribute="mS-DS-ConsistencyGuid")
        if step_id == "ad/list-users":
            assert params == {"SearchBase": "OU=Rooms,DC=contoso,DC=com"}
            return SimpleNamespace(
                users=[SimpleNamespace(object_guid=g, consistency_guid=None) for g in GUIDS.values()]
            )
        if step_id == "graph/get-users":
            assert params == {"UserId": ["c-r1", "c-r2"]}
            wrong = immutable_id_for_guid("33333333-3333-3333-3333-333333333333")
            return SimpleNamespace(
                users=[
                    _cloud("c-r1", immutable_id_for_guid(GUIDS["r1"])),
                    _cloud("c-r2", wrong),
                ]
            )
        if step_id == "exo/list-mailboxes":
            return SimpleNamespace(mailboxes=[_mailbox(a) for a in GUIDS])
        raise AssertionError(f"not a bulk read: {step_id}")


def _cloud(user_id: str, anchor: str) -> Any:
    return SimpleNamespace(
        id=user_id, on_premises_sync_enabled=True, on_premises_immutable_id=anchor, account_enabled=False,
        user_principal_name=f"{user_id}@contoso.com", display_name=None, mail=None,
    )  # fmt: skip


def _mailbox(alias: str) -> Any:
    return SimpleNamespace(
        alias=alias, name=alias, display_name=alias, primary_smtp_address=f"{alias}@contoso.com",
        recipient_type_details="RoomMailbox", resource_capacity=None, email_addresses=[],
        is_dir_synced=True, external_directory_object_id=f"c-{alias}", user_principal_name=None,
        exchange_guid=None,
    )  # fmt: skip


def _item(alias: str) -> Item:
    (row,) = rows_of([{"alias": alias}], "f.yaml")
    result = MailboxResult(
        operation="op-" + alias,
        status=FAILED,
        target="t",
        immutable_id=immutable_id_for_guid(GUIDS[alias]),
        ad_user={"object_guid": GUIDS[alias], "distinguished_name": f"CN={alias},OU=Rooms,DC=contoso,DC=com"},
        cloud_user={"id": f"c-{alias}"},
    )
    out = ApplyResult(result, alias, create_operation="op-" + alias)
    return Item(row, out, created=True)


def test_only_a_mailbox_whose_anchors_agree_is_completed_and_the_reads_are_one_per_system() -> None:
    reads = Reads()
    worker = Worker(reads, lambda: SimpleNamespace(target=TARGET))  # type: ignore[arg-type]
    batch = Batch([worker], ApplyOptions(), journal=None, target_name="t")
    items = [_item("r1"), _item("r2")]
    left = link_in_bulk(batch, items)
    assert [i.out.alias for i in left] == ["r2"]  # its cloud user carries another anchor: not linked
    done = items[0].out.result
    assert items[0].done and done.status == "completed" and done.drift == []
    assert done.mailbox is not None and done.mailbox["alias"] == "r1"
    assert not items[1].done
    assert sorted(reads.calls) == sorted(
        ["sync/get-settings", "ad/list-users", "graph/get-users", "exo/list-mailboxes"]
    )
