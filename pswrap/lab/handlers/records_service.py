"""Error records of the cloud services as their modules print them today (issue #12, "real error texts").

Kept apart from records.py (which holds the older catalogue) so each builder here sits next to its source.
Texts are verbatim from the cited transcripts; where a part of a record was not seen, the choice is said.
"""

from __future__ import annotations

from pswrap.lab.dispatch import PSError

# --- Exchange Online sign-in (Connect-ExchangeOnline, ExchangeOnlineManagement 3.x) -----------------------


def exo_sign_in_failed(inner_type: str, text: str, *, fqid: str | None = None) -> PSError:
    """A failed app-only sign-in as ExchangeOnlineManagement 3.x prints it: the module rethrows the inner
    exception (`throw $_.Exception.InnerException;`, ExchangeOnlineManagement.psm1), so the MSAL message
    is the record's message, with `OperationStopped: (:) [], <ExceptionShortName>` and the message as the
    FullyQualifiedErrorId (docs/sources.md §7b item 4, the reverse-order transcript, community:
    https://github.com/SamErde/DLLPickle/issues/156). The message itself is Entra ID's AADSTS text as MSAL
    carries it."""
    return PSError(
        text,
        fqid=fqid or text,
        category="OperationStopped",
        exception_type=inner_type,
        activity="",
    )


APP_ROLE_NOT_SUPPORTED = (
    "The role assigned to application {app_id} isn't supported in this scenario. Please check online "
    "documentation for assigning correct Directory Roles to Azure AD Application for EXO App-Only "
    "Authentication."
)
"""community: https://github.com/Microsoft365DSC/Microsoft365DSC/issues/4530 (WinPS 5.1, module 3.4.0:
`OperationStopped: (:) [], SystemException`, the message as FQID) and
https://github.com/maester365/maester/issues/718: the app has Exchange.ManageAsApp but no Entra role that
EXO app-only sign-in supports (app-only-auth-powershell-v2, "Assign Microsoft Entra roles to the app")."""


def exo_app_role_not_supported(app_id: str) -> PSError:
    text = APP_ROLE_NOT_SUPPORTED.format(app_id=app_id)
    return PSError(text, fqid=text, category="OperationStopped", exception_type="System.SystemException")


EXO_UNAUTHORIZED = "UnAuthorized"
"""community: https://github.com/Microsoft365DSC/Microsoft365DSC/issues/4380 (Connect-ExchangeOnline
-CertificateThumbprint after "Successfully got a token from AAD": the app lacks the Exchange.ManageAsApp
permission or its consent). The record's category and exception type were not in the transcript: the
module's rethrow shape (OperationStopped, System.Exception) is used, conservatively."""


def exo_unauthorized() -> PSError:
    return PSError(
        EXO_UNAUTHORIZED,
        fqid=EXO_UNAUTHORIZED,
        category="OperationStopped",
        exception_type="System.Exception",
    )


# --- Microsoft Graph: a property another service masters ---------------------------------------------------

EXTERNAL_SERVICE_READ_ONLY = (
    "Unable to update the specified properties for objects that have originated within an external service."
)
"""community: https://github.com/microsoftgraph/microsoft-graph-docs/issues/12584 (Request_BadRequest,
HTTP 400; users converted from synced to cloud, onPremisesSyncEnabled null) and
https://github.com/microsoftgraph/msgraph-sdk-php/issues/292 (cloud-only users, Exchange-owned
properties). The lab answers it for a cloud user marked `converted_from_sync`."""
