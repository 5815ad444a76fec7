"""Planning from facts alone (no session): what each hold does from each starting point, and what is
refused. The facts are built from the step result models, as the lab or a real server returns them."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest

from pswrap.errors import Conflict, NeedsHuman
from pswrap.results import models as m
from pswrap.workflows.facts import Facts
from pswrap.workflows.inputs import MailboxRequest, TargetFacts, resolve
from pswrap.workflows.mailbox_plan import plan_modern

TARGET = TargetFacts(
    name="t",
    upn_suffix="contoso.com",
    resource_ou="OU=Resources,DC=contoso,DC=com",
    staging_ou="OU=Staging,DC=contoso,DC=com",
    organization="contoso.onmicrosoft.com",
)
CONSISTENCY = "mS-DS-ConsistencyGuid"


def b64(guid: str) -> str:
    return base64.b64encode(uuid.UUID(guid).bytes_le).decode()


def facts(**kw: Any) -> Facts:
    base: dict[str, Any] = {
        "anchor_attribute": CONSISTENCY,
        "staging_mode": False,
        "scheduler": m.SchedulerState(sync_cycle_enabled=True),
        "features": m.SyncFeatures(block_soft_match=False, block_hard_match_takeover=False),
    }
    base.update(kw)
    return Facts(**base)


def mailbox(
    immutable: str | None = None, synced: bool = False, upn: str = "room1@contoso.onmicrosoft.com"
) -> Any:
    mbx = m.Mailbox(
        alias="room1",
        primary_smtp_address="room1@contoso.com",
        recipient_type_details="RoomMailbox",
        external_directory_object_id="cloud-1",
    )
    user = m.CloudUser(
        id="cloud-1",
        user_principal_name=upn,
        on_premises_immutable_id=immutable,
        on_premises_sync_enabled=synced,
        account_enabled=False,  # sign-in already blocked: these tests are about the holds' order
    )
    return mbx, user


def ad_user(
    guid: str, consistency: str | None = None, ou: str = "OU=Resources,DC=contoso,DC=com"
) -> m.AdUser:
    return m.AdUser(
        object_guid=guid,
        sam_account_name="room1",
        user_principal_name="room1@contoso.com",
        distinguished_name=f"CN=Meeting Room 1,{ou}",
        mail_nickname="room1",
        proxy_addresses=["SMTP:room1@contoso.com", "smtp:room1@contoso.onmicrosoft.com"],
        consistency_guid=consistency,
    )


def plan(f: Facts, hold: str, state: dict[str, Any] | None = None, **req: Any) -> Any:
    request = MailboxRequest(name="Meeting Room 1", alias="room1", **req)
    return plan_modern(request, resolve(request, TARGET), f, hold, state or {}, TARGET)


BLOCK = "graph/set-account-enabled"
"""A new room's cloud account is created enabled: its sign-in is blocked right after New-Mailbox."""


def ids(p: Any) -> list[str]:
    return [s.step_id for s in p.steps]


def test_anchor_from_nothing_uses_one_new_guid_for_cloud_and_account() -> None:
    p = plan(facts(), "anchor")
    assert ids(p) == ["exo/new-mailbox", BLOCK, "graph/set-user", "ad/new-user"]
    guid = p.steps[3].params["ConsistencyGuid"]
    assert p.steps[2].params["OnPremisesImmutableId"] == b64(guid) == p.expected_immutable_id
    assert p.steps[2].params["UserPrincipalName"] == "room1@contoso.com"
    assert "UserId" in p.steps[2].deferred  # known once the mailbox exists


def test_anchor_reuses_the_journaled_guid() -> None:
    guid = str(uuid.uuid4())
    p = plan(facts(), "anchor", {"anchor_guid": guid})
    assert p.steps[3].params["ConsistencyGuid"] == guid


def test_anchor_after_a_stop_before_the_account_adopts_the_pending_immutable_id() -> None:
    guid = str(uuid.uuid4())
    mbx, user = mailbox(immutable=b64(guid), upn="room1@contoso.com")
    p = plan(facts(mailbox=mbx, cloud_user=user), "anchor")
    assert ids(p) == ["ad/new-user"]
    assert p.steps[0].params["ConsistencyGuid"] == guid


def test_pending_immutable_id_under_another_upn_is_a_conflict() -> None:
    mbx, user = mailbox(immutable=b64(str(uuid.uuid4())), upn="someone@contoso.com")
    with pytest.raises(Conflict, match="already waits for another on-premises account"):
        plan(facts(mailbox=mbx, cloud_user=user), "anchor")


def test_staging_ou_creates_outside_scope_then_moves() -> None:
    p = plan(facts(), "staging-ou")
    assert ids(p) == ["exo/new-mailbox", BLOCK, "ad/new-user", "graph/set-user", "ad/move-user"]
    assert p.steps[2].params["Path"] == TARGET.staging_ou
    assert "ConsistencyGuid" not in p.steps[2].params
    assert set(p.steps[3].deferred) == {"UserId", "OnPremisesImmutableId"}
    assert p.steps[4].params["TargetPath"] == TARGET.resource_ou


def test_staging_ou_resumed_with_the_account_in_staging() -> None:
    guid = str(uuid.uuid4())
    mbx, user = mailbox()
    p = plan(
        facts(mailbox=mbx, cloud_user=user, ad_user=ad_user(guid, ou=TARGET.staging_ou or "")), "staging-ou"
    )
    assert ids(p) == ["graph/set-user", "ad/move-user"]
    assert p.steps[0].params["OnPremisesImmutableId"] == b64(guid)
    assert p.steps[1].params["Identity"] == guid


def test_scheduler_hold_leases_only_when_there_is_work() -> None:
    p = plan(facts(), "scheduler")
    assert p.lease and ids(p) == ["exo/new-mailbox", BLOCK, "ad/new-user", "graph/set-user"]
    guid = str(uuid.uuid4())
    mbx, user = mailbox(immutable=b64(guid), synced=True, upn="room1@contoso.com")
    done = plan(facts(mailbox=mbx, cloud_user=user, ad_user=ad_user(guid)), "scheduler")
    assert done.linked and not done.lease and done.steps == []


def test_linked_already_plans_nothing_even_when_the_tenant_now_blocks() -> None:
    guid = str(uuid.uuid4())
    mbx, user = mailbox(immutable=b64(guid), synced=True, upn="room1@contoso.com")
    blocked = m.SyncFeatures(block_soft_match=True, block_hard_match_takeover=True)
    p = plan(facts(mailbox=mbx, cloud_user=user, ad_user=ad_user(guid), features=blocked), "anchor")
    assert p.linked and p.steps == []


def test_consistency_guid_wins_over_object_guid_only_with_that_anchor_attribute() -> None:
    guid, anchor = str(uuid.uuid4()), str(uuid.uuid4())
    mbx, user = mailbox()
    account = ad_user(guid, consistency=b64(anchor))
    p = plan(facts(mailbox=mbx, cloud_user=user, ad_user=account), "scheduler")
    assert p.steps[0].params["OnPremisesImmutableId"] == b64(anchor)
    p2 = plan(
        facts(mailbox=mbx, cloud_user=user, ad_user=account, anchor_attribute="objectGUID"), "scheduler"
    )
    assert p2.steps[0].params["OnPremisesImmutableId"] == b64(guid)


def test_blocks_and_roles_need_a_human() -> None:
    with pytest.raises(NeedsHuman, match="BlockCloudObjectTakeoverThroughHardMatchEnabled"):
        plan(facts(features=m.SyncFeatures(block_soft_match=False, block_hard_match_takeover=True)), "anchor")
    with pytest.raises(NeedsHuman, match="BlockSoftMatch"):
        plan(facts(features=m.SyncFeatures(block_soft_match=True, block_hard_match_takeover=False)), "none",
             match="soft")  # fmt: skip
    mbx, user = mailbox()
    admin = user.model_copy(update={"directory_roles": ["Global Administrator"]})
    with pytest.raises(NeedsHuman, match="Global Administrator"):
        plan(facts(mailbox=mbx, cloud_user=admin), "anchor")


def test_account_linked_elsewhere_is_a_conflict() -> None:
    guid = str(uuid.uuid4())
    other = m.CloudUser(id="cloud-2", user_principal_name="x@contoso.com", on_premises_immutable_id=b64(guid))
    mbx, user = mailbox()
    with pytest.raises(Conflict, match="already linked to another cloud user"):
        plan(facts(mailbox=mbx, cloud_user=user, ad_user=ad_user(guid), anchor_holders=[other]), "anchor")


def test_soft_match_never_sets_an_immutable_id() -> None:
    p = plan(facts(), "none", match="soft")
    assert ids(p) == ["exo/new-mailbox", BLOCK, "ad/new-user"]
    assert "ConsistencyGuid" not in p.steps[2].params
