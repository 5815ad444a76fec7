"""Who masters what after the link, through the CLI against the lab (docs/mastering.md): the link keeps
every address (or refuses, or adds them), a loss is drift, the sign-in of the resource account, both
Exchange-attribute routes and what sync then does with the recipient type, and the cloud refusing writes
of what AD masters."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Ran, by
from tests.e2e.test_refusals import new_ad_user, new_cloud_mailbox

PASSWORD = "Device-Pa55word-7f3c!"


def mailbox_of(w: dict[str, Any], alias: str) -> dict[str, Any]:
    found: dict[str, Any] = by(w["exo"]["mailboxes"], "alias", alias)[0]
    return found


def account(w: dict[str, Any], sam: str) -> dict[str, Any]:
    found: dict[str, Any] = by(w["ad"]["users"], "sam_account_name", sam)[0]
    return found


def cloud_user(w: dict[str, Any], user_id: str) -> dict[str, Any]:
    found: dict[str, Any] = by(w["cloud"]["users"], "id", user_id)[0]
    return found


def add_address(cli: Callable[..., Ran], w: dict[str, Any], alias: str, address: str) -> None:
    """A second address on a cloud-only mailbox (Exchange Online masters them until the link)."""
    current = mailbox_of(w, alias)["email_addresses"]
    args = ["run", "exo/set-mailbox", "--param", f"Identity={alias}"]
    for a in [*[a for a in current if not a.startswith("X500:")], f"smtp:{address}"]:
        args += ["--param", f"EmailAddresses={a}"]
    ran = cli(*args)
    assert ran.code == 0, ran.err


def smtp(addresses: list[str]) -> set[str]:
    return {a.split(":", 1)[1].lower() for a in addresses if a.lower().startswith(("smtp:", "x500:"))}


# --- 2. linking keeps every address -------------------------------------------------------------------


def test_link_with_a_new_account_keeps_every_address_and_the_x500(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    new_cloud_mailbox(cli, "lobby", "shared")
    add_address(cli, world(), "lobby", "reception@lab.example")
    before = mailbox_of(world(), "lobby")
    ran = cli("mailbox", "link", "lobby", "--create-ad-user", "--output", "json")
    assert ran.code == 0, ran.err
    out = ran.json()
    assert out["status"] == "completed" and out["drift"] == []
    w = world()
    carried = account(w, "lobby")["proxy_addresses"]
    assert "smtp:reception@lab.example" in carried
    assert "X500:" + before["legacy_exchange_dn"] in carried
    after = mailbox_of(w, "lobby")
    assert smtp(before["email_addresses"]) | {before["legacy_exchange_dn"].lower()} <= smtp(
        after["email_addresses"]
    )


def test_link_to_an_account_lacking_addresses_is_refused_before_any_change(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    new_cloud_mailbox(cli, "desk5", "shared")
    add_address(cli, world(), "desk5", "helpdesk@lab.example")
    new_ad_user(cli, "desk5acct", "desk5")
    before = world()
    ran = cli("mailbox", "link", "desk5", "--ad-user", "desk5acct", "--output", "json")
    assert ran.code == 6, ran.err
    out = ran.json()
    assert out["error"]["type"] == "NeedsHuman" and out["changed"] is False
    message = out["error"]["message"]
    assert "smtp:helpdesk@lab.example" in message
    assert "X500:" + mailbox_of(before, "desk5")["legacy_exchange_dn"] in message
    assert "--add-addresses" in out["error"]["hint"]
    after = world()
    for area, kind in (("ad", "users"), ("cloud", "users"), ("exo", "mailboxes")):
        assert after[area][kind] == before[area][kind]


def test_add_addresses_lets_pswrap_add_them_and_reports_the_change(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    new_cloud_mailbox(cli, "desk6", "shared")
    add_address(cli, world(), "desk6", "helpdesk6@lab.example")
    new_ad_user(cli, "desk6acct", "desk6")
    before = mailbox_of(world(), "desk6")
    ran = cli("mailbox", "link", "desk6", "--ad-user", "desk6acct", "--add-addresses", "--output", "json")
    assert ran.code == 0, ran.err
    out = ran.json()
    assert out["status"] == "completed" and out["drift"] == []
    added = [c for c in out["changes"] if c["field"] == "addresses"]
    assert len(added) == 1 and added[0]["where"] == "ad"
    assert added[0]["from"] == ["SMTP:desk6@lab.example"]
    assert "smtp:helpdesk6@lab.example" in added[0]["to"]
    w = world()
    assert smtp(before["email_addresses"]) <= smtp(mailbox_of(w, "desk6")["email_addresses"])
    again = cli("mailbox", "link", "desk6", "--ad-user", "desk6acct", "--add-addresses", "--output", "json")
    assert again.code == 0 and again.json()["changed"] is False and again.json()["drift"] == []


def test_an_address_lost_at_the_link_is_drift_not_success(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    """The account is changed behind pswrap's back between its run and the sync that links: the resumed
    operation compares with the addresses the mailbox had before the link and reports the loss."""
    new_cloud_mailbox(cli, "desk7", "shared")
    add_address(cli, world(), "desk7", "front7@lab.example")
    new_ad_user(cli, "desk7acct", "desk7")
    ran = cli(
        "mailbox", "link", "desk7", "--ad-user", "desk7acct", "--add-addresses", "--no-wait",
        "--output", "json",
    )  # fmt: skip
    assert ran.code == 0, ran.err
    op = ran.json()["operation"]
    w = world()
    index = next(i for i, u in enumerate(w["ad"]["users"]) if u["sam_account_name"] == "desk7acct")
    kept = [a for a in w["ad"]["users"][index]["proxy_addresses"] if "front7" not in a]
    assert cli("lab", "set", f"ad.users.{index}.proxy_addresses={json.dumps(kept)}").code == 0
    assert cli("sync", "start").code == 0 and cli("sync", "wait").code == 0  # the link happens
    resumed = cli("resume", op, "--output", "json")
    assert resumed.code == 0, resumed.err
    out = resumed.json()
    assert out["status"] == "completed"
    lost = [d for d in out["drift"] if d["field"] == "addresses"]
    assert len(lost) == 1 and lost[0]["where"] == "ad"
    assert "smtp:front7@lab.example" in lost[0]["wanted"]
    assert "smtp:front7@lab.example" not in [a.lower() for a in lost[0]["found"]]


def test_a_rerun_with_another_capacity_reports_drift_where_it_is_written(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    assert cli("mailbox", "create", "Room 8", "--alias", "room8", "--capacity", "8").code == 0
    ran = cli("mailbox", "create", "Room 8", "--alias", "room8", "--capacity", "12", "--output", "json")
    assert ran.code == 0, ran.err
    out = ran.json()
    assert out["changed"] is False
    # msExchResourceCapacity is "not consumed by Exchange Online": capacity is written in Exchange Online.
    assert out["drift"] == [{"field": "capacity", "found": 8, "wanted": 12, "where": "exo"}]


# --- 4. sign-in ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("mtype", "blocked"), [("room", True), ("equipment", True), ("shared", False)])
def test_the_resource_account_cannot_sign_in_after_the_link(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]], mtype: str, blocked: bool
) -> None:
    alias = f"si{mtype[:3]}"
    ran = cli("mailbox", "create", f"Res {alias}", "--alias", alias, "--type", mtype, "--output", "json")
    assert ran.code == 0, ran.err
    out = ran.json()
    changes = {(c["field"], c["where"]): (c["from"], c["to"]) for c in out["changes"]}
    assert changes[("account_enabled", "ad")] == (None, False)
    # New-Mailbox: a room's account is created enabled (equipment: taken as enabled), a shared one's disabled.
    assert (("account_enabled", "graph") in changes) is blocked
    if blocked:
        assert changes[("account_enabled", "graph")] == (True, False)
    w = world()
    assert account(w, alias)["enabled"] is False
    assert cloud_user(w, out["cloud_user"]["id"])["account_enabled"] is False


def test_allow_sign_in_keeps_the_account_enabled_with_the_given_password(
    cli: Callable[..., Ran],
    world: Callable[[], dict[str, Any]],
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PSWRAP_SIGN_IN_PASSWORD", PASSWORD)
    ran = cli("mailbox", "create", "Teams Room 1", "--alias", "mtr1", "--allow-sign-in", "--output", "json")
    assert ran.code == 0, ran.err
    out = ran.json()
    assert [c for c in out["changes"] if c["field"] == "account_enabled"] == [
        {"field": "account_enabled", "from": None, "to": True, "where": "ad"}
    ]
    w = world()
    assert account(w, "mtr1")["enabled"] is True
    assert cloud_user(w, out["cloud_user"]["id"])["account_enabled"] is True  # follows AD after the link
    assert out["drift"] == []
    # The secret is nowhere: not in the output, the journal or any state file.
    assert PASSWORD not in ran.out + ran.err
    for path in Path(env["PSWRAP_STATE_DIR"]).rglob("*"):
        if path.is_file() and path.name != "lab.json":
            assert PASSWORD.encode() not in path.read_bytes(), path


def test_allow_sign_in_without_a_password_is_refused_before_any_change(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PSWRAP_SIGN_IN_PASSWORD", raising=False)
    before = world()
    ran = cli("mailbox", "create", "Teams Room 2", "--alias", "mtr2", "--allow-sign-in")
    assert ran.code == 2, ran.err
    assert "PSWRAP_SIGN_IN_PASSWORD" in ran.err
    after = world()
    for area, kind in (("ad", "users"), ("cloud", "users"), ("exo", "mailboxes")):
        assert after[area][kind] == before[area][kind]


# --- 3. the Exchange attributes ------------------------------------------------------------------------


def test_cloud_route_moves_the_exchange_attributes_and_sync_stops_taking_them_from_ad(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    ran = cli(
        "mailbox", "create", "Desk 9", "--alias", "desk9", "--type", "shared",
        "--exchange-attributes", "cloud", "--output", "json",
    )  # fmt: skip
    assert ran.code == 0, ran.err
    out = ran.json()
    assert {"field": "exchange_attributes", "from": "ad", "to": "exo", "where": "exo"} in out["changes"]
    w = world()
    assert mailbox_of(w, "desk9")["is_exchange_cloud_managed"] is True
    # Now the Exchange attributes stay as Exchange Online has them; identity attributes still follow AD.
    index = next(i for i, u in enumerate(w["ad"]["users"]) if u["sam_account_name"] == "desk9")
    assert cli("lab", "set", f'ad.users.{index}.proxy_addresses=["SMTP:other9@lab.example"]').code == 0
    assert cli("lab", "set", f"ad.users.{index}.display_name=Desk Nine").code == 0
    assert cli("sync", "start").code == 0 and cli("sync", "wait").code == 0
    w = world()
    assert mailbox_of(w, "desk9")["primary_smtp_address"] == "desk9@lab.example"
    assert mailbox_of(w, "desk9")["display_name"] == "Desk Nine"
    again = cli("mailbox", "create", "Desk 9", "--alias", "desk9", "--type", "shared", "--output", "json")
    assert again.code == 0 and again.json()["changed"] is False


def test_auto_chooses_cloud_only_where_both_published_minimums_agree(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    plain = cli("mailbox", "create", "Desk 10", "--alias", "desk10", "--type", "shared", "--output", "json")
    assert plain.code == 0 and not [c for c in plain.json()["changes"] if c["field"] == "exchange_attributes"]
    assert cli("lab", "set", "sync.settings.connect_version=2.5.190.0").code == 0
    ran = cli("mailbox", "create", "Desk 11", "--alias", "desk11", "--type", "shared", "--output", "json")
    assert ran.code == 0, ran.err
    assert mailbox_of(world(), "desk11")["is_exchange_cloud_managed"] is True


def test_cloud_route_on_an_engine_below_the_minimum_needs_a_human(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    assert cli("lab", "set", "sync.settings.connect_version=2.5.3.0").code == 0
    ran = cli("mailbox", "create", "Desk 12", "--alias", "desk12", "--exchange-attributes", "cloud")
    assert ran.code == 6, ran.err
    assert "2.5.76.0" in ran.err and world()["exo"]["mailboxes"] == []


def test_stamp_route_needs_the_exchange_schema(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    ran = cli("mailbox", "create", "Desk 13", "--alias", "desk13", "--exchange-attributes", "stamp")
    assert ran.code == 6, ran.err
    assert "schema" in ran.err and world()["exo"]["mailboxes"] == []


def test_stamp_route_writes_the_remote_mailbox_values_before_the_link(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    assert cli("lab", "set", "ad.exchange_schema.present=true").code == 0
    ran = cli(
        "mailbox", "create", "Desk 14", "--alias", "desk14", "--type", "shared",
        "--exchange-attributes", "stamp", "--output", "json",
    )  # fmt: skip
    assert ran.code == 0, ran.err
    out = ran.json()
    assert {"field": "type", "from": None, "to": 34359738368, "where": "ad"} in out["changes"]
    w = world()
    assert account(w, "desk14")["exchange"] == {
        "recipient_type_details": 34359738368,
        "remote_recipient_type": 97,
        "recipient_display_type": -2147483642,
    }
    assert mailbox_of(w, "desk14")["recipient_type_details"] == "SharedMailbox"
    assert out["drift"] == []


def _user_mailbox_account(cli: Callable[..., Ran], world: Callable[[], dict[str, Any]], sam: str) -> None:
    """An AD account that still says "remote user mailbox" (RemoteRecipientType 1), e.g. a leaver's."""
    new_ad_user(cli, sam, sam.removesuffix("acct"))
    guid = account(world(), sam)["object_guid"]
    ran = cli(
        "run", "ad/stamp-exchange-attributes", "--param", f"Identity={guid}",
        "--param", "RecipientTypeDetails=2147483648", "--param", "RemoteRecipientType=1",
        "--param", "RecipientDisplayType=-2147483642",
    )  # fmt: skip
    assert ran.code == 0, ran.err


def test_kb2710029_sync_turns_the_shared_mailbox_into_a_user_mailbox_and_pswrap_says_so(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    assert cli("lab", "set", "ad.exchange_schema.present=true").code == 0
    new_cloud_mailbox(cli, "desk15", "shared")
    _user_mailbox_account(cli, world, "desk15acct")
    ran = cli("mailbox", "link", "desk15", "--ad-user", "desk15acct", "--add-addresses", "--output", "json")
    assert ran.code == 0, ran.err
    out = ran.json()
    assert mailbox_of(world(), "desk15")["recipient_type_details"] == "UserMailbox"
    assert {"field": "type", "found": "UserMailbox", "wanted": "SharedMailbox", "where": "ad"} in out["drift"]


def test_kb2710029_stamp_route_keeps_the_shared_mailbox(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    assert cli("lab", "set", "ad.exchange_schema.present=true").code == 0
    new_cloud_mailbox(cli, "desk16", "shared")
    _user_mailbox_account(cli, world, "desk16acct")
    ran = cli(
        "mailbox", "link", "desk16", "--ad-user", "desk16acct", "--add-addresses",
        "--exchange-attributes", "stamp", "--output", "json",
    )  # fmt: skip
    assert ran.code == 0, ran.err
    assert ran.json()["drift"] == []
    assert mailbox_of(world(), "desk16")["recipient_type_details"] == "SharedMailbox"


# --- 5. the cloud refuses writes of what AD masters ---------------------------------------------------


@pytest.mark.parametrize(
    ("param", "value", "needle"),
    [
        ("HiddenFromAddressListsEnabled", "true", "is being synchronized from your on-premises organization"),
        (
            "EmailAddresses",
            "SMTP:desk17@lab.example",
            "is being synchronized from your on-premises organization",
        ),
        ("DisplayName", "Desk Seventeen", "DualWrite (Graph)"),
    ],
)
def test_exchange_online_refuses_a_synced_attribute_on_a_synced_mailbox(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]], param: str, value: str, needle: str
) -> None:
    assert cli("mailbox", "create", "Desk 17", "--alias", "desk17", "--type", "shared").code == 0
    before = mailbox_of(world(), "desk17")
    ran = cli("run", "exo/set-mailbox", "--param", "Identity=desk17", "--param", f"{param}={value}")
    assert ran.code == 6, ran.err  # needs a human: the value is AD's to change
    assert needle in ran.err and "docs/mastering.md" in ran.err
    assert mailbox_of(world(), "desk17") == before
    # Capacity is Exchange Online's in every state.
    ok = cli("run", "exo/set-mailbox", "--param", "Identity=desk17", "--param", "ResourceCapacity=4")
    assert ok.code == 0, ok.err


def test_a_cloud_managed_mailbox_takes_exchange_attributes_in_exchange_online(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    args = ["mailbox", "create", "Desk 18", "--alias", "desk18", "--type", "shared"]
    assert cli(*args, "--exchange-attributes", "cloud").code == 0
    ran = cli(
        "run",
        "exo/set-mailbox",
        "--param",
        "Identity=desk18",
        "--param",
        "HiddenFromAddressListsEnabled=true",
    )
    assert ran.code == 0, ran.err
    assert mailbox_of(world(), "desk18")["hidden_from_address_lists"] is True
    display = cli("run", "exo/set-mailbox", "--param", "Identity=desk18", "--param", "DisplayName=x")
    assert display.code == 6 and "DualWrite (Graph)" in display.err  # identity attributes stay in AD


def test_graph_refuses_sign_in_changes_of_a_synced_account(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    ran = cli("mailbox", "create", "Room 19", "--alias", "room19", "--output", "json")
    assert ran.code == 0, ran.err
    user_id = ran.json()["cloud_user"]["id"]
    refused = cli(
        "run", "graph/set-account-enabled", "--param", f"UserId={user_id}", "--param", "AccountEnabled=true"
    )
    assert refused.code == 6
    assert "Unable to update the specified properties for on-premises mastered Directory Sync" in refused.err
