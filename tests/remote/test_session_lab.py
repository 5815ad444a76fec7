"""Session.step against the lab over real HTTP: every step, pools per need, connects, typed results."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest

from pswrap import errors as e
from pswrap import steps
from pswrap.lab.world import LAB_DEFAULTS as D
from pswrap.remote.session import open_session
from pswrap.results import models as m
from tests.remote.conftest import request_counts
from tests.remote.lab_inputs import mailbox_params, new_user_params


@pytest.mark.parametrize(
    "transport",
    [{"auth": "ntlm"}, {"auth": "basic"}, {"auth": "ntlm", "https": True}],
    ids=["ntlm-http-encrypted", "basic-http", "ntlm-https"],
)
def test_every_step_runs_and_parses_into_its_model(
    lab_factory: Any, lab_target: Any, transport: dict[str, Any]
) -> None:
    """The happy path of every runnable step, in one session (one command run), typed results."""
    lab = lab_factory(**transport)
    target = lab_target(lab)
    ran: dict[str, Any] = {}
    with open_session(target) as s:

        def run(step_id: str, **kw: Any) -> Any:
            result = s.step(step_id, **kw)
            assert type(result) is steps.get(step_id).result, step_id
            ran[step_id] = result
            return result

        # adsync
        assert run("sync/get-settings").anchor_attribute == D.anchor_attribute
        assert run("sync/get-scheduler").sync_cycle_enabled is True
        run("sync/get-scope")
        run("sync/get-modules", params={"Name": ["ADSync"]})
        lease = run(
            "sync/install-lease",
            params={"LeaseName": "pswrap-lease-t1", "DeadlineUtc": "2030-01-01T00:00:00Z"},
        )
        assert [x.name for x in lease.leases] == ["pswrap-lease-t1"] and lease.sync_cycle_enabled is False
        assert len(run("sync/list-leases").leases) == 1
        assert run("sync/remove-lease", params={"LeaseName": "pswrap-lease-t1"}).restored is True
        assert run("sync/set-scheduler", params={"SyncCycleEnabled": True}).sync_cycle_enabled is True
        assert run("sync/start-cycle", choices={"policy": "delta"}).result == "Success"
        run("sync/get-run-results", params={"NumberRequested": 2})
        # ad (Server filled in from the pinned DC)
        domain = run("ad/get-domain")
        assert domain.pdc_emulator == D.domain_controller
        run("ad/get-modules", params={"Name": ["ActiveDirectory"]})
        run("ad/get-ous", params={"Identity": D.resource_ou})
        guid = str(uuid.uuid4())
        user = run("ad/new-user", params=new_user_params("room1", ConsistencyGuid=guid))
        assert user.distinguished_name.endswith(D.resource_ou)
        assert run("ad/find-user", choices={"by": "sam"}, params={"Value": "room1"}).found is True
        assert run("ad/get-anchor", params={"Identity": user.object_guid}).object_guid == user.object_guid
        named = run("ad/find-name", params={"Value": "ROOM1", "Path": D.resource_ou})
        assert [o.object_guid for o in named.objects] == [user.object_guid]
        moved = run("ad/move-user", params={"Identity": user.object_guid, "TargetPath": D.staging_ou})
        assert moved.distinguished_name.endswith(D.staging_ou)
        # exo
        run("exo/get-modules", params={"Name": ["ExchangeOnlineManagement"]})
        run("exo/get-certificate")
        mailbox = run("exo/new-mailbox", choices={"type": "room"}, params=mailbox_params("room2"))
        assert mailbox.recipient_type_details == "RoomMailbox"
        assert run("exo/find-mailbox", params={"Identity": "room2"}).found is True
        holders = run("exo/find-recipients", params={"Alias": "room2"}).recipients
        assert [(r.alias, r.recipient_type_details) for r in holders] == [("room2", "RoomMailbox")]
        # graph
        run("graph/get-modules", params={"Name": ["Microsoft.Graph.Authentication"]})
        run("graph/get-certificate")
        cloud_id = mailbox.external_directory_object_id
        assert run("graph/get-user", params={"UserId": cloud_id}).found is True
        run("graph/find-users", choices={"by": "proxy-address"}, params={"Value": f"room2@{D.upn_suffix}"})
        linked = run(
            "graph/set-user", params={"UserId": cloud_id, "OnPremisesImmutableId": "AAAAAAAAAAAAAAAAAAAAAA=="}
        )
        assert linked.on_premises_immutable_id == "AAAAAAAAAAAAAAAAAAAAAA=="
        run("graph/get-sync-features")
        # what the identities were granted (the doctor's permission checks)
        assert "User.ReadWrite.All" in run("graph/get-permissions").permissions
        assert run("exo/get-commands", params={"Name": ["New-Mailbox", "No-Such"]}).missing == ["No-Such"]
        assert any(g.endswith("\\ADSyncAdmins") for g in run("sync/get-account").groups)
        # who masters what (issue #11): the room's account is created enabled; blocked while cloud-only
        blocked = run("graph/set-account-enabled", params={"UserId": cloud_id, "AccountEnabled": False})
        assert (blocked.account_enabled_before, blocked.account_enabled) == (True, False)
        capacity = run("exo/set-mailbox", params={"Identity": "room2", "ResourceCapacity": 8})
        assert capacity.resource_capacity == 8
        assert run("exo/get-exchange-authority", params={"Identity": "room2"}).is_dir_synced is False
        managed = run("exo/set-exchange-cloud-managed", params={"Identity": "room2"})
        assert managed.is_exchange_cloud_managed is True
        assert run("ad/get-exchange-schema").present is False
        x500 = "X500:" + str(mailbox.legacy_exchange_dn)
        added = run("ad/add-addresses", params={"Identity": user.object_guid, "Addresses": [x500]})
        assert x500 in added.proxy_addresses
        with pytest.raises(e.RemoteError, match="attribute or value does not exist"):
            s.step(
                "ad/stamp-exchange-attributes",
                params={
                    "Identity": user.object_guid,
                    "RecipientTypeDetails": "8589934592",
                    "RemoteRecipientType": "33",
                    "RecipientDisplayType": "-2147481850",
                },
            )
        ran["ad/stamp-exchange-attributes"] = None  # refused without the Exchange schema, as AD does
        # the desired-state steps: calendar processing and the bulk reads of `mailbox list --drift`
        read = run("exo/get-calendar-processing", params={"Identity": "room2", "Principals": ["room2"]})
        assert read.found is True and read.calendar is not None and read.principals[0].found is True
        done = run(
            "exo/set-calendar-processing",
            params={"Identity": "room2", "BookingWindowInDays": 30, "ResourceDelegates": ["room2"]},
        )
        assert sorted(done.applied) == ["BookingWindowInDays", "ResourceDelegates"] and not done.refused
        assert "room2" in [m.alias for m in run("exo/list-mailboxes").mailboxes]
        accounts = run("ad/list-users", params={"SearchBase": D.domain_dn}).users
        assert "room1" in [u.sam_account_name for u in accounts]
        run("graph/list-synced-users")
        found = run("graph/get-users", params={"UserId": [cloud_id, "00000000-0000-0000-0000-000000000001"]})
        assert [u.id for u in found.users] == [cloud_id]
        # the lifecycle steps (issue #16): unlink's switch, removal and restore
        assert run("graph/get-sync-behavior", params={"UserId": cloud_id}).is_cloud_managed is False
        assert run("graph/set-sync-behavior", params={"UserId": cloud_id}).is_cloud_managed is True
        assert run("graph/get-deleted-user", params={"DirectoryObjectId": cloud_id}).found is False
        assert run("exo/find-deleted-mailbox", params={"Identity": "room2"}).found is False
        assert run("ad/get-recycle-bin").enabled is False
        spare = run("ad/new-user", params=new_user_params("spare1"))
        retired = run("ad/retire-user", params={"Identity": spare.object_guid, "TargetPath": D.retired_ou})
        assert retired.distinguished_name.endswith(D.retired_ou) and retired.enabled is False
        back = run(
            "ad/reinstate-user",
            params={"Identity": spare.object_guid, "TargetPath": D.resource_ou, "Enabled": True},
        )
        assert back.distinguished_name.endswith("," + D.resource_ou) and back.enabled is True
        assert run("ad/find-deleted-user", params={"Identity": spare.object_guid}).live is True
        assert run("ad/restore-user", params={"Identity": spare.object_guid}).object_guid == spare.object_guid
        assert run("ad/remove-user", params={"Identity": spare.object_guid}).existed is True
        # desired state part 2: permissions, place data, room lists, workspace, a room's AD attributes
        access = run("exo/get-access", params={"Identity": "room2", "Principals": ["room2"]})
        assert access.found is True and access.principals[0].found is True
        done = run("exo/set-access", params={
            "Identity": "room2", "SendAsAdd": ["room2"],
            "CalendarSetUser": ["Default"], "CalendarSetRights": ["LimitedDetails"],
        })  # fmt: skip
        assert sorted(done.applied) == ["calendar_permissions", "send_as"] and not done.refused
        done = run("exo/set-place", params={"Identity": "room2", "Building": "B1", "Floor": 2})
        assert sorted(done.applied) == ["Building", "Floor"] and not done.refused
        assert run("exo/get-place", params={"Identity": "room2"}).place.building == "B1"
        lab_rooms = {"Identity": "room2", "Create": ["Lab Rooms"], "AddTo": ["Lab Rooms"]}
        done = run("exo/set-room-lists", params=lab_rooms)
        assert done.applied == ["room_lists"] and not done.refused
        lists = run("exo/get-room-lists", params={"Identity": "room2", "Names": ["Lab Rooms"]})
        assert [(x.name, x.member) for x in lists.lists] == [("Lab Rooms", True)]
        done = run("exo/set-mailbox-type", params={"Identity": "room2", "Type": "Workspace"})
        assert done.applied == ["Type"]
        upn = user.user_principal_name
        done = run("ad/set-resource-attributes", params={"UserPrincipalName": upn, "City": "Oslo"})
        assert done.applied == ["City"]
        attrs = run("ad/get-resource-attributes", params={"UserPrincipalName": upn, "Principals": [upn]})
        assert attrs.city == "Oslo" and attrs.principals[0].found is True
        # hybrid (a hybrid-tools step runs in its own profile even in a modern session)
        run("hybrid/get-modules", params={"Name": ["RecipientManagement"]})
        rm = run("hybrid/new-remote-mailbox", choices={"type": "shared"}, params={
            **mailbox_params("shared3"),
            "UserPrincipalName": f"shared3@{D.upn_suffix}",
            "SamAccountName": "shared3",
            "OnPremisesOrganizationalUnit": D.resource_ou,
        })  # fmt: skip
        assert rm.recipient_type_details == "RemoteSharedMailbox"
        assert run("hybrid/find-remote-mailbox", params={"Identity": "shared3"}).found is True
        # the connect steps, run explicitly (they do nothing when already connected)
        for connect in ("exo/connect", "graph/connect", "hybrid/connect"):
            assert run(connect).connected is True
        assert sorted(s.opened_needs()) == ["ad", "adsync", "exo", "graph", "hybrid"]
    runnable = {x.id for x in steps.all_steps() if not x.is_legacy}
    assert runnable - set(ran) == set(), "a step was added: give it a happy path here"


def test_one_pool_per_need_and_exo_graph_apart(lab_factory: Any, lab_target: Any, caplog: Any) -> None:
    """EXO and Graph in one run use two pools even on one host; each need connects once."""
    caplog.set_level(logging.INFO, logger="pswrap.remote")
    lab = lab_factory()
    with open_session(lab_target(lab)) as s:
        for _ in range(3):
            s.step("exo/find-mailbox", params={"Identity": "nobody"})
            s.step("graph/get-sync-features")
        assert request_counts(lab).get("Create") == 2
        s.step("sync/get-settings")
        s.step("sync/get-scheduler")
        assert request_counts(lab).get("Create") == 3
    connects = [r.getMessage() for r in caplog.records if r.getMessage().startswith("connected the")]
    assert len(connects) == 2  # exo/connect and graph/connect, once each
    assert request_counts(lab).get("Delete") == 3  # every pool closed at the end of the run


def test_pinned_dc_read_once_from_the_pdc_emulator(lab_factory: Any, lab_target: Any) -> None:
    lab = lab_factory()
    target = lab_target(lab)
    assert target.domain_controller is None
    with open_session(target) as s:
        assert s.pinned_dc == D.domain_controller
        s.step("ad/find-user", params={"Value": "a"})
        s.step("ad/find-user", params={"Value": "b"})
        before = request_counts(lab).get("Command", 0)
        assert s.pinned_dc == D.domain_controller
        assert request_counts(lab).get("Command", 0) == before  # not read again


def test_configured_dc_is_used(lab_factory: Any, lab_target: Any) -> None:
    lab = lab_factory()
    target = lab_target(lab, domain_controller="dc9.lab.example")
    with open_session(target) as s, pytest.raises(e.RemoteError, match="Unable to contact the server"):
        s.step("ad/find-user", params={"Value": "a"})  # the lab knows no dc9: -Server was passed


def test_ad_credential_from_the_target(lab_factory: Any, ad_credential_target: Any) -> None:
    lab = lab_factory()
    with open_session(ad_credential_target(lab, "Ad-Secret-3141")) as s:
        assert s.step("ad/find-user", params={"Value": "nobody"}).found is False
        assert "Ad-Secret-3141" not in s.script("ad/find-user", params={"Value": "x"}).text
    with open_session(ad_credential_target(lab, "Ad-Secret-3141", given="wrong")) as s:
        with pytest.raises(e.AccessDenied) as info:
            s.step("ad/find-user", params={"Value": "nobody"})
        assert info.value.category == "SecurityError" and s.retries == {}


def test_script_fills_session_params_without_running(lab_factory: Any, lab_target: Any) -> None:
    lab = lab_factory()
    with open_session(lab_target(lab)) as s:
        script = s.script("exo/connect")
        assert script.parameters["AppId"] == D.app_id
        assert script.parameters["Organization"] == D.tenant_domain
        ad = s.script("ad/find-user", params={"Value": "x"})
        assert "Server" in ad.parameters
    assert request_counts(lab).get("Create", 0) == 0


def test_legacy_step_refused_with_its_replacement(lab_factory: Any, lab_target: Any) -> None:
    lab = lab_factory()
    with open_session(lab_target(lab)) as s, pytest.raises(e.Refused) as info:
        s.step("legacy/set-immutableid", params={"UserPrincipalName": "a", "NewUserPrincipalName": "b",
                                                 "ImmutableId": "c"})  # fmt: skip
    assert info.value.exit_code == 2
    assert "MSOnline" in str(info.value) and "graph/set-user" in str(info.value)
    assert request_counts(lab).get("Create", 0) == 0


def test_missing_tenant_identity_is_a_config_error(
    lab_factory: Any, lab_target: Any, monkeypatch: Any
) -> None:
    lab = lab_factory()
    with open_session(lab_target(lab, app_id=None)) as s, pytest.raises(e.ConfigError, match="app_id"):
        s.step("exo/find-mailbox", params={"Identity": "x"})


def test_bad_input_fails_before_anything_is_sent(lab_factory: Any, lab_target: Any) -> None:
    lab = lab_factory()
    with open_session(lab_target(lab)) as s:
        with pytest.raises(e.BadInput):
            s.step("exo/find-mailbox")  # Identity is mandatory
        assert s.retries == {}
    assert request_counts(lab).get("Create", 0) == 0


def test_closed_session_refuses(lab_factory: Any, lab_target: Any) -> None:
    s = open_session(lab_target(lab_factory()))
    s.close()
    with pytest.raises(e.PswrapError, match="closed"):
        s.step("sync/get-settings")


def test_embedded_lab_is_the_default_and_says_so(capsys: Any, tmp_path: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("PSWRAP_LAB_STATE", str(tmp_path / "emb" / "world.json"))
    with open_session() as s:
        assert s.target.is_lab and s.target.port > 0
        assert isinstance(s.step("sync/get-settings"), m.SyncSettings)
        assert s.step("exo/find-mailbox", params={"Identity": "nobody"}).found is False
    err = capsys.readouterr().err
    assert "no target configured; using the embedded lab" in err
    assert (tmp_path / "emb" / "world.json").exists()


def test_password_resolved_once_per_session(lab_factory: Any, lab_target: Any, monkeypatch: Any) -> None:
    """A keyring lookup (or a prompt) happens once per run, not once per pool."""
    import keyring

    from tests.remote.conftest import LAB_PASSWORD

    calls: list[tuple[str, str]] = []

    def get_password(service: str, user: str) -> str:
        calls.append((service, user))
        return LAB_PASSWORD

    monkeypatch.setattr(keyring, "get_password", get_password)
    lab = lab_factory()
    target = lab_target(lab, password_env=None, password_keyring="pswrap-lab-test")
    with open_session(target) as s:
        s.step("sync/get-settings")
        s.step("ad/get-domain")
        s.step("graph/get-sync-features")
    assert calls == [("pswrap-lab-test", "lab-tester")]


def test_each_need_runs_on_its_configured_host(lab_factory: Any, lab_target: Any, monkeypatch: Any) -> None:
    """hosts.exo sends EXO steps elsewhere (nothing listens on 127.0.0.2) while other needs use host."""
    monkeypatch.setenv("PSWRAP_RETRY_ATTEMPTS", "1")
    lab = lab_factory()
    target = lab_target(lab)
    monkeypatch.setenv("PSWRAP_HOSTS_EXO", "127.0.0.2")
    from pswrap.remote.target import load_target

    target = load_target(target.name)
    assert target.hosts["exo"] == "127.0.0.2" and target.hosts["graph"] == lab.endpoint.host
    with open_session(target) as s:
        assert isinstance(s.step("graph/get-sync-features"), m.SyncFeatures)
        with pytest.raises(e.ConnectionFailed, match=r"127\.0\.0\.2"):
            s.step("exo/find-mailbox", params={"Identity": "x"})


def test_secret_arrives_as_a_securestring(
    lab_factory: Any, ad_credential_target: Any, monkeypatch: Any
) -> None:
    """On the wire the AD password is a PSRP SecureString (only possible after the key exchange), never
    a plain string parameter; the lab's decoder is watched to see the type that arrived."""
    from psrpcore.types import PSSecureString

    from pswrap.lab import invoke as lab_invoke

    arrived: list[tuple[str, str]] = []
    decode = lab_invoke.to_python

    def watch(value: Any) -> Any:
        plain = decode(value)
        if plain == "Ad-Secret-1618":
            arrived.append((type(value).__name__, plain))
        return plain

    monkeypatch.setattr(lab_invoke, "to_python", watch)
    target = ad_credential_target(lab_factory(), "Ad-Secret-1618")
    with open_session(target) as s:
        assert s.step("ad/find-user", params={"Value": "nobody"}).found is False
    assert arrived and all(kind == PSSecureString.__name__ for kind, _ in arrived)
