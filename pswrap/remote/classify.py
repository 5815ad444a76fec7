"""Turn what went wrong remotely into pswrap's typed errors.

Two sources: PowerShell's ErrorRecords (a cmdlet failed; classified by FullyQualifiedErrorId, exception
type and message, with the exact texts of domain.md §7b), and the transport (pypsrp, requests: HTTP
status, dropped connections, TLS, WSMan faults). A caller catches the branch it can act on (e.g.
`AlreadyExists` in a check-then-act step) and the CLI maps every branch to its exit code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pswrap import errors as e

# System.Management.Automation.ErrorCategory, in enum order (an ErrorRecord carries the number).
ERROR_CATEGORIES = (
    "NotSpecified", "OpenError", "CloseError", "DeviceError", "DeadlockDetected", "InvalidArgument",
    "InvalidData", "InvalidOperation", "InvalidResult", "InvalidType", "MetadataError", "NotImplemented",
    "NotInstalled", "ObjectNotFound", "OperationStopped", "OperationTimeout", "SyntaxError", "ParserError",
    "PermissionDenied", "ResourceBusy", "ResourceExists", "ResourceUnavailable", "ReadError", "WriteError",
    "FromStdErr", "SecurityError", "ProtocolError", "ConnectionError", "AuthenticationError",
    "LimitsExceeded", "QuotaExceeded", "NotEnabled",
)  # fmt: skip


@dataclass(frozen=True)
class RemoteRecord:
    """The parts of a PowerShell ErrorRecord pswrap uses, independent of pypsrp's classes."""

    message: str
    fqid: str = ""
    category: str = "NotSpecified"
    reason: str = ""
    """The exception's short type name (CategoryInfo's last part, e.g. ADIdentityNotFoundException)."""
    target_object: str = ""


def record_from_pypsrp(err: Any) -> RemoteRecord:
    """Read an `ErrorRecordMessage`/`ErrorRecord` from pypsrp (attributes may be missing or None)."""
    message = ""
    exc = getattr(err, "exception", None)
    props = getattr(exc, "adapted_properties", None) or {}
    if isinstance(props, dict) and props.get("Message"):
        message = str(props["Message"])
    if not message:
        text = getattr(err, "_to_string", None) or ""
        message = str(text) if text else ""
    if not message:
        message = str(getattr(err, "details_message", "") or getattr(err, "message", "") or "")
    cat = getattr(err, "category", None)
    category = (
        ERROR_CATEGORIES[cat] if isinstance(cat, int) and 0 <= cat < len(ERROR_CATEGORIES) else "NotSpecified"
    )
    target = getattr(err, "target_name", None) or getattr(err, "target_object", None) or ""
    return RemoteRecord(
        message=message.strip(),
        fqid=str(getattr(err, "fq_error", "") or ""),
        category=category,
        reason=str(getattr(err, "reason", "") or ""),
        target_object=str(target),
    )


Rule = tuple[type[e.RemoteError], Callable[[RemoteRecord, str], bool], str]

NOT_FOUND_HINT = "check the identity (for AD, also the pinned domain controller) and run again"
ACCESS_HINT = "grant the remoting account or the app the permission the step needs"
REMOTE_HINT = "PowerShell's message says what failed; `pswrap --debug` shows the whole record"
ALREADY_EXISTS_HINT = "the object exists already: find it and reuse it, or choose another name"


def _has(*needles: str) -> Callable[[RemoteRecord, str], bool]:
    pats = [n.lower() for n in needles]

    def test(r: RemoteRecord, _need: str) -> bool:
        hay = f"{r.fqid}\n{r.reason}\n{r.message}".lower()
        return any(p in hay for p in pats)

    return test


def _command_not_found(r: RemoteRecord, _need: str) -> bool:
    return "commandnotfoundexception" in f"{r.fqid} {r.reason}".lower() or bool(
        re.search(r"is not recognized as (the|a) name of a cmdlet", r.message)
    )


def _cloud_command_missing(r: RemoteRecord, need: str) -> bool:
    # EXO V3 creates Get-Mailbox & co. only when Connect-ExchangeOnline runs (domain.md §7b item 2):
    # an unknown command in a cloud pool means the session is not (or no longer) connected.
    return need in ("exo", "graph") and _command_not_found(r, need) and "connect-" not in r.message.lower()


RULES: tuple[Rule, ...] = (
    # domain.md §7b 12: "AAD is busy" / "Sync is already running" from Start-ADSyncSyncCycle.
    (e.SyncBusy, _has("AAD is busy", "Sync is already running"), "wait for the running sync cycle to end"),
    # The lease templates' own lock (ps_templates/sync/_leases.ps1.j2, docs/sync.md "Leases and their lock").
    (
        e.LeaseLocked,
        _has("pswrap lease lock:"),
        "another lease change (a pswrap run or a lease task) was running on the sync server; run again",
    ),
    # MC1263280 / §3: hard match takeover blocked; InvalidHardMatch export error text.
    (
        e.HardMatchBlocked,
        _has("Hard match operation blocked", "InvalidHardMatch", "same source anchor already exists"),
        "the tenant blocks hard-match takeover; an admin must lift BlockCloudObjectTakeoverThroughHardMatch",
    ),
    (
        e.Throttled,
        _has("TooManyRequests", "HttpStatusCode=429", "(429)", "throttl", "Server Busy", "server is busy"),
        "the service is throttling; pswrap retries with backoff",
    ),
    (
        e.NotConnected,
        _has(
            "Authentication needed. Please call Connect-MgGraph", "You must call the Connect-ExchangeOnline"
        ),
        "the cloud session is not connected; pswrap reconnects on the next run",
    ),
    (e.NotConnected, _cloud_command_missing, "the cloud session is not connected"),
    (
        e.ModuleMissing,
        _has(
            "Modules_ModuleNotFound",
            "was not loaded because no valid module file was found",
            "isn't available",
            "is not available",
            "snap-in",
            "PSSnapin",
        ),
        "install the module on the host (`pswrap doctor` checks every need)",
    ),
    (e.ModuleMissing, _command_not_found, "install the module on the host (`pswrap doctor` checks them)"),
    # §7b 4 and 14: a failed app-only sign-in of a connect step (AADSTS codes from Entra ID, wrapped as
    # Connect-MgGraph's "...Credential authentication failed:" or EXO's "Error Acquiring Token:").
    (
        e.RemoteError,
        _has("AADSTS", "Error Acquiring Token", "ClientCertificateCredential authentication failed"),
        "Entra ID refused the app-only sign-in: check tenant_id, app_id, organization and "
        "certificate_thumbprint of the target (`pswrap doctor` checks them)",
    ),
    # §7b 5: New-ADUser, account exists (1316) or the CN is in use (8305).
    (
        e.AlreadyExists,
        _has(
            "ActiveDirectoryServer:1316",
            "ADIdentityAlreadyExistsException",
            "ActiveDirectoryServer:8305",
            "already exists",
            "name that is already in use",
            # Exchange: a recipient name in use (ADObjectAlreadyExistsException, "The name ... is already
            # being used. Please try another name.", as the lab renders it after domain.md §4).
            "ADObjectAlreadyExistsException",
            "Please try another name",
        ),
        ALREADY_EXISTS_HINT,
    ),
    # issue #11: an Exchange Online write of a value AD masters after the link (its on-premises form and
    # its DualWrite form; Graph's own Request_BadRequest is the rule below): needs a human, in AD.
    (
        e.Conflict,
        _has("is being synchronized from your on-premises organization", "DualWrite (Graph)"),
        "after the link on-premises AD masters this value: change it in AD, or move the Exchange attributes "
        "to the cloud first (docs/mastering.md)",
    ),
    # §7b 8 and 10: an address or ImmutableId held by another object; writes to a synced object.
    (
        e.Conflict,
        _has(
            "is already being used by the proxy addresses",
            "ObjectConflict",
            "Another object with the same value",
            "on-premises mastered Directory Sync objects",
            "WLCDManagedMemberExistsException",
        ),
        "another object holds the value; resolve the conflict, then run again",
    ),
    # §7b 6, 9, 11: AD identity, Exchange object and Graph resource not found.
    (
        e.NotFound,
        _has(
            "ADIdentityNotFoundException",
            "ManagementObjectNotFoundException",
            "Request_ResourceNotFound",
            "Cannot find an object with identity",
            "couldn't be found on",
        ),
        NOT_FOUND_HINT,
    ),
    (
        e.AccessDenied,
        _has(
            "Access is denied",
            "Authorization_RequestDenied",
            "Insufficient privileges",
            "UnauthorizedAccessException",
            "accessDenied,",
        ),
        ACCESS_HINT,
    ),
)


def classify_record(
    record: RemoteRecord, *, step_id: str | None, target: str | None, need: str = ""
) -> e.RemoteError:
    """The typed error for one ErrorRecord (RemoteError when nothing more specific matches)."""
    cls: type[e.RemoteError] = e.RemoteError
    hint = REMOTE_HINT
    for candidate, test, candidate_hint in RULES:
        if test(record, need):
            cls, hint = candidate, candidate_hint
            break
    else:
        if record.category in ("PermissionDenied", "SecurityError"):
            cls, hint = e.AccessDenied, ACCESS_HINT
        elif record.category == "ObjectNotFound":
            cls, hint = e.NotFound, NOT_FOUND_HINT
        elif record.category == "ResourceExists":
            cls, hint = e.AlreadyExists, ALREADY_EXISTS_HINT
    return cls(
        record.message or record.fqid or "the step failed without a message",
        step_id=step_id,
        target=target,
        fqid=record.fqid or None,
        category=record.category,
        target_object=record.target_object or None,
        hint=hint,
    )


# --- transport ----------------------------------------------------------------------------------------

SHELL_GONE_CODES = {
    0x80338043,  # ERROR_WSMAN_INVALID_SELECTORS: the ShellId names no shell (closed, timed out, killed)
    0x8033805B,  # ERROR_WSMAN_UNEXPECTED_SELECTORS
    0x803381A6,  # ERROR_WSMAN_QUOTA_MAX_OPERATIONS: Ansible resets the shell once (ansible#83656)
}


TRANSIENT_FAULT_CODES = {
    0x80004005,  # E_FAIL: the service failed internally (HTTP 500, subcode w:InternalError)
    0x800705B4,  # ERROR_TIMEOUT
    0x8007000E,  # E_OUTOFMEMORY: the server is short of memory for now
}


class ShellGone(e.ConnectionFailed):
    """The runspace pool's shell no longer exists on the server: reopen the pool once and reconnect."""


def classify_transport(exc: BaseException, *, where: str, what: str) -> e.TransportError:
    """A pypsrp/requests/socket failure as a TransportError. `where` names the endpoint, `what` the action."""
    import requests
    from pypsrp import exceptions as px

    if isinstance(exc, e.TransportError):
        return exc
    # Kerberos (GSSAPI, the KDC): clock skew, unknown SPN, expired ticket... (pswrap/remote/kerberos.py).
    from pswrap.remote.kerberos import classify_kerberos

    kerberos = classify_kerberos(exc, where=where, what=what)
    if kerberos is not None:
        return kerberos
    if isinstance(exc, px.AuthenticationError) or (
        isinstance(exc, px.WinRMTransportError) and exc.code == 401
    ):
        return e.AuthenticationError(
            f"{where} refused the credentials while {what}",
            hint="check the user name, the password source and `auth` of the target (`pswrap targets show`)",
        )
    if isinstance(exc, px.WinRMTransportError):
        err = e.ConnectionFailed(
            f"{where} answered HTTP {exc.code} while {what}",
            hint="the server had a problem; pswrap retries transient errors"
            if exc.code >= 500
            else "check the target's scheme, port and configuration_name (`pswrap targets show`)",
        )
        err.transient = exc.code >= 500 or exc.code == 429
        return err
    if isinstance(exc, px.WSManFaultError):
        reason = str(exc.reason or "").strip()
        if exc.code in SHELL_GONE_CODES or "shell was not found" in reason.lower():
            return ShellGone(
                f"the PowerShell session on {where} is gone ({reason[:120]})",
                hint="pswrap reopens a lost session once; if it keeps happening, check WinRM's IdleTimeout "
                "and MaxShellsPerUser on the server",
            )
        code = exc.code if isinstance(exc.code, int) else -1
        err = e.ConnectionFailed(
            f"{where} returned WS-Management fault {code:#x} while {what}: {reason[:200]}",
            hint="a server-side failure; pswrap retries it"
            if code in TRANSIENT_FAULT_CODES
            else "the fault's reason says what the server refused; `pswrap --debug` shows the exchange",
        )
        err.transient = code in TRANSIENT_FAULT_CODES
        return err
    if isinstance(exc, requests.exceptions.SSLError):
        err = e.ConnectionFailed(
            f"TLS with {where} failed while {what}: the server's certificate could not be verified",
            hint="set ca_bundle to the CA that issued the server's certificate "
            "(cert_validation = false only for a throwaway lab)",
        )
        err.transient = False
        return err
    if isinstance(exc, (requests.exceptions.ReadTimeout, TimeoutError)):
        return e.TransportTimeout(
            f"{where} did not answer in time while {what}",
            hint="the server is slow or unreachable; raise the target's read_timeout if it is just slow",
        )
    if isinstance(exc, (requests.exceptions.ConnectionError, ConnectionError, OSError)):
        return e.ConnectionFailed(
            f"the connection to {where} failed while {what} ({type(exc).__name__})",
            hint="check that WinRM listens there (host, port, scheme) and the network path is open",
        )
    if isinstance(exc, requests.exceptions.RequestException):
        return e.ConnectionFailed(
            f"the request to {where} failed while {what} ({type(exc).__name__})",
            hint="check the target's host, port and scheme (`pswrap targets show`)",
        )
    if isinstance(exc, px.WinRMError):
        err = e.ConnectionFailed(
            f"the PSRP conversation with {where} failed while {what}: {exc}"[:400],
            hint="check the target's configuration_name (a PowerShell endpoint); --debug shows more",
        )
        err.transient = False
        return err
    raise exc
