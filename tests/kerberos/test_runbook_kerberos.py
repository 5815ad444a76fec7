"""The mailbox runbook end to end over Kerberos, as a runbook engine runs it: the service account signs
in with its keytab (no password anywhere), and the AD steps reach the domain controller through the
explicit AD credential (the second hop Kerberos does not make without delegation)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.kerberos.conftest import SERVICE, Ran, Realm

AD_USER = "LAB\\svc-ad"
AD_SECRET = "Ad-Secret-5e81c0"


def test_mailbox_runbook_over_kerberos_with_a_keytab(
    realm: Realm, krb_env: Path, kerberos_lab: Callable[..., Any], target: Callable[..., str],
    cli: Callable[..., Ran], monkeypatch: pytest.MonkeyPatch,
) -> None:
    lab = kerberos_lab(auth="kerberos")  # Kerberos only: no NTLM fallback could hide a failure
    with lab.store.transaction() as world:  # the lab's DC accepts only this account for AD writes
        world["ad"]["credential"] = {"user": AD_USER, "password": AD_SECRET}
    monkeypatch.setenv("AD_PW", AD_SECRET)
    name = target(
        lab, username=SERVICE, keytab=str(realm.service_keytab),
        ad_credential_user=AD_USER, ad_credential_password_env="AD_PW",
    )

    ran = cli("mailbox", "create", "Meeting Room 1", "--alias", "room1", "--yes", "--target", name,
              "--output", "json")
    assert ran.code == 0, ran.err
    result = json.loads(ran.out)
    assert result["status"] == "completed" and result["changed"] is True
    assert result["mailbox"]["alias"] == "room1"
    assert result["ad_user"]["sam_account_name"] == "room1"
    assert result["cloud_user"]["on_premises_sync_enabled"] is True
    world = lab.store.read()
    assert [u["sam_account_name"] for u in world["ad"]["users"]] == ["room1"]
    assert not krb_env.exists()  # the keytab's ticket lived in memory
    assert AD_SECRET not in ran.out + ran.err

    again = cli("mailbox", "create", "Meeting Room 1", "--alias", "room1", "--yes", "--target", name,
                "--output", "json")
    assert again.code == 0, again.err
    assert json.loads(again.out)["changed"] is False

    # The AD credential really travels (over the Kerberos session, as PSRP parameters): a wrong one fails.
    monkeypatch.setenv("AD_PW", "not-the-ad-password")
    wrong = cli("mailbox", "create", "Meeting Room 2", "--alias", "room2", "--yes", "--target", name)
    assert wrong.code != 0
    assert "room2" not in [u["sam_account_name"] for u in lab.store.read()["ad"]["users"]]
