"""HTTP authentication as WinRM does it: Basic, NTLM and Kerberos (over `Negotiate` or `Kerberos`), with
message encryption.

NTLM and Kerberos contexts belong to one TCP connection (their session keys seal every later message on
it), so the server keeps one `ConnectionAuth` per connection. Modes: `basic`; `ntlm` (the `Negotiate`
challenge, NTLM only); `negotiate` (the `Negotiate` challenge: Kerberos or NTLM, SPNEGO-wrapped or raw,
as a Windows listener with Negotiate enabled); `kerberos` (the `Kerberos` challenge, Kerberos only, as a
listener with only Kerberos enabled). Kerberos needs a keytab (pswrap/lab/kerberos.py).

pyspnego's acceptors take their secrets from environment variables, not arguments: the NTLM acceptor
(pyspnego 0.12) reads the account from the file named by NTLM_USER_FILE (checked when a context is
created, read again when the client's AUTHENTICATE message arrives), the Kerberos acceptor reads the
keytab named by KRB5_KTNAME. The variables are process-wide, so every acceptor step runs under one lock
with the variables pointing at its lab's files, restored afterwards (`_accepting_with`): labs in one
process accept different accounts and keytabs, and the variables never leak into the process (or the
programs it starts) outside a step. Each NTLM account gets its own file (`ntlm_account_file`).
"""

from __future__ import annotations

import atexit
import base64
import binascii
import contextlib
import hmac
import os
import re
import struct
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pswrap.lab.kerberos import error_token, spnego_reject, token_kind

SPNEGO_PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
KERBEROS_PROTOCOL = "application/HTTP-Kerberos-session-encrypted"
_BOUNDARY = b"--Encrypted Boundary"


class AuthFailed(Exception):
    """The request must be answered 401 (with `challenge` as WWW-Authenticate)."""

    def __init__(self, challenge: str) -> None:
        super().__init__(challenge)
        self.challenge = challenge


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str


# --- NTLM account file --------------------------------------------------------------------------

_ntlm_lock = threading.Lock()
_ntlm_files: dict[str, str] = {}


def _ntlm_line(username: str, password: str) -> str:
    domain, user = username.split("\\", 1) if "\\" in username else ("", username)
    return f"{domain}:{user}:{password}"


def ntlm_account_file(creds: Credentials) -> str:
    """A file (0600, removed at exit) holding this one account in pyspnego's NTLM_USER_FILE format."""
    line = _ntlm_line(creds.username, creds.password)
    with _ntlm_lock:
        path = _ntlm_files.get(line)
        if path is None:
            remove_stale_account_files()
            # The owner's pid is in the name, so a later process can tell a file left by a killed one.
            fd, path = tempfile.mkstemp(prefix=f"{ACCOUNT_FILE_PREFIX}{os.getpid()}-", suffix=".txt")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(line + "\n")
            atexit.register(_remove, path)
            _ntlm_files[line] = path
        return path


@contextlib.contextmanager
def _accepting_with(variables: dict[str, str | None]) -> Iterator[None]:
    """The acceptor's variables (None = unset) for the duration of one acceptor step (under `_ntlm_lock`)."""
    with _ntlm_lock:
        previous = {name: os.environ.get(name) for name in variables}
        try:
            for name, value in variables.items():
                _set_env(name, value)
            yield
        finally:
            for name, value in previous.items():
                _set_env(name, value)


def _set_env(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def register_ntlm_account(creds: Credentials) -> None:
    """Kept for callers of the first version: preparing the account's file is all that is needed."""
    ntlm_account_file(creds)


ACCOUNT_FILE_PREFIX = "pswrap-lab-ntlm-"


def remove_stale_account_files(directory: str | None = None) -> list[str]:
    """Remove account files (they hold a lab password) left by processes that were killed before their
    atexit ran: this user's files whose owner pid no longer runs. Returns what was removed."""
    import glob

    removed: list[str] = []
    folder = directory or tempfile.gettempdir()
    for path in glob.glob(os.path.join(folder, f"{ACCOUNT_FILE_PREFIX}*-*.txt")):
        pid_text = os.path.basename(path)[len(ACCOUNT_FILE_PREFIX) :].split("-", 1)[0]
        if not pid_text.isdigit() or int(pid_text) == os.getpid():
            continue
        try:
            if os.stat(path).st_uid != os.getuid():
                continue
            os.kill(int(pid_text), 0)  # raises when no such process runs
        except ProcessLookupError:
            with contextlib.suppress(OSError):
                os.unlink(path)
                removed.append(path)
        except OSError:
            continue  # the file went away, or the pid runs under another user: not ours to judge
    return removed


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


# --- per-connection state -----------------------------------------------------------------------


@dataclass
class ConnectionAuth:
    """The authentication state of one TCP connection."""

    mode: str  # "basic" | "ntlm" | "negotiate" | "kerberos"
    creds: Credentials
    keytab: str | None = None
    """The Kerberos acceptor's keytab (modes negotiate and kerberos)."""
    ntlm_file: str | None = None
    context: Any = None
    authenticated: bool = False
    scheme: str = "Negotiate"
    """The header name the client authenticates with; replies and the encryption protocol follow it."""
    spnego: bool = True
    """Whether the current context speaks SPNEGO (else raw NTLM or raw Kerberos tokens)."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def challenge(self) -> str:
        if self.mode == "basic":
            return 'Basic realm="WSMAN"'
        return "Kerberos" if self.mode == "kerberos" else "Negotiate"

    @property
    def encryption_protocol(self) -> str:
        """[MS-WSMV] 2.2.9.1: the protocol names the mechanism the client authenticated with."""
        return KERBEROS_PROTOCOL if self.scheme.lower() == "kerberos" else SPNEGO_PROTOCOL

    @property
    def encrypted_content_type(self) -> str:
        return f'multipart/encrypted;protocol="{self.encryption_protocol}";boundary="Encrypted Boundary"'

    def check(self, authorization: str | None) -> str | None:
        """Authenticate a request; returns a token to send in WWW-Authenticate (after `scheme`) or None.

        Raises AuthFailed for a 401. A connection already authenticated needs no header.
        """
        if self.mode == "basic":
            self._basic(authorization)
            return None
        return self._negotiate(authorization)

    def _basic(self, authorization: str | None) -> None:
        if not authorization or not authorization.lower().startswith("basic "):
            raise AuthFailed(self.challenge)
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise AuthFailed(self.challenge) from None
        user, _, password = decoded.partition(":")
        ok_user = hmac.compare_digest(user.lower().encode(), self.creds.username.lower().encode())
        ok_password = hmac.compare_digest(password.encode(), self.creds.password.encode())
        if not (ok_user and ok_password):
            raise AuthFailed(self.challenge)
        self.authenticated = True
        return None

    def _variables(self) -> dict[str, str | None]:
        """The acceptor's environment: the NTLM account (not in kerberos mode) and the keytab.

        Without a keytab KRB5_KTNAME names an empty file, so an `ntlm` lab never accepts Kerberos even
        when the process's environment names a keytab (the tests' realm does).
        """
        ntlm = None
        if self.mode != "kerberos":
            if self.ntlm_file is None:
                self.ntlm_file = ntlm_account_file(self.creds)
            ntlm = self.ntlm_file
        return {"NTLM_USER_FILE": ntlm, "KRB5_KTNAME": self.keytab or os.devnull}

    def _negotiate(self, authorization: str | None) -> str | None:
        match = re.match(r"^(Negotiate|NTLM|Kerberos)\s+(\S+)$", authorization or "", re.I)
        if match is None:
            if self.authenticated:
                return None
            raise AuthFailed(self.challenge)
        try:
            token = base64.b64decode(match.group(2))
        except binascii.Error:
            raise AuthFailed(self.challenge) from None
        kind = token_kind(token)
        wanted = {"ntlm": ("ntlm",), "kerberos": ("kerberos",)}.get(self.mode, ("ntlm", "kerberos"))
        if kind in ("ntlm", "kerberos") and kind not in wanted:
            raise AuthFailed(self.challenge)  # e.g. raw NTLM at a Kerberos-only listener
        # An NTLM NEGOTIATE message, a SPNEGO NegTokenInit or a Kerberos AP-REQ restarts authentication.
        restart = kind in ("spnego", "kerberos") or token.startswith(b"NTLMSSP\x00\x01")
        with _accepting_with(self._variables()):
            try:
                if self.context is None or restart or self.authenticated:
                    self.context = _new_context(kind)
                    self.authenticated = False
                    self.scheme = match.group(1)
                    self.spnego = kind not in ("ntlm", "kerberos")
                out = self.context.step(token)
            except Exception as exc:  # any acceptor failure (SpnegoError, GSSError, bad token) is a 401
                refusal = self._refusal(exc)
                self.context = None
                raise AuthFailed(refusal) from None
        if self.context.complete:
            if self.context.negotiated_protocol not in wanted:
                self.context = None  # e.g. NTLM inside SPNEGO at a Kerberos-only listener
                raise AuthFailed(self.challenge)
            self.authenticated = True
            return base64.b64encode(out).decode() if out else None
        if out is None:
            self.context = None
            raise AuthFailed(self.challenge)
        raise AuthFailed(f"{match.group(1)} {base64.b64encode(out).decode()}")

    def _refusal(self, exc: BaseException) -> str:
        """The 401's challenge: with GSSAPI's KRB-ERROR token when it made one, so the client can say why."""
        relay = error_token(exc, self.context)
        if relay is None:
            return self.challenge
        token = spnego_reject(relay) if self.spnego else relay
        return f"{self.scheme} {base64.b64encode(token).decode()}"

    # --- message encryption ([MS-WSMV] 2.2.9.1, as pypsrp's WinRMEncryption writes it) -----------

    def unwrap(self, body: bytes) -> bytes:
        parts = [p for p in re.split(rb"--\s*Encrypted Boundary(?:--)?\r\n", body) if p]
        message = b""
        for i in range(0, len(parts) - 1, 2):
            header = parts[i]
            payload = parts[i + 1]
            length_match = re.search(rb"Length=(\d+)", header)
            expected = int(length_match.group(1)) if length_match else -1
            payload = payload.replace(b"\tContent-Type: application/octet-stream\r\n", b"", 1)
            sig_len = struct.unpack("<i", payload[:4])[0]
            signature = payload[4 : 4 + sig_len]
            data = payload[4 + sig_len :]
            plain: bytes = self.context.unwrap_winrm(signature, data)
            if expected >= 0 and len(plain) != expected:
                raise ValueError("encrypted message length does not match its header")
            message += plain
        return message

    def wrap(self, message: bytes) -> bytes:
        signature: bytes
        data: bytes
        signature, data, padding = self.context.wrap_winrm(message)
        length = len(message) + padding
        head = (
            "--Encrypted Boundary\r\n"
            f"\tContent-Type: {self.encryption_protocol}\r\n"
            f"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length={length}\r\n"
            "--Encrypted Boundary\r\n"
            "\tContent-Type: application/octet-stream\r\n"
        ).encode()
        return head + struct.pack("<i", len(signature)) + signature + data + _BOUNDARY + b"--\r\n"


def _new_context(kind: str) -> Any:
    """A pyspnego acceptor for the first token of a conversation (the environment is already set)."""
    import spnego

    if kind == "ntlm":  # raw NTLM (pypsrp auth="ntlm")
        return spnego.server(protocol="ntlm", options=spnego.NegotiateOptions.use_ntlm)
    if kind == "kerberos":  # a raw Kerberos AP-REQ (pypsrp auth="kerberos")
        return spnego.server(protocol="kerberos")
    # SPNEGO (pypsrp auth="negotiate"): Kerberos or NTLM inside, whichever the keytab and account allow.
    return spnego.server(protocol="negotiate", options=spnego.NegotiateOptions.use_negotiate)
