"""Judgements on the connection itself: what protects the conversation, and whether each host answers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pswrap import errors as e
from pswrap.steps.model import Need
from pswrap.workflows.checks.model import Check, failed, passed, warned


def judge_encryption(target: Any) -> Check:
    """What protects the conversation: TLS (HTTPS) or message encryption inside HTTP (NTLM/Kerberos/CredSSP).

    Basic authentication cannot encrypt messages (docs/sources.md, message encryption), and `encryption =
    never` over HTTP
    sends every script and result in the clear.
    """
    name = "message encryption"
    scheme = getattr(target, "scheme", "https")
    auth = getattr(target, "auth", "negotiate")
    mode = getattr(target, "encryption", "auto")
    if scheme == "https":
        if not getattr(target, "cert_validation", True):
            return warned(
                "connection.encryption",
                name,
                "HTTPS (TLS) without checking the server's certificate: encrypted, to an unverified server",
                "set cert_validation = true and ca_bundle = the PEM of the CA that issued the WinRM "
                "listener's certificate (docs/sources.md, message encryption)",
            )
        return passed("connection.encryption", name, f"HTTPS (TLS), {auth} authentication")
    if auth == "basic" or mode == "never":
        why = "Basic authentication cannot encrypt messages" if auth == "basic" else "encryption = never"
        return failed(
            "connection.encryption",
            name,
            f"HTTP with {auth} authentication: {why}, so scripts and results cross the network in the clear",
            'use scheme = "https", or auth = "ntlm"/"negotiate" with encryption = "auto" '
            "(pypsrp encrypts each message then; docs/sources.md, message encryption)",
        )
    return passed(
        "connection.encryption", name, f"HTTP with {auth} message encryption (every message is sealed)"
    )


def judge_host_error(host: str, needs: Sequence[Need], error: Exception | None) -> Check:
    """Reachability and sign-in of one host, from what happened when the first step was sent to it."""
    name = f"reach and sign in to {host} ({', '.join(needs)})"
    check_id = f"connection.host.{host}"
    if error is None:
        return passed(check_id, name, "reached; the remoting account signed in and ran a script")
    if isinstance(error, e.AuthenticationError):
        return failed(
            check_id,
            name,
            f"the server refused the credentials: {error}",
            "check username and the password source of the target (`pswrap targets show`); the account "
            "must be allowed to use WinRM on the host (Remote Management Users or Administrators)",
        )
    if isinstance(error, e.TransportError):
        return failed(
            check_id,
            name,
            f"could not reach WinRM: {error}",
            f"check that {host} resolves and that WinRM listens (Test-WSMan {host} from a Windows box; "
            "port 5986 for HTTPS, 5985 for HTTP) and no firewall blocks it",
        )
    if not isinstance(error, e.RemoteError):
        # Nothing reached the host (a setting pswrap could not use, an extra that is not installed):
        # never claim a sign-in that did not happen.
        return failed(
            check_id,
            name,
            f"not tried: {error}",
            getattr(error, "hint", None) or "fix the target's settings (`pswrap targets show`)",
        )
    return passed(check_id, name, "reached and signed in (the first script failed; see the next checks)")
