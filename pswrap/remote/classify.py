"""Turn what went wrong remotely into pswrap's typed errors.

Two sources: PowerShell's ErrorRecords (a cmdlet failed; classified by FullyQualifiedErrorId, exception
type and message, with the exact texts of docs/sources.md §7b), and the transport (pypsrp, requests: HTTP
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
ACCESS_HINT = "grant the remoting account or the app the permission the step needs (docs/permissions.md)"
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
    # EXO V3 creates Get-Mailbox & co. only when Connect-ExchangeOnline runs (docs/sources.md §7b item 2):
    # an unknown command in a cloud pool means the session is not (or no longer) connected.
    return need in ("exo", "graph") and _command_not_found(r, need) and "connect-" not in r.message.lower()


RULES: tuple[Rule, ...] = (
    # docs/sources.md §7b 12: "AAD is busy" / "Sync is already running" from Start-ADSyncSyncCycle.
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
            # being used. Please try another name.", as the lab renders it after docs/sources.md §4).
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
    # §7b 10 and microsoft-graph-docs#12584: Graph refuses a property another authority masters, in two
    # wordings; which authority (AD or Exchange Online) follows the user's onPremisesSyncEnabled, which the
    # runner reads to choose the hint (mastered_hint).
    (
        e.MasteredElsewhere,
        _has(
            "on-premises mastered Directory Sync objects",
            "objects that have originated within an external service",
        ),
        "the property is mastered elsewhere: on-premises AD for a synced user, Exchange Online for a cloud "
        "mailbox user; change it there",
    ),
    # §7b 8 and 10: an address or ImmutableId held by another object.
    (
        e.Conflict,
        _has(
            "is already being used by the proxy addresses",
            "ObjectConflict",
            "Another object with the same value",
            "WLCDManagedMemberExistsException",
        ),
        "another object holds the value; resolve the conflict, then run again",
    ),
    # §7b 9: the same exception type for an identity that matches several objects (id Ex9E65A2).
    (e.RemoteError, _has("Ex9E65A2|"), "the identity matches several objects: give a unique one"),
    # §7b 6, 9, 11: AD identity, Exchange object and Graph resource not found, told by error id and
    # exception type, never by English text (a tenant answers in its own language; the category
    # ObjectNotFound below catches the rest).
    (
        e.NotFound,
        _has("ADIdentityNotFoundException", "ManagementObjectNotFoundException", "Request_ResourceNotFound"),
        NOT_FOUND_HINT,
    ),
    # Exchange Online app-only sign-in that got a token but no Exchange access: the app's Entra role
    # (Microsoft365DSC#4530) or its Exchange.ManageAsApp permission (Microsoft365DSC#4380, `UnAuthorized`).
    (
        e.AccessDenied,
        _has("isn't supported in this scenario. Please check online documentation for assigning correct"),
        "assign the app's service principal an Entra role Exchange Online app-only sign-in supports (e.g. "
        "Exchange Recipient Administrator), as Microsoft's app-only authentication guide describes",
    ),
    (
        e.AccessDenied,
        lambda r, _need: r.message.strip() == "UnAuthorized",
        "grant the app the Exchange.ManageAsApp application permission (Office 365 Exchange Online) with "
        "admin consent, and an Entra role for Exchange",
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


def mastered_hint(on_premises_sync_enabled: bool | None) -> str:
    """The fix for a MasteredElsewhere refusal, by who masters the user (Graph's onPremisesSyncEnabled)."""
    if on_premises_sync_enabled:
        return (
            "the user is synced from on-premises AD: change the value on the AD account and let the next "
            "sync cycle carry it to the cloud"
        )
    return (
        "the user is cloud-only (or was converted from sync): Exchange Online masters this property of a "
        "mailbox user; change it with the Exchange Online cmdlet (Set-Mailbox / Set-User), not with Graph"
    )


# --- transport ----------------------------------------------------------------------------------------

SHELL_GONE_CODES = {
    0x80338043,  # ERROR_WSMAN_INVALID_SELECTORS: the ShellId names no shell (closed, timed out, killed)
    0x8033805B,  # ERROR_WSMAN_UNEXPECTED_SELECTORS
    0x803381A6,  # ERROR_WSMAN_QUOTA_MAX_OPERATIONS: Ansible resets the shell once (ansible#83656)
}


ACCESS_DENIED_CODES = {5, 0x80070005}
"""ERROR_ACCESS_DENIED, as WinRM's WSManFault Code (5) or as an HRESULT (2147942405)."""

QUOTA_CODES = {
    # wsmerror.h (Windows SDK), as copied in PowerShell's CimCmdlets source: a per-user or system quota
    # of the WinRM service. Shells end and free the quota, so these are waited out (with backoff).
    0x803381A5,  # ERROR_WSMAN_QUOTA_MAX_SHELLS (MaxShellsPerUser)
    0x803381A7,  # ERROR_WSMAN_QUOTA_USER
    0x803381A8,  # ERROR_WSMAN_QUOTA_SYSTEM
    0x803381AB,  # ERROR_WSMAN_QUOTA_MAX_SHELLUSERS (MaxConcurrentUsers)
    0x803381E4,  # ERROR_WSMAN_QUOTA_MAX_SHELLS_PPQ
}
"""0x803381A6 (ERROR_WSMAN_QUOTA_MAX_OPERATIONS, too many commands in one shell) is in SHELL_GONE_CODES:
the shell is reset once, as Ansible does."""

TRANSIENT_FAULT_CODES = {
    0x80004005,  # E_FAIL: the service failed internally (HTTP 500, subcode w:InternalError)
    0x800705B4,  # ERROR_TIMEOUT
    0x8007000E,  # E_OUTOFMEMORY: the server is short of memory for now
}


REFUSED_ATTEMPTS = 3
"""Tries for a refused connection: a listener that is restarting comes back; a port nobody listens on
does not, and waiting out the whole step deadline for it would only hide the cause."""

_UNRESOLVED_TEXTS = (
    "name or service not known",
    "nodename nor servname",
    "temporary failure in name resolution",
    "getaddrinfo failed",
    "no address associated with hostname",
    "failed to resolve",
    "nameresolutionerror",
)


def _network_cause(exc: BaseException) -> str | None:
    """"unresolved" (DNS), "refused" (nothing listens) or None, from the exception and its chain."""
    import socket

    seen: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 12:
        cur = todo.pop()
        if cur in seen:
            continue
        seen.append(cur)
        todo += [x for x in (cur.__cause__, cur.__context__) if x is not None]
        todo += [a for a in getattr(cur, "args", ()) if isinstance(a, BaseException)]
        reason = getattr(cur, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)
    for cur in seen:
        if isinstance(cur, socket.gaierror) or any(t in f"{type(cur).__name__} {cur}".lower()
                                                   for t in _UNRESOLVED_TEXTS):  # fmt: skip
            return "unresolved"
    for cur in seen:
        if isinstance(cur, ConnectionRefusedError) or "connection refused" in str(cur).lower():
            return "refused"
    return None


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
        if exc.code == 400:
            # A server answers 400 to a message it cannot decrypt: what a request wrapped with the
            # encryption context of a connection that broke gets. The session retries it once on a
            # fresh, re-authenticated connection; a second 400 is a real one.
            err.stale_session = True
        return err
    if isinstance(exc, px.WSManFaultError):
        reason = str(exc.reason or "").strip()
        if exc.code in ACCESS_DENIED_CODES:
            return e.AuthenticationError(
                f"{where} signed the account in but WinRM denied it access while {what}: {reason[:120]}",
                hint="add the account to the host's Remote Management Users group (or Administrators), or "
                "allow it in the endpoint's session configuration (Set-PSSessionConfiguration "
                "<configuration_name> -ShowSecurityDescriptorUI); check configuration_name of the target",
            )
        if exc.code in QUOTA_CODES:
            err = e.ConnectionFailed(
                f"{where} refused a new PowerShell session while {what}: the account's WinRM quota is "
                f"used up ({reason[:160]})",
                hint="pswrap retries until the step's deadline as other sessions end; if it persists, "
                "close stale sessions or raise MaxShellsPerUser / MaxConcurrentUsers on the server",
            )
            err.transient = True
            err.shell_quota = True
            return err
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
        cause = _network_cause(exc)
        if cause == "unresolved":
            err = e.ConnectionFailed(
                f"the connection to {where} failed while {what}: name does not resolve (DNS has no "
                "address for the target's host)",
                hint="check the target's host (and the DNS server this machine uses); "
                "`pswrap targets show` shows the host",
            )
            err.transient = False  # tried once: DNS will not answer differently in a few seconds
            return err
        if cause == "refused":
            err = e.ConnectionFailed(
                f"the connection to {where} was refused while {what} (nothing listens on that port)",
                hint="check that WinRM listens there (`winrm quickconfig`; host, port, scheme)",
            )
            err.attempts_cap = REFUSED_ATTEMPTS
            return err
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
