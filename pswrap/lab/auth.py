"""HTTP authentication as WinRM does it: Basic, and NTLM (over `Negotiate`) with message encryption.

NTLM belongs to one TCP connection (its session keys seal every later message on it), so the server keeps
one `ConnectionAuth` per connection. pyspnego's NTLM acceptor (pyspnego 0.12) has no argument for the
accepted account: it reads the file named by the NTLM_USER_FILE environment variable, checks that it
exists when a context is created, and reads the account from it again when the client's AUTHENTICATE
message arrives. The variable is process-wide, so each account gets its own file (`ntlm_account_file`) and
every NTLM step runs under one lock with the variable pointing at its lab's file, restored afterwards
(`_accepting_with`): labs in one process accept the same user with different passwords, and the variable
never leaks into the process (or the programs it starts) outside a step.
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

ENCRYPTED_CONTENT_TYPE = (
    'multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";boundary="Encrypted Boundary"'
)
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
def _accepting_with(account_file: str) -> Iterator[None]:
    """NTLM_USER_FILE names `account_file` for the duration of one acceptor step (under `_ntlm_lock`)."""
    with _ntlm_lock:
        previous = os.environ.get("NTLM_USER_FILE")
        os.environ["NTLM_USER_FILE"] = account_file
        try:
            yield
        finally:
            if previous is None:
                del os.environ["NTLM_USER_FILE"]
            else:
                os.environ["NTLM_USER_FILE"] = previous


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

    mode: str  # "basic" | "ntlm"
    creds: Credentials
    ntlm_file: str | None = None
    context: Any = None
    authenticated: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def challenge(self) -> str:
        return 'Basic realm="WSMAN"' if self.mode == "basic" else "Negotiate"

    def check(self, authorization: str | None) -> str | None:
        """Authenticate a request; returns a token to send in WWW-Authenticate (NTLM) or None.

        Raises AuthFailed for a 401. An NTLM connection already authenticated needs no header.
        """
        if self.mode == "basic":
            self._basic(authorization)
            return None
        return self._ntlm(authorization)

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

    def _ntlm(self, authorization: str | None) -> str | None:
        import spnego
        from spnego.exceptions import SpnegoError

        match = re.match(r"^(Negotiate|NTLM)\s+(\S+)$", authorization or "", re.I)
        if match is None:
            if self.authenticated:
                return None
            raise AuthFailed(self.challenge)
        try:
            token = base64.b64decode(match.group(2))
        except binascii.Error:
            raise AuthFailed(self.challenge) from None
        # An NTLM NEGOTIATE message restarts authentication on this connection.
        raw_ntlm = token.startswith(b"NTLMSSP\x00")
        if self.ntlm_file is None:
            self.ntlm_file = ntlm_account_file(self.creds)
        with _accepting_with(self.ntlm_file):
            try:
                if self.context is None or token.startswith(b"NTLMSSP\x00\x01") or self.authenticated:
                    # Raw NTLM (pypsrp auth="ntlm") or NTLM inside SPNEGO (auth="negotiate", no Kerberos).
                    self.context = spnego.server(
                        protocol="ntlm" if raw_ntlm else "negotiate",
                        options=spnego.NegotiateOptions.use_ntlm
                        if raw_ntlm else spnego.NegotiateOptions.use_negotiate,
                    )
                    self.authenticated = False
                out = self.context.step(token)
            except (SpnegoError, KeyError, ValueError, struct.error):
                self.context = None
                raise AuthFailed(self.challenge) from None
        if self.context.complete:
            self.authenticated = True
            return base64.b64encode(out).decode() if out else None
        if out is None:
            self.context = None
            raise AuthFailed(self.challenge)
        raise AuthFailed(f"{match.group(1)} {base64.b64encode(out).decode()}")

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
            "\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n"
            f"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length={length}\r\n"
            "--Encrypted Boundary\r\n"
            "\tContent-Type: application/octet-stream\r\n"
        ).encode()
        return head + struct.pack("<i", len(signature)) + signature + data + _BOUNDARY + b"--\r\n"
