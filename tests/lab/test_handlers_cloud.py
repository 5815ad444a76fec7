"""Exchange Online and Graph handlers: New-Mailbox creates the mailbox and its cloud user (docs/sources.md
§4),
the proxy-address conflict (§7b item 8), Update-MgUser's refusals (§7b items 10, 11), lookups."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pswrap.errors import BadInput
from pswrap.lab.dispatch import PSError
from pswrap.lab.world import LAB_DEFAULTS
from tests.lab.world_harness import Harness, WireHarness, harness

TENANT = LAB_DEFAULTS.tenant_domain


@pytest.fixture(params=["direct", "wire"])
def lab(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    for lab in harness(request, tmp_path / "world.json"):
        lab.connect_exo()
        lab.connect_graph()
        yield lab


@pytest.mark.parametrize(
    ("kind", "details"),
    [("room", "RoomMailbox"), ("equipment", "EquipmentMailbox"), ("shared", "SharedMailbox")],
)
def test_new_mailbox_creates_mailbox_and_cloud_user(lab: Harness, kind: str, details: str) -> None:
    """§4: New-Mailbox -Room|-Equipment|-Shared; in EXO the account's UPN is derived by the service, on the
    tenant's onmicrosoft.com domain; the mailbox carries the cloud user's id."""
    mailbox = lab.new_mailbox("conf1", kind)
    assert mailbox["recipient_type_details"] == details
    assert mailbox["primary_smtp_address"] == "conf1@lab.example"
    assert mailbox["user_principal_name"] == f"conf1@{TENANT}"
    assert mailbox["email_addresses"] == ["SMTP:conf1@lab.example", f"smtp:conf1@{TENANT}"]
    assert mailbox["is_dir_synced"] is False
    user = lab.run("graph/get-user", {"UserId": f"conf1@{TENANT}"}, pool="graph")["user"]
    assert user["id"] == mailbox["external_directory_object_id"]
    assert user["on_premises_immutable_id"] is None and user["on_premises_sync_enabled"] is None


def test_resource_capacity_only_for_rooms(lab: Harness) -> None:
    """§4: -ResourceCapacity is only in the Room parameter set: the lab refuses it as PowerShell's parameter
    binding would; through pswrap, its template refuses to render the script at all."""
    assert lab.new_mailbox("conf1", "room", ResourceCapacity=8)["resource_capacity"] == 8
    wire = isinstance(lab, WireHarness)
    refusal = "rooms only" if wire else "Parameter set cannot be resolved"
    with pytest.raises(BadInput if wire else PSError, match=refusal):
        lab.new_mailbox("eq1", "equipment", ResourceCapacity=8)
    assert [m["alias"] for m in lab.world()["exo"]["mailboxes"]] == ["conf1"]


def test_proxy_address_in_use(lab: Harness) -> None:
    """§7b item 8: the EXO V3 exception string `ExB10BE9|...WLCDManagedMemberExistsException|The proxy
    address "SMTP:<addr>" is already being used by the proxy addresses or LegacyExchangeDN. Please choose
    another proxy address.`"""
    lab.new_mailbox("conf1")
    error = lab.fails(
        "exo/new-mailbox",
        {"Name": "conf2", "Alias": "conf2", "DisplayName": "x", "PrimarySmtpAddress": "conf1@lab.example"},
        pool="exo",
        type="room",
    )
    assert error.message == (
        "ExB10BE9|Microsoft.Exchange.Management.Tasks.WLCDManagedMemberExistsException|The proxy address "
        '"SMTP:conf1@lab.example" is already being used by the proxy addresses or LegacyExchangeDN. '
        "Please choose another proxy address."
    )
    assert error.fqid.endswith(",Write-ErrorMessage")
    assert len(lab.world()["exo"]["mailboxes"]) == 1


def test_new_mailbox_name_must_be_unique(lab: Harness) -> None:
    """§4: New-Mailbox -Name is unique. docs/sources.md has no text; CLOSEST: "The name is already being used.
    Please try another name." (quoted by the CIAOPS find-name-conflict wiki) with the name in quotes, in the
    V3 `Ex<hex>|ADObjectAlreadyExistsException|<text>` form (§7b item 9). A duplicate alias meets §7b item 8:
    the service stamps <alias>@<tenant>.onmicrosoft.com, already another recipient's address."""
    lab.new_mailbox("conf1")
    error = lab.fails(
        "exo/new-mailbox",
        {"Name": "CONF1", "Alias": "conf9", "DisplayName": "x", "PrimarySmtpAddress": "conf9@lab.example"},
        pool="exo",
        type="room",
    )
    assert error.message.endswith(
        '|Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException|The name "CONF1" is already being '
        "used. Please try another name."
    )
    assert error.fqid.endswith(",Write-ErrorMessage")
    alias = lab.fails(
        "exo/new-mailbox",
        {"Name": "conf2", "Alias": "conf1", "DisplayName": "x", "PrimarySmtpAddress": "conf2@lab.example"},
        pool="exo",
        type="room",
    )
    assert f'The proxy address "SMTP:conf1@{TENANT}" is already being used' in alias.message
    assert [m["name"] for m in lab.world()["exo"]["mailboxes"]] == ["conf1"]
    assert len(lab.world()["cloud"]["users"]) == 1


def test_find_mailbox_and_recipients(lab: Harness) -> None:
    """Find steps: not found is `found: false` (the template catches ManagementObjectNotFoundException,
    §7b item 9); Get-Recipient lists every holder of the alias or an address."""
    mailbox = lab.new_mailbox("conf1")
    for identity in (
        "conf1",
        "CONF1@lab.example",
        f"smtp:conf1@{TENANT}",
        mailbox["external_directory_object_id"],
    ):
        found = lab.run("exo/find-mailbox", {"Identity": identity}, pool="exo")
        assert found == {"found": True, "mailbox": mailbox}, identity
    assert lab.run("exo/find-mailbox", {"Identity": "nobody"}, pool="exo") == {
        "found": False,
        "mailbox": None,
    }
    recipients = lab.run(
        "exo/find-recipients", {"Addresses": ["conf1@lab.example", "other@lab.example"]}, pool="exo"
    )["recipients"]
    assert [r["alias"] for r in recipients] == ["conf1"]
    assert lab.run("exo/find-recipients", {"Alias": "conf1"}, pool="exo")["recipients"][0][
        "recipient_type_details"
    ] == ("RoomMailbox")
    assert lab.run("exo/find-recipients", {"Alias": "zzz", "Addresses": []}, pool="exo") == {"recipients": []}


def test_set_user_links_a_cloud_user(lab: Harness) -> None:
    """§1.5: Update-MgUser -OnPremisesImmutableId -UserPrincipalName on a cloud-managed user."""
    mailbox = lab.new_mailbox("conf1")
    user = lab.run(
        "graph/set-user",
        {
            "UserId": mailbox["external_directory_object_id"],
            "OnPremisesImmutableId": "AAAAAAAAAAAAAAAAAAAAAA==",
            "UserPrincipalName": "conf1@lab.example",
        },
        pool="graph",
    )
    assert user["on_premises_immutable_id"] == "AAAAAAAAAAAAAAAAAAAAAA=="
    assert user["user_principal_name"] == "conf1@lab.example"
    found = lab.run("graph/find-users", {"Value": "AAAAAAAAAAAAAAAAAAAAAA=="}, pool="graph", by="immutableid")
    assert [u["id"] for u in found["users"]] == [user["id"]]
    by_address = lab.run(
        "graph/find-users", {"Value": "smtp:conf1@lab.example"}, pool="graph", by="proxy-address"
    )
    assert [u["id"] for u in by_address["users"]] == [user["id"]]
    assert lab.run("exo/find-mailbox", {"Identity": "conf1"}, pool="exo")["mailbox"][
        "user_principal_name"
    ] == ("conf1@lab.example")


def test_immutable_id_is_unique_in_the_tenant(lab: Harness) -> None:
    """§7b item 10: "Another object with the same value for property onPremisesImmutableId already
    exists." (ADSyncTools guide text; envelope Request_BadRequest closest)."""
    first = lab.new_mailbox("conf1")["external_directory_object_id"]
    second = lab.new_mailbox("conf2")["external_directory_object_id"]
    lab.run(
        "graph/set-user", {"UserId": first, "OnPremisesImmutableId": "AQIDBAUGBwgJCgsMDQ4PEA=="}, pool="graph"
    )
    error = lab.fails(
        "graph/set-user",
        {"UserId": second, "OnPremisesImmutableId": "AQIDBAUGBwgJCgsMDQ4PEA=="},
        pool="graph",
    )
    assert error.message.startswith(
        "Another object with the same value for property onPremisesImmutableId already exists.\r\n"
        "Status: 400 (BadRequest)\r\nErrorCode: Request_BadRequest\r\n"
    )
    assert error.fqid == "Request_BadRequest,Microsoft.Graph.PowerShell.Cmdlets.UpdateMgUser_UpdateExpanded"


def test_synced_users_are_read_only_to_graph(lab: Harness) -> None:
    """§7b item 10 (verbatim): "Unable to update the specified properties for on-premises mastered Directory
    Sync objects or objects currently undergoing migration." (HTTP 400, Request_BadRequest)."""
    user_id = lab.new_mailbox("conf1")["external_directory_object_id"]
    with lab.edit() as world:
        world["cloud"]["users"][0]["on_premises_sync_enabled"] = True
    error = lab.fails(
        "graph/set-user", {"UserId": user_id, "UserPrincipalName": "x@lab.example"}, pool="graph"
    )
    assert error.message.startswith(
        "Unable to update the specified properties for on-premises mastered Directory Sync objects or "
        "objects currently undergoing migration.\r\nStatus: 400 (BadRequest)\r\nErrorCode: Request_BadRequest"
    )


def test_get_and_set_unknown_user(lab: Harness) -> None:
    """§7b item 11 (verbatim): "Resource '<id>' does not exist or one of its queried reference-property
    objects are not present." (404, Request_ResourceNotFound); get-user answers `found: false`."""
    assert lab.run("graph/get-user", {"UserId": "ghost@lab.example"}, pool="graph") == {
        "found": False,
        "user": None,
    }
    error = lab.fails(
        "graph/set-user", {"UserId": "ghost@lab.example", "UserPrincipalName": "a@lab.example"}, pool="graph"
    )
    assert error.message.startswith(
        "Resource 'ghost@lab.example' does not exist or one of its queried reference-property objects are "
        "not present.\r\nStatus: 404 (NotFound)\r\nErrorCode: Request_ResourceNotFound"
    )
    # The template reads the user first (Get-MgUser), so the 404 is Get-MgUser's.
    assert error.fqid == "Request_ResourceNotFound,Microsoft.Graph.PowerShell.Cmdlets.GetMgUser_Get"


def test_get_users_answers_the_users_with_those_ids_and_omits_unknown_ids(lab: Harness) -> None:
    """Get-MgUser -Filter "id in (...)": a filter, so an id nobody has is simply not in the answer."""
    first = lab.new_mailbox("room1")["external_directory_object_id"]
    second = lab.new_mailbox("room2")["external_directory_object_id"]
    lab.new_mailbox("room3")
    ghost = "00000000-0000-0000-0000-000000000001"
    found = lab.run("graph/get-users", {"UserId": [second, ghost, first]}, pool="graph")["users"]
    assert sorted(u["id"] for u in found) == sorted([first, second])
    assert {u["user_principal_name"].split("@")[0] for u in found} == {"room1", "room2"}
    assert all(u["account_enabled"] is True for u in found)  # New-Mailbox -Room: enabled in the cloud


def test_sync_features_follow_the_tenant(lab: Harness) -> None:
    """§3: BlockSoftMatch and BlockCloudObjectTakeoverThroughHardMatch, off in a fresh world."""
    assert lab.run("graph/get-sync-features", pool="graph") == {
        "block_soft_match": False,
        "block_hard_match_takeover": False,
    }
    with lab.edit() as world:
        world["cloud"]["features"]["block_hard_match_takeover"] = True
    assert lab.run("graph/get-sync-features", pool="graph")["block_hard_match_takeover"] is True


def test_new_remote_mailbox_creates_the_ad_account(lab: Harness) -> None:
    """§5: New-RemoteMailbox -Room creates the AD mail user with its remote routing address
    (<alias>@<tenant>.mail.onmicrosoft.com); the cloud mailbox comes with sync (test_world_sync)."""
    lab.run("hybrid/connect", pool="hybrid")
    remote = lab.run(
        "hybrid/new-remote-mailbox",
        lab.remote_mailbox_params("conf9"),
        pool="hybrid",
        type="equipment",
    )
    assert remote["recipient_type_details"] == "RemoteEquipmentMailbox"
    assert remote["remote_routing_address"] == f"conf9@{LAB_DEFAULTS.remote_routing_domain}"
    assert remote["distinguished_name"] == f"CN=Conf 9,{LAB_DEFAULTS.resource_ou}"
    found = lab.run("hybrid/find-remote-mailbox", {"Identity": "conf9@lab.example"}, pool="hybrid")
    assert found == {"found": True, "remote_mailbox": remote}
    assert lab.run("hybrid/find-remote-mailbox", {"Identity": "nobody"}, pool="hybrid")["found"] is False
    user = lab.world()["ad"]["users"][0]
    assert user["mail_nickname"] == "conf9"
    assert user["proxy_addresses"] == [
        "SMTP:conf9@lab.example",
        f"smtp:conf9@{LAB_DEFAULTS.remote_routing_domain}",
    ]
    with pytest.raises(
        Exception, match="is already being used by the proxy addresses or LegacyExchangeDN of"
    ):
        lab.run(
            "hybrid/new-remote-mailbox",
            lab.remote_mailbox_params("conf10", PrimarySmtpAddress="conf9@lab.example"),
            pool="hybrid",
            type="room",
        )


def test_new_remote_mailbox_in_a_missing_ou(lab: Harness) -> None:
    """§7b item 9, the on-premises form: "The operation couldn't be performed because object '<id>'
    couldn't be found on '<DC>'." (dpaulson45/HealthChecker#213)."""
    lab.run("hybrid/connect", pool="hybrid")
    error = lab.fails(
        "hybrid/new-remote-mailbox",
        lab.remote_mailbox_params("conf9", OnPremisesOrganizationalUnit="OU=Gone,DC=lab,DC=example"),
        pool="hybrid",
        type="room",
    )
    assert error.message == (
        "The operation couldn't be performed because object 'OU=Gone,DC=lab,DC=example' couldn't be found on "
        f"'{LAB_DEFAULTS.domain_controller}'."
    )
    assert lab.world()["ad"]["users"] == []


def test_upn_must_be_on_a_verified_domain(lab: Harness) -> None:
    """Not in docs/sources.md (Graph's widely quoted Request_BadRequest text): a UPN on a domain the tenant
    has not
    verified is refused; the fresh tenant verifies its onmicrosoft.com domain and the UPN suffix."""
    user_id = lab.new_mailbox("conf1")["external_directory_object_id"]
    error = lab.fails(
        "graph/set-user", {"UserId": user_id, "UserPrincipalName": "conf1@contoso.com"}, pool="graph"
    )
    assert error.message.startswith(
        "The domain portion of the userPrincipalName property is invalid. You must use one of the verified "
        "domain names in your organization.\r\nStatus: 400 (BadRequest)"
    )
    assert (
        lab.run(
            "graph/set-user", {"UserId": user_id, "UserPrincipalName": "conf1@lab.example"}, pool="graph"
        )["user_principal_name"]
        == "conf1@lab.example"
    )
