"""The error records of the connect steps the lab raises: certificates, app-only sign-in, the Exchange
snap-in, and the two cloud modules in one Windows PowerShell process. Split from records.py (the other
services' records) so each file keeps one concern; the same rule holds: every builder names its source
(docs/sources.md §7b, or "closest" where no verbatim text was found).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pswrap.lab.dispatch import PSError

# --- certificates (connect steps) ----------------------------------------------------------------------


def certificate_not_found(thumbprint: str, cmdlet: str) -> PSError:
    """§7b item 14, Graph 2.x (doc: msgraph-sdk-powershell ErrorConstants.cs CertificateNotFound):
    `Certificate with thumbprint '<t>' was not found in certificate store or has expired.` The EXO
    module's own text is not found in docs/sources.md; the lab gives this (closest) for both connect steps."""
    return PSError(
        f"Certificate with thumbprint '{thumbprint}' was not found in certificate store or has expired.",
        fqid=f"Microsoft.Graph.PowerShell.Authentication.Cmdlets.{cmdlet.replace('-', '')}"
        if cmdlet == "Connect-MgGraph"
        else f"System.ArgumentException,{cmdlet}",
        category="InvalidArgument" if cmdlet != "Connect-MgGraph" else "NotSpecified",
        exception_type="System.ArgumentException",
        activity=cmdlet,
    )


BAD_THUMBPRINT = (
    "CertificateThumbprint must be the 40 hexadecimal digits of a certificate in Cert:\\LocalMachine\\My"
)
"""The connect templates' own check before they read the store (ps_templates/exo|graph/connect.ps1.j2)."""


def bad_thumbprint() -> PSError:
    """A `throw 'text'` in the template: RuntimeException, FQID = the text, category OperationStopped."""
    return PSError(BAD_THUMBPRINT, fqid=BAD_THUMBPRINT, category="OperationStopped", target=BAD_THUMBPRINT)


def certificate_path_not_found(thumbprint: str) -> PSError:
    """The connect templates read the certificate with `Get-Item Cert:\\LocalMachine\\My\\<thumbprint>`
    (docs/design.md: passed as -Certificate), so a missing one is Get-Item's ItemNotFoundException
    (PowerShell's
    PathNotFound resource text: "Cannot find path '<path>' because it does not exist.")."""
    path = f"Cert:\\LocalMachine\\My\\{thumbprint}"
    return PSError(
        f"Cannot find path '{path}' because it does not exist.",
        fqid="PathNotFound,Microsoft.PowerShell.Commands.GetItemCommand",
        category="ObjectNotFound",
        target=path,
        exception_type="System.Management.Automation.ItemNotFoundException",
        activity="Get-Item",
    )


def sign_in_failed(cmdlet: str, inner_type: str, text: str, *, exo_fqid: str | None = None) -> PSError:
    """A failed app-only sign-in as each connect cmdlet reports it (docs/sources.md §7b items 4 and 14):
    Connect-MgGraph prefixes the credential type, `ClientCertificateCredential authentication failed: <text>`,
    in its 5.1 record (NotSpecified, FQID ...Authentication.Cmdlets.ConnectMgGraph, msgraph-sdk-powershell
    #2474); ExchangeOnlineManagement 3.x rethrows the inner exception, so the MSAL (or crypto) message is
    printed directly (records_service.exo_sign_in_failed, issue #12; the older "Error Acquiring Token:"
    prefix is Connect-IPPSSession's, office-docs-powershell#10728)."""
    if cmdlet == "Connect-MgGraph":
        return PSError(
            f"ClientCertificateCredential authentication failed: {text}",
            fqid="Microsoft.Graph.PowerShell.Authentication.Cmdlets.ConnectMgGraph",
            category="NotSpecified",
            exception_type="Azure.Identity.AuthenticationFailedException",
            activity=cmdlet,
        )
    from pswrap.lab.handlers.records_service import exo_sign_in_failed

    return exo_sign_in_failed(inner_type, text, fqid=exo_fqid)


def keyset_missing(cmdlet: str) -> PSError:
    """§7b item 14, no usable private key: Graph (verbatim, msgraph-sdk-powershell#2503)
    `ClientCertificateCredential authentication failed: Keyset does not exist`; EXO (closest, the same
    module's Connect-IPPSSession, office-docs-powershell#10728) `Error Acquiring Token:` +
    `System.Security.Cryptography.CryptographicException: Keyset does not exist`."""
    return sign_in_failed(
        cmdlet, "System.Security.Cryptography.CryptographicException", "Keyset does not exist"
    )


def _aad_trace(at: datetime) -> str:
    """The trailer Entra ID's token endpoint appends to every AADSTS description (azure-cli#22145)."""
    return (
        f"\r\nTrace ID: {uuid.uuid4()}\r\nCorrelation ID: {uuid.uuid4()}\r\n"
        f"Timestamp: {at.strftime('%Y-%m-%d %H:%M:%SZ')}"
    )


def tenant_not_found(cmdlet: str, tenant: str, at: datetime) -> PSError:
    """NOT in docs/sources.md; Entra ID's token-endpoint text for a tenant it does not know (verbatim in
    public
    transcripts, azure-cli#22145, microsoft/cross-tenant#83): `AADSTS90002: Tenant '<t>' not found. ...`,
    rendered as each connect cmdlet renders a failed sign-in (`sign_in_failed`, closest for EXO)."""
    text = (
        f"AADSTS90002: Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and "
        "are signing into the correct cloud. Check with your subscription administrator, this may happen if "
        "there are no active subscriptions for the tenant." + _aad_trace(at)
    )
    return sign_in_failed(cmdlet, "Microsoft.Identity.Client.MsalServiceException", text)


def application_not_found(cmdlet: str, app_id: str, directory: str, at: datetime) -> PSError:
    """NOT in docs/sources.md; Entra ID's text for an app id the tenant does not have (verbatim in public
    transcripts: `Connect-MgGraph: ClientSecretCredential authentication failed: AADSTS700016: ...`,
    microsoft/entra-powershell#1259; the MSAL exception form, microsoft/powerbi-powershell#411), rendered as
    each connect cmdlet renders a failed sign-in (`sign_in_failed`, closest for EXO)."""
    text = (
        f"AADSTS700016: Application with identifier '{app_id}' was not found in the directory '{directory}'. "
        "This can happen if the application has not been installed by the administrator of the tenant or "
        "consented to by any user in the tenant. You may have sent your authentication request to the wrong "
        "tenant." + _aad_trace(at)
    )
    return sign_in_failed(cmdlet, "Microsoft.Identity.Client.MsalServiceException", text)


def snapin_not_installed(name: str) -> PSError:
    """NOT in docs/sources.md; PowerShell's Add-PSSnapin text for a snap-in that is not registered (resource
    AddPSSnapInRead / PSSnapInNotFound, verbatim in public transcripts of Exchange scripts run without the
    management tools): `The Windows PowerShell snap-in '<name>' is not installed on this computer.`"""
    return PSError(
        f"The Windows PowerShell snap-in '{name}' is not installed on this computer.",
        fqid="AddPSSnapInRead,Microsoft.PowerShell.Commands.AddPSSnapinCommand",
        category="InvalidArgument",
        target=name,
        exception_type="System.Management.Automation.PSArgumentException",
        activity="Add-PSSnapin",
    )


GRAPH_AFTER_EXO = (
    "ClientCertificateCredential authentication failed: Method not found: "
    "'!0 Microsoft.Identity.Client.AbstractAcquireTokenParameterBuilder`1."
    "WithTenantIdFromAuthority(System.Uri)'."
)
"""§7b item 4, the WinPS 5.1 (`name : `) report (msgraph-sdk-powershell#2227 comment 2025-09-01) of the
MSAL clash of #3394: Connect-MgGraph after Connect-ExchangeOnline in one process."""


def graph_after_exo() -> PSError:
    """§7b item 4: 5.1 record for Connect-MgGraph failures (msgraph-sdk-powershell#2474)."""
    return PSError(
        GRAPH_AFTER_EXO,
        fqid="Microsoft.Graph.PowerShell.Authentication.Cmdlets.ConnectMgGraph",
        category="NotSpecified",
        exception_type="Azure.Identity.AuthenticationFailedException",
        activity="Connect-MgGraph",
    )


EXO_AFTER_GRAPH = (
    "Method not found: 'Microsoft.Identity.Client.PublicClientApplicationBuilder "
    "Microsoft.Identity.Client.Broker.BrokerExtension.WithBroker(Microsoft.Identity.Client."
    "PublicClientApplicationBuilder, Microsoft.Identity.Client.BrokerOptions)'."
)
"""§7b item 4, reverse order (Graph first, then EXO 3.9.2, WinPS 5.1; SamErde/DLLPickle#156), verbatim."""


def exo_after_graph() -> PSError:
    return PSError(
        EXO_AFTER_GRAPH,
        fqid=EXO_AFTER_GRAPH,
        category="OperationStopped",
        exception_type="System.MissingMethodException",
    )
