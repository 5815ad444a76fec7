"""What the lab needs to accept Kerberos as a Windows WinRM listener does: tokens, keytab, error replies.

The acceptor is pyspnego's (GSSAPI, MIT krb5 underneath). With no acceptor name, GSSAPI accepts a ticket
for any service principal whose key is in the keytab, and finds the keytab through the KRB5_KTNAME
environment variable (MIT Kerberos documentation, "Environment variables"; pyspnego's server contexts
take no keytab argument). So the lab's keytab decides which names it answers to, exactly as the
computer account's SPNs decide it for a Windows server: a client that asks the KDC for a ticket to a name
no principal covers (an IP address, an alias) is refused by the KDC before the lab sees anything.

Token shapes (RFC 2743 section 3.1, RFC 4178 section 4.2): a GSS initial-context token starts with
0x60 and names its mechanism's OID; SPNEGO's OID means a NegTokenInit (pypsrp `auth="negotiate"`),
Kerberos's OID means a raw Kerberos AP-REQ (pypsrp `auth="kerberos"`, sent under either header name).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

SPNEGO_OID = bytes.fromhex("06062b0601050502")  # 1.3.6.1.5.5.2
KRB5_OID = bytes.fromhex("06092a864886f712010202")  # 1.2.840.113554.1.2.2
MS_KRB5_OID = bytes.fromhex("06092a864882f712010202")  # 1.2.840.48018.1.2.2 (Windows' alias)


class KeytabError(ValueError):
    """The lab cannot use the keytab it was given (missing, unreadable, or gssapi not installed)."""


def token_kind(token: bytes) -> str:
    """`ntlm`, `kerberos` (a raw AP-REQ), `spnego` (a NegTokenInit) or `continue` (anything else)."""
    if token.startswith(b"NTLMSSP\x00"):
        return "ntlm"
    if token[:1] == b"\x60":
        head = token[:24]
        if SPNEGO_OID in head:
            return "spnego"
        if KRB5_OID in head or MS_KRB5_OID in head:
            return "kerberos"
    return "continue"


def check_keytab(path: str | os.PathLike[str]) -> str:
    """The keytab's absolute path, after checking the lab can use it; KeytabError says why not."""
    import importlib.util

    if importlib.util.find_spec("gssapi") is None:
        raise KeytabError(
            "the lab accepts Kerberos through the Python gssapi package, which is not installed "
            "(pip install 'pswrap[kerberos]' after the system's Kerberos packages: docs/authentication.md)"
        )
    keytab = Path(path).expanduser().absolute()
    try:
        data = keytab.read_bytes()
    except OSError as exc:
        raise KeytabError(f"cannot read the keytab {keytab}: {exc.strerror or exc}") from None
    # A keytab file starts with 0x05 0x01 or 0x05 0x02 (MIT krb5 keytab file format, "Keytab file format").
    if data[:1] != b"\x05" or data[1:2] not in (b"\x01", b"\x02"):
        raise KeytabError(f"{keytab} is not a Kerberos keytab (ktutil or kadmin's ktadd writes one)")
    return str(keytab)


def error_token(exc: BaseException, context: Any) -> bytes | None:
    """The KRB-ERROR token GSSAPI produced when it refused a ticket (clock skew, expired, wrong key).

    Windows returns this token with the 401 so the client can say why (RFC 4559 section 5; RFC 4121
    section 4.1: the acceptor's KRB-ERROR travels back to the initiator). python-gssapi attaches it to its
    GSSError as `token`, but by default its SecurityContext.step defers the error and returns the token
    instead (python-gssapi documentation, SecurityContext.step, `__DEFER_STEP_ERRORS__`), keeping the
    error as the context's `_last_err`; pyspnego 0.12 then fails reading the unfinished context's flags,
    so the token is looked for on the exception and on the contexts `context` (pyspnego's) holds.
    """
    seen: list[Any] = [exc, getattr(exc, "base_error", None), exc.__cause__, exc.__context__]
    node = context
    for _ in range(4):  # NegotiateProxy -> GSSAPIProxy -> gssapi.SecurityContext
        if node is None:
            break
        seen.append(getattr(node, "_last_err", None))
        try:
            node = getattr(node, "_context", None)
        except Exception:  # NegotiateProxy._context raises before a mechanism was chosen
            break
    for candidate in seen:
        token = getattr(candidate, "token", None)
        if isinstance(token, bytes) and token:
            return token
    return None


def spnego_reject(response_token: bytes) -> bytes:
    """A SPNEGO NegTokenResp with negState reject carrying `response_token` (RFC 4178 section 4.2.2).

    NegTokenResp ::= [1] SEQUENCE { negState [0] ENUMERATED, responseToken [2] OCTET STRING }, DER.
    """
    neg_state = _der(0xA0, _der(0x0A, b"\x02"))  # reject (2)
    response = _der(0xA2, _der(0x04, response_token))
    return _der(0xA1, _der(0x30, neg_state + response))


def _der(tag: int, value: bytes) -> bytes:
    n = len(value)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + value
