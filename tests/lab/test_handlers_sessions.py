"""Session rules per runspace pool, the connect steps and the legacy refusals (docs/sources.md §7b items
1-4, 14;
§0-§1 for the retired services). Each test names the documented behaviour and uses its text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from pswrap.lab.world import LAB_DEFAULTS, fresh_world, iso
from pswrap.steps import all_steps, get
from tests.lab.world_harness import Harness, harness

NOT_RECOGNIZED = (
    "The term '{}' is not recognized as the name of a cmdlet, function, script file, or operable "
    "program. Check the spelling of the name, or if a path was included, verify that the path is correct "
    "and try again."
)


@pytest.fixture(params=["direct", "wire"])
def lab(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    yield from harness(request, tmp_path / "world.json")


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
    assert lab.fails(
        "graph/set-user", {"UserId": "x", "UserPrincipalName": "x@lab.example"}, pool="graph"
    ).fqid.endswith("UpdateMgUser_UpdateExpanded")


def test_hybrid_cmdlet_before_snapin_is_command_not_found(lab: Harness) -> None:
    """§7b item 1: without the RecipientManagement snap-in, New-RemoteMailbox is an unknown command."""
    error = lab.fails("hybrid/find-remote-mailbox", {"Identity": "x"}, pool="hybrid")
    assert error.message == NOT_RECOGNIZED.format("Get-RemoteMailbox")


def test_connect_is_a_no_op_when_connected_and_sessions_are_per_pool(lab: Harness) -> None:
    """docs/design.md: connect steps do nothing when already connected; a real runspace keeps its connections,
    another pool has its own."""
    first = lab.connect_exo(pool="exo")
    assert first == {"connected": True, "already_connected": False, "detail": LAB_DEFAULTS.tenant_domain}
    again = lab.connect_exo(pool="exo")
    assert again["already_connected"] is True
    # Another organization name is a new connection (the template compares Get-ConnectionInformation's):
    # here the tenant's other verified domain.
    other_org = lab.run(
        "exo/connect",
        {
            "AppId": LAB_DEFAULTS.app_id,
            "Organization": LAB_DEFAULTS.upn_suffix,
            "CertificateThumbprint": LAB_DEFAULTS.certificate_thumbprint,
        },
        pool="exo",
    )
    assert other_org == {"connected": True, "already_connected": False, "detail": LAB_DEFAULTS.upn_suffix}
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
    (docs/design.md), so a missing one is Get-Item's "Cannot find path '<path>' because it does not exist."
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
    Credential authentication failed: Keyset does not exist"; EXO: the CryptographicException's message as
    the module rethrows it."""
    with lab.edit() as world:
        world["certs"]["local_machine_my"][0]["has_private_key"] = False
    thumb = LAB_DEFAULTS.certificate_thumbprint
    graph = lab.fails("graph/connect", _connect_params("graph/connect", thumb), pool="g")
    assert graph.message == "ClientCertificateCredential authentication failed: Keyset does not exist"
    exo = lab.fails("exo/connect", _connect_params("exo/connect", thumb), pool="e")
    # Issue #12: ExchangeOnlineManagement 3.x rethrows the inner exception, so its message is printed as
    # is (OperationStopped, the message as FQID; docs/sources.md 7b item 4, DLLPickle#156).
    assert exo.message == "Keyset does not exist"
    assert exo.exception_type == "System.Security.Cryptography.CryptographicException"
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


PLACEHOLDER = {
    "string": "x",
    "string[]": ["x"],
    "int": 1,
    "bool": True,
    "switch": True,
    "guid": "00000000-0000-0000-0000-000000000001",
    "securestring": "placeholder-not-a-secret",
    "datetime": "2026-01-01T00:00:00Z",
}


def _placeholders(step_id: str) -> dict[str, object]:
    """A value for each mandatory parameter, so pswrap renders the legacy script (its values do not matter:
    the lab refuses the step by its marker)."""
    return {p.name: PLACEHOLDER[p.type] for p in get(step_id).params if p.mandatory}


def test_every_legacy_step_is_refused_and_never_changes_the_world(lab: Harness) -> None:
    """docs/design.md profiles: the legacy profile renders but never runs; each step gets its retired
    service's
    error (texts above; connect-exo: closest, Basic-auth remoting's access denied, §1.4)."""
    before = lab.world()
    legacy = [s.id for s in all_steps() if s.is_legacy]
    assert legacy
    for step_id in legacy:
        error = lab.fails(step_id, _placeholders(step_id))
        if step_id in LEGACY_TEXTS:
            assert error.message == LEGACY_TEXTS[step_id], step_id
    assert "Access is denied" in lab.fails("legacy/connect-exo", _placeholders("legacy/connect-exo")).message
    assert "legacy profile" in lab.fails("legacy/new-aduser", _placeholders("legacy/new-aduser")).message
    after = lab.world()
    assert after["ad"] == before["ad"] and after["cloud"] == before["cloud"]


AADSTS_TRAILER = re.compile(
    r"\r\nTrace ID: [0-9a-f-]{36}\r\nCorrelation ID: [0-9a-f-]{36}\r\n"
    r"Timestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$"
)
SIGN_IN_PREFIX = {
    # §7b item 4/14: Connect-MgGraph's "<credential> authentication failed: " (msgraph-sdk-powershell#2474,
    # #2503); EXO 3.x: the MSAL message directly (the module rethrows the inner exception, DLLPickle#156).
    "graph/connect": "ClientCertificateCredential authentication failed: ",
    "exo/connect": "",
}


@pytest.mark.parametrize("step_id", ["exo/connect", "graph/connect"])
def test_connect_to_a_tenant_entra_id_does_not_know(lab: Harness, step_id: str) -> None:
    """Not in docs/sources.md, so the closest documented form: Entra ID's AADSTS90002 (verbatim in public
    transcripts, azure-cli#22145) "Tenant '<t>' not found. Check to make sure you have the correct tenant
    ID and are signing into the correct cloud. ..." with its Trace ID/Correlation ID/Timestamp trailer,
    inside each connect cmdlet's sign-in failure text; the pool stays unconnected."""
    key = "Organization" if step_id == "exo/connect" else "TenantId"
    params = {**_connect_params(step_id, LAB_DEFAULTS.certificate_thumbprint), key: "other.onmicrosoft.com"}
    error = lab.fails(step_id, params, pool="p")
    assert error.message.startswith(
        SIGN_IN_PREFIX[step_id] + "AADSTS90002: Tenant 'other.onmicrosoft.com' not found. Check to make sure "
        "you have the correct tenant ID and are signing into the correct cloud. Check with your subscription "
        "administrator, this may happen if there are no active subscriptions for the tenant.\r\nTrace ID: "
    )
    assert AADSTS_TRAILER.search(error.message)
    if step_id == "exo/connect":  # still not connected: §7b item 2 / item 3
        assert lab.fails("exo/find-recipients", {"Alias": "x"}, pool="p").fqid == "CommandNotFoundException"
    else:
        graph = lab.fails("graph/get-user", {"UserId": "x"}, pool="p")
        assert graph.message == "Authentication needed. Please call Connect-MgGraph."


@pytest.mark.parametrize("step_id", ["exo/connect", "graph/connect"])
def test_connect_with_an_app_the_tenant_does_not_have(lab: Harness, step_id: str) -> None:
    """Not in docs/sources.md, so the closest documented form: AADSTS700016 (verbatim in public transcripts,
    entra-powershell#1259 for Connect-MgGraph, powerbi-powershell#411 for the MSAL exception) "Application
    with identifier '<app>' was not found in the directory '<dir>'. ...", for an -AppId/-ClientId that is
    not the tenant's app registration (docs/sources.md §1.4/§1.5: app-only sign-in needs the app)."""
    key = "AppId" if step_id == "exo/connect" else "ClientId"
    stranger = "11111111-2222-3333-4444-555555555555"
    params = {**_connect_params(step_id, LAB_DEFAULTS.certificate_thumbprint), key: stranger}
    error = lab.fails(step_id, params, pool="p")
    assert error.message.startswith(
        SIGN_IN_PREFIX[step_id] + f"AADSTS700016: Application with identifier '{stranger}' was not found in "
        f"the directory '{LAB_DEFAULTS.tenant_domain}'. This can happen if the application has not been "
        "installed by the administrator of the tenant or consented to by any user in the tenant. You may "
        "have sent your authentication request to the wrong tenant.\r\nTrace ID: "
    )
    assert AADSTS_TRAILER.search(error.message)
    # The right app in the same pool then connects (nothing was half-connected).
    connected = lab.run(step_id, _connect_params(step_id, LAB_DEFAULTS.certificate_thumbprint), pool="p")
    assert connected["connected"] is True


def test_graph_tenant_by_id_or_domain_both_connect(lab: Harness) -> None:
    """§1.5: Connect-MgGraph -TenantId takes the tenant's id or its domain (commit 9e98c3b: a tenant given
    by its onmicrosoft.com domain is the same tenant)."""
    by_domain = {**_connect_params("graph/connect", LAB_DEFAULTS.certificate_thumbprint)}
    by_domain["TenantId"] = LAB_DEFAULTS.tenant_domain
    assert lab.run("graph/connect", by_domain, pool="a")["detail"] == LAB_DEFAULTS.tenant_domain
    assert lab.connect_graph(pool="b")["detail"] == LAB_DEFAULTS.tenant_id


MODULE_MISSING = (
    "The specified module '{}' was not loaded because no valid module file was found in any module directory."
)


@pytest.mark.parametrize(
    ("module", "step_id", "pool"),
    [
        ("ExchangeOnlineManagement", "exo/connect", "exo"),
        ("Microsoft.Graph.Authentication", "graph/connect", "graph"),
        ("Microsoft.Graph.Users", "graph/get-user", "graph"),
        ("Microsoft.Graph.Identity.DirectoryManagement", "graph/get-sync-features", "graph"),
        ("ADSync", "sync/start-cycle", "sync"),
        ("ActiveDirectory", "ad/get-domain", "ad"),
    ],
)
def test_step_fails_when_its_module_is_not_installed(
    lab: Harness, module: str, step_id: str, pool: str
) -> None:
    """§7b item 1, "Module missing" (verbatim): the templates `Import-Module <name> -ErrorAction Stop`, so a
    module removed from the host (`host.modules`, the doctor's facts) fails the step with `The specified
    module '<name>' was not loaded because no valid module file was found in any module directory.`
    (Modules_ModuleNotFound, FileNotFoundException), before any session rule."""
    lab.connect_graph(pool="graph")  # a connected pool: the module error still comes first
    with lab.edit() as world:
        world["host"]["modules"] = [m for m in world["host"]["modules"] if m["name"] != module]
    params = {**_connect_params(step_id, LAB_DEFAULTS.certificate_thumbprint), "UserId": "x"}
    needs_params = "connect" in step_id or step_id == "graph/get-user"
    error = lab.fails(step_id, params if needs_params else {}, pool=pool)
    assert error.message == MODULE_MISSING.format(module)
    assert error.fqid == "Modules_ModuleNotFound,Microsoft.PowerShell.Commands.ImportModuleCommand"
    assert error.category == "ResourceUnavailable"
    assert error.exception_type == "System.IO.FileNotFoundException"
    assert error.activity == "Import-Module"


def test_hybrid_connect_without_the_management_tools_snapin(lab: Harness) -> None:
    """Not in docs/sources.md: Add-PSSnapin's text for a snap-in that is not registered, "The Windows
    PowerShell
    snap-in '<name>' is not installed on this computer." (PSArgumentException, AddPSSnapInRead); the tools
    are the hybrid-tools profile's prerequisite (§5). With the snap-in back, the connect works."""
    snapins = lab.world()["host"]["snapins"]
    with lab.edit() as world:
        world["host"]["snapins"] = []
    error = lab.fails("hybrid/connect", pool="h")
    assert error.message == (
        "The Windows PowerShell snap-in 'Microsoft.Exchange.Management.PowerShell.RecipientManagement' is "
        "not installed on this computer."
    )
    assert error.fqid == "AddPSSnapInRead,Microsoft.PowerShell.Commands.AddPSSnapinCommand"
    with lab.edit() as world:
        world["host"]["snapins"] = snapins
    assert lab.run("hybrid/connect", pool="h")["connected"] is True


def test_module_table_matches_the_templates() -> None:
    """The lab's step -> module table is what each template (with its includes) imports first."""
    from pswrap.lab.handlers.sessions import STEP_MODULES

    root = Path(__file__).resolve().parents[2] / "ps_templates"
    imports = re.compile(r"^Import-Module (\S+) -ErrorAction Stop", re.M)
    includes = re.compile(r'{%\s*include "([^"]+)"\s*%}')

    def text(name: str) -> str:
        body = (root / name).read_text(encoding="utf-8")
        return includes.sub(lambda m: text(m.group(1)), body)

    modelled = {m["name"] for m in fresh_world()["host"]["modules"]}
    for step in all_steps():
        if step.is_legacy or not (root / f"{step.id}.ps1.j2").exists():
            continue
        first = [m for m in imports.findall(text(f"{step.id}.ps1.j2")) if m in modelled]
        assert STEP_MODULES.get(step.id) == (first[0] if first else None), step.id
