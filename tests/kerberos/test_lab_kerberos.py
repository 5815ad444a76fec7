"""The lab accepts Kerberos as a Windows listener does, and pswrap signs in with a ticket from the cache,
a password or a keytab: over HTTP with message encryption (both wrapping forms) and over HTTPS."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.kerberos.conftest import (
    LAB_NTLM_PASSWORD,
    LAB_NTLM_USER,
    SERVICE,
    USER,
    USER_PASSWORD,
    Ran,
    Realm,
)

GET_SETTINGS = ("run", "sync/get-settings", "--output", "json")


def settings_ok(ran: Ran) -> None:
    assert ran.code == 0, ran.err
    assert json.loads(ran.out)["anchor_attribute"] == "mS-DS-ConsistencyGuid"


@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
@pytest.mark.parametrize(
    ("lab_auth", "client_auth"),
    [
        ("negotiate", "negotiate"),  # SPNEGO-wrapped Kerberos under `Negotiate`: SPNEGO message encryption
        ("negotiate", "kerberos"),  # a raw Kerberos AP-REQ under `Negotiate`
        ("kerberos", "kerberos"),  # `Kerberos` challenge: HTTP-Kerberos-session-encrypted
        ("kerberos", "negotiate"),
    ],
)
def test_ticket_from_the_cache(
    realm: Realm, krb_env: Path, kerberos_lab: Callable[..., Any], target: Callable[..., str],
    cli: Callable[..., Ran], lab_auth: str, client_auth: str, https: bool,
) -> None:
    realm.kinit(krb_env)  # the admin's `kinit`
    name = target(kerberos_lab(auth=lab_auth, https=https), auth=client_auth, username=None)
    settings_ok(cli(*GET_SETTINGS, "--target", name))


@pytest.mark.parametrize("client_auth", ["kerberos", "negotiate"])
def test_password_gets_its_own_ticket(
    realm: Realm, krb_env: Path, kerberos_lab: Callable[..., Any], target: Callable[..., str],
    cli: Callable[..., Ran], monkeypatch: pytest.MonkeyPatch, client_auth: str,
) -> None:
    monkeypatch.setenv("KERB_PW", USER_PASSWORD)
    # A Kerberos-only lab: a negotiate client cannot have fallen back to NTLM.
    name = target(kerberos_lab(auth="kerberos"), auth=client_auth, username=USER, password_env="KERB_PW")
    ran = cli(*GET_SETTINGS, "--target", name)
    settings_ok(ran)
    assert not krb_env.exists()  # the ticket lived in memory: nothing written to the user's cache
    assert USER_PASSWORD not in ran.out + ran.err


@pytest.mark.parametrize(
    ("principal", "client_auth"), [(SERVICE, "kerberos"), (None, "kerberos"), (SERVICE, "negotiate")],
    ids=["named", "first-in-keytab", "negotiate"],
)
def test_keytab_for_a_service_account(
    realm: Realm, krb_env: Path, kerberos_lab: Callable[..., Any], target: Callable[..., str],
    cli: Callable[..., Ran], principal: str | None, client_auth: str,
) -> None:
    name = target(kerberos_lab(auth="kerberos"), auth=client_auth, username=principal,
                  keytab=str(realm.service_keytab))
    settings_ok(cli(*GET_SETTINGS, "--target", name))
    assert not krb_env.exists()
    shown = cli("targets", "show", name, "--output", "json")
    assert shown.code == 0, shown.err
    settings = json.loads(shown.out)["settings"]
    assert settings["keytab"] == str(realm.service_keytab)
    assert settings["password"] is None  # no password source: none configured, none prompted for


def test_negotiate_lab_still_accepts_ntlm(
    kerberos_lab: Callable[..., Any], target: Callable[..., str], cli: Callable[..., Ran],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NTLM_PW", LAB_NTLM_PASSWORD)
    name = target(kerberos_lab(auth="negotiate"), auth="ntlm", username=LAB_NTLM_USER, password_env="NTLM_PW")
    settings_ok(cli(*GET_SETTINGS, "--target", name))


def test_kerberos_only_lab_refuses_ntlm(
    kerberos_lab: Callable[..., Any], target: Callable[..., str], cli: Callable[..., Ran],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NTLM_PW", LAB_NTLM_PASSWORD)
    name = target(kerberos_lab(auth="kerberos"), auth="ntlm", username=LAB_NTLM_USER, password_env="NTLM_PW")
    ran = cli(*GET_SETTINGS, "--target", name)
    assert ran.code == 3, ran.err
    assert "offers only Kerberos authentication" in ran.err


def test_ip_address_needs_an_ip_spn(
    realm: Realm, krb_env: Path, kerberos_lab: Callable[..., Any], target: Callable[..., str],
    cli: Callable[..., Ran],
) -> None:
    """As on Windows: a ticket is issued for the name the client used, so 127.0.0.1 (no SPN) fails
    with a message naming the missing principal, while 127.0.0.2 (HTTP/127.0.0.2 exists) works."""
    realm.kinit(krb_env)
    name = target(kerberos_lab(host="127.0.0.1"))
    ran = cli(*GET_SETTINGS, "--target", name)
    assert ran.code == 3, ran.err
    assert "HTTP/127.0.0.1@PSWRAP.TEST" in ran.err
    assert "SPN" in ran.err and "Traceback" not in ran.err
    settings_ok(cli(*GET_SETTINGS, "--target", target(kerberos_lab(host="127.0.0.2"))))
