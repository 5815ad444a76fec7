"""The link's own rules (pswrap/workflows/mailbox_mastering.py): which addresses the account must carry and
which are at risk, and how the Exchange attributes' route is chosen."""

from __future__ import annotations

import pytest

from pswrap.errors import NeedsHuman
from pswrap.results import models as m
from pswrap.workflows.mailbox_mastering import (
    STAMP_VALUES,
    at_risk,
    choose_route,
    keep_addresses,
    lost_addresses,
    missing_addresses,
    stamp_params,
)

DN = "/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=abc-room1"


def mailbox(*addresses: str, dn: str | None = DN) -> m.Mailbox:
    return m.Mailbox(
        alias="room1",
        primary_smtp_address="room1@contoso.com",
        recipient_type_details="RoomMailbox",
        email_addresses=list(addresses),
        legacy_exchange_dn=dn,
    )


def test_keep_is_every_smtp_and_x500_address_with_the_legacy_dn_primary_first() -> None:
    mbx = mailbox(
        "SMTP:room1@contoso.com", "smtp:Room.One@contoso.com", "X500:/o=Old/cn=room1", "SIP:room1@contoso.com"
    )
    keep = keep_addresses(
        mbx, "room1@contoso.com", ["SMTP:room1@contoso.com", "smtp:room1@t.onmicrosoft.com"]
    )
    assert keep == [
        "SMTP:room1@contoso.com",
        "smtp:room1@t.onmicrosoft.com",
        "smtp:Room.One@contoso.com",
        "X500:/o=Old/cn=room1",
        "X500:" + DN,
    ]


def test_missing_compares_without_case_and_never_adds_a_second_primary() -> None:
    keep = ["SMTP:room1@contoso.com", "smtp:front@contoso.com", "X500:" + DN]
    assert missing_addresses(["SMTP:ROOM1@contoso.com", "x500:" + DN.upper()], keep) == [
        "smtp:front@contoso.com"
    ]
    assert missing_addresses(["SMTP:other@contoso.com"], keep) == [
        "smtp:room1@contoso.com",
        "smtp:front@contoso.com",
        "X500:" + DN,
    ]


def test_the_tenant_domain_is_not_at_risk_but_everything_else_is() -> None:
    keep = ["SMTP:room1@contoso.com", "smtp:room1@t.onmicrosoft.com", "X500:" + DN]
    assert at_risk(["SMTP:room1@contoso.com"], keep) == ["X500:" + DN]
    assert lost_addresses(keep, ["SMTP:room1@contoso.com", "smtp:room1@t.onmicrosoft.com"]) == ["X500:" + DN]


@pytest.mark.parametrize(
    ("asked", "version", "route"),
    [
        (None, "2.5.79.0", "none"),
        ("auto", "2.5.190.0", "cloud"),
        (None, "2.6.0.0", "cloud"),
        (None, None, "none"),
        ("cloud", "2.5.76.0", "cloud"),
        ("cloud", None, "cloud"),
        ("stamp", "2.5.79.0", "stamp"),
        ("none", "2.6.0.0", "none"),
    ],
)
def test_route_choice(asked: str | None, version: str | None, route: str) -> None:
    chosen = choose_route(asked, version)
    assert chosen.name == route and chosen.reason


def test_cloud_below_the_lowest_published_minimum_needs_a_human() -> None:
    with pytest.raises(NeedsHuman, match=r"2\.5\.76\.0"):
        choose_route("cloud", "2.5.75.0")


def test_stamp_values_are_the_remote_mailbox_ones() -> None:
    # msExchRecipientTypeDetails of RemoteRoomMailbox, RemoteEquipmentMailbox, RemoteSharedMailbox
    assert {k: v[0] for k, v in STAMP_VALUES.items()} == {
        "room": 8589934592,
        "equipment": 17179869184,
        "shared": 34359738368,
    }
    assert stamp_params("shared") == {
        "RecipientTypeDetails": "34359738368",
        "RemoteRecipientType": "97",
        "RecipientDisplayType": "-2147483642",
    }
