"""Local validation and defaults of `mailbox create`: decided before anything remote is touched."""

from __future__ import annotations

import pytest

from pswrap.errors import BadInput, Refused
from pswrap.workflows.inputs import (
    SAM_FORBIDDEN,
    MailboxRequest,
    TargetFacts,
    choose_hold,
    identify_ad_user,
    resolve,
)

TARGET = TargetFacts(
    name="t",
    upn_suffix="contoso.com",
    resource_ou="OU=Resources,DC=contoso,DC=com",
    staging_ou="OU=Staging,DC=contoso,DC=com",
    organization="contoso.onmicrosoft.com",
)


def req(**kw: object) -> MailboxRequest:
    base: dict[str, object] = {"name": "Meeting Room 1", "alias": "room1"}
    base.update(kw)
    return MailboxRequest(**base)  # type: ignore[arg-type]


def test_defaults_follow_the_alias_and_the_target() -> None:
    r = resolve(req(), TARGET)
    assert r.sam == "room1"
    assert r.upn == "room1@contoso.com"
    assert r.primary_smtp == "room1@contoso.com"
    assert r.mail_nickname == "room1"
    assert r.proxy_addresses == ("SMTP:room1@contoso.com", "smtp:room1@contoso.onmicrosoft.com")
    assert r.ou == TARGET.resource_ou
    assert r.display_name == "Meeting Room 1"
    assert (r.match, r.hold) == ("hard", None)  # the hold waits for the server's anchor attribute


def test_given_values_win_and_primary_comes_first() -> None:
    r = resolve(req(sam="rm1", upn="r1@contoso.com", email="meeting1@contoso.com", ou="OU=X,DC=c"), TARGET)
    assert (r.sam, r.upn, r.primary_smtp, r.ou) == (
        "rm1",
        "r1@contoso.com",
        "meeting1@contoso.com",
        "OU=X,DC=c",
    )
    assert r.proxy_addresses[0] == "SMTP:meeting1@contoso.com"
    assert all(p.startswith("smtp:") for p in r.proxy_addresses[1:])


def test_sam_at_most_twenty_characters() -> None:
    assert resolve(req(alias="a" * 20), TARGET).sam == "a" * 20
    with pytest.raises(BadInput, match="--sam"):
        resolve(req(alias="a" * 21), TARGET)
    assert resolve(req(alias="a" * 21, sam="a" * 20), TARGET).sam == "a" * 20


@pytest.mark.parametrize("char", list(SAM_FORBIDDEN))
def test_sam_forbidden_characters(char: str) -> None:
    with pytest.raises(BadInput, match="--sam"):
        resolve(req(sam=f"ro{char}om"), TARGET)


def test_capacity_for_rooms_only() -> None:
    assert resolve(req(capacity=8), TARGET).capacity == 8
    for mtype in ("equipment", "shared"):
        with pytest.raises(BadInput, match="rooms only"):
            resolve(req(type=mtype, capacity=8), TARGET)


VALID = [
    # (profile, --hold, --match) given -> (hold, match) the run uses; a hold of None is chosen later from
    # the server's anchor attribute (choose_hold)
    (("modern", None, None), (None, "hard")),
    (("modern", "anchor", "hard"), ("anchor", "hard")),
    (("modern", "staging-ou", None), ("staging-ou", "hard")),
    (("modern", "scheduler", "hard"), ("scheduler", "hard")),
    (("modern", "none", "soft"), ("none", "soft")),
    (("modern", None, "soft"), ("none", "soft")),
    (("hybrid-tools", None, None), ("none", None)),
    (("hybrid-tools", "none", None), ("none", None)),
]
INVALID = [
    ("modern", "none", None),
    ("modern", "none", "hard"),
    ("modern", "anchor", "soft"),
    ("modern", "scheduler", "soft"),
    ("hybrid-tools", "anchor", None),
    ("hybrid-tools", None, "hard"),
    ("legacy", "anchor", None),
]


@pytest.mark.parametrize(("given", "chosen"), VALID, ids=[" ".join(map(str, g)) for g, _ in VALID])
def test_valid_combinations(
    given: tuple[str, str | None, str | None], chosen: tuple[str | None, str | None]
) -> None:
    profile, hold, match = given
    r = resolve(req(profile=profile, hold=hold, match=match), TARGET)
    assert (r.profile, r.hold, r.match) == (profile, *chosen)


@pytest.mark.parametrize(("profile", "hold", "match"), INVALID)
def test_invalid_combinations_are_refused(profile: str, hold: str | None, match: str | None) -> None:
    with pytest.raises((Refused, BadInput)) as info:
        resolve(req(profile=profile, hold=hold, match=match), TARGET, dry_run=True)
    assert info.value.exit_code == 2


def test_legacy_only_renders() -> None:
    rendered = resolve(req(profile="legacy"), TARGET, dry_run=True)
    assert (rendered.profile, rendered.sam) == ("legacy", "room1")
    with pytest.raises(Refused, match="retired") as info:
        resolve(req(profile="legacy"), TARGET)
    assert "Set-ADSyncScheduler" in str(info.value)


def test_hold_defaults_by_anchor_attribute() -> None:
    r = resolve(req(), TARGET)
    assert choose_hold(r, anchor_attribute="mS-DS-ConsistencyGuid", staging_mode=False) == "anchor"
    assert choose_hold(r, anchor_attribute="objectGUID", staging_mode=False) == "staging-ou"
    with pytest.raises(Refused, match="objectGUID"):
        choose_hold(resolve(req(hold="anchor"), TARGET), anchor_attribute="objectGUID", staging_mode=False)
    with pytest.raises(Refused, match="staging mode"):
        choose_hold(resolve(req(hold="scheduler"), TARGET), anchor_attribute="objectGUID", staging_mode=True)
    soft = resolve(req(match="soft"), TARGET)
    assert choose_hold(soft, anchor_attribute="objectGUID", staging_mode=False) == "none"


def test_no_upn_suffix_needs_upn() -> None:
    bare = TargetFacts(name="bare", upn_suffix="", resource_ou="OU=R,DC=c")
    with pytest.raises(BadInput, match="--upn"):
        resolve(req(), bare)
    assert resolve(req(upn="room1@c.example"), bare).upn == "room1@c.example"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("room1", ("sam", "room1")),
        ("room1@contoso.com", ("upn", "room1@contoso.com")),
        ("{35918bc9-196d-40ea-9779-889d79b753f0}", ("guid", "35918bc9-196d-40ea-9779-889d79b753f0")),
    ],
)
def test_ad_user_forms(value: str, expected: tuple[str, str]) -> None:
    assert identify_ad_user(value) == expected


def test_request_round_trips_through_the_journal_form() -> None:
    r = req(capacity=4, hold="scheduler", timeout=30.0)
    assert MailboxRequest.from_json(r.to_json()) == r
    assert MailboxRequest.from_json({**r.to_json(), "unknown": 1}) == r
