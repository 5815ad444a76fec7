"""Remote ErrorRecords → typed errors, using the exact texts and FQIDs of domain.md §7b."""

from __future__ import annotations

import pytest

from pswrap import errors as e
from pswrap.remote.classify import RemoteRecord, classify_record, classify_transport

CASES = [
    # §7b 5: New-ADUser, the account exists.
    (
        RemoteRecord(
            "The specified account already exists",
            "ActiveDirectoryServer:1316,Microsoft.ActiveDirectory.Management.Commands.NewADUser",
            "ResourceExists",
            "ADIdentityAlreadyExistsException",
        ),
        "ad",
        e.AlreadyExists,
    ),
    # §7b 6: Get-ADUser -Identity not found.
    (
        RemoteRecord(
            "Cannot find an object with identity: 'jdoe' under: 'DC=contoso,DC=com'.",
            "ActiveDirectoryCmdlet:Microsoft.ActiveDirectory.Management.ADIdentityNotFoundException,"
            "Microsoft.ActiveDirectory.Management.Commands.GetADUser",
            "ObjectNotFound",
        ),
        "ad",
        e.NotFound,
    ),
    # §7b 9: EXO V3 object not found.
    (
        RemoteRecord(
            "Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation "
            "couldn't be performed because object 'x@t.onmicrosoft.com' couldn't be found on 'DB6PR06'.",
            "[Server=AM6PR06MB5795,RequestId=7f6f2d5f,TimeStamp=Tue, 28 Mar 2023 13:55:04 GMT],"
            "Write-ErrorMessage",
        ),
        "exo",
        e.NotFound,
    ),
    # §7b 11: Get-MgUser not found.
    (
        RemoteRecord(
            "Resource 'x' does not exist or one of its queried reference-property objects are not present.",
            "Request_ResourceNotFound,Microsoft.Graph.PowerShell.Cmdlets.GetMgUser_Get",
        ),
        "graph",
        e.NotFound,
    ),
    # §7b 8: proxy address in use.
    (
        RemoteRecord(
            'The proxy address "SMTP:support@domain.com.au" is already being used by the proxy addresses or '
            "LegacyExchangeDN. Please choose another proxy address."
        ),
        "exo",
        e.Conflict,
    ),
    # §7b 10: Update-MgUser on a synced user.
    (
        RemoteRecord(
            "Unable to update the specified properties for on-premises mastered Directory Sync objects or "
            "objects currently undergoing migration.",
            "Request_BadRequest,Microsoft.Graph.PowerShell.Cmdlets.UpdateMgUser_UpdateExpanded",
            "InvalidOperation",
        ),
        "graph",
        e.MasteredElsewhere,  # a Conflict (exit 6) whose hint the runner chooses by onPremisesSyncEnabled
    ),
    # microsoft-graph-docs#12584: the other wording (cloud users whose property another service owns).
    (
        RemoteRecord(
            "Unable to update the specified properties for objects that have originated within an external "
            "service.",
            "Request_BadRequest,Microsoft.Graph.PowerShell.Cmdlets.UpdateMgUser_UpdateExpanded",
            "InvalidOperation",
        ),
        "graph",
        e.MasteredElsewhere,
    ),
    # §7b 9: EXO not found by exception type and id, in any language; "matches multiple entries" is not.
    (
        RemoteRecord(
            "Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|<translated>",
            "[Server=AM6PR06MB5795,RequestId=7f6f2d5f-726b-5584-2121-922596043d50],Write-ErrorMessage",
            "NotSpecified",
            "ManagementObjectNotFoundException",
        ),
        "exo",
        e.NotFound,
    ),
    (
        RemoteRecord(
            "Ex9E65A2|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation "
            "couldn't be performed because object: 'room1' matches multiple entries.",
            "Write-ErrorMessage",
            "NotSpecified",
            "ManagementObjectNotFoundException",
        ),
        "exo",
        e.RemoteError,
    ),
    (
        RemoteRecord("The operation couldn't be performed because object 'x' couldn't be found on 'y'."),
        "exo",
        e.RemoteError,  # English words without the id or type: not trusted
    ),
    # Connect-ExchangeOnline with a token but no Exchange access (Microsoft365DSC#4530, #4380).
    (
        RemoteRecord(
            "The role assigned to application 11111111-2222-3333-4444-555555555555 isn't supported in this "
            "scenario. Please check online documentation for assigning correct Directory Roles to Azure AD "
            "Application for EXO App-Only Authentication.",
            category="OperationStopped",
        ),
        "exo",
        e.AccessDenied,
    ),
    (RemoteRecord("UnAuthorized", "UnAuthorized", "OperationStopped"), "exo", e.AccessDenied),
    # §7b 12: the sync engine is busy.
    (
        RemoteRecord(
            "System.InvalidOperationException: Connector: t.onmicrosoft.com - AAD is busy.",
            "System.InvalidOperationException: Connector: t.onmicrosoft.com - AAD is busy.",
            "WriteError",
        ),
        "adsync",
        e.SyncBusy,
    ),
    (
        RemoteRecord(
            "System.InvalidOperationException: Sync is already running. Cannot start a new run till this one "
            "completes."
        ),
        "adsync",
        e.SyncBusy,
    ),
    # MC1263280 (ecosystem.md §5.1): hard match blocked.
    (
        RemoteRecord(
            "Hard match operation blocked due to security hardening. "
            "Review OnPremisesObjectIdentifier mapping"
        ),
        "graph",
        e.HardMatchBlocked,
    ),
    # §7b 3: a Graph cmdlet before Connect-MgGraph.
    (
        RemoteRecord(
            "Authentication needed. Please call Connect-MgGraph.",
            "Microsoft.Graph.PowerShell.Cmdlets.GetMgUser_Get",
        ),
        "graph",
        e.NotConnected,
    ),
    # §7b 2: EXO cmdlets do not exist before Connect-ExchangeOnline.
    (
        RemoteRecord(
            "The term 'Get-Mailbox' is not recognized as the name of a cmdlet, function, script file, or "
            "operable program. Check the spelling of the name, or if a path was included, verify that the "
            "path is correct and try again.",
            "CommandNotFoundException",
            "ObjectNotFound",
        ),
        "exo",
        e.NotConnected,
    ),
    # §7b 1: the module itself is missing.
    (
        RemoteRecord(
            "The specified module 'ExchangeOnlineManagement' was not loaded because no valid module file was "
            "found in any module directory.",
            "Modules_ModuleNotFound,Microsoft.PowerShell.Commands.ImportModuleCommand",
            "ResourceUnavailable",
        ),
        "exo",
        e.ModuleMissing,
    ),
    (
        RemoteRecord(
            "The term 'Connect-ExchangeOnline' is not recognized as the name of a cmdlet, function, script "
            "file, or operable program.",
            "CommandNotFoundException",
            "ObjectNotFound",
        ),
        "exo",
        e.ModuleMissing,
    ),
    (
        RemoteRecord(
            "The term 'Get-ADUser' is not recognized as the name of a cmdlet, function, script file, or "
            "operable program.",
            "CommandNotFoundException",
            "ObjectNotFound",
        ),
        "ad",
        e.ModuleMissing,
    ),
    (
        RemoteRecord("Insufficient privileges to complete the operation.", "Authorization_RequestDenied,X"),
        "graph",
        e.AccessDenied,
    ),
    (RemoteRecord("Access is denied", "System.UnauthorizedAccessException"), "ad", e.AccessDenied),
    (RemoteRecord("Too many requests", "TooManyRequests,X"), "exo", e.Throttled),
    (RemoteRecord("Something else broke", "SomethingElse"), "ad", e.RemoteError),
    # Exchange Online: a recipient name in use (the lab's rendering, V3 form of §7b 9).
    (
        RemoteRecord(
            'ExC4A5F0|Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException|The name "Room9" is '
            "already being used. Please try another name.",
            "[Server=X],Write-ErrorMessage",
        ),
        "exo",
        e.AlreadyExists,
    ),
    # A failed app-only sign-in (AADSTS700016 via Connect-MgGraph).
    (
        RemoteRecord(
            "ClientCertificateCredential authentication failed: AADSTS700016: Application with identifier "
            "'x' was not found in the directory 'lab.example'.",
            "Microsoft.Graph.PowerShell.Authentication.Cmdlets.ConnectMgGraph",
        ),
        "graph",
        e.RemoteError,
    ),
]


@pytest.mark.parametrize(("record", "need", "expected"), CASES)
def test_classification(record: RemoteRecord, need: str, expected: type[e.RemoteError]) -> None:
    err = classify_record(record, step_id="x/step", target="corp", need=need)
    assert type(err) is expected
    assert err.step_id == "x/step" and err.target == "corp"
    assert err.message == record.message  # PowerShell's own message, kept whole
    assert err.fqid == (record.fqid or None)
    assert "x/step" in str(err) and "corp" in str(err)
    assert err.hint  # the CLI's second line: what to do next


def test_sign_in_failure_points_at_the_app_identity() -> None:
    record = RemoteRecord(
        "Error Acquiring Token:\r\nMsalServiceException: AADSTS90002: Tenant 't' not found."
    )
    err = classify_record(record, step_id="exo/connect", target="corp", need="exo")
    assert err.hint and "tenant_id" in err.hint and "app_id" in err.hint


def test_exit_codes_follow_the_table() -> None:
    needs_human = classify_record(
        RemoteRecord("Hard match operation blocked due to security hardening."), step_id="s", target="t"
    )
    assert needs_human.exit_code == e.EXIT_NEEDS_HUMAN
    plain = classify_record(RemoteRecord("boom"), step_id="s", target="t")
    assert plain.exit_code == e.EXIT_REMOTE


def test_transport_classification() -> None:
    import requests
    from pypsrp import exceptions as px

    auth = classify_transport(px.AuthenticationError("401"), where="h", what="opening")
    assert isinstance(auth, e.AuthenticationError) and auth.exit_code == e.EXIT_AUTH and not auth.transient
    http401 = classify_transport(px.WinRMTransportError("http", 401, ""), where="h", what="x")
    assert isinstance(http401, e.AuthenticationError)
    five = classify_transport(px.WinRMTransportError("http", 500, "oops"), where="h", what="x")
    assert isinstance(five, e.ConnectionFailed) and five.transient
    four = classify_transport(px.WinRMTransportError("http", 400, "bad"), where="h", what="x")
    assert isinstance(four, e.ConnectionFailed) and not four.transient
    drop = classify_transport(requests.exceptions.ConnectionError("reset"), where="h", what="x")
    assert isinstance(drop, e.ConnectionFailed) and drop.transient and drop.exit_code == e.EXIT_CONNECTION
    tls = classify_transport(requests.exceptions.SSLError("verify failed"), where="h", what="x")
    assert isinstance(tls, e.ConnectionFailed) and not tls.transient and tls.hint and "ca_bundle" in tls.hint
    slow = classify_transport(requests.exceptions.ReadTimeout("slow"), where="h", what="x")
    assert isinstance(slow, e.TransportTimeout)


def test_every_transport_failure_says_what_to_do_next() -> None:
    import requests
    from pypsrp import exceptions as px

    from pswrap.remote.classify import ShellGone

    failures: list[BaseException] = [
        px.AuthenticationError("401"),
        px.WinRMTransportError("http", 500, "oops"),
        px.WinRMTransportError("http", 404, "no such endpoint"),
        # pypsrp's WSManFaultError(code, machine, reason, provider, provider_path, provider_fault)
        px.WSManFaultError(0x80338043, "h", "The request for the Windows Remote Shell with ShellId x failed "
                           "because the shell was not found on the server.", "", "", ""),
        px.WSManFaultError(0x80004005, "h", "internal", "", "", ""),
        px.WSManFaultError(0x80070005, "h", "Access is denied.", "", "", ""),
        requests.exceptions.SSLError("verify failed"),
        requests.exceptions.ReadTimeout("slow"),
        requests.exceptions.ConnectionError("reset"),
        requests.exceptions.TooManyRedirects("loop"),
        px.WinRMError("unexpected PSRP message"),
    ]  # fmt: skip
    classified = [classify_transport(exc, where="h", what="x") for exc in failures]
    assert [type(c) for c in classified] == [
        e.AuthenticationError, e.ConnectionFailed, e.ConnectionFailed, ShellGone, e.ConnectionFailed,
        e.AuthenticationError, e.ConnectionFailed, e.TransportTimeout, e.ConnectionFailed, e.ConnectionFailed,
        e.ConnectionFailed,
    ]  # fmt: skip
    assert [c.transient for c in classified] == [
        False, True, False, True, True, False, False, True, True, True, False,
    ]  # fmt: skip
    for c in classified:
        assert c.hint, c
