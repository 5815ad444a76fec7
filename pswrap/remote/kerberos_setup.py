"""What this machine has for Kerberos, read locally before connecting (for `pswrap doctor`).

Three facts: whether the GSSAPI library is importable (pswrap[kerberos] on top of the system's MIT
Kerberos), which realm the target's host belongs to and whether this machine knows how to reach that
realm's KDC, and which credential pswrap would use (a keytab, a password, or the ticket in the cache).

The realm comes from krb5.conf as MIT Kerberos reads it (MIT krb5 documentation, "krb5.conf"): the
files named by KRB5_CONFIG (colon-separated, default /etc/krb5.conf) with their `include` and
`includedir` lines; the host's realm from [domain_realm] (the longest matching domain), else the
realm of the target's user name, else [libdefaults] default_realm. A realm is reachable when [realms]
names its kdc, or when dns_lookup_kdc is not false (then DNS SRV records locate it; MIT's default).
"""

from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_CONFIG = "/etc/krb5.conf"


@dataclass
class Krb5Conf:
    files: list[str] = field(default_factory=list)
    """The files read (missing ones are left out)."""
    default_realm: str | None = None
    dns_lookup_kdc: bool = True
    realms_with_kdc: set[str] = field(default_factory=set)
    domain_realm: dict[str, str] = field(default_factory=dict)


def read_krb5_conf(env: dict[str, str] | None = None) -> Krb5Conf:
    """The parts of krb5.conf the doctor needs; unreadable files are skipped (as MIT does)."""
    env = dict(os.environ) if env is None else env
    conf = Krb5Conf()
    names = [n for n in (env.get("KRB5_CONFIG") or DEFAULT_CONFIG).split(":") if n]
    for name in names:
        _read_file(Path(name), conf, depth=0)
    return conf


def _read_file(path: Path, conf: Krb5Conf, depth: int) -> None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return
    conf.files.append(str(path))
    section = ""
    stack: list[str] = []  # the open `name = {` blocks inside a section
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):  # MIT krb5.conf has whole-line comments only
            continue
        if depth < 5 and line.startswith(("include ", "includedir ")):
            keyword, _, target = line.partition(" ")
            target_path = Path(target.strip())
            if keyword == "include":
                _read_file(target_path, conf, depth + 1)
            elif target_path.is_dir():
                for child in sorted(target_path.iterdir()):
                    if re.fullmatch(r"[A-Za-z0-9_-]+(\.conf)?", child.name):
                        _read_file(child, conf, depth + 1)
            continue
        if line.startswith("[") and line.endswith("]"):
            section, stack = line[1:-1].strip().lower(), []
            continue
        if line == "}":
            if stack:
                stack.pop()
            continue
        key, eq, value = line.partition("=")
        if not eq:
            continue
        key, value = key.strip(), value.strip()
        if value == "{":
            stack.append(key)
            continue
        if section == "libdefaults" and not stack:
            if key == "default_realm" and conf.default_realm is None:
                conf.default_realm = value
            elif key == "dns_lookup_kdc":
                conf.dns_lookup_kdc = value.lower() not in ("false", "no", "0", "off")
        elif section == "realms" and len(stack) == 1 and key == "kdc":
            conf.realms_with_kdc.add(stack[0])
        elif section == "domain_realm" and not stack:
            conf.domain_realm.setdefault(key.lower(), value)


@dataclass(frozen=True)
class RealmFacts:
    realm: str | None
    source: str
    """Where the realm came from: `[domain_realm] .corp.example`, `the user name`, `default_realm`."""
    kdc: str
    """`krb5.conf` (a [realms] kdc entry), `dns` (SRV records, not checked), or `none`."""


def realm_for(host: str, username: str | None, conf: Krb5Conf) -> RealmFacts:
    host = host.lower().rstrip(".")
    best = ""
    for domain in conf.domain_realm:
        bare = domain.lstrip(".")
        if (host == bare or host.endswith("." + bare)) and len(domain) > len(best):
            best = domain
    if best:
        realm: str | None = conf.domain_realm[best]
        source = f"[domain_realm] {best}"
    elif username and "@" in username:
        realm, source = username.rsplit("@", 1)[1], "the user name"
    else:
        realm, source = conf.default_realm, "default_realm"
    if realm is None:
        kdc = "none"
    elif realm in conf.realms_with_kdc:
        kdc = "krb5.conf"
    else:
        kdc = "dns" if conf.dns_lookup_kdc else "none"
    return RealmFacts(realm, source, kdc)


def gssapi_missing() -> list[str]:
    """The Python packages of pswrap[kerberos] that cannot be imported (empty: all there)."""
    return [m for m in ("gssapi", "krb5") if importlib.util.find_spec(m) is None]


@dataclass(frozen=True)
class TicketFacts:
    principal: str | None
    seconds_left: int | None
    """None: no ticket; 0: expired."""
    problem: str | None = None


def cached_ticket() -> TicketFacts:
    """The default credential cache's principal and how long its ticket lasts (GSSAPI's view)."""
    try:
        import gssapi
        from gssapi.raw import exceptions as gss_exc
        from gssapi.raw.misc import GSSError
    except ImportError:
        return TicketFacts(None, None, "the gssapi package is not installed")
    try:
        cred = gssapi.Credentials(usage="initiate")
        return TicketFacts(str(cred.name), int(cred.lifetime or 0))
    except gss_exc.ExpiredCredentialsError:
        return TicketFacts(None, 0, "the ticket in the cache has expired")
    except GSSError as exc:
        return TicketFacts(None, None, _first_line(exc))


def keytab_principals(path: str) -> tuple[list[str], str | None]:
    """The principals in a keytab, or the reason it cannot be read."""
    try:
        import krb5
    except ImportError:
        return [], "the krb5 package is not installed"
    try:
        ctx = krb5.init_context()
        kt = krb5.kt_resolve(ctx, os.path.abspath(path).encode())
        names = {krb5.unparse_name_flags(ctx, entry.principal).decode() for entry in kt}
    except Exception as exc:  # krb5.Krb5Error, OSError: an unreadable or corrupt keytab
        return [], _first_line(exc)
    return sorted(names), None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
