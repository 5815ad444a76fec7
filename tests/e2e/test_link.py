"""`pswrap mailbox link`: a cloud mailbox that exists already, linked to an existing AD account (by
sAMAccountName, UPN or objectGUID) or to a new one; drift reported when AD's values win."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.conftest import Ran, by
from tests.e2e.test_refusals import new_ad_user, new_cloud_mailbox

STAGING_OU = "OU=Staging,DC=lab,DC=example"


def b64_guid(guid: str) -> str:
    return base64.b64encode(uuid.UUID(guid).bytes_le).decode()


@pytest.mark.parametrize("mtype", ["room", "shared"])
def test_link_existing_mailbox_to_a_new_account(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]], mtype: str
) -> None:
    new_cloud_mailbox(cli, "lroom", mtype)
    before = by(world()["exo"]["mailboxes"], "alias", "lroom")[0]
    ran = cli("mailbox", "link", "lroom", "--create-ad-user", "--output", "json")
    assert ran.code == 0, ran.err
    out = ran.json()
    assert out["status"] == "completed" and out["changed"] is True
    w = world()
    ad = by(w["ad"]["users"], "sam_account_name", "lroom")
    assert len(ad) == 1 and ad[0]["mail_nickname"] == "lroom"
    mailbox = by(w["exo"]["mailboxes"], "alias", "lroom")
    assert len(mailbox) == 1
    assert mailbox[0]["external_directory_object_id"] == before["external_directory_object_id"]
    assert out["cloud_user"]["id"] == before["external_directory_object_id"]
    assert out["cloud_user"]["on_premises_immutable_id"] == out["immutable_id"]
    assert out["drift"] == []
    again = cli("mailbox", "link", "lroom", "--create-ad-user", "--output", "json")
    assert again.code == 0 and again.json()["changed"] is False


@pytest.mark.parametrize("form", ["sam", "upn", "guid"])
def test_link_existing_mailbox_to_an_existing_account(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]], form: str
) -> None:
    new_cloud_mailbox(cli, "desk1", "shared")
    new_ad_user(cli, "desk1acct", "desk1", STAGING_OU)
    account = by(world()["ad"]["users"], "sam_account_name", "desk1acct")[0]
    name = {"sam": "desk1acct", "upn": "desk1@lab.example", "guid": account["object_guid"]}[form]
    # The account waits outside sync scope; the staging-ou hold moves it in once the cloud side is set.
    # --add-addresses: the account lacks the mailbox's X500 address (tests/e2e/test_mastering.py).
    ran = cli(
        "mailbox", "link", "desk1", "--ad-user", name, "--hold", "staging-ou", "--no-wait",
        "--output", "json", "--add-addresses",
    )  # fmt: skip
    assert ran.code == 0, ran.err
    out = ran.json()
    # An account without mS-DS-ConsistencyGuid is anchored on its objectGUID (docs/sources.md §3).
    assert out["immutable_id"] == b64_guid(account["object_guid"])
    assert out["status"] == "pending-sync"
    w = world()
    cloud = by(w["cloud"]["users"], "id", out["cloud_user"]["id"])[0]
    assert cloud["on_premises_immutable_id"] == out["immutable_id"]
    assert cloud["user_principal_name"] == "desk1@lab.example"
    moved = by(w["ad"]["users"], "sam_account_name", "desk1acct")
    assert len(moved) == 1  # no new account
    assert moved[0]["distinguished_name"].endswith(",OU=Resources,DC=lab,DC=example")  # moved into scope


def test_link_to_an_account_outside_sync_scope_is_refused(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    """Such an account would never sync, so the wait could only time out: refused before any change,
    saying which hold moves it into scope."""
    new_cloud_mailbox(cli, "desk4", "shared")
    new_ad_user(cli, "desk4acct", "desk4", STAGING_OU)
    before = world()
    ran = cli("mailbox", "link", "desk4", "--ad-user", "desk4acct", "--add-addresses")
    assert ran.code == 2, ran.err
    assert "desk4acct is in OU=Staging,DC=lab,DC=example" in ran.err and "--hold staging-ou" in ran.err
    after = world()
    for area, kind in (("ad", "users"), ("cloud", "users"), ("exo", "mailboxes")):
        assert after[area][kind] == before[area][kind]


def test_link_reports_drift_when_ad_values_win(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    """The account carries other addresses than the mailbox: after the link AD is authoritative, and
    pswrap reads the mailbox back and says what changed."""
    new_cloud_mailbox(cli, "desk2", "shared")
    new_ad_user(cli, "desk2acct", "reception")
    ran = cli("mailbox", "link", "desk2", "--ad-user", "desk2acct", "--add-addresses", "--output", "json")
    assert ran.code == 0, ran.err
    out = ran.json()
    assert out["status"] == "completed"
    email = [d for d in out["drift"] if d["field"] == "email"]
    assert email and email[0]["where"] == "ad" and email[0]["wanted"].startswith("desk2@"), out["drift"]


def test_link_with_a_consistency_guid_uses_it(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    new_cloud_mailbox(cli, "desk3", "room")
    anchor = str(uuid.uuid4())
    ran = cli(
        "run", "ad/new-user",
        "--param", "Name=desk3", "--param", f"Path={STAGING_OU}", "--param", "SamAccountName=desk3",
        "--param", "UserPrincipalName=desk3@lab.example", "--param", "DisplayName=desk3",
        "--param", "EmailAddress=desk3@lab.example", "--param", "ProxyAddresses=SMTP:desk3@lab.example",
        "--param", "MailNickname=desk3", "--param", f"ConsistencyGuid={anchor}",
    )  # fmt: skip
    assert ran.code == 0, ran.err
    linked = cli(
        "mailbox", "link", "desk3", "--ad-user", "desk3", "--hold", "staging-ou", "--no-wait",
        "--add-addresses", "--output", "json",
    )  # fmt: skip
    assert linked.code == 0, linked.err
    assert linked.json()["immutable_id"] == b64_guid(anchor)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["nosuch", "--create-ad-user"], "no mailbox"),
        (["lroom"], "exactly one of"),
        (["lroom", "--ad-user", "x", "--create-ad-user"], "exactly one of"),
        (["lroom", "--ad-user", "nobody"], "no AD account"),
        (["lroom", "--create-ad-user", "--profile", "hybrid-tools"], "modern"),
    ],
)
def test_link_refusals(cli: Callable[..., Ran], args: list[str], needle: str) -> None:
    new_cloud_mailbox(cli, "lroom")
    ran = cli("mailbox", "link", *args)
    assert ran.code == 2, ran.err
    assert needle in ran.err
