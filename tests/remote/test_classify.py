"""Remote ErrorRecords → typed errors, using the exact texts and FQIDs of docs/sources.md §7b."""

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
    # The lease templates' lock timed out (ps_templates/sync/_leases.ps1.j2): transient, retried.
    (
        RemoteRecord(
            "pswrap lease lock: another lease change held C:\\ProgramData\\pswrap\\lease.lock for 60 s (a "
            "pswrap run or a lease task on this server); run the command again, or look for a hung "
            "powershell.exe holding that file",
            "pswrap lease lock: another lease change held",
            "OperationStopped",
        ),
        "adsync",
        e.LeaseLocked,
    ),
    # MC1263280 (docs/sources.md, look-alike modules): hard match blocked.
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
    # the CLI's second line: what to do next, for this kind of failure
    assert err.hint is not None and expected_hint(record, expected) in err.hint


HINTS: dict[type[e.RemoteError], str] = {
    e.AlreadyExists: "find it and reuse it, or choose another name",
    e.NotFound: "check the identity",
    e.Conflict: "resolve the conflict, then run again",
    e.MasteredElsewhere: "the property is mastered elsewhere",
    e.SyncBusy: "wait for the running sync cycle to end",
    e.LeaseLocked: "another lease change",
    e.HardMatchBlocked: "BlockCloudObjectTakeoverThroughHardMatch",
    e.NotConnected: "the cloud session is not connected",
    e.ModuleMissing: "install the module on the host",
    e.AccessDenied: "grant the remoting account or the app the permission",
    e.Throttled: "retries with backoff",
    e.RemoteError: "PowerShell's message says what failed",
}


def expected_hint(record: RemoteRecord, expected: type[e.RemoteError]) -> str:
    if "AADSTS" in record.message:  # a refused sign-in names the target settings to check
        return "check tenant_id, app_id, organization and certificate_thumbprint"
    # Failures whose fix is narrower than their class's (issue #12: each names what to do).
    narrower = {
        "matches multiple entries": "the identity matches several objects: give a unique one",
        "isn't supported in this scenario": "assign the app's service principal an Entra role",
        "UnAuthorized": "grant the app the Exchange.ManageAsApp application permission",
    }
    for words, hint in narrower.items():
        if words in record.message:
            return hint
    return HINTS[expected]


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
    assert [c.hint for c in classified] == [
        "check the user name, the password source and `auth` of the target (`pswrap targets show`)",
        "the server had a problem; pswrap retries transient errors",
        "check the target's scheme, port and configuration_name (`pswrap targets show`)",
        "pswrap reopens a lost session once; if it keeps happening, check WinRM's IdleTimeout and "
        "MaxShellsPerUser on the server",
        "a server-side failure; pswrap retries it",
        "add the account to the host's Remote Management Users group (or Administrators), or allow it in the "
        "endpoint's session configuration (Set-PSSessionConfiguration <configuration_name> "
        "-ShowSecurityDescriptorUI); check configuration_name of the target",
        "set ca_bundle to the CA that issued the server's certificate (cert_validation = false only for a "
        "throwaway lab)",
        "the server is slow or unreachable; raise the target's read_timeout if it is just slow",
        "check that WinRM listens there (host, port, scheme) and the network path is open",
        "check that WinRM listens there (host, port, scheme) and the network path is open",  # an OSError
        "check the target's configuration_name (a PowerShell endpoint); --debug shows more",
    ]


# The fault text of ERROR_WSMAN_QUOTA_MAX_OPERATIONS (0x803381A6 = 2150859174) as WinRM sends it
# (community: https://github.com/masterzen/winrm/issues/129); it does not say "shell was not found".
QUOTA_REASON = (
    "The WS-Management service cannot process the request. This user is allowed a maximum number of 1500 "
    "concurrent operations, which has been exceeded. Close existing operations for this user, or raise the "
    "quota for this user."
)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (0x803381A6, QUOTA_REASON),  # the operations quota: a new shell resets it (ansible/ansible#83656)
        (0x80338043, "The request for the Windows Remote Shell with ShellId x failed."),
        (0x8033805B, "The WS-Management service cannot process the request."),
    ],
    ids=["quota-max-operations", "invalid-selectors", "unexpected-selectors"],
)
def test_shell_gone_is_recognised_by_its_fault_code_alone(code: int, reason: str) -> None:
    from pypsrp import exceptions as px

    from pswrap.remote.classify import ShellGone

    err = classify_transport(px.WSManFaultError(code, "h", reason, "", "", ""), where="h", what="x")
    assert type(err) is ShellGone
    assert err.transient and err.exit_code == e.EXIT_CONNECTION
    assert str(err).startswith("the PowerShell session on h is gone (")
