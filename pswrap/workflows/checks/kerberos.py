"""The doctor's local Kerberos checks: what this machine lacks before a Kerberos target can work.

Run for a target with `auth = "kerberos"`, or with a keytab, before anything connects: the GSSAPI
library (pswrap[kerberos] and the system's MIT Kerberos), a realm for the host's domain that this
machine can reach, and a credential (a keytab holding the principal, a password source, or a valid
ticket in the cache). Unlike the other judgements these read no step: the facts are this machine's,
read by pswrap/remote/kerberos_setup.py. The checks are shown in the checklist's Connection section.
"""

from __future__ import annotations

from typing import Any

from pswrap.remote import kerberos_setup as ks
from pswrap.workflows.checks.model import Check, failed, passed, warned

INSTALL_FIX = (
    "install the system's Kerberos (Debian/Ubuntu: apt-get install libkrb5-dev krb5-user gcc python3-dev; "
    "RHEL: dnf install krb5-devel krb5-workstation gcc python3-devel), then pip install 'pswrap[kerberos]' "
    "(docs/authentication.md)"
)
RENEW_SECONDS = 3600
"""A ticket with less than this left is a warning: a long runbook may outlive it."""


def applies(target: Any) -> bool:
    return getattr(target, "auth", "") == "kerberos" or bool(getattr(target, "keytab", None))


def kerberos_checks(target: Any, env: dict[str, str] | None = None) -> list[Check]:
    """The local Kerberos checks for `target` (none when it does not use Kerberos)."""
    if not applies(target):
        return []
    missing = ks.gssapi_missing()
    if missing:
        return [failed("connection.kerberos-library", "Kerberos library",
                       f"the Python package(s) {', '.join(missing)} of pswrap[kerberos] are not installed",
                       INSTALL_FIX)]
    checks = [passed("connection.kerberos-library", "Kerberos library", "gssapi and krb5 are installed")]
    conf = ks.read_krb5_conf(env)
    host = str(getattr(target, "host", ""))
    username = getattr(target, "username", None)
    checks.append(_judge_realm(host, ks.realm_for(host, username, conf), conf))
    checks.append(_judge_credential(target))
    return checks


def _judge_realm(host: str, facts: ks.RealmFacts, conf: ks.Krb5Conf) -> Check:
    name = "Kerberos realm"
    files = ", ".join(conf.files) or "no krb5.conf found"
    if facts.realm is None:
        return failed(
            "connection.kerberos-realm", name, f"no realm for {host}: no [domain_realm] entry, no realm in "
            f"the user name and no default_realm ({files})",
            "set default_realm = YOUR.AD.DOMAIN (in capitals) under [libdefaults] in /etc/krb5.conf, or "
            "username = user@REALM for the target",
        )
    if facts.kdc == "none":
        return failed(
            "connection.kerberos-realm", name,
            f"{facts.realm} (from {facts.source}) has no kdc in [realms], and dns_lookup_kdc is false "
            f"({files})",
            f"add [realms] {facts.realm} = {{ kdc = dc01.your.domain }} to krb5.conf, or set "
            "dns_lookup_kdc = true",
        )
    where = "its kdc in krb5.conf" if facts.kdc == "krb5.conf" else "DNS SRV records (_kerberos._tcp)"
    return passed("connection.kerberos-realm", name, f"{facts.realm} (from {facts.source}), KDC from {where}")


def _judge_credential(target: Any) -> Check:
    name = "Kerberos credential"
    keytab = getattr(target, "keytab", None)
    username = getattr(target, "username", None)
    if keytab:
        principals, problem = ks.keytab_principals(str(keytab))
        if problem or not principals:
            return failed("connection.kerberos-credential", name, f"cannot use the keytab {keytab}: "
                          f"{problem or 'it is empty'}", "give a keytab holding the account's key "
                          "(ktpass on Windows, ktutil on Linux); check it with klist -k FILE")
        wanted = username or principals[0]
        if wanted not in principals and not any(p.split("@")[0] == wanted for p in principals):
            return failed("connection.kerberos-credential", name,
                          f"the keytab {keytab} holds no key for {wanted} (it holds {', '.join(principals)})",
                          "set the target's username to a principal of the keytab, or export the right key")
        return passed("connection.kerberos-credential", name, f"keytab {keytab} for {wanted}")
    if getattr(target, "password_source", None) is not None:
        return passed("connection.kerberos-credential", name,
                      f"pswrap gets a ticket for {username} with the configured password")
    ticket = ks.cached_ticket()
    if ticket.seconds_left is None or ticket.seconds_left <= 0:
        why = ticket.problem or "no ticket"
        return failed("connection.kerberos-credential", name, f"no usable ticket in the cache: {why}",
                      "run `kinit user@REALM` (or configure a password source, or keytab = PATH for a "
                      "service account)")
    left = f"{ticket.principal}, valid for {ticket.seconds_left // 60} more minute(s)"
    if ticket.seconds_left < RENEW_SECONDS:
        return warned("connection.kerberos-credential", name, f"ticket of {left}",
                      "renew it before a long run: kinit -R (or kinit again)")
    return passed("connection.kerberos-credential", name, f"ticket of {left}")
