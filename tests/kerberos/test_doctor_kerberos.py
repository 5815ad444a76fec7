"""The doctor's local Kerberos checks: library, realm, credential, judged before anything connects."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.kerberos.conftest import REALM, SERVICE, USER, USER_PASSWORD, Realm, shift_clock


def checks_for(target: Callable[..., str], lab: Any, env: dict[str, str] | None = None,
               **keys: object) -> dict[str, dict[str, Any]]:
    from pswrap.remote.target import load_target
    from pswrap.workflows.checks.kerberos import kerberos_checks

    loaded = load_target(target(lab, **keys))
    return {c.id.split(".", 1)[1]: c.as_json() for c in kerberos_checks(loaded, env)}


@pytest.fixture
def lab(kerberos_lab: Callable[..., Any]) -> Any:
    return kerberos_lab()


def test_all_set_with_a_ticket(realm: Realm, krb_env: Path, lab: Any, target: Callable[..., str]) -> None:
    realm.kinit(krb_env)
    checks = checks_for(target, lab)
    assert [c["status"] for c in checks.values()] == ["pass", "pass", "pass"]
    assert f"{REALM} (from default_realm), KDC from its kdc in krb5.conf" in checks["kerberos-realm"]["found"]
    assert USER in checks["kerberos-credential"]["found"]


def test_no_ticket_expired_ticket_short_ticket(
    realm: Realm, krb_env: Path, lab: Any, target: Callable[..., str]
) -> None:
    none = checks_for(target, lab)["kerberos-credential"]
    assert none["status"] == "fail" and "kinit" in none["fix"]
    realm.kinit(krb_env, USER, USER_PASSWORD, "-l", "10m")
    short = checks_for(target, lab)["kerberos-credential"]
    assert short["status"] == "warn" and "kinit -R" in short["fix"]
    shift_clock(krb_env, 3600)
    expired = checks_for(target, lab)["kerberos-credential"]
    assert expired["status"] == "fail" and "expired" in expired["found"]


def test_keytab_and_password(realm: Realm, lab: Any, target: Callable[..., str],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    keytab = str(realm.service_keytab)
    assert checks_for(target, lab, keytab=keytab)["kerberos-credential"]["status"] == "pass"
    wrong = checks_for(target, lab, keytab=keytab, username=USER)["kerberos-credential"]
    assert wrong["status"] == "fail" and SERVICE in wrong["found"]
    monkeypatch.setenv("KERB_PW", USER_PASSWORD)
    with_password = checks_for(target, lab, username=USER, password_env="KERB_PW")["kerberos-credential"]
    assert with_password["status"] == "pass" and USER_PASSWORD not in str(with_password)


def test_realm_unknown_or_unreachable(lab: Any, target: Callable[..., str], tmp_path: Path) -> None:
    empty = tmp_path / "empty.conf"
    empty.write_text("[libdefaults]\n  dns_lookup_kdc = false\n")
    unknown = checks_for(target, lab, {"KRB5_CONFIG": str(empty)})["kerberos-realm"]
    assert unknown["status"] == "fail" and "default_realm" in unknown["fix"]
    far = checks_for(target, lab, {"KRB5_CONFIG": str(empty)}, username="u@FAR.EXAMPLE")["kerberos-realm"]
    assert far["status"] == "fail" and "FAR.EXAMPLE" in far["found"] and "[realms]" in far["fix"]


def test_domain_realm_through_includes(lab: Any, target: Callable[..., str], tmp_path: Path) -> None:
    extra = tmp_path / "conf.d"
    extra.mkdir()
    (extra / "corp").write_text("[domain_realm]\n  .corp.example = CORP.EXAMPLE\n")
    main = tmp_path / "krb5.conf"
    main.write_text(f"# a comment\n[libdefaults]\n  default_realm = OTHER.EXAMPLE\n"
                    f"[realms]\n  CORP.EXAMPLE = {{\n    kdc = dc1.corp.example\n  }}\nincludedir {extra}\n")
    realm = checks_for(target, lab, {"KRB5_CONFIG": str(main)}, host="sync01.corp.example")["kerberos-realm"]
    assert realm["status"] == "pass"
    assert "CORP.EXAMPLE (from [domain_realm] .corp.example), KDC from its kdc in krb5.conf" in realm["found"]


def test_library_missing(lab: Any, target: Callable[..., str], monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "gssapi" else real(name, *a))
    checks = checks_for(target, lab)
    assert list(checks) == ["kerberos-library"]
    assert checks["kerberos-library"]["status"] == "fail"
    fix = checks["kerberos-library"]["fix"]
    assert "libkrb5-dev" in fix and "krb5-devel" in fix


def test_not_run_for_ntlm(lab: Any, target: Callable[..., str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NTLM_PW", "x")
    assert checks_for(target, lab, auth="ntlm", username="u", password_env="NTLM_PW") == {}


def test_doctor_shows_them_in_the_connection_section(
    realm: Realm, krb_env: Path, lab: Any, target: Callable[..., str], cli: Callable[..., Any],
) -> None:
    name = target(lab)
    without = cli("doctor", "--target", name, "--output", "json")
    assert without.code == 6, without.err  # no ticket: the credential check fails, and so does the sign-in
    failing = {c["id"]: c for c in json.loads(without.out) if c["status"] == "fail"}
    assert "kinit" in failing["connection.kerberos-credential"]["fix"]
    realm.kinit(krb_env)
    ran = cli("doctor", "--target", name)
    assert ran.code == 0, ran.out + ran.err
    connection = ran.out.split("Connection", 1)[1].split("\n\n", 1)[0]
    assert "[ OK ] Kerberos library" in connection
    assert f"[ OK ] Kerberos realm: {REALM}" in connection
    assert f"[ OK ] Kerberos credential: ticket of {USER}" in connection
