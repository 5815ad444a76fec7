"""pswrap as a Kerberos client: which credential pypsrp gets, and what a Kerberos failure means.

Credentials (auth `kerberos` or `negotiate`), in pyspnego's terms:
- a keytab (`keytab = PATH`): pyspnego gets a ticket for `username` (else the keytab's first principal)
  into a memory cache; nothing is written and no password exists anywhere (service accounts, runbooks);
- a user name and a password: pyspnego gets the ticket itself (into a memory cache);
- neither: the ticket already in the user's credential cache (`kinit`; KRB5CCNAME names the cache).

Failures come from GSSAPI and the KDC with MIT krb5's message texts (MIT krb5 error table, krb5_err.et
and GSSAPI's gss_display_status text), carried by pyspnego's SpnegoError, python-gssapi's GSSError or the
krb5 package's Krb5Error. `classify_kerberos` turns the ones an admin meets into a typed error with a
message saying what to do: authentication problems exit 3, an unreachable or unknown KDC exits 4.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pswrap import errors as e

KERBEROS_AUTHS = ("kerberos", "negotiate")


def credential(keytab: str | None, username: str | None) -> Any:
    """What pypsrp passes to pyspnego as the user: a KerberosKeytab for a keytab, else the user name."""
    if keytab is None:
        return username
    from spnego import KerberosKeytab

    return KerberosKeytab(keytab=keytab, principal=username)


def check_kerberos_settings(
    where: str, auth: str, username: str | None, keytab: str | None, has_password: bool, is_lab: bool
) -> None:
    """Kerberos settings that cannot work, refused before anything connects (exit 2)."""
    if keytab is not None:
        if auth not in ("kerberos", "negotiate"):
            raise e.ConfigError(f'{where}: keytab: used only with auth = "kerberos" or "negotiate"')
        if has_password:
            raise e.ConfigError(
                f"{where}: keytab: both a keytab and a password source are configured",
                hint="a service account signs in with its keytab alone: remove the password_* setting",
            )
        if not is_lab and not Path(keytab).is_file():
            raise e.ConfigError(f"{where}: keytab: {keytab} is not a file",
                              hint="give the keytab's path (ktutil or the AD admin's ktpass writes one)")
    if auth == "kerberos" and username and "\\" in username:
        raise e.ConfigError(
            f"{where}: username: Kerberos names the user as user@REALM, not DOMAIN\\user ({username!r})",
            hint='e.g. username = "svc-pswrap@CORP.EXAMPLE.COM" (the realm is the AD domain in capitals)',
        )


@dataclass(frozen=True)
class _Rule:
    pattern: str
    kind: type[e.TransportError]
    message: str
    hint: str


ENGINE_HINT = "a runbook engine should use a keytab (keytab = PATH in the target) so pswrap gets its own"

RULES: tuple[_Rule, ...] = (
    _Rule(
        r"clock skew too great",
        e.AuthenticationError,
        "Kerberos refused the sign-in to {where}: this machine's clock and the domain's differ by more than "
        "the allowed skew (5 minutes by default)",
        "synchronise this machine's clock with the domain (chrony or ntpd pointed at a domain controller), "
        "then run again",
    ),
    _Rule(
        r"server (?P<name>\S+) not found in kerberos database|server not found in kerberos database",
        e.AuthenticationError,
        "the KDC has no service principal for the name pswrap connected to ({where}; asked for {name}): "
        "the target's host is not a name the server's SPN covers",
        "use the name the server's SPN covers, normally its FQDN; an IP address or an alias needs its own "
        "SPN (on Windows, `setspn -Q HTTP/<name>` shows which account holds one)",
    ),
    _Rule(
        r"the ticket isn't for us|wrong principal in request",
        e.AuthenticationError,
        "{where} could not read the Kerberos ticket: it holds no key for the service principal the KDC "
        "issued the ticket to",
        "the SPN is registered on another account than the server's (an IIS application pool's, say): "
        "remove it there (`setspn -Q HTTP/<name>` shows the holder), or set spn_service = \"host\"",
    ),
    _Rule(
        r"client '?(?P<name>[^' ]+)'? not found in kerberos database",
        e.AuthenticationError,
        "the KDC knows no user {name} (signing in to {where})",
        "check the target's username: Kerberos wants user@REALM, the realm being the AD domain in capitals",
    ),
    _Rule(
        r"preauthentication failed|password incorrect|decrypt integrity check failed",
        e.AuthenticationError,
        "the KDC refused the password of the remoting account (signing in to {where})",
        "check the password source of the target (`pswrap targets show`); the account may also be locked",
    ),
    _Rule(
        r"ticket expired|credentials? (?:have|has) expired|credential has expired",
        e.AuthenticationError,
        "the Kerberos ticket for {where} has expired",
        "get a new ticket (kinit, or kinit -R while it is renewable) and run again; " + ENGINE_HINT,
    ),
    _Rule(
        r"no kerberos credentials available|no credentials cache found|no credentials were supplied"
        r"|matching credential not found",
        e.AuthenticationError,
        "pswrap has no Kerberos ticket and no password to get one (signing in to {where})",
        "run `kinit user@REALM` first, or configure password_env / password_keyring; " + ENGINE_HINT,
    ),
    _Rule(
        r"key table (?:file )?\S* ?not found|no key table entry found|keytab .*not found"
        r"|keytab contains no suitable keys",
        e.AuthenticationError,
        "the keytab holds no key pswrap can use to sign in to {where}",
        "check the target's keytab and username (the principal must be in the keytab: klist -k FILE)",
    ),
    _Rule(
        r"cannot contact any kdc for realm '?(?P<name>[^' ]+)'?",
        e.ConnectionFailed,
        "no KDC of realm {name} answered (pswrap needed a Kerberos ticket for {where})",
        "check the realm's kdc entries in krb5.conf (or DNS SRV _kerberos._tcp records) and that port 88 "
        "to a domain controller is open; `pswrap doctor` checks the local Kerberos set-up",
    ),
    _Rule(
        r"cannot find kdc for realm '?(?P<name>[^' ]+)'?|cannot resolve network address for kdc",
        e.ConnectionFailed,
        "this machine does not know where the KDC of realm {name} is (pswrap needed a ticket for {where})",
        "add the realm to krb5.conf ([realms] with its kdc, or dns_lookup_kdc = true with SRV records); "
        "`pswrap doctor` checks it",
    ),
)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        cur = todo.pop()
        if cur is None or id(cur) in seen:
            continue
        seen.add(id(cur))
        yield cur
        base = getattr(cur, "base_error", None)
        todo += [cur.__cause__, cur.__context__, base if isinstance(base, BaseException) else None]


def _is_kerberos(exc: BaseException) -> bool:
    module = type(exc).__module__ or ""
    return module.split(".")[0] in ("spnego", "gssapi", "krb5")


def classify_kerberos(exc: BaseException, *, where: str, what: str) -> e.TransportError | None:
    """The typed error for a Kerberos failure (None when `exc` did not come from Kerberos)."""
    mismatch = r"server responded with the auth protocol '(\w+)' which is incompatible"
    offered = re.search(mismatch, str(exc), re.I)
    if isinstance(exc, ValueError) and offered:  # pypsrp: the server offers another protocol than `auth`
        return e.AuthenticationError(
            f"{where} offers only {offered.group(1)} authentication, which the target's auth does not allow",
            hint=f'set auth = "{offered.group(1).lower()}" (or "negotiate") for the target, '
            "or enable the protocol on the server's WinRM service",
        )
    chain = list(_chain(exc))
    if not any(_is_kerberos(c) for c in chain):
        return None
    text = " | ".join(str(c) for c in chain)
    for rule in RULES:
        match = re.search(rule.pattern, text, re.I)
        if match is None:
            continue
        name = next((g for g in match.groups() if g), "") if match.groups() else ""
        err = rule.kind(rule.message.format(where=where, name=name or "it"), hint=rule.hint)
        err.transient = False
        return err
    detail = re.sub(r"\s+", " ", str(exc)).strip()[:300]
    err = e.AuthenticationError(
        f"signing in to {where} (Negotiate/Kerberos) failed while {what}: {detail}",
        hint="`pswrap doctor` checks the local Kerberos set-up (library, realm, ticket); "
        "docs/authentication.md lists the usual causes",
    )
    return err
