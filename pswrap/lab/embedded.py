"""Start a lab inside this process: the embedded `lab` target, and the tests' fixture.

    with start_lab(tmp_path / "world.json") as lab:
        wsman = WSMan(lab.endpoint.host, port=lab.endpoint.port, ...)
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from pswrap.lab.auth import Credentials, register_ntlm_account
from pswrap.lab.config import default_state_path, resolve_credentials
from pswrap.lab.faults import FaultSet, FaultSpecError
from pswrap.lab.store import Store

AUTH_MODES = ("basic", "ntlm", "negotiate", "kerberos")
"""What the lab accepts (pswrap/lab/auth.py): Basic, NTLM, Kerberos or NTLM, Kerberos only."""

_handlers_lock = threading.Lock()
_handlers_loaded = False


def load_handlers() -> None:
    """Register the lab's diagnostic handlers and the simulated world's step handlers (once)."""
    global _handlers_loaded
    with _handlers_lock:
        if _handlers_loaded:
            return
        # Importing registers: the lab's own lab/* diagnostics, and the world's step handlers (issue #4).
        for module in ("pswrap.lab.diagnostics", "pswrap.lab.handlers"):
            importlib.import_module(module)

        _handlers_loaded = True


@dataclass(frozen=True)
class LabEndpoint:
    host: str
    port: int
    scheme: str
    auth: str
    username: str
    password: str
    ca_path: Path | None
    state_path: Path
    keytab: str | None = None
    """The keytab whose service principals the lab accepts Kerberos tickets for (None: no Kerberos)."""

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}/wsman"

    @property
    def ssl(self) -> bool:
        return self.scheme == "https"


class RunningLab:
    """A lab serving on a background thread until `stop()` (or the end of the `with` block)."""

    def __init__(self, server: object, endpoint: LabEndpoint, store: Store, faults: FaultSet,
                 credentials_source: str) -> None:
        from pswrap.lab.server import LabServer

        assert isinstance(server, LabServer)
        self.server = server
        self.endpoint = endpoint
        self.store = store
        self.faults = faults
        self.credentials_source = credentials_source
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="pswrap-lab", daemon=True)
        self._thread.start()
        self._stopped = False

    def stop(self) -> None:
        """Stop serving, close every shell and connection, and write the request counts to the state file."""
        if self._stopped:
            return
        self._stopped = True
        self.server.shutdown()
        self._thread.join(timeout=5)
        self.server.close_all()

    def __enter__(self) -> RunningLab:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def world_fault_specs(store: Store) -> Callable[[], list[str]]:
    """A callable returning world["faults"], re-read only when the state file changes."""
    mtime_seen = [-1]
    cached: list[str] = []

    def specs() -> list[str]:
        mtime = store.mtime_ns()
        if mtime != mtime_seen[0]:
            try:
                value = store.read().get("faults", [])
            except (OSError, ValueError):
                value = []
            cached[:] = [str(v) for v in value] if isinstance(value, list) else []
            mtime_seen[0] = mtime
        return list(cached)

    return specs


def build_server(
    state_path: Path | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    https: bool = False,
    auth: str = "ntlm",
    username: str | None = None,
    password: str | None = None,
    faults: Sequence[str] = (),
    sync_seconds: float | None = None,
    anchor: str | None = None,
    keytab: str | Path | None = None,
) -> tuple[object, LabEndpoint, Store, FaultSet, str]:
    """What `start_lab` and `pswrap lab serve` share: store, world settings, credentials, TLS, faults.

    `keytab` (auth negotiate or kerberos): the service principals' keys the lab accepts tickets for;
    KeytabError (a ValueError) when it is missing or unusable, or required and not given.
    """
    from pswrap.lab.kerberos import KeytabError, check_keytab
    from pswrap.lab.server import LabServer

    if auth not in AUTH_MODES:
        raise ValueError(f"lab auth must be one of {', '.join(AUTH_MODES)}, not {auth!r}")
    if auth == "kerberos" and keytab is None:
        raise KeytabError("the lab's Kerberos needs a keytab holding its service principal's key (--keytab)")
    if keytab is not None and auth not in ("negotiate", "kerberos"):
        raise KeytabError(f"a keytab is used only with auth negotiate or kerberos, not {auth}")
    keytab_path = check_keytab(keytab) if keytab is not None else None
    load_handlers()
    path = Path(state_path) if state_path is not None else default_state_path()
    store = Store(path)
    store.read()  # creates the fresh world when missing, and fails early on an unreadable file
    _configure_world(store, sync_seconds=sync_seconds, anchor=anchor)
    creds, source = resolve_credentials(path, username, password)
    if auth in ("ntlm", "negotiate"):
        register_ntlm_account(creds)
    try:
        fault_set = FaultSet.from_environment(faults, world_specs=world_fault_specs(store))
    except FaultSpecError as exc:
        from pswrap.lab.config import LabInputError

        raise LabInputError(
            f"PSWRAP_LAB_FAULTS or --fault: {exc}", hint="see `pswrap lab serve --help` for the fault grammar"
        ) from None
    ssl_context = None
    ca_path: Path | None = None
    if https:
        from pswrap.lab.tls import server_context

        ssl_context, ca_path = server_context(path, host)
    server = LabServer((host, port), store=store, creds=Credentials(creds.username, creds.password),
                       auth_mode=auth, faults=fault_set, ssl_context=ssl_context, keytab=keytab_path)
    endpoint = LabEndpoint(
        host=host,
        port=int(server.server_address[1]),
        scheme="https" if https else "http",
        auth=auth,
        username=creds.username,
        password=creds.password,
        ca_path=ca_path,
        state_path=path,
        keytab=keytab_path,
    )
    return server, endpoint, store, fault_set, source


def _configure_world(store: Store, *, sync_seconds: float | None, anchor: str | None) -> None:
    """Apply serve-time world settings (`--sync-seconds`, `PSWRAP_LAB_SYNC_SECONDS`, `--anchor`)."""
    import os

    from pswrap.lab.config import lab_seconds
    from pswrap.lab.world import configure

    if sync_seconds is None and os.environ.get("PSWRAP_LAB_SYNC_SECONDS"):
        sync_seconds = lab_seconds(os.environ["PSWRAP_LAB_SYNC_SECONDS"], "PSWRAP_LAB_SYNC_SECONDS")
    if sync_seconds is None and anchor is None:
        return
    with store.transaction() as world:
        configure(world, sync_seconds=sync_seconds, anchor=anchor)


def start_lab(
    state_path: Path | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    https: bool = False,
    auth: str = "ntlm",
    username: str | None = None,
    password: str | None = None,
    faults: Sequence[str] = (),
    keytab: str | Path | None = None,
) -> RunningLab:
    """Serve a lab on a background thread (an ephemeral loopback port by default) until `.stop()`."""
    server, endpoint, store, fault_set, source = build_server(
        state_path, host=host, port=port, https=https, auth=auth, username=username, password=password,
        faults=faults, keytab=keytab,
    )
    return RunningLab(server, endpoint, store, fault_set, source)
