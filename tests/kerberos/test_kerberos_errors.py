"""What an admin sees when Kerberos fails: a message saying what is wrong and what to do, and the exit
code of its kind (3 authentication, 4 cannot reach the KDC, 2 a configuration that cannot work), never a
traceback and never the password. Clock skew and expiry use a shifted client clock, never a sleep."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.kerberos.conftest import LAB_HOST, REALM, USER, USER_PASSWORD, Ran, Realm, shift_clock

GET_SETTINGS = ("run", "sync/get-settings")


def failed(ran: Ran, code: int, *needles: str) -> None:
    assert ran.code == code, (ran.code, ran.err)
    assert "Traceback" not in ran.err
    assert USER_PASSWORD not in ran.out + ran.err
    for needle in needles:
        assert needle in ran.err, ran.err


def test_clock_skew_with_the_kdc(
    realm: Realm, krb_env: Path, kerberos_lab: Callable[..., Any], target: Callable[..., str],
    cli: Callable[..., Ran],
) -> None:
    realm.kinit(krb_env)
    shift_clock(krb_env, 3600)  # this machine runs an hour ahead of the domain
    ran = cli(*GET_SETTINGS, "--target", target(kerberos_lab()))
    failed(ran, 3, "clock", "synchronise this machine's clock")


@pytest.mark.parametrize("client_auth", ["kerberos", "negotiate"])
def test_clock_skew_with_the_server(
    realm: Realm, krb_env: Path, kerberos_lab: Callable[..., Any], target: Callable[..., str],
    cli: Callable[..., Ran], client_auth: str,
) -> None:
    """The service ticket is already cached, so the lab itself refuses the skewed authenticator; it
    returns GSSAPI's KRB-ERROR with the 401 as Windows does, and the client reports the skew."""
    realm.kinit(krb_env)
    realm.kvno(krb_env, f"HTTP/{LAB_HOST}@{REALM}")
    shift_clock(krb_env, 3600)
    ran = cli(*GET_SETTINGS, "--target", target(kerberos_lab(), auth=client_auth))
    failed(ran, 3, "clock")


def test_expired_ticket(
    realm: Realm, krb_env: Path, kerberos_lab: Callable[..., Any], target: Callable[..., str],
    cli: Callable[..., Ran],
) -> None:
    realm.kinit(krb_env, USER, USER_PASSWORD, "-l", "10m")  # a ten-minute ticket...
    shift_clock(krb_env, 2 * 3600)  # ...two hours later
    ran = cli(*GET_SETTINGS, "--target", target(kerberos_lab()))
    failed(ran, 3, "expired", "kinit")


def test_unknown_service_principal(
    realm: Realm, krb_env: Path, kerberos_lab: Callable[..., Any], target: Callable[..., str],
    cli: Callable[..., Ran],
) -> None:
    """The lab is reached, but under a name no SPN covers (as with a DNS alias of a Windows server)."""
    realm.kinit(krb_env)
    ran = cli(*GET_SETTINGS, "--target", target(kerberos_lab(), spn_service="WSMAN"))
    failed(ran, 3, "no service principal", "WSMAN/localhost@PSWRAP.TEST")


def test_service_principal_missing_from_the_servers_keytab(
    realm: Realm, krb_env: Path, kerberos_lab: Callable[..., Any], target: Callable[..., str],
    cli: Callable[..., Ran],
) -> None:
    """The KDC knows the SPN but the server holds no key for it (the SPN is on another account)."""
    realm.k5.addprinc(f"HOST/{LAB_HOST}@{REALM}")
    realm.kinit(krb_env)
    ran = cli(*GET_SETTINGS, "--target", target(kerberos_lab(), spn_service="HOST"))
    failed(ran, 3, "holds no key for the service principal", 'spn_service = "host"')


def test_kdc_unreachable(
    realm: Realm, krb_env: Path, kerberos_lab: Callable[..., Any], target: Callable[..., str],
    cli: Callable[..., Ran], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KERB_PW", USER_PASSWORD)
    name = target(kerberos_lab(), username=USER, password_env="KERB_PW")
    monkeypatch.setenv("KRB5_CONFIG", realm.unreachable_kdc_conf())
    failed(cli(*GET_SETTINGS, "--target", name), 4, f"no KDC of realm {REALM} answered", "port 88")


def test_wrong_password(
    krb_env: Path, kerberos_lab: Callable[..., Any], target: Callable[..., str], cli: Callable[..., Ran],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KERB_PW", "not-the-password")
    ran = cli(*GET_SETTINGS, "--target", target(kerberos_lab(), username=USER, password_env="KERB_PW"))
    failed(ran, 3, "refused the password")
    assert "not-the-password" not in ran.err


def test_unknown_user(
    krb_env: Path, kerberos_lab: Callable[..., Any], target: Callable[..., str], cli: Callable[..., Ran],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KERB_PW", USER_PASSWORD)
    name = target(kerberos_lab(), username=f"nobody@{REALM}", password_env="KERB_PW")
    failed(cli(*GET_SETTINGS, "--target", name), 3, f"knows no user nobody@{REALM}")


@pytest.mark.parametrize("client_auth", ["kerberos", "negotiate"])
def test_no_ticket_and_no_password(
    krb_env: Path, kerberos_lab: Callable[..., Any], target: Callable[..., str], cli: Callable[..., Ran],
    client_auth: str,
) -> None:
    ran = cli(*GET_SETTINGS, "--target", target(kerberos_lab(), auth=client_auth))
    failed(ran, 3, "no Kerberos ticket and no password", "kinit")


def test_keytab_without_the_principal(
    realm: Realm, krb_env: Path, kerberos_lab: Callable[..., Any], target: Callable[..., str],
    cli: Callable[..., Ran],
) -> None:
    name = target(kerberos_lab(), username=USER, keytab=str(realm.service_keytab))
    failed(cli(*GET_SETTINGS, "--target", name), 3, "keytab")


@pytest.mark.parametrize(
    ("keys", "needle"),
    [
        ({"username": "PSWRAP\\admin-tester"}, "user@REALM"),
        ({"keytab": "/nonexistent/svc.keytab"}, "is not a file"),
        ({"keytab": "KEYTAB", "password_env": "KERB_PW", "username": USER}, "both a keytab and a password"),
        ({"keytab": "KEYTAB", "auth": "ntlm", "username": USER}, "used only with auth"),
    ],
    ids=["backslash-user", "missing-keytab", "keytab-and-password", "keytab-with-ntlm"],
)
def test_settings_that_cannot_work_exit_2(
    realm: Realm, kerberos_lab: Callable[..., Any], target: Callable[..., str], cli: Callable[..., Ran],
    keys: dict[str, str], needle: str,
) -> None:
    if keys.get("keytab") == "KEYTAB":
        keys = {**keys, "keytab": str(realm.service_keytab)}
    lab = kerberos_lab()
    ran = cli(*GET_SETTINGS, "--target", target(lab, **keys))
    failed(ran, 2, needle)
    assert lab.store.read().get("stats", {}).get("requests", {}) == {}
