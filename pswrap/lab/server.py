"""The lab's WinRM listener: WS-Management over HTTP/1.1 keep-alive, Basic, NTLM or Kerberos, optional TLS.

Each TCP connection is served by its own thread (an NTLM or Kerberos context and its message encryption
belong to one connection); a Receive long poll blocks only its own connection. Replies always carry
Content-Length, and Nagle's algorithm is off: http.server writes headers and body separately, which with
delayed ACKs costs ~40 ms per request (docs/sources.md, WS-Management notes).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import os
import socket
import ssl
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pswrap.lab import wsman
from pswrap.lab.auth import AuthFailed, ConnectionAuth, Credentials
from pswrap.lab.faults import TRANSPORT_KINDS, FaultSet
from pswrap.lab.psrp_host import LabPool, ShellGone
from pswrap.lab.store import Store

log = logging.getLogger("pswrap.lab")

POWERSHELL_URI = "http://schemas.microsoft.com/powershell/Microsoft.PowerShell"
_STATS_INTERVAL = 5.0


class _Drop(Exception):
    """Close the connection without any reply (the `drop` fault)."""


class LabServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        *,
        store: Store,
        creds: Credentials,
        auth_mode: str,
        faults: FaultSet,
        ssl_context: ssl.SSLContext | None = None,
        keytab: str | None = None,
    ) -> None:
        super().__init__(address, _Handler)
        self.keytab = keytab
        self.store = store
        self.creds = creds
        self.auth_mode = auth_mode
        self.faults = faults
        self.ssl_context = ssl_context
        self.pools: dict[str, LabPool] = {}
        self.pools_lock = threading.Lock()
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        self._stats_stop = threading.Event()
        self._stats_thread = threading.Thread(target=self._stats_loop, name="lab-stats", daemon=True)
        self._stats_thread.start()

    @property
    def scheme(self) -> str:
        return "https" if self.ssl_context else "http"

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"{self.scheme}://{host!s}:{port}/wsman"

    # --- connections --------------------------------------------------------------------------

    def finish_request(self, request: Any, client_address: Any) -> None:
        raw = request
        if self.ssl_context is not None:
            try:
                request = self.ssl_context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as exc:
                log.debug("TLS handshake with %s failed: %s", client_address, exc)
                return
        with self.connections_lock:
            self.connections.add(raw)
        try:
            super().finish_request(request, client_address)
        except (ConnectionError, ssl.SSLError, OSError) as exc:
            log.debug("connection from %s ended: %s", client_address, exc)
        finally:
            with self.connections_lock:
                self.connections.discard(raw)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.exception("lab: unexpected error serving %s", client_address)

    def _stats_loop(self) -> None:
        while not self._stats_stop.wait(_STATS_INTERVAL):
            with contextlib.suppress(Exception):
                self.store.flush_stats()

    def close_all(self) -> None:
        """Stop serving: close every shell and connection, and write the request counts."""
        self._stats_stop.set()
        with self.pools_lock:
            pools, self.pools = list(self.pools.values()), {}
        for pool in pools:
            pool.close()
        with self.connections_lock:
            conns = list(self.connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self.server_close()
        self.store.flush_stats()

    # --- shells -------------------------------------------------------------------------------

    def pool(self, request: wsman.Request) -> LabPool:
        shell_id = request.shell_id
        with self.pools_lock:
            pool = self.pools.get(shell_id or "")
        if pool is None:
            raise wsman.shell_not_found_fault(shell_id or "")
        return pool

    def kill(self, shell_id: str) -> None:
        with self.pools_lock:
            pool = self.pools.pop(shell_id, None)
        if pool is not None:
            pool.close()

    # --- WSMan actions ------------------------------------------------------------------------

    def dispatch(self, request: wsman.Request) -> bytes:
        action = request.short_action
        if action == "Create":
            return self._create(request)
        if action not in ("Command", "Send", "Receive", "Signal", "Delete", "Get"):
            raise wsman.action_not_supported_fault(request.action)
        pool = self.pool(request)
        try:
            if action == "Command":
                return self._command(request, pool)
            if action == "Send":
                return self._send(request, pool)
            if action == "Receive":
                return self._receive(request, pool)
            if action == "Signal":
                return self._signal(request, pool)
            if action == "Delete":
                self.kill(pool.shell_id)
                return wsman.reply(request)
            return wsman.reply(request, wsman.shell_element(pool.shell_id, POWERSHELL_URI))
        except ShellGone:
            raise wsman.shell_not_found_fault(pool.shell_id) from None

    def _create(self, request: wsman.Request) -> bytes:
        shell = request.body.find("rsp:Shell", wsman.NS)
        if shell is None:
            raise wsman.invalid_body_fault("Create has no rsp:Shell")
        creation = shell.find("ps:creationXml", wsman.NS)
        if creation is None or not (creation.text or "").strip():
            raise wsman.invalid_body_fault("Create has no creationXml (only PowerShell shells are served)")
        shell_id = (shell.get("ShellId") or str(uuid.uuid4())).upper()
        chunk = min(16 * 1024, wsman.receive_capacity(request.max_envelope_size))
        pool = LabPool(shell_id, world=self.store, faults=self.faults, chunk=chunk)
        try:
            pool.feed(_b64(creation.text or ""), None)
        except wsman.WSManFault:
            raise
        except Exception as exc:
            raise wsman.invalid_body_fault(f"the creationXml is not a PSRP runspace pool: {exc}") from None
        limit = max_shells_per_user()
        with self.pools_lock:
            # The lab serves one account, so every open shell is that user's. [MS-WSMV] 3.1.4.5.2.1: a
            # wst:Create beyond a quota gets wsman:QuotaLimit; the PowerShell plug-in's MaxShellsPerUser is 25
            # by default ([MS-WSMV] 3.1.4.1.34.3.4), enforced only when PSWRAP_LAB_MAX_SHELLS_PER_USER is set.
            over = limit is not None and len(self.pools) >= limit
            if not over:
                self.pools[shell_id] = pool
        if over:
            pool.close()
            raise quota_fault(limit or 0)
        return wsman.create_reply(request, shell_id, self.url)

    def _command(self, request: wsman.Request, pool: LabPool) -> bytes:
        line = request.body.find("rsp:CommandLine", wsman.NS)
        if line is None or not line.get("CommandId"):
            raise wsman.invalid_body_fault("Command has no rsp:CommandLine with a CommandId")
        command_id = line.get("CommandId", "").upper()
        try:
            pipeline_id = pool.new_pipeline(command_id)
        except ValueError:
            raise wsman.invalid_body_fault(f"CommandId {command_id!r} is not a GUID") from None
        arguments = line.findtext("rsp:Arguments", "", wsman.NS) or ""
        if arguments.strip():
            self._feed(pool, _b64(arguments), pipeline_id)
        return wsman.command_reply(request, command_id)

    def _send(self, request: wsman.Request, pool: LabPool) -> bytes:
        for stream in request.body.findall("rsp:Send/rsp:Stream", wsman.NS):
            command_id = stream.get("CommandId")
            pipeline_id = _guid(command_id) if command_id else None
            self._feed(pool, _b64(stream.text or ""), pipeline_id, prompt_response=stream.get("Name") == "pr")
        return wsman.reply(request, "<rsp:SendResponse/>")

    @staticmethod
    def _feed(
        pool: LabPool, data: bytes, pipeline_id: uuid.UUID | None, prompt_response: bool = False
    ) -> None:
        try:
            pool.feed(data, pipeline_id, prompt_response)
        except Exception as exc:
            raise wsman.invalid_body_fault(f"the PSRP data could not be processed: {exc}") from None

    def _receive(self, request: wsman.Request, pool: LabPool) -> bytes:
        desired = request.body.find("rsp:Receive/rsp:DesiredStream", wsman.NS)
        command_id = desired.get("CommandId") if desired is not None else None
        pipeline_id = _guid(command_id) if command_id else None
        capacity = wsman.receive_capacity(request.max_envelope_size)
        wait = max(0.05, request.operation_timeout - 0.5)
        try:
            payloads, done = pool.receive(pipeline_id, capacity, wait)
        except TimeoutError:
            raise wsman.timeout_fault() from None
        chunks = [base64.b64encode(p).decode() for p in payloads]
        return wsman.receive_reply(request, chunks, command_id.upper() if command_id else None, done)

    def _signal(self, request: wsman.Request, pool: LabPool) -> bytes:
        signal = request.body.find("rsp:Signal", wsman.NS)
        if signal is None:
            raise wsman.invalid_body_fault("Signal has no rsp:Signal")
        code = (signal.findtext("rsp:Code", "", wsman.NS) or "").strip()
        command_id = signal.get("CommandId")
        if command_id:
            pipeline_id = _guid(command_id)
            if code == wsman.SIGNAL_PS_CTRL_C or code.endswith("/ctrl_c"):
                pool.stop(pipeline_id)
            elif code.endswith("/Terminate") or code.endswith("/terminate"):
                pool.terminate(pipeline_id)
        return wsman.reply(request, "<rsp:SignalResponse/>")


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=False)
    except (binascii.Error, ValueError):
        raise wsman.invalid_body_fault("a stream is not valid base64") from None


def _guid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise wsman.invalid_body_fault(f"{text!r} is not a GUID") from None


MAX_SHELLS_ENV = "PSWRAP_LAB_MAX_SHELLS_PER_USER"


def max_shells_per_user() -> int | None:
    """The shell quota the lab enforces (PSWRAP_LAB_MAX_SHELLS_PER_USER); unset or not a number: none."""
    raw = os.environ.get(MAX_SHELLS_ENV, "").strip()
    return int(raw) if raw.isdigit() else None


def quota_fault(limit: int) -> wsman.WSManFault:
    """wsmerror.h (Windows SDK) ERROR_WSMAN_QUOTA_MAX_SHELLS with WinRM's message text for the plug-in's
    per-user quota ("Quota Management for Remote Shells", Windows Remote Management), subcode
    wsman:QuotaLimit ([MS-WSMV] 3.1.4.5.2.1)."""
    return wsman.WSManFault(
        wsman.ERROR_QUOTA_MAX_SHELLS,
        "The WS-Management service cannot process the request. This user is allowed a maximum number of "
        f"{limit} concurrent shells, which has been exceeded. Close existing shells or raise the quota for "
        "this user.",
        subcode="w:QuotaLimit",
    )


class _Handler(BaseHTTPRequestHandler):
    server: LabServer
    _headers_buffer: list[bytes]  # http.server's pending header lines (set by send_response)
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        self.auth = ConnectionAuth(self.server.auth_mode, self.server.creds, keytab=self.server.keytab)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("lab %s: " + format, self.client_address[0], *args)

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        # Headers and body in one write: one send per reply, not two (each costs a thread switch).
        self._headers_buffer.append(b"\r\n" + body)
        self.flush_headers()

    def do_GET(self) -> None:
        self._send(405, b"", {"Allow": "POST"})

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
            if length < 0:
                raise ValueError(length)
        except ValueError:
            # The body's end is unknown, so this connection cannot carry another request.
            self.close_connection = True
            self._send(400, b"", {"Connection": "close"})
            return
        body = self.rfile.read(length) if length else b""
        try:
            token = self.auth.check(self.headers.get("Authorization"))
        except AuthFailed as failed:
            self._send(401, b"", {"WWW-Authenticate": failed.challenge})
            return
        extra = {"WWW-Authenticate": f"{self.auth.scheme} {token}"} if token else {}
        if not body:
            self._send(200, b"", extra)
            return
        encrypted = self.headers.get("Content-Type", "").startswith("multipart/encrypted")
        if encrypted:
            if self.auth.context is None or not self.auth.authenticated:
                self._send(401, b"", {"WWW-Authenticate": self.auth.challenge})
                return
            try:
                body = self.auth.unwrap(body)
            except Exception:
                self._send(400, b"", extra)
                return
        try:
            status, reply = 200, self._process(body)
        except _Drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        except wsman.WSManFault as fault:
            status, reply = fault.status, wsman.fault_envelope(fault, fault.relates_to)
        if encrypted:
            self._send(
                status, self.auth.wrap(reply), {**extra, "Content-Type": self.auth.encrypted_content_type}
            )
        else:
            self._send(status, reply, {**extra, "Content-Type": "application/soap+xml;charset=UTF-8"})

    def _process(self, body: bytes) -> bytes:
        server = self.server
        request = wsman.parse_request(body)
        action = request.short_action
        server.store.count_request(action)
        try:
            faults = server.faults
            active = [f for f in faults.active() if f.kind in TRANSPORT_KINDS]
            if active and faults.take("drop", action, active=active):
                raise _Drop
            slow = faults.take("slow", action, active=active) if active else None
            if active and faults.take("http500", action, active=active):
                raise wsman.WSManFault(
                    wsman.ERROR_INTERNAL,
                    "The lab injected an HTTP 500 (fault http500).",
                    subcode="w:InternalError",
                )
            # community: https://github.com/wazuh/wazuh-ansible/issues/581 (HTTP 500, wsmanfault_code
            # 2147942405, subcode w:InternalError, "Access is denied.") and
            # https://github.com/diyan/pywinrm/issues/275: an account WinRM does not let in.
            if active and faults.take("access-denied", action, active=active):
                raise wsman.WSManFault(
                    wsman.ERROR_ACCESS_DENIED, "Access is denied. ", subcode="w:InternalError"
                )
            if active and action == "Create" and faults.take("quota", action, active=active):
                raise quota_fault(25)
            shell_request = bool(request.shell_id) and action != "Create"
            if active and shell_request and faults.take("kill-pool", action, active=active):
                server.kill(request.shell_id or "")
            reply = server.dispatch(request)
            if slow is not None:
                time.sleep(slow.seconds)
            return reply
        except wsman.WSManFault as fault:
            fault.relates_to = request.message_id
            raise
        except _Drop:
            raise
        except Exception:
            # A request the lab cannot serve fails alone: the client gets a fault, not a dropped
            # connection, and every other connection and shell goes on.
            log.exception("lab: serving a %s request failed", action)
            internal = wsman.internal_error_fault(action)
            internal.relates_to = request.message_id
            raise internal from None
