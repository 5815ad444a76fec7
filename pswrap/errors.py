"""The one exception tree of pswrap, and the exit code each branch maps to.

Modelled on httpx's documented tree: a caller catches `PswrapError` for "anything pswrap raised", or a
branch for what it can act on. Every message says what went wrong, what pswrap was doing and what to do
next; none ever contains a secret (secrets travel as `pswrap.secrets.Secret`, whose text is masked).

Exit codes (one table for every command, documented in the README):

    0 done
    2 bad input, configuration, or a refused combination
    3 authentication
    4 connection or transport timeout
    5 remote error
    6 needs a human (a conflict, a blocked match, an export error, a failed preflight check)
    7 waited past --timeout (the operation is journaled and resumable)
"""

from __future__ import annotations

from typing import Any

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_AUTH = 3
EXIT_CONNECTION = 4
EXIT_REMOTE = 5
EXIT_NEEDS_HUMAN = 6
EXIT_WAIT_TIMEOUT = 7


class PswrapError(Exception):
    """Base of everything pswrap raises on purpose."""

    exit_code: int = EXIT_REMOTE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


# --- local problems: nothing remote has been touched -------------------------------------------


class ConfigError(PswrapError):
    """The configuration file or environment is invalid (names the file, key and problem)."""

    exit_code = EXIT_BAD_INPUT


class BadInput(PswrapError):
    """A value the user gave is invalid; raised before anything remote changes."""

    exit_code = EXIT_BAD_INPUT


class Refused(PswrapError):
    """A combination pswrap will not run (e.g. a legacy step, a hold that cannot work)."""

    exit_code = EXIT_BAD_INPUT


class PasswordSourceMissing(ConfigError):
    """The password source a target names gives nothing (an unset variable, no keyring entry, no
    terminal to prompt on): exit 2 from every command, naming the setting, before anything is sent."""


class MissingExtra(ConfigError):
    """An optional dependency (pswrap[kerberos], pswrap[credssp], pswrap[keyring]) is not installed."""


# --- transport ------------------------------------------------------------------------------------


class TransportError(PswrapError):
    """The conversation with the WinRM endpoint failed below PowerShell."""

    exit_code = EXIT_CONNECTION
    transient = True
    stale_session = False
    """An HTTP 400 that may only mean the connection's encryption context was stale (see classify)."""
    attempts_cap: int | None = None
    """At most this many tries for this kind of failure (a refused connection), whatever the deadline."""
    shell_quota = False
    """The server's WinRM quota refused a new shell (wsman:QuotaLimit); a batch works on with fewer
    sessions (pswrap.desired.batch)."""


class AuthenticationError(TransportError):
    """The endpoint refused the credentials. Never retried."""

    exit_code = EXIT_AUTH
    transient = False


class ConnectionFailed(TransportError):
    """Could not connect, the connection dropped, or the server answered 5xx."""


class TransportTimeout(TransportError):
    """A step ran past its wall-clock limit, or the endpoint did not answer in time."""


# --- remote: PowerShell ran and reported a failure ------------------------------------------------


class RemoteError(PswrapError):
    """A step's pipeline failed or wrote to the error stream.

    Carries PowerShell's own message, FullyQualifiedErrorId, category and target object, and which
    step on which target produced it.
    """

    exit_code = EXIT_REMOTE
    transient = False

    def __init__(
        self,
        message: str,
        *,
        step_id: str | None = None,
        target: str | None = None,
        fqid: str | None = None,
        category: str | None = None,
        target_object: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.step_id = step_id
        self.target = target
        self.fqid = fqid
        self.category = category
        self.target_object = target_object

    def __str__(self) -> str:
        where = f" (step {self.step_id}" + (f" on {self.target}" if self.target else "") + ")"
        return self.message + (where if self.step_id else "")


class AlreadyExists(RemoteError):
    """The object the step creates exists already."""


class NotFound(RemoteError):
    """The object the step needs does not exist."""


class AccessDenied(RemoteError):
    """The remoting account or app lacks a permission."""


class NotConnected(RemoteError):
    """A cloud cmdlet ran in a session that has not connected (a pswrap bug or a lost session)."""

    attempts_cap: int | None = 2
    """One reconnect, then one more try: Exchange Online creates only the cmdlets the app's roles allow,
    so a cmdlet still missing right after a fresh connect is not a lost session (and retrying until the
    step's deadline would only hide that)."""


class ModuleMissing(RemoteError):
    """A PowerShell module or snap-in the step needs is not installed on the host."""


class Throttled(RemoteError):
    """The service throttled the request; retried with backoff."""

    transient = True


class SyncBusy(RemoteError):
    """The sync engine is running a cycle; wait for it to end."""

    transient = True


class Conflict(RemoteError):
    """An existing object conflicts with the one being created or linked (needs a human)."""

    exit_code = EXIT_NEEDS_HUMAN


class MasteredElsewhere(Conflict):
    """The service refused to change a property another authority masters: on-premises AD for a synced
    object, Exchange Online for a cloud mailbox user (Graph says so in two wordings)."""


class HardMatchBlocked(RemoteError):
    """The tenant blocks cloud object takeover through hard match (needs a human)."""

    exit_code = EXIT_NEEDS_HUMAN


class LeaseLocked(RemoteError):
    """Another lease change held the sync server's lease lock past its timeout (docs/sync.md); transient."""

    transient = True


class OutputError(PswrapError):
    """A step's output did not fit its model (names the step and quotes the text, truncated)."""

    exit_code = EXIT_REMOTE


# --- workflow outcomes ---------------------------------------------------------------------------


class NeedsHuman(PswrapError):
    """pswrap stopped because a person has to decide (blocked match, export error, failed check)."""

    exit_code = EXIT_NEEDS_HUMAN
    checks: list[dict[str, Any]] | None = None
    """The failed preflight checks that refused the run (as JSON), when that is why it stopped."""


class WaitTimeout(PswrapError):
    """Waited past --timeout; the operation is journaled and `pswrap resume` continues it."""

    exit_code = EXIT_WAIT_TIMEOUT
