"""A real MIT Kerberos realm for the Kerberos tests, and labs that accept its tickets.

k5test builds a throwaway realm (its own krb5.conf, KDC database, keytabs and credential caches in a
temporary folder) and starts a real `krb5kdc` on loopback only (kdc_listen = 127.0.0.1). Nothing
system-wide is touched: every test points MIT krb5 at the realm through environment variables
(KRB5_CONFIG, KRB5CCNAME, ...), set with monkeypatch and restored after the test.

Principals: HTTP/localhost (the lab's service principal; `localhost` is the lab's host name), HTTP/127.0.0.2
(an IP-based SPN, so a lab listening on that address is reachable by IP), the admin user (a password,
pre-authentication required) and a service account whose key is only in a keytab.

The tests skip, saying why, only where MIT's KDC programs are not installed; `.ci/run` installs them,
so in CI they run.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REALM = "PSWRAP.TEST"
LAB_HOST = "localhost"
IP_HOST = "127.0.0.2"
USER = f"admin-tester@{REALM}"
USER_PASSWORD = "Kerb-Secret-4d2a71"
"""A known secret value: tests assert it never appears in output."""
SERVICE = f"svc-runbook@{REALM}"
LAB_NTLM_USER = "lab-ntlm"
LAB_NTLM_PASSWORD = "Ntlm-Secret-9b3e55"
KDC_PROGRAMS = ("krb5kdc", "kdb5_util", "kadmin.local", "kinit")


def _missing_programs() -> list[str]:
    return [p for p in KDC_PROGRAMS if shutil.which(p) is None and not Path("/usr/sbin", p).exists()]


@dataclass
class Realm:
    k5: Any
    lab_keytab: Path
    service_keytab: Path

    @property
    def tmpdir(self) -> Path:
        return Path(self.k5.tmpdir)

    @property
    def krb5_conf(self) -> str:
        return str(self.k5.env["KRB5_CONFIG"])

    def kinit(self, ccache: Path, principal: str = USER, password: str = USER_PASSWORD,
              *flags: str) -> None:
        env = {**self.k5.env, "KRB5CCNAME": f"FILE:{ccache}"}
        self.k5.kinit(principal, password, flags=list(flags), env=env)

    def kvno(self, ccache: Path, service: str) -> None:
        """Get a service ticket into `ccache` (what the client does on its first connection)."""
        env = {**self.k5.env, "KRB5CCNAME": f"FILE:{ccache}"}
        self.k5.run([shutil.which("kvno") or "/usr/bin/kvno", service], env=env)

    def unreachable_kdc_conf(self) -> str:
        """A krb5.conf naming a KDC on a loopback port nobody listens on."""
        port = _free_port()
        conf = {"realms": {"$realm": {"kdc": f"127.0.0.1:{port}"}}}
        env = self.k5.special_env("nokdc", False, krb5_conf=conf)
        return str(env["KRB5_CONFIG"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def realm() -> Iterator[Realm]:
    missing = _missing_programs()
    why = ""
    if missing:
        why = (f"MIT Kerberos KDC programs not installed ({', '.join(missing)}); .ci/run installs "
               "krb5-kdc, krb5-admin-server and krb5-user")
    else:
        try:
            import gssapi  # noqa: F401
            import k5test
        except ImportError:
            why = "pswrap[kerberos-test] (gssapi, k5test) is not installed"
    if why:
        # CI installs everything these tests need: there a missing piece is a failure, never a skip.
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    import k5test

    loopback = {
        "kdc": "127.0.0.1:$port0", "admin_server": "127.0.0.1:$port1", "kpasswd_server": "127.0.0.1:$port2"
    }
    k5 = None
    for _ in range(3):  # another process may take the free port between choosing and binding it
        try:
            k5 = k5test.K5Realm(
                realm=REALM, portbase=_free_port(), create_user=False, create_host=False, get_creds=False,
                krb5_conf={
                    # Names as given, as Windows does: no DNS canonicalisation, no reverse lookups.
                    "libdefaults": {"dns_canonicalize_hostname": "false", "rdns": "false",
                                    "dns_lookup_kdc": "false", "dns_lookup_realm": "false"},
                    "realms": {"$realm": loopback},
                },
                kdc_conf={"realms": {"$realm": {
                    "kdc_listen": "127.0.0.1:$port0", "kdc_tcp_listen": "127.0.0.1:$port0",
                    "kdc_ports": None, "kdc_tcp_ports": None,
                }}},
            )
            break
        except Exception:  # the KDC did not start (port taken): try another port
            continue
    if k5 is None:
        pytest.fail("the test KDC did not start on three loopback ports")
    try:
        lab_keytab = Path(k5.tmpdir) / "lab.keytab"
        service_keytab = Path(k5.tmpdir) / "svc.keytab"
        for spn in (f"HTTP/{LAB_HOST}@{REALM}", f"HTTP/{IP_HOST}@{REALM}"):
            k5.addprinc(spn)
            k5.extract_keytab(spn, str(lab_keytab))
        k5.run_kadminl(["addprinc", "-pw", USER_PASSWORD, "+requires_preauth", USER])
        k5.addprinc(SERVICE)
        k5.extract_keytab(SERVICE, str(service_keytab))
        yield Realm(k5, lab_keytab, service_keytab)
    finally:
        k5.stop()


@pytest.fixture
def krb_env(realm: Realm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's Kerberos environment: the realm's krb5.conf, an empty credential cache of its own,
    no default keytab, and pswrap's state and config under tmp_path. Returns the cache's path."""
    ccache = tmp_path / "ccache"
    monkeypatch.setenv("KRB5_CONFIG", realm.krb5_conf)
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{ccache}")
    monkeypatch.setenv("KRB5_CLIENT_KTNAME", str(tmp_path / "no-client.keytab"))
    monkeypatch.setenv("KRB5RCACHEDIR", str(tmp_path))
    monkeypatch.delenv("KRB5_KTNAME", raising=False)
    for var in list(os.environ):
        if var.startswith("PSWRAP_"):
            monkeypatch.delenv(var)
    state = tmp_path / "state"
    monkeypatch.setenv("PSWRAP_STATE_DIR", str(state))
    monkeypatch.setenv("PSWRAP_LAB_STATE", str(state / "lab" / "world.json"))
    monkeypatch.setenv("PSWRAP_LAB_SYNC_SECONDS", "0.3")
    monkeypatch.setenv("PSWRAP_LAB_SEED", "7")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("PSWRAP_RETRY_INITIAL", "0.01")
    monkeypatch.setenv("PSWRAP_RETRY_MAX_WAIT", "0.05")
    return ccache


@pytest.fixture
def kerberos_lab(realm: Realm, krb_env: Path) -> Iterator[Callable[..., Any]]:
    """Start in-process labs that accept the realm's tickets (auth negotiate unless told)."""
    from pswrap.lab.embedded import start_lab

    labs: list[Any] = []

    def start(auth: str = "negotiate", host: str = LAB_HOST, https: bool = False) -> Any:
        lab = start_lab(
            Path(os.environ["PSWRAP_LAB_STATE"]), host=host, auth=auth, https=https,
            keytab=realm.lab_keytab, username=LAB_NTLM_USER, password=LAB_NTLM_PASSWORD,
        )
        labs.append(lab)
        return lab

    yield start
    for lab in labs:
        lab.stop()


@pytest.fixture
def target(tmp_path: Path) -> Callable[..., str]:
    """Write `[targets.kerb]` for a running lab (keys as in the file; None leaves a key out)."""
    from pswrap.lab.world import LAB_DEFAULTS as d

    def write(lab: Any, name: str = "kerb", **keys: object) -> str:
        ep = lab.endpoint
        values: dict[str, object] = {
            "host": ep.host, "port": ep.port, "scheme": ep.scheme, "auth": "kerberos",
            "operation_timeout": 2, "read_timeout": 10, "connection_timeout": 5,
            "organization": d.tenant_domain, "tenant_id": d.tenant_id, "app_id": d.app_id,
            "certificate_thumbprint": d.certificate_thumbprint, "domain_controller": d.domain_controller,
            "resource_ou": d.resource_ou, "staging_ou": d.staging_ou, "upn_suffix": d.upn_suffix,
            "ca_bundle": str(ep.ca_path) if ep.ca_path else None,
            **keys,
        }
        lines = [f"[targets.{name}]"]
        lines += [f"{k} = {json.dumps(v)}" for k, v in values.items() if v is not None]
        path = tmp_path / "config" / "pswrap" / "config.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return name

    return write


@dataclass
class Ran:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(krb_env: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., Ran]:
    """`pswrap ARGS...` in-process, through the console script's entry point."""
    from pswrap.cli import app
    from pswrap.cli.app import run_app

    def run(*args: str) -> Ran:
        capsys.readouterr()
        code = run_app(app, list(args))
        captured = capsys.readouterr()
        return Ran(code, captured.out, captured.err)

    return run


def shift_clock(ccache: Path, seconds: int) -> None:
    """Make every program using `ccache` run `seconds` ahead of the KDC and the lab.

    MIT krb5 keeps the client's offset from the KDC's clock in the cache's header (file format version
    4, header tag 1 "DeltaTime": seconds and microseconds, big-endian; MIT krb5 documentation, "Credential
    cache file format") and applies it to the client's clock when it reads the cache (kdc_timesync, on by
    default). Writing an offset there is a shifted clock for the client alone, without sleeping or
    changing the machine's time.
    """
    data = ccache.read_bytes()
    assert data[:2] == b"\x05\x04", "not a version 4 credential cache"
    header_len = struct.unpack(">H", data[2:4])[0]
    tag = struct.pack(">HH", 1, 8) + struct.pack(">ii", seconds, 0)
    ccache.write_bytes(b"\x05\x04" + struct.pack(">H", len(tag)) + tag + data[4 + header_len:])
