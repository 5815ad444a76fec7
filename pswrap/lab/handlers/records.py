"""The PowerShell error records the lab raises, each built from the documented text it imitates.

Every builder names its source: docs/sources.md §7b item (and the public source it cites), or "closest" where
docs/sources.md found no verbatim text and gives the nearest documented wording. Messages are what
`$_.Exception.Message` would hold; the FullyQualifiedErrorId and CategoryInfo follow the WinPS 5.1
rendering rules of §7b.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime

from pswrap.lab.dispatch import PSError

# §7b item 1 (verbatim, WinPS 5.1; office-docs-powershell#8091): the lab's one CommandNotFoundException
# record, also what the lab gives a script it has no handler for.
from pswrap.lab.invoke import command_not_found as command_not_found


def module_not_found(module: str) -> PSError:
    """§7b item 1, module missing (verbatim, same sources): Import-Module ... no valid module file."""
    return PSError(
        f"The specified module '{module}' was not loaded because no valid module file was found in any "
        "module directory.",
        fqid="Modules_ModuleNotFound,Microsoft.PowerShell.Commands.ImportModuleCommand",
        category="ResourceUnavailable",
        target=module,
        exception_type="System.IO.FileNotFoundException",
        activity="Import-Module",
    )


def pipeline_stopped() -> PSError:
    """What a stopped pipeline reports (PowerShell's PipelineStoppedException resource text)."""
    return PSError(
        "The pipeline has been stopped.",
        fqid="PipelineStopped",
        category="OperationStopped",
        exception_type="System.Management.Automation.PipelineStoppedException",
    )


# --- Graph ----------------------------------------------------------------------------------------------

GRAPH_AUTH_NEEDED = "Authentication needed. Please call Connect-MgGraph."


def graph_auth_needed(cmdlet: str, parameter_set: str) -> PSError:
    """§7b item 3: message verbatim (msgraph-sdk-powershell ErrorConstants.cs MissingAuthContext); the
    5.1 record is derived (category NotSpecified, FQID = the cmdlet's type name)."""
    inner = f"{cmdlet}_{parameter_set}"
    return PSError(
        GRAPH_AUTH_NEEDED,
        fqid=f"Microsoft.Graph.PowerShell.Cmdlets.{cmdlet.replace('-', '')}_{parameter_set}",
        category="NotSpecified",
        exception_type="Microsoft.Graph.PowerShell.AuthenticationException",
        activity=inner,
    )


def graph_rest_error(
    cmdlet: str,
    parameter_set: str,
    message: str,
    *,
    status: int,
    reason: str,
    code: str,
    at: datetime,
    target: str = "",
) -> PSError:
    """§7b items 10/11: the SDK 2.x rendering (derived layout from msgraph-sdk-powershell#2290,
    entra-powershell#237): message, `Status: <n> (<reason>)`, `ErrorCode: <code>`, `Date:`, `Headers:`;
    FQID `<code>,Microsoft.Graph.PowerShell.Cmdlets.<VerbNoun>_<ParameterSet>`."""
    text = (
        f"{message}\r\nStatus: {status} ({reason})\r\nErrorCode: {code}\r\n"
        f"Date: {at.strftime('%Y-%m-%dT%H:%M:%S')}\r\n\r\nHeaders:\r\n"
        f"Transfer-Encoding             : chunked\r\n"
        f"request-id                    : {uuid.uuid4()}\r\n"
    )
    return PSError(
        text,
        fqid=f"{code},Microsoft.Graph.PowerShell.Cmdlets.{cmdlet.replace('-', '')}_{parameter_set}",
        category="InvalidOperation",
        target=target,
        exception_type="System.Exception",
        activity=f"{cmdlet}_{parameter_set}",
    )


SYNCED_READ_ONLY = (
    "Unable to update the specified properties for on-premises mastered Directory Sync objects or objects "
    "currently undergoing migration."
)
"""§7b item 10, verbatim (devblogs breaking-change post; microsoft-graph-docs#18038, #7301)."""


def duplicate_property(prop: str) -> str:
    """§7b item 10: `Another object with the same value for property <p> already exists.` (verbatim for
    onPremisesImmutableId in the ADSyncTools guide; envelope Request_BadRequest is closest)."""
    return f"Another object with the same value for property {prop} already exists."


UNVERIFIED_UPN_DOMAIN = (
    "The domain portion of the userPrincipalName property is invalid. You must use one of the verified "
    "domain names in your organization."
)
"""Not in docs/sources.md: Graph's Request_BadRequest text for a UPN on a domain the tenant has not verified
(widely quoted from Graph responses); the lab's tenant verifies its onmicrosoft.com domain and the UPN
suffix (`cloud.tenant.verified_domains`)."""


def resource_not_found(identity: str) -> str:
    """§7b item 11, verbatim (microsoft-graph-docs#6059): the id or UPN echoed as passed."""
    return (
        f"Resource '{identity}' does not exist or one of its queried reference-property objects are not "
        "present."
    )


# --- Exchange Online ------------------------------------------------------------------------------------


def exo_v3_error(
    cmdlet: str, code: str, exception: str, text: str, category: str = "NotSpecified"
) -> PSError:
    """The EXO V3 form (§7b items 8/9, DLConversionV2#129): `$_.Exception.Message` is
    `Ex<hex>|<exception type>|<text>`, the FQID
    `[Server=...,RequestId=...,TimeStamp=...],Write-ErrorMessage`."""
    short = exception.rsplit(".", 1)[-1]
    request = uuid.uuid4()
    return PSError(
        f"{code}|{exception}|{text}",
        fqid=f"[Server=LAB0PR01MB0001,RequestId={request},TimeStamp=now],Write-ErrorMessage",
        category=category,
        exception_type=exception,
        activity=cmdlet,
        target=short,
    )


def proxy_address_in_use(cmdlet: str, address: str) -> PSError:
    """§7b item 8: the EXO V3 exception string (ExB10BE9, WLCDManagedMemberExistsException) with the
    PowerShell wording (verbatim, OfficeDocs-Support#22): no `of "<name>"`."""
    return exo_v3_error(
        cmdlet,
        "ExB10BE9",
        "Microsoft.Exchange.Management.Tasks.WLCDManagedMemberExistsException",
        f'The proxy address "{address}" is already being used by the proxy addresses or LegacyExchangeDN. '
        "Please choose another proxy address.",
    )


def exo_name_in_use(cmdlet: str, name: str) -> PSError:
    """CLOSEST (not in docs/sources.md, which only says -Name is unique, §4): Exchange Online's text for a
    recipient name already in use, "The name is already being used. Please try another name." (quoted
    without the name by the CIAOPS find-name-conflict wiki, 2025); the lab puts the name in quotes as the
    proxy-address text of §7b item 8 does, in the V3 `Ex<hex>|<type>|<text>` form (§7b item 9;
    ADObjectAlreadyExistsException, the id `ExC4A5F0` is the lab's own)."""
    return exo_v3_error(
        cmdlet,
        "ExC4A5F0",
        "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException",
        f'The name "{name}" is already being used. Please try another name.',
    )


def exo_connect_first(cmdlet: str) -> PSError:
    """§7b item 2, CLOSEST only: a cmdlet the ExchangeOnlineManagement module exports itself (Get-EXOMailbox)
    before Connect-ExchangeOnline: "You must call the Connect-ExchangeOnline cmdlet before calling any other
    cmdlets." (community troubleshooting notes; no primary transcript)."""
    return PSError(
        "You must call the Connect-ExchangeOnline cmdlet before calling any other cmdlets.",
        fqid=f"System.Exception,Microsoft.Exchange.Management.RestApiClient.{rest_noun(cmdlet)}",
        category="NotSpecified",
        exception_type="System.Exception",
        activity=cmdlet,
    )


def rest_noun(cmdlet: str) -> str:
    """The REST cmdlet class name as the module spells it (`GetExoMailbox`, §7b item 7)."""
    return cmdlet.replace("-", "").replace("EXO", "Exo")


def exo_throttled(cmdlet: str) -> PSError:
    """§7b item 7, CLOSEST only: no verbatim surfaced 429 exists; the REST envelope of
    office-docs-powershell#4333 with HttpStatusCode=429 and code TooManyRequests."""
    body = {
        "error": {
            "code": "TooManyRequests",
            "message": "Server is busy. Please retry after some time.",
            "innererror": {
                "message": "Server is busy. Please retry after some time.",
                "type": "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
            },
        }
    }
    noun = rest_noun(cmdlet)
    return PSError(
        "Error while querying REST service. HttpStatusCode=429 ErrorMessage="
        + json.dumps(body, separators=(",", ":")),
        fqid="An error occurred while processing this request.,"
        f"Microsoft.Exchange.Management.RestApiClient.{noun}",
        category="ProtocolError",
        exception_type="Microsoft.Exchange.Management.RestApiClient.RestClientException",
        activity=cmdlet,
    )


def graph_throttled(cmdlet: str, parameter_set: str, at: datetime) -> PSError:
    """CLOSEST: Graph's 429 in the SDK 2.x layout of §7b item 10/11 (code TooManyRequests)."""
    return graph_rest_error(
        cmdlet,
        parameter_set,
        "Too many requests.",
        status=429,
        reason="TooManyRequests",
        code="TooManyRequests",
        at=at,
    )


# --- Entra Connect Sync ----------------------------------------------------------------------------------

_SYNC_STACK = (
    "\r\n   at Microsoft.MetadirectoryServices.Scheduler.Scheduler.StartSyncCycle(String overridePolicy, "
    "Boolean interactiveMode)\r\n   at SchedulerUtils.StartSyncCycle(SchedulerUtils* , Char* policyType, "
    "Int32 interactiveMode, Char** errorString)"
)


def _sync_cycle_error(text: str) -> PSError:
    message = f"System.InvalidOperationException: {text}{_SYNC_STACK}"
    return PSError(
        message,
        fqid=f"{message},Microsoft.IdentityManagement.PowerShell.Cmdlet.StartADSyncSyncCycle",
        category="WriteError",
        # §7b item 12: `(Microsoft.Ident...ADSyncSyncCycle:StartADSyncSyncCycle)`, the cmdlet object.
        target="Microsoft.IdentityManagement.PowerShell.Cmdlet.StartADSyncSyncCycle",
        target_type="StartADSyncSyncCycle",
        exception_type="System.InvalidOperationException",
        activity="Start-ADSyncSyncCycle",
    )


SYNC_ALREADY_RUNNING = "Sync is already running. Cannot start a new run till this one completes."


def sync_already_running() -> PSError:
    """§7b item 12: `Sync is already running. Cannot start a new run till this one completes.` (community,
    verbatim message; record shape derived from the AAD-is-busy transcript)."""
    return _sync_cycle_error(SYNC_ALREADY_RUNNING)


def aad_busy(tenant_domain: str) -> PSError:
    """§7b item 12 (verbatim, easy365manager.com): `Connector: <tenant>.onmicrosoft.com - AAD is busy.`"""
    return _sync_cycle_error(f"Connector: {tenant_domain} - AAD is busy.")


# --- Active Directory --------------------------------------------------------------------------------------

_AD_COMMANDS = "Microsoft.ActiveDirectory.Management.Commands"


def ad_account_exists(cmdlet: str, dn: str) -> PSError:
    """§7b item 5 (verbatim record): `The specified account already exists` (Win32 ERROR_USER_EXISTS 1316),
    ADIdentityAlreadyExistsException, FQID ActiveDirectoryServer:1316."""
    return PSError(
        "The specified account already exists",
        fqid=f"ActiveDirectoryServer:1316,{_AD_COMMANDS}.{cmdlet.replace('-', '')}",
        category="ResourceExists",
        target=dn,
        exception_type="Microsoft.ActiveDirectory.Management.ADIdentityAlreadyExistsException",
        activity=cmdlet,
    )


def ad_name_in_use(cmdlet: str, dn: str) -> PSError:
    """§7b item 5, same CN in the same container: ActiveDirectoryServer:8305 (FQID derived)."""
    return PSError(
        "An attempt was made to add an object to the directory with a name that is already in use",
        fqid=f"ActiveDirectoryServer:8305,{_AD_COMMANDS}.{cmdlet.replace('-', '')}",
        category="NotSpecified",
        target=dn,
        exception_type="Microsoft.ActiveDirectory.Management.ADException",
        activity=cmdlet,
    )


def ad_identity_not_found(cmdlet: str, identity: str, under: str, target_type: str = "ADUser") -> PSError:
    """§7b item 6 (verbatim): `Cannot find an object with identity: '<id>' under: '<domain DN>'.`"""
    return PSError(
        f"Cannot find an object with identity: '{identity}' under: '{under}'.",
        fqid=(
            "ActiveDirectoryCmdlet:Microsoft.ActiveDirectory.Management.ADIdentityNotFoundException,"
            f"{_AD_COMMANDS}.{cmdlet.replace('-', '')}"
        ),
        category="ObjectNotFound",
        target=identity,
        target_type=target_type,  # §7b item 6: `(jdoe:ADUser)`, the type follows the cmdlet
        exception_type="Microsoft.ActiveDirectory.Management.ADIdentityNotFoundException",
        activity=cmdlet,
    )


def ad_container_not_found(cmdlet: str, dn: str) -> PSError:
    """A -Path/-TargetPath naming no container: "Directory object not found" with the AD module's
    ADIdentityNotFoundException FQID (verbatim for Get-ADOrganizationalUnit in public transcripts,
    dsccommunity/ActiveDirectoryDsc#298, #408; for New-ADUser/Move-ADObject DERIVED, not in
    docs/sources.md)."""
    return PSError(
        "Directory object not found",
        fqid=(
            "ActiveDirectoryCmdlet:Microsoft.ActiveDirectory.Management.ADIdentityNotFoundException,"
            f"{_AD_COMMANDS}.{cmdlet.replace('-', '')}"
        ),
        category="ObjectNotFound",
        target=dn,
        exception_type="Microsoft.ActiveDirectory.Management.ADIdentityNotFoundException",
        activity=cmdlet,
    )


def exchange_object_not_found(cmdlet: str, identity: str, server: str) -> PSError:
    """§7b item 9, the on-premises (remote PowerShell / management tools) form, verbatim shape from
    dpaulson45/HealthChecker#213: "The operation couldn't be performed because object '<id>' couldn't be
    found on '<DC>'."."""
    return PSError(
        f"The operation couldn't be performed because object '{identity}' couldn't be found on '{server}'.",
        fqid=f"[Server={server}] [FailureCategory=Cmdlet-ManagementObjectNotFoundException] 8288830C,"
        f"Microsoft.Exchange.Management.RecipientTasks.{cmdlet.replace('-', '')}",
        category="NotSpecified",
        exception_type="Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
        activity=cmdlet,
    )


def ad_server_down(cmdlet: str) -> PSError:
    """Not in docs/sources.md: the ActiveDirectory module's ADServerDownException text (verbatim in public
    transcripts, e.g. microsoft/CSS-Exchange#2247, Orange-Cyberdefense/GOAD#19), given for a -Server that
    names no domain controller."""
    return PSError(
        "Unable to contact the server. This may be because this server does not exist, it is currently "
        "down, or it does not have the Active Directory Web Services running.",
        fqid=f"ActiveDirectoryServer:0,{_AD_COMMANDS}.{cmdlet.replace('-', '')}",
        category="ResourceUnavailable",
        exception_type="Microsoft.ActiveDirectory.Management.ADServerDownException",
        activity=cmdlet,
    )


def ad_bad_credential(cmdlet: str) -> PSError:
    """Not in docs/sources.md: the AD cmdlets' text for a rejected -Credential (verbatim in public
    transcripts,
    ansible/ansible#57404): AuthenticationException, category SecurityError."""
    return PSError(
        "The server has rejected the client credentials.",
        fqid=(
            "ActiveDirectoryCmdlet:System.Security.Authentication.AuthenticationException,"
            f"{_AD_COMMANDS}.{cmdlet.replace('-', '')}"
        ),
        category="SecurityError",
        exception_type="System.Security.Authentication.AuthenticationException",
        activity=cmdlet,
    )


# --- retired services (legacy profile) --------------------------------------------------------------------


def service_not_found(cmdlet: str, name: str) -> PSError:
    """DirSync's MSOnlineSyncScheduler does not exist on an Entra Connect server (docs/sources.md §0); the
    Service cmdlets' text (verbatim record, dfranciscus/Get-PSServiceStatus#1): NoServiceFoundForGivenName."""
    noun = {"Stop-Service": "StopServiceCommand", "Start-Service": "StartServiceCommand"}.get(
        cmdlet, "GetServiceCommand"
    )
    return PSError(
        f"Cannot find any service with service name '{name}'.",
        fqid=f"NoServiceFoundForGivenName,Microsoft.PowerShell.Commands.{noun}",
        category="ObjectNotFound",
        target=name,
        exception_type="Microsoft.PowerShell.Commands.ServiceCommandException",
        activity=cmdlet,
    )


def basic_auth_retired(server: str) -> PSError:
    """Basic-auth remote PowerShell to Exchange Online is gone since October 2023 (docs/sources.md §1.4,
    exchange-online-powershell-v2.md). No verbatim 2026 text in docs/sources.md; CLOSEST: WinRM's
    access-denied
    open failure (PSRemotingTransportException) that New-PSSession reports for a refused Basic logon."""
    return PSError(
        f"Connecting to remote server {server} failed with the following error message : Access is denied. "
        "For more information, see the about_Remote_Troubleshooting Help topic.",
        fqid="AccessDenied,PSSessionOpenFailed",
        category="OpenError",
        target="System.Management.Automation.RemoteRunspace",
        exception_type="System.Management.Automation.Remoting.PSRemotingTransportException",
        activity="New-PSSession",
    )


def host_cannot_prompt() -> PSError:
    """Get-Credential in a remote pipeline with no interactive host (PowerShell's HostException text);
    not in docs/sources.md, the 2014 runbook's prompt simply cannot run unattended."""
    return PSError(
        "A command that prompts the user failed because the host program or the command type does not "
        "support user interaction. The host was attempting to request confirmation with the following "
        "message: Enter your credentials.",
        fqid="HostException,Microsoft.PowerShell.Commands.GetCredentialCommand",
        category="ResourceUnavailable",
        exception_type="System.Management.Automation.Host.HostException",
        activity="Get-Credential",
    )


def ad_bad_account_name(cmdlet: str, dn: str) -> PSError:
    """DERIVED, not in docs/sources.md: Win32 ERROR_INVALID_ACCOUNT_NAME (1315) "The name provided is not a
    properly formed account name." in the ActiveDirectoryServer:<code> shape of §7b item 5, for a
    sAMAccountName longer than 20 characters."""
    return PSError(
        "The name provided is not a properly formed account name",
        fqid=f"ActiveDirectoryServer:1315,{_AD_COMMANDS}.{cmdlet.replace('-', '')}",
        category="InvalidArgument",
        target=dn,
        exception_type="Microsoft.ActiveDirectory.Management.ADException",
        activity=cmdlet,
    )


def ad_password_required(cmdlet: str, dn: str) -> PSError:
    """DERIVED, not in docs/sources.md: New-ADUser -Enabled $true without a password that meets the domain's
    policy; Win32 1325 "The password does not meet the length, complexity, or history requirement of the
    domain." in the ActiveDirectoryServer:<code> shape of §7b item 5 (pswrap never sends it: it enables
    only accounts it gives a password)."""
    return PSError(
        "The password does not meet the length, complexity, or history requirement of the domain.",
        fqid=f"ActiveDirectoryServer:1325,{_AD_COMMANDS}.{cmdlet.replace('-', '')}",
        category="InvalidData",
        target=dn,
        exception_type="Microsoft.ActiveDirectory.Management.ADPasswordComplexityException",
        activity=cmdlet,
    )
