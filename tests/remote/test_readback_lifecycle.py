"""The read-backs of the lifecycle's changing steps (`mailbox remove|restore|unlink`, issue #16, on issue
#12 section 1's one mechanism): each says applied only when our change is there, and its result has the
type the step's callers read; a lost reply in the lab is read back and nothing is done twice."""

from __future__ import annotations

from typing import Any

import pytest

from pswrap.lab.world import LAB_DEFAULTS as D
from pswrap.remote.session import open_session
from pswrap.results import lifecycle as lc
from pswrap.results import models as m
from pswrap.workflows.steps_run import JournaledRunner
from tests.remote.conftest import set_faults
from tests.remote.lab_inputs import mailbox_params, new_user_params
from tests.remote.readbacks import inputs, judge

GUID = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
RETIRED = "OU=Retired,DC=x"



def lookup(dn: str, *, enabled: bool | None, guid: str = GUID) -> m.AdUserLookup:
    user = m.AdUser(object_guid=guid, sam_account_name="room1", distinguished_name=dn, enabled=enabled)
    return m.AdUserLookup(found=True, user=user)


def test_removal_is_applied_only_when_our_account_is_no_longer_live() -> None:
    params = {"Identity": GUID, "Server": "dc1"}
    assert inputs("ad/remove-user", params) == ({}, {"Identity": GUID, "Server": "dc1"})
    for gone in (lc.DeletedAdUser(found=True, live=False, object_guid=GUID), lc.DeletedAdUser(found=False)):
        done = judge("ad/remove-user", gone, params)
        # remove.py and unlink.py report the deletion when `existed`: the account they had just read
        assert isinstance(done, lc.AdRemoval) and done.existed and done.object_guid == GUID
    assert judge("ad/remove-user", lc.DeletedAdUser(found=True, live=True, object_guid=GUID), params) is None


def test_retirement_is_applied_only_in_the_retired_ou_and_disabled() -> None:
    params = {"Identity": GUID, "TargetPath": RETIRED}
    assert inputs("ad/retire-user", params) == ({"by": "guid"}, {"Value": GUID})
    done = judge("ad/retire-user", lookup(f"CN=Room1,{RETIRED.upper()}", enabled=False), params)
    assert (
        isinstance(done, m.AdUser) and done.distinguished_name == "CN=Room1,OU=RETIRED,DC=X"
    )  # callers read it
    assert (
        judge("ad/retire-user", lookup(f"CN=Room1,{RETIRED}", enabled=True), params) is None
    )  # not disabled
    assert judge("ad/retire-user", lookup(f"CN=Room1,{RETIRED}", enabled=None), params) is None  # unknown
    assert judge("ad/retire-user", lookup("CN=Room1,OU=Resources,DC=x", enabled=False), params) is None
    assert judge("ad/retire-user", m.AdUserLookup(found=False), params) is None


def test_restore_is_applied_only_when_our_objectguid_is_live() -> None:
    params = {"Identity": GUID}
    assert inputs("ad/restore-user", params) == ({"by": "guid"}, {"Value": GUID})
    done = judge(
        "ad/restore-user", lookup("CN=Room1,OU=Resources,DC=x", enabled=True, guid=GUID.upper()), params
    )
    assert isinstance(done, m.AdUser) and done.object_guid == GUID.upper()
    other = lookup("CN=Room1,OU=Resources,DC=x", enabled=True, guid="00000000-0000-0000-0000-000000000001")
    assert judge("ad/restore-user", other, params) is None
    assert judge("ad/restore-user", m.AdUserLookup(found=False), params) is None


def test_switch_is_applied_only_when_the_user_is_cloud_managed() -> None:
    params = {"UserId": "cloud-1"}
    assert inputs("graph/set-sync-behavior", params) == ({}, {"UserId": "cloud-1"})
    done = judge("graph/set-sync-behavior", lc.SyncBehavior(id="cloud-1", is_cloud_managed=True), params)
    # unlink.py reports the switch unless it was cloud-managed before, which a lost reply cannot tell
    assert (
        isinstance(done, lc.SyncBehavior) and done.is_cloud_managed and done.is_cloud_managed_before is None
    )
    assert (
        judge("graph/set-sync-behavior", lc.SyncBehavior(id="cloud-1", is_cloud_managed=False), params)
        is None
    )
    assert (
        judge("graph/set-sync-behavior", lc.SyncBehavior(id="cloud-2", is_cloud_managed=True), params) is None
    )


@pytest.mark.parametrize("step_id", ["ad/retire-user", "ad/remove-user", "ad/restore-user"])
def test_lost_reply_of_a_lifecycle_change_is_read_back(
    lab_factory: Any, lab_target: Any, step_id: str
) -> None:
    """The change ran, its reply was lost: the read-back finds it done and the run continues with the
    step's result, the change not sent again; the world holds it once."""
    lab = lab_factory()
    with lab.store.transaction() as world:
        world["ad"]["recycle_bin_enabled"] = True
    with open_session(lab_target(lab)) as s:
        user = s.step("ad/new-user", params=new_user_params("lostlife"))
        guid = user.object_guid
        if step_id == "ad/restore-user":
            assert s.step("ad/remove-user", params={"Identity": guid}).existed
        params: dict[str, Any] = {"Identity": guid}
        if step_id == "ad/retire-user":
            params["TargetPath"] = D.retired_ou
        set_faults(lab, "drop:Receive@1")
        runner = JournaledRunner(s, None, None)
        out = runner(step_id, params=params)
        set_faults(lab)
        assert runner.read_back == [(step_id, True)] and s.retries == {}
        assert lab.faults.fired == {"drop:Receive@1": 1}
    ad = lab.store.read()["ad"]
    live = [u for u in ad["users"] if u["object_guid"] == guid]
    deleted = [u for u in ad.get("deleted_objects", []) if u["object_guid"] == guid]
    if step_id == "ad/remove-user":
        assert isinstance(out, lc.AdRemoval) and out.existed
        assert live == [] and len(deleted) == 1
    else:
        assert isinstance(out, m.AdUser) and out.object_guid == guid
        assert len(live) == 1 and deleted == []
        if step_id == "ad/retire-user":
            assert out.distinguished_name.endswith(D.retired_ou) and out.enabled is False


def test_lost_reply_of_the_authority_switch_is_read_back(lab_factory: Any, lab_target: Any) -> None:
    lab = lab_factory()
    with open_session(lab_target(lab)) as s:
        box = s.step("exo/new-mailbox", choices={"type": "room"}, params=mailbox_params("lostsoa"))
        cloud_id = box.external_directory_object_id
        assert not s.step("graph/get-sync-behavior", params={"UserId": cloud_id}).is_cloud_managed
        set_faults(lab, "drop:Receive@1")
        runner = JournaledRunner(s, None, None)
        out = runner("graph/set-sync-behavior", params={"UserId": cloud_id})
        set_faults(lab)
        assert runner.read_back == [("graph/set-sync-behavior", True)] and s.retries == {}
        assert lab.faults.fired == {"drop:Receive@1": 1}
        assert isinstance(out, lc.SyncBehavior) and out.is_cloud_managed and out.id == cloud_id
        assert s.step("graph/get-sync-behavior", params={"UserId": cloud_id}).is_cloud_managed
