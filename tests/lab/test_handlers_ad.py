"""The ActiveDirectory cmdlets against the lab's domain: the pinned DC, the second-hop credential,
New-ADUser's account-exists error (docs/sources.md §7b item 5), lookups and anchors (§3)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pswrap.lab.dispatch import PSError
from pswrap.lab.world import LAB_DEFAULTS
from tests.lab.world_harness import Harness, harness

DC = LAB_DEFAULTS.domain_controller


@pytest.fixture(params=["direct", "wire"])
def lab(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    yield from harness(request, tmp_path / "world.json")


def test_get_domain_names_the_dc_to_pin_and_upn_suffixes(lab: Harness) -> None:
    """ad/get-domain runs without -Server (Get-ADDomain finds a DC itself; docs/design.md)."""
    domain = lab.run("ad/get-domain", pool="ad")
    assert domain["pdc_emulator"] == DC
    assert domain["upn_suffixes"] == [LAB_DEFAULTS.upn_suffix]
    assert domain["distinguished_name"] == LAB_DEFAULTS.domain_dn


def test_new_user_returns_the_account_with_its_attributes(lab: Harness) -> None:
    guid = str(uuid.uuid4())
    user = lab.new_ad_user("room1", ConsistencyGuid=guid)
    assert user["distinguished_name"] == f"CN=room1,{LAB_DEFAULTS.resource_ou}"
    assert user["proxy_addresses"] == ["SMTP:room1@lab.example"]
    assert user["mail_nickname"] == "room1"
    # mS-DS-ConsistencyGuid is a byte array, emitted base64 in Guid.ToByteArray() order (docs/sources.md §3).
    assert user["consistency_guid"] == base64.b64encode(uuid.UUID(guid).bytes_le).decode()
    stored = lab.world()["ad"]["users"][0]
    assert stored["sam_account_name"] == "room1" and stored["object_guid"] == user["object_guid"]


def test_new_user_when_the_account_exists(lab: Harness) -> None:
    """§7b item 5: "The specified account already exists" (ERROR_USER_EXISTS 1316),
    ADIdentityAlreadyExistsException, FQID ActiveDirectoryServer:1316, raised when the sAMAccountName is
    taken."""
    lab.new_ad_user("room1")
    with pytest.raises(PSError) as caught:
        lab.new_ad_user("room1", Name="Another name")
    error = caught.value
    assert error.message == "The specified account already exists"
    assert error.fqid == "ActiveDirectoryServer:1316,Microsoft.ActiveDirectory.Management.Commands.NewADUser"
    assert error.category == "ResourceExists"
    assert error.exception_type.endswith("ADIdentityAlreadyExistsException")
    assert len(lab.world()["ad"]["users"]) == 1


def test_same_cn_in_the_same_ou_is_a_name_in_use(lab: Harness) -> None:
    """§7b item 5, same CN in the same container: "An attempt was made to add an object to the directory
    with a name that is already in use" (FQID ActiveDirectoryServer:8305, derived)."""
    lab.new_ad_user("room1", Name="Room One")
    with pytest.raises(PSError, match="name that is already in use") as info:
        lab.new_ad_user("room2", Name="Room One")
    assert info.value.terminating and info.value.fqid.startswith("ActiveDirectoryServer:8305")
    assert [u["sam_account_name"] for u in lab.world()["ad"]["users"]] == ["room1"]


def test_sam_account_name_longer_than_20_is_refused(lab: Harness) -> None:
    """sAMAccountName holds at most 20 characters; DERIVED text (Win32 1315), not in docs/sources.md."""
    with pytest.raises(PSError, match="not a properly formed account name") as info:
        lab.new_ad_user("a" * 21)
    assert info.value.terminating
    assert lab.world()["ad"]["users"] == []


def test_server_must_name_a_domain_controller(lab: Harness) -> None:
    """docs/design.md: every AD step but get-domain takes -Server, the pinned DC. An unknown server gives the
    ActiveDirectory module's ADServerDownException text (not in docs/sources.md; verbatim in public
    transcripts)."""
    error = lab.fails("ad/find-user", {"Value": "x", "Server": "dc9.lab.example"}, pool="ad", by="sam")
    assert error.message.startswith(
        "Unable to contact the server. This may be because this server does not exist"
    )
    assert error.exception_type.endswith("ADServerDownException")
    # The host name alone names the DC too.
    assert lab.run("ad/find-user", {"Value": "x", "Server": "dc1"}, pool="ad", by="sam")["found"] is False


def test_credential_must_be_right_when_given(lab: Harness) -> None:
    """An AD credential for the second hop must match the domain's; the AD cmdlets' text for a rejected one
    is "The server has rejected the client credentials." (not in docs/sources.md; ansible/ansible#57404)."""
    with lab.edit() as world:
        world["ad"]["credential"] = {"user": "LAB\\svc-pswrap", "password": "right"}
    params = {"Value": "x", "Server": DC, "CredentialUser": "LAB\\svc-pswrap"}
    error = lab.fails("ad/find-user", {**params, "CredentialPassword": "wrong"}, pool="ad", by="sam")
    assert error.message == "The server has rejected the client credentials."
    assert error.category == "SecurityError"
    other = lab.fails(
        "ad/get-domain", {"CredentialUser": "LAB\\other", "CredentialPassword": "right"}, pool="ad"
    )  # another account with the right password is rejected alike
    assert other.message == "The server has rejected the client credentials."
    assert other.category == "SecurityError"
    assert (
        lab.run("ad/find-user", {**params, "CredentialPassword": "right"}, pool="ad", by="sam")["found"]
        is False
    )
    # No credential given: the session's own identity is used (the delegation the docs describe).
    assert lab.run("ad/find-user", {"Value": "x", "Server": DC}, pool="ad", by="sam")["found"] is False


def test_find_user_by_sam_upn_and_guid(lab: Harness) -> None:
    """Not found is an answer (the template catches ADIdentityNotFoundException, §7b item 6)."""
    user = lab.new_ad_user("room1")
    for by, value in (("sam", "ROOM1"), ("upn", "room1@lab.example"), ("guid", user["object_guid"])):
        found = lab.run("ad/find-user", {"Value": value, "Server": DC}, pool="ad", by=by)
        assert found["found"] is True and found["user"]["object_guid"] == user["object_guid"]
    assert lab.run("ad/find-user", {"Value": "nobody", "Server": DC}, pool="ad", by="sam") == {
        "found": False,
        "user": None,
    }


def test_get_anchor_and_not_found(lab: Harness) -> None:
    """§7b item 6 (verbatim): "Cannot find an object with identity: '<id>' under: '<domain DN>'."."""
    user = lab.new_ad_user("room1")
    anchor = lab.run("ad/get-anchor", {"Identity": user["object_guid"], "Server": DC}, pool="ad")
    assert anchor == {"object_guid": user["object_guid"], "consistency_guid": None}
    missing = str(uuid.uuid4())
    error = lab.fails("ad/get-anchor", {"Identity": missing, "Server": DC}, pool="ad")
    assert (
        error.message
        == f"Cannot find an object with identity: '{missing}' under: '{LAB_DEFAULTS.domain_dn}'."
    )
    assert error.category == "ObjectNotFound"


def test_move_user_changes_its_container(lab: Harness) -> None:
    user = lab.new_ad_user("room1", ou=LAB_DEFAULTS.staging_ou)
    moved = lab.run(
        "ad/move-user",
        {"Identity": user["object_guid"], "TargetPath": LAB_DEFAULTS.resource_ou, "Server": DC},
        pool="ad",
    )
    assert moved["distinguished_name"] == f"CN=room1,{LAB_DEFAULTS.resource_ou}"
    assert moved["object_guid"] == user["object_guid"]


def test_path_must_name_an_existing_container(lab: Harness) -> None:
    """A -Path or -TargetPath naming no OU: "Directory object not found" with ADIdentityNotFoundException
    (verbatim for the AD module in dsccommunity/ActiveDirectoryDsc#298; for New-ADUser DERIVED, not in
    docs/sources.md). CN=Users and the domain root exist."""
    missing = "OU=Nowhere,DC=lab,DC=example"
    with pytest.raises(PSError) as caught:
        lab.new_ad_user("room1", ou=missing)
    assert caught.value.message == "Directory object not found"
    assert caught.value.fqid.endswith(
        "ADIdentityNotFoundException,Microsoft.ActiveDirectory.Management.Commands.NewADUser"
    )
    assert lab.new_ad_user("room2", ou=f"CN=Users,{LAB_DEFAULTS.domain_dn}")["distinguished_name"].startswith(
        "CN=room2"
    )
    user = lab.new_ad_user("room3")
    error = lab.fails(
        "ad/move-user", {"Identity": user["object_guid"], "TargetPath": missing, "Server": DC}, pool="ad"
    )
    assert error.message == "Directory object not found"
