"""Session rules per runspace pool, the connect steps and the legacy refusals (domain.md §7b items 1-4, 14;
§0-§1 for the retired services). Each test names the documented behaviour and uses its text."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from pswrap.lab.world import LAB_DEFAULTS, iso
from pswrap.steps import all_steps
from tests.lab.world_harness import Harness

NOT_RECOGNIZED = (
    "The term '{}' is not recognized as the name of a cmdlet, function, script file, or operable "
    "program. Check the spelling of the name, or if a path was included, verify that the path is correct "
    "and try again."
)


@pytest.fixture
def lab(tmp_path: Path) -> Harness:
    return Harness(tmp_path / "world.json")


def test_exo_cmdlet_before_connect_is_command_not_found(lab: Harness) -> None:
    """§7b item 2: V3 cmdlets do not exist before Connect-ExchangeOnline; the error is exactly item 1's."""
    error = lab.fails(
        "exo/new-mailbox",
        {"Name": "r", "Alias": "r", "DisplayName": "r", "PrimarySmtpAddress": "r@lab.example"},
        pool="exo",
        type="room",
    )
    assert error.message == NOT_RECOGNIZED.format("New-Mailbox")
    assert error.fqid == "CommandNotFoundException"
    assert error.category == "ObjectNotFound"
    assert error.exception_type == "System.Management.Automation.CommandNotFoundException"
    recipients = lab.fails("exo/find-recipients", {"Alias": "r"}, pool="exo")
    assert recipients.message == NOT_RECOGNIZED.format("Get-Recipient")


def test_get_exomailbox_before_connect_asks_for_the_connection(lab: Harness) -> None:
    """§7b item 2, CLOSEST only: Get-EXOMailbox is exported by the module itself; community notes quote "You
    must call the Connect-ExchangeOnline cmdlet before calling any other cmdlets." (no primary transcript)."""
    error = lab.fails("exo/find-mailbox", {"Identity": "r"}, pool="exo")
    assert (
        error.message == "You must call the Connect-ExchangeOnline cmdlet before calling any other cmdlets."
    )
    assert error.activity == "Get-EXOMailbox"


def test_graph_cmdlet_before_connect_needs_authentication(lab: Harness) -> None:
    """§7b item 3 (verbatim, msgraph-sdk-powershell ErrorConstants.cs): "Authentication needed. Please call
    Connect-MgGraph." with the derived 5.1 record (FQID = the cmdlet's type name)."""
    error = lab.fails("graph/get-user", {"UserId": "x@lab.example"}, pool="graph")
    assert error.message == "Authentication needed. Please call Connect-MgGraph."
    assert error.fqid == "Microsoft.Graph.PowerShell.Cmdlets.GetMgUser_Get"
    assert error.exception_type.endswith("AuthenticationException")
    assert error.activity == "Get-MgUser_Get"
    assert lab.fails("graph/set-user", {"UserId": "x"}, pool="graph").fqid.endswith(
        "UpdateMgUser_UpdateExpanded"
    )


def test_hybrid_cmdlet_before_snapin_is_command_not_found(lab: Harness) -> None:
    """§7b item 1: without the RecipientManagement snap-in, New-RemoteMailbox is an unknown command."""
    error = lab.fails("hybrid/find-remote-mailbox", {"Identity": "x"}, pool="hybrid")
    assert error.message == NOT_RECOGNIZED.format("Get-RemoteMailbox")


def test_connect_is_a_no_op_when_connected_and_sessions_are_per_pool(lab: Harness) -> None:
    """DESIGN.md: connect steps do nothing when already connected; a real runspace keeps its connections,
    another pool has its own."""
    first = lab.connect_exo(pool="exo")
    assert first == {"connected": True, "already_connected": False, "detail": LAB_DEFAULTS.tenant_domain}
    again = lab.connect_exo(pool="exo")
    assert again["already_connected"] is True
    # Another organization is a new connection (the template compares Get-ConnectionInformation's).
    other_org = lab.run(
        "exo/connect",
        {
            "AppId": LAB_DEFAULTS.app_id,
            "Organization": "other.onmicrosoft.com",
            "CertificateThumbprint": LAB_DEFAULTS.certificate_thumbprint,
        },
        pool="exo",
    )
    assert other_org == {"connected": True, "already_connected": False, "detail": "other.onmicrosoft.com"}
    assert lab.run("exo/find-mailbox", {"Identity": "nobody"}, pool="exo") == {
        "found": False,
        "mailbox": None,
    }
    other = lab.fails("exo/find-recipients", {"Alias": "nobody"}, pool="other")
    assert other.fqid == "CommandNotFoundException"
    graph = lab.connect_graph(pool="graph")
    assert graph["detail"] == LAB_DEFAULTS.tenant_id
    assert lab.connect_graph(pool="graph")["already_connected"] is True
    assert lab.run("hybrid/connect", pool="hybrid")["detail"] == (
        "Microsoft.Exchange.Management.PowerShell.RecipientManagement"
    )
    assert lab.run("hybrid/connect", pool="hybrid")["already_connected"] is True


def test_graph_connect_after_exo_in_one_pool_fails_as_reported(lab: Harness) -> None:
    """§7b item 4: Connect-MgGraph after Connect-ExchangeOnline in one WinPS 5.1 process (the MSAL clash of
    msgraph-sdk-powershell#3394; 5.1 text from #2227)."""
    lab.connect_exo(pool="shared")
    error = lab.fails(
        "graph/connect",
        {
            "ClientId": LAB_DEFAULTS.app_id,
            "TenantId": LAB_DEFAULTS.tenant_id,
            "CertificateThumbprint": LAB_DEFAULTS.certificate_thumbprint,
        },
        pool="shared",
    )
    assert error.message == (
        "ClientCertificateCredential authentication failed: Method not found: '!0 Microsoft.Identity.Client."
        "AbstractAcquireTokenParameterBuilder`1.WithTenantIdFromAuthority(System.Uri)'."
    )
    assert error.fqid == "Microsoft.Graph.PowerShell.Authentication.Cmdlets.ConnectMgGraph"
    # The graph pool stays unconnected: a Graph step still asks for authentication.
    assert "Authentication needed" in lab.fails("graph/get-user", {"UserId": "x"}, pool="shared").message


def test_exo_connect_after_graph_in_one_pool_fails_as_reported(lab: Harness) -> None:
    """§7b item 4, reverse order (SamErde/DLLPickle#156, WinPS 5.1): MissingMethodException WithBroker."""
    lab.connect_graph(pool="shared")
    error = lab.fails(
        "exo/connect",
        {
            "AppId": LAB_DEFAULTS.app_id,
            "Organization": LAB_DEFAULTS.tenant_domain,
            "CertificateThumbprint": LAB_DEFAULTS.certificate_thumbprint,
        },
        pool="shared",
    )
    assert error.message.startswith(
        "Method not found: 'Microsoft.Identity.Client.PublicClientApplicationBuilder"
    )
    assert error.exception_type == "System.MissingMethodException"


@pytest.mark.parametrize("step_id", ["exo/connect", "graph/connect"])
def test_connect_with_missing_malformed_or_expired_certificate(lab: Harness, step_id: str) -> None:
    """The connect templates read the certificate with Get-Item Cert:\\LocalMachine\\My\\<thumbprint>
    (DESIGN.md), so a missing one is Get-Item's "Cannot find path '<path>' because it does not exist."
    (PathNotFound); a malformed thumbprint is the template's own refusal; an expired one gets §7b item 14
    (Graph 2.x, ErrorConstants.cs CertificateNotFound, "unexpired certs only"; the closest text for EXO, whose
    own is not documented): "Certificate with thumbprint '<t>' was not found in certificate store or has
    expired."."""
    unknown = "00" * 20
    error = lab.fails(step_id, _connect_params(step_id, unknown), pool="p1")
    assert (
        error.message == f"Cannot find path 'Cert:\\LocalMachine\\My\\{unknown}' because it does not exist."
    )
    assert error.fqid == "PathNotFound,Microsoft.PowerShell.Commands.GetItemCommand"
    malformed = lab.fails(step_id, _connect_params(step_id, "not-a-thumbprint"), pool="p1")
    assert malformed.message.startswith("CertificateThumbprint must be the 40 hexadecimal digits")
    with lab.edit() as world:
        world["certs"]["local_machine_my"][0]["not_after"] = iso(
            datetime.now(timezone.utc) - timedelta(days=1)
        )
    thumb = LAB_DEFAULTS.certificate_thumbprint
    error = lab.fails(step_id, _connect_params(step_id, thumb), pool="p2")
    assert (
        error.message
        == f"Certificate with thumbprint '{thumb}' was not found in certificate store or has expired."
    )


def test_connect_without_private_key(lab: Harness) -> None:
    """§7b item 14: no usable private key. Graph (verbatim, msgraph-sdk-powershell#2503): "ClientCertificate
    Credential authentication failed: Keyset does not exist"; EXO (closest: Connect-IPPSSession of the same
    module, office-docs-powershell#10728): "Error Acquiring Token:" + CryptographicException."""
    with lab.edit() as world:
        world["certs"]["local_machine_my"][0]["has_private_key"] = False
    thumb = LAB_DEFAULTS.certificate_thumbprint
    graph = lab.fails("graph/connect", _connect_params("graph/connect", thumb), pool="g")
    assert graph.message == "ClientCertificateCredential authentication failed: Keyset does not exist"
    exo = lab.fails("exo/connect", _connect_params("exo/connect", thumb), pool="e")
    assert exo.message == (
        "Error Acquiring Token:\r\nSystem.Security.Cryptography.CryptographicException: Keyset does not exist"
    )
    # A key the remoting account may not open (the doctor's `private_key_usable` fact) fails the same way.
    with lab.edit() as world:
        world["certs"]["local_machine_my"][0].update(has_private_key=True, private_key_usable=False)
    assert (
        "Keyset does not exist" in lab.fails("graph/connect", _connect_params("graph/connect", thumb)).message
    )


def _connect_params(step_id: str, thumbprint: str) -> dict[str, str]:
    if step_id == "exo/connect":
        return {
            "AppId": LAB_DEFAULTS.app_id,
            "Organization": LAB_DEFAULTS.tenant_domain,
            "CertificateThumbprint": thumbprint,
        }
    return {
        "ClientId": LAB_DEFAULTS.app_id,
        "TenantId": LAB_DEFAULTS.tenant_id,
        "CertificateThumbprint": thumbprint,
    }


LEGACY_TEXTS = {
    # §0/§1.2: DirSync's service does not exist on an Entra Connect server (Service cmdlets' record).
    "legacy/stop-dirsync": "Cannot find any service with service name 'MSOnlineSyncScheduler'.",
    "legacy/start-dirsync": "Cannot find any service with service name 'MSOnlineSyncScheduler'.",
    # §1.2 + §7b item 1 (module form, verbatim shape): Import-Module DirSync.
    "legacy/start-sync": "The specified module 'DirSync' was not loaded because no valid module file was "
    "found in any module directory.",
    # §1.1 MSOnline retired + §7b item 1: its cmdlets are not there.
    "legacy/connect-msol": NOT_RECOGNIZED.format("Connect-MsolService"),
    "legacy/set-immutableid": NOT_RECOGNIZED.format("Set-MsolUserPrincipalName"),
    # §7b item 2: New-Mailbox without an Exchange Online session.
    "legacy/new-mailbox": NOT_RECOGNIZED.format("New-Mailbox"),
}


def test_every_legacy_step_is_refused_and_never_changes_the_world(lab: Harness) -> None:
    """DESIGN.md profiles: the legacy profile renders but never runs; each step gets its retired service's
    error (texts above; connect-exo: closest, Basic-auth remoting's access denied, §1.4)."""
    before = lab.world()
    legacy = [s.id for s in all_steps() if s.is_legacy]
    assert legacy
    for step_id in legacy:
        error = lab.fails(step_id, {})
        if step_id in LEGACY_TEXTS:
            assert error.message == LEGACY_TEXTS[step_id], step_id
    assert "Access is denied" in lab.fails("legacy/connect-exo").message
    assert "legacy profile" in lab.fails("legacy/new-aduser").message
    after = lab.world()
    assert after["ad"] == before["ad"] and after["cloud"] == before["cloud"]
