"""Real error texts (issue #12 section 4): what the lab says is what the services print, and the
classifier understands it (each source is cited beside the lab's rule)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pswrap import errors as e
from pswrap.lab.handlers import records
from pswrap.lab.psrp_host import error_record
from pswrap.lab.world import LAB_DEFAULTS
from pswrap.remote.classify import RemoteRecord, classify_record, mastered_hint
from tests.lab.world_harness import Harness, harness


@pytest.fixture(params=["direct", "wire"])
def lab(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    yield from harness(request, tmp_path / "world.json")


def _classified(error: Any, need: str) -> e.RemoteError:
    record = RemoteRecord(error.message, error.fqid, error.category)
    return classify_record(record, step_id="x", target="lab", need=need)


def test_category_info_names_the_targets_type() -> None:
    """§7b item 6: `ObjectNotFound: (jdoe:ADUser) [Get-ADUser], ADIdentityNotFoundException`; item 12:
    `WriteError: (...:StartADSyncSyncCycle) [Start-ADSyncSyncCycle], InvalidOperationException`."""
    not_found = error_record(records.ad_identity_not_found("Get-ADUser", "jdoe", "DC=contoso,DC=com"))
    assert (
        str(not_found.CategoryInfo)
        == "ObjectNotFound: (jdoe:ADUser) [Get-ADUser], ADIdentityNotFoundException"
    )
    busy = error_record(records.aad_busy("t.onmicrosoft.com"))
    cmdlet = "Microsoft.IdentityManagement.PowerShell.Cmdlet.StartADSyncSyncCycle"
    assert str(busy.CategoryInfo).startswith(f"WriteError: ({cmdlet}:StartADSyncSyncCycle)")
    assert (
        str(error_record(records.pipeline_stopped()).CategoryInfo)
        == "OperationStopped: (:) [], PipelineStoppedException"
    )


def _exo_connect() -> dict[str, str]:
    return {
        "AppId": LAB_DEFAULTS.app_id,
        "Organization": LAB_DEFAULTS.tenant_domain,
        "CertificateThumbprint": LAB_DEFAULTS.certificate_thumbprint,
    }


def test_exo_app_without_a_supported_role(lab: Harness) -> None:
    with lab.edit() as world:
        world["cloud"]["tenant"]["app_exchange_role"] = False
    error = lab.fails("exo/connect", _exo_connect(), pool="e")
    assert error.message == (
        f"The role assigned to application {LAB_DEFAULTS.app_id} isn't supported in this scenario. Please "
        "check online documentation for assigning correct Directory Roles to Azure AD Application for EXO "
        "App-Only Authentication."
    )
    assert error.category == "OperationStopped" and error.fqid == error.message
    assert isinstance(_classified(error, "exo"), e.AccessDenied)


def test_exo_app_without_exchange_permission(lab: Harness) -> None:
    with lab.edit() as world:
        world["cloud"]["tenant"]["app_exchange_permission"] = False
    error = lab.fails("exo/connect", _exo_connect(), pool="e")
    assert error.message == "UnAuthorized"
    classified = _classified(error, "exo")
    assert (
        isinstance(classified, e.AccessDenied)
        and classified.hint
        and "Exchange.ManageAsApp" in classified.hint
    )


def test_exo_sign_in_failure_is_the_msal_message(lab: Harness) -> None:
    error = lab.fails(
        "exo/connect", {**_exo_connect(), "AppId": "11111111-2222-3333-4444-555555555555"}, pool="e"
    )
    assert error.message.startswith("AADSTS700016: Application with identifier '11111111-2222-3333-4444-")
    assert error.category == "OperationStopped"
    assert error.exception_type == "Microsoft.Identity.Client.MsalServiceException"


def test_graph_external_service_wording_and_the_hint_by_sync_state(lab: Harness) -> None:
    lab.connect_exo()
    lab.connect_graph()
    user_id = lab.new_mailbox("conv1")["external_directory_object_id"]
    with lab.edit() as world:
        world["cloud"]["users"][0]["converted_from_sync"] = True
    error = lab.fails(
        "graph/set-user", {"UserId": user_id, "UserPrincipalName": "x@lab.example"}, pool="graph"
    )
    assert error.message.startswith(
        "Unable to update the specified properties for objects that have originated within an external "
        "service.\r\nStatus: 400 (BadRequest)\r\nErrorCode: Request_BadRequest"
    )
    assert isinstance(_classified(error, "graph"), e.MasteredElsewhere)
    assert "Exchange Online" in mastered_hint(None) and "AD account" in mastered_hint(True)


def test_ad_names_equal_without_case_and_diacritics(lab: Harness) -> None:
    """Microsoft KB 938447: "a user who is named Muller cannot be created if a user who is named Müller
    already exists" (and Meissner / Meißner); ad/find-name finds the holder, New-ADUser refuses (8305)."""
    lab.new_ad_user("mm1", Name="Meißner Müller")
    where = {"Path": LAB_DEFAULTS.resource_ou, "Server": LAB_DEFAULTS.domain_controller}
    found = lab.run("ad/find-name", {"Value": "MEISSNER MULLER", **where}, pool="ad")
    assert [o["distinguished_name"] for o in found["objects"]] == [f"CN=Meißner Müller,{where['Path']}"]
    assert lab.run("ad/find-name", {"Value": "Meissner Mullers", **where}, pool="ad") == {"objects": []}
    error = lab.fails("ad/new-user", {**_user_params("mm2"), "Name": "meissner muller"}, pool="ad")
    assert "name that is already in use" in error.message and "8305" in error.fqid


def _user_params(sam: str) -> dict[str, Any]:
    return {
        "Path": LAB_DEFAULTS.resource_ou,
        "SamAccountName": sam,
        "UserPrincipalName": f"{sam}@lab.example",
        "DisplayName": sam,
        "EmailAddress": f"{sam}@lab.example",
        "ProxyAddresses": [f"SMTP:{sam}@lab.example"],
        "MailNickname": sam,
        "Server": LAB_DEFAULTS.domain_controller,
    }
