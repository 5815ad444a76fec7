"""One runspace pool per need per command run.

Why per need and not per host: Exchange Online and Microsoft Graph ship clashing login libraries, so
they must never share a Windows PowerShell process (docs/sources.md §7b item 4), even when both needs map to
the same server. A pool is opened on first use, connected (its need's connect step) before its first
step, and reopened once — then reconnected — when its shell died between steps (idle timeout, server
restart, the lab's kill-pool fault). A pool that idled long is checked with `is_alive()` first; a fresh
one is not, because that costs a round trip per step.
"""

from __future__ import annotations

import importlib.util
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from pswrap.errors import ConfigError, MissingExtra
from pswrap.remote.classify import classify_transport
from pswrap.remote.kerberos import KERBEROS_AUTHS, credential
from pswrap.remote.target import Target
from pswrap.secrets import Secret
from pswrap.steps.model import Need

log = logging.getLogger("pswrap.remote")

IDLE_CHECK_SECONDS = 60.0
"""A pool unused this long is asked `is_alive()` before the next step (servers drop idle shells)."""


def _require_extra(auth: str) -> None:
    modules = {"kerberos": ("gssapi", "krb5"), "credssp": ("requests_credssp",)}.get(auth, ())
    if modules and not any(importlib.util.find_spec(m) for m in modules):
        raise MissingExtra(
            f"auth = {auth!r} needs the optional dependencies of pswrap[{auth}], which are not installed",
            hint=f"pip install 'pswrap[{auth}]'"
            + (" after the system's Kerberos development files (Debian/Ubuntu: libkrb5-dev gcc python3-dev; "
               "RHEL: krb5-devel gcc python3-devel; docs/authentication.md)" if auth == "kerberos" else ""),
        )


def make_wsman(target: Target, host: str, password: Secret | None = None) -> Any:
    """A pypsrp WSMan for one host of the target; the only place a password is revealed to pypsrp.

    `password`: already resolved (a session resolves it once, so a prompt is not repeated per pool);
    None resolves it from the target now.
    """
    from pypsrp.wsman import WSMan

    _require_extra(target.auth)
    if target.auth == "basic" and target.scheme == "http" and not target.allow_basic_over_http:
        raise ConfigError(
            f"target {target.name}: Basic authentication over plain HTTP is refused",
            hint="use https or ntlm; set allow_basic_over_http = true only for a lab on loopback",
        )
    password = password if password is not None else target.password
    encryption = target.encryption
    if target.auth in ("basic", "certificate") and target.scheme == "http":
        encryption = "never"  # Basic cannot encrypt messages; allowed only with allow_basic_over_http
    cert_validation: Any = target.cert_validation  # pypsrp also takes a CA bundle path here
    if target.cert_validation and target.ca_bundle:
        cert_validation = target.ca_bundle
    kwargs: dict[str, Any] = {}
    username: Any = target.username
    if target.auth in KERBEROS_AUTHS:
        kwargs["negotiate_service"] = target.spn_service
        username = credential(target.keytab, target.username)  # a keytab: a KerberosKeytab, no password
    if target.auth == "certificate":
        kwargs = {
            "certificate_pem": target.client_certificate,
            "certificate_key_pem": target.client_certificate_key,
        }
    return WSMan(
        host,
        port=target.port,
        username=username,
        password=password.reveal() if password is not None and target.keytab is None else None,
        ssl=target.scheme == "https",
        auth=target.auth,
        cert_validation=cert_validation,
        encryption=encryption,
        connection_timeout=target.connection_timeout,
        read_timeout=max(target.read_timeout, target.operation_timeout + 5),
        operation_timeout=target.operation_timeout,
        no_proxy=host in ("127.0.0.1", "localhost", "::1"),
        **kwargs,
    )


@dataclass
class Pool:
    need: Need
    host: str
    wsman: Any = None
    pool: Any = None
    connected: bool = False
    """The need's connect step has run in this pool (since it was last opened)."""
    opened: int = 0
    last_used: float = field(default_factory=time.monotonic)

    @property
    def is_open(self) -> bool:
        return self.pool is not None


class Pools:
    def __init__(self, target: Target) -> None:
        self.target = target
        self._pools: dict[Need, Pool] = {}
        self._password: Secret | None = None

    def where(self, need: Need) -> str:
        t = self.target
        return f"{t.scheme}://{t.host_for(need)}:{t.port} (target {t.name}, need {need})"

    def get(self, need: Need) -> Pool:
        """The open pool of a need (opened now if needed). Failures here mean nothing was sent."""
        p = self._pools.get(need)
        if p is None:
            p = self._pools[need] = Pool(need, self.target.host_for(need))
        if p.is_open and time.monotonic() - p.last_used > IDLE_CHECK_SECONDS and not self._alive(p):
            log.info("the %s pool on %s went idle and is gone; reopening it", need, p.host)
            self._drop(p)
        if not p.is_open:
            self._open(p)
        p.last_used = time.monotonic()
        return p

    def reset_transport(self, need: Need) -> None:
        """After a dropped connection or a 5xx: authenticate again on a new connection, same shell.

        NTLM/Kerberos message encryption belongs to one TCP connection; pypsrp would otherwise wrap the
        next message with the old context on a new connection, which the server rejects (HTTP 400).
        """
        p = self._pools.get(need)
        transport = getattr(p.wsman, "transport", None) if p is not None else None
        if transport is None:
            return
        transport.encryption = None
        if transport.session is not None:
            try:
                transport.session.close()
            except Exception:
                log.debug("closing the HTTP session of the %s pool failed", need, exc_info=True)
            transport.session = None

    def discard(self, need: Need) -> None:
        """Forget a pool whose shell is gone; the next `get` opens a new one (and it is reconnected)."""
        p = self._pools.get(need)
        if p is not None:
            self._drop(p)

    def _alive(self, p: Pool) -> bool:
        try:
            return bool(p.pool.is_alive(timeout=5))
        except Exception:
            return False

    def _open(self, p: Pool) -> None:
        from pypsrp.powershell import RunspacePool

        try:
            if p.wsman is None:
                if self._password is None:
                    self._password = self.target.password  # resolved once per session (may prompt)
                p.wsman = make_wsman(self.target, p.host, self._password)
            pool = RunspacePool(p.wsman, configuration_name=self.target.configuration_name, no_profile=True)
            pool.open()
        except (ConfigError, MissingExtra):
            raise
        except Exception as exc:
            self._close_wsman(p)
            raise classify_transport(
                exc, where=self.where(p.need), what="opening a PowerShell session"
            ) from None
        p.pool = pool
        p.connected = False
        p.opened += 1
        log.debug("opened the %s pool on %s", p.need, p.host)

    def _drop(self, p: Pool) -> None:
        """Forget a dead pool without talking to it (its shell is gone)."""
        from pypsrp.complex_objects import RunspacePoolState

        if p.pool is not None:
            p.pool.state = RunspacePoolState.CLOSED
        p.pool = None
        p.connected = False
        self._close_wsman(p)

    def _close_wsman(self, p: Pool) -> None:
        if p.wsman is not None:
            try:
                p.wsman.close()
            except Exception:
                log.debug("closing the connection of the %s pool failed", p.need, exc_info=True)
        p.wsman = None

    def opened_needs(self) -> list[Need]:
        return [n for n, p in self._pools.items() if p.is_open]

    def close(self) -> None:
        for p in self._pools.values():
            if p.pool is not None:
                try:
                    p.pool.close()
                except Exception:
                    log.debug("closing the %s pool failed (the server drops it after its idle timeout)",
                              p.need, exc_info=True)  # fmt: skip
                p.pool = None
            self._close_wsman(p)
        self._pools.clear()
