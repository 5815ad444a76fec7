"""The identity fields of a mailbox that exists, against the lab: display name, primary address, extra
addresses and name. Each: apply (one change, in the system the mastering table names), re-apply (no
change), check mode of a second value (changed true, nothing changed), change it (one change). After
the link AD masters them: the value is written on the AD account, and Exchange Online shows it once a
sync cycle has carried it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.desired.conftest import mailbox_in
from tests.desired.test_apply_access import apply, systems
from tests.e2e.conftest import Ran

ROOM = "idroom"


@pytest.fixture(scope="module")
def rooms(lab_env: Path) -> None:
    from pswrap.cli import app
    from pswrap.cli.app import run_app

    for alias in (ROOM, "idcloud"):
        assert run_app(app, ["mailbox", "create", alias, "--alias", alias, "--yes"]) == 0


def account(world: dict[str, Any], alias: str = ROOM) -> dict[str, Any]:
    return next(u for u in world["ad"]["users"] if u["sam_account_name"] == alias)


def sync_cycle(run: Callable[..., Ran]) -> None:
    assert run("sync", "start").code == 0
    waited = run("sync", "wait", "--sync-timeout", "60")
    assert waited.code == 0, waited.err


def in_ad(world: dict[str, Any], field: str, value: Any) -> bool:
    user = account(world)
    addresses = [a.lower() for a in user.get("proxy_addresses") or []]
    if field == "display_name":
        return bool(user["display_name"] == value)
    if field == "email":
        return str(user["mail"]).lower() == value.lower() and f"smtp:{value.lower()}" in addresses
    wanted = value if isinstance(value, list) else value["add"]
    return all(f"smtp:{a.lower()}" in addresses for a in wanted)


def in_exo(world: dict[str, Any], field: str, value: Any, alias: str = ROOM) -> bool:
    box = mailbox_in(world, alias)
    if field == "display_name":
        return bool(box["display_name"] == value)
    if field == "email":
        return str(box["primary_smtp_address"]).lower() == value.lower()
    wanted = value if isinstance(value, list) else value["add"]
    return all(f"smtp:{a.lower()}" in [x.lower() for x in box["email_addresses"]] for a in wanted)


AD_FIELDS: list[tuple[str, Any, Any]] = [
    ("display_name", "Board Room", "Board Room East"),
    ("email", "board@lab.example", "board.east@lab.example"),
    ("addresses", ["board-alt@lab.example"], {"add": ["board-2@lab.example"]}),
]


@pytest.mark.parametrize(("field", "first", "second"), AD_FIELDS, ids=[f[0] for f in AD_FIELDS])
def test_identity_field_is_written_in_ad_after_the_link_and_reaches_exchange_on_the_next_cycle(
    rooms: None,
    run: Callable[..., Ran],
    world: Callable[[], dict[str, Any]],
    field: str,
    first: Any,
    second: Any,
) -> None:
    before = systems(world())
    x500 = [a for a in account(before).get("proxy_addresses") or [] if a.lower().startswith("x500:")]
    ran, out = apply(run, {"alias": ROOM, field: first})
    assert ran.code == 0, ran.err
    assert (out["changed"], out["status"]) == (True, "completed"), out
    assert [(c["field"], c["where"]) for c in out["changes"]] == [(field, "ad")]
    assert out["operation"], "the change was not journaled"
    after = systems(world())
    assert in_ad(after, field, first)
    assert after["exo"] == before["exo"], "written in Exchange Online, which AD masters after the link"
    assert [a for a in account(after).get("proxy_addresses") or [] if a.lower().startswith("x500:")] == x500
    sync_cycle(run)
    assert in_exo(world(), field, first), "the sync cycle did not carry the AD value to Exchange Online"

    ran, out = apply(run, {"alias": ROOM, field: first})
    assert (ran.code, out["changed"], out["status"], out["changes"], out["drift"]) == (
        0, False, "unchanged", [], []
    ), out  # fmt: skip

    now = systems(world())
    ran, out = apply(run, {"alias": ROOM, field: second}, "--dry-run")
    assert (ran.code, out["changed"], out["dry_run"]) == (0, True, True)
    assert [(c["field"], c["where"]) for c in out["changes"]] == [(field, "ad")]
    assert systems(world()) == now, "a dry run changed the world"

    ran, out = apply(run, {"alias": ROOM, field: second})
    assert ran.code == 0, ran.err
    assert [(c["field"], c["where"]) for c in out["changes"]] == [(field, "ad")]
    assert in_ad(world(), field, second)
    ran, out = apply(run, {"alias": ROOM, field: second})
    assert (ran.code, out["changed"]) == (0, False), out
    sync_cycle(run)
    assert in_exo(world(), field, second)
    ran, out = apply(run, {"alias": ROOM, field: second})
    assert (ran.code, out["changed"], out["drift"]) == (0, False, []), out


def test_a_new_primary_keeps_the_old_one_and_a_full_list_replaces_only_smtp_secondaries(
    rooms: None, run: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    ran, out = apply(run, {"alias": ROOM, "email": "keep-old@lab.example"})
    assert ran.code == 0, ran.err
    old = out["changes"][0]["from"]
    addresses = account(world())["proxy_addresses"]
    assert "SMTP:keep-old@lab.example" in addresses and f"smtp:{old}" in addresses
    others = [a for a in addresses if not a.lower().startswith("smtp:")]
    ran, out = apply(run, {"alias": ROOM, "addresses": ["only@lab.example"]})
    assert ran.code == 0, ran.err
    addresses = account(world())["proxy_addresses"]
    smtp = sorted(a for a in addresses if a.lower().startswith("smtp:") and ".onmicrosoft.com" not in a)
    assert smtp == ["SMTP:keep-old@lab.example", "smtp:only@lab.example"]  # the service's are kept
    assert [a for a in addresses if not a.lower().startswith("smtp:")] == others, "X500 etc. were lost"
    ran, out = apply(run, {"alias": ROOM, "addresses": {"remove": ["only@lab.example"]}})
    assert [c["field"] for c in out["changes"]] == ["addresses"]
    smtp = [a for a in account(world())["proxy_addresses"] if a.lower().startswith("smtp:")]
    assert [a for a in smtp if ".onmicrosoft.com" not in a] == ["SMTP:keep-old@lab.example"]


def test_the_name_of_a_synced_mailbox_is_drift_with_a_rename_hint(
    rooms: None, run: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    before = systems(world())
    ran, out = apply(run, {"alias": ROOM, "name": "Renamed Board Room"})
    assert (ran.code, out["changed"], out["status"]) == (0, False, "unchanged"), out
    [drift] = out["drift"]
    assert (drift["field"], drift["wanted"], drift["where"]) == ("name", "Renamed Board Room", "ad")
    assert "Rename-ADObject" in drift["hint"] and "does not rename" in drift["hint"]
    ran, out = apply(run, {"alias": ROOM, "name": "Renamed Board Room"}, "--dry-run")
    assert (ran.code, out["changed"], [d["field"] for d in out["drift"]]) == (0, False, ["name"])
    assert systems(world()) == before


def _cloud_managed(lab_env: Path, alias: str, value: bool) -> None:
    path = lab_env / "state" / "lab.json"
    data = json.loads(path.read_text())
    mailbox_in(data, alias)["is_exchange_cloud_managed"] = value
    path.write_text(json.dumps(data))


EXO_FIELDS: list[tuple[str, Any, Any]] = [
    ("email", "cloudmanaged@lab.example", "cloudmanaged2@lab.example"),
    ("addresses", ["cm-alt@lab.example"], ["cm-alt2@lab.example"]),
]


@pytest.mark.parametrize(("field", "first", "second"), EXO_FIELDS, ids=[f[0] for f in EXO_FIELDS])
def test_addresses_are_written_in_exchange_once_its_attributes_are_cloud_managed(
    rooms: None,
    run: Callable[..., Ran],
    world: Callable[[], dict[str, Any]],
    lab_env: Path,
    field: str,
    first: Any,
    second: Any,
) -> None:
    _cloud_managed(lab_env, "idcloud", True)
    try:
        before = systems(world())
        ran, out = apply(run, {"alias": "idcloud", field: first})
        assert ran.code == 0, ran.err
        assert [(c["field"], c["where"]) for c in out["changes"]] == [(field, "exo")], out
        after = systems(world())
        assert in_exo(after, field, first, "idcloud")
        assert after["ad"] == before["ad"], "written in AD, which no longer masters the addresses"
        ran, out = apply(run, {"alias": "idcloud", field: first})
        assert (ran.code, out["changed"], out["drift"]) == (0, False, []), out
        ran, out = apply(run, {"alias": "idcloud", field: second}, "--dry-run")
        assert (ran.code, out["changed"], [c["field"] for c in out["changes"]]) == (0, True, [field])
        assert systems(world()) == after
        ran, out = apply(run, {"alias": "idcloud", field: second})
        assert [(c["field"], c["where"]) for c in out["changes"]] == [(field, "exo")], out
        assert in_exo(world(), field, second, "idcloud")
        ran, out = apply(run, {"alias": "idcloud", field: second})
        assert (ran.code, out["changed"]) == (0, False), out
    finally:
        _cloud_managed(lab_env, "idcloud", False)


def test_a_batch_writes_a_display_name_ad_masters(
    rooms: None, run: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    specs = [{"alias": ROOM, "display_name": "Batch Board Room"}, {"alias": "idcloud"}]
    before = systems(world())
    # Check mode asks AD too: the change it would make, where it would make it, and nothing changed.
    ran = run("mailbox", "apply", "-", "-f", "json", "-o", "json", "--dry-run", stdin=json.dumps(specs))
    assert ran.code == 0, ran.err
    planned = json.loads(ran.out)["items"][0]
    assert planned["changed"] is True and planned["drift"] == [], planned
    assert [(c["field"], c["to"], c["where"]) for c in planned["changes"]] == [
        ("display_name", "Batch Board Room", "ad")
    ], planned
    assert systems(world()) == before
    ran = run("mailbox", "apply", "-", "-f", "json", "-o", "json", stdin=json.dumps(specs))
    assert ran.code == 0, ran.err
    first = json.loads(ran.out)["items"][0]
    assert [(c["field"], c["where"]) for c in first["changes"]] == [("display_name", "ad")], first
    assert account(world())["display_name"] == "Batch Board Room"
    ran = run("mailbox", "apply", "-", "-f", "json", "-o", "json", stdin=json.dumps(specs))
    assert json.loads(ran.out)["items"][0]["changed"] is False


def test_show_prints_the_ad_value_before_the_cycle_so_show_then_apply_is_a_no_op(
    rooms: None, run: Callable[..., Ran], world: Callable[[], dict[str, Any]], lab_env: Path
) -> None:
    ran, _ = apply(run, {"alias": ROOM, "display_name": "Shown Room", "email": "shown@lab.example"})
    assert ran.code == 0, ran.err
    assert mailbox_in(world(), ROOM)["display_name"] != "Shown Room"  # no cycle has run yet
    shown = run("mailbox", "show", ROOM, "-o", "yaml")
    assert shown.code == 0, shown.err
    assert "display_name: Shown Room" in shown.out and "email: shown@lab.example" in shown.out
    file = lab_env / "idroom.yaml"
    file.write_text(shown.out)
    ran = run("mailbox", "apply", str(file), "-o", "json")
    assert ran.code == 0, ran.err
    assert (json.loads(ran.out)["changed"], json.loads(ran.out)["changes"]) == (False, [])


def test_name_is_written_in_exchange_while_the_link_is_pending(
    rooms: None, run: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    """Before the link Exchange Online masters the name (Set-Mailbox -Name). apply links first; with
    --no-wait the link waits for a sync cycle and the name is written in Exchange Online meanwhile."""
    params = ["Name=Cloud Cart Two", "Alias=cart2", "DisplayName=Cloud Cart Two",
              "PrimarySmtpAddress=cart2@lab.example"]  # fmt: skip
    made = run(
        "run", "exo/new-mailbox", "--var", "type=equipment", *[a for p in params for a in ("--param", p)]
    )
    assert made.code == 0, made.err
    spec = {"alias": "cart2", "name": "Cart Two"}
    ran, out = apply(run, spec, "--no-wait")
    assert ran.code == 0, ran.err
    assert out["status"] == "pending-sync", out
    assert ("name", "exo") in [(c["field"], c["where"]) for c in out["changes"]], out
    assert mailbox_in(world(), "cart2")["name"] == "Cart Two"
    ran, out = apply(run, spec, "--no-wait", "--dry-run")
    assert "name" not in [c["field"] for c in out["changes"]], out
    ran, out = apply(run, {"alias": "cart2", "name": "Cart 2"}, "--no-wait", "--dry-run")
    assert ("name", "exo") in [(c["field"], c["where"]) for c in out["changes"]], out
    assert mailbox_in(world(), "cart2")["name"] == "Cart Two"
    ran, out = apply(run, {"alias": "cart2", "name": "Cart 2"}, "--no-wait")
    assert ran.code == 0, ran.err
    assert ("name", "exo") in [(c["field"], c["where"]) for c in out["changes"]], out
    assert mailbox_in(world(), "cart2")["name"] == "Cart 2"



def test_a_rename_in_ad_reaches_the_mailbox_name_on_the_next_cycle(
    rooms: None, run: Callable[..., Ran], world: Callable[[], dict[str, Any]], lab_env: Path
) -> None:
    """What the name drift's hint tells the admin to do (rename the AD object), and how apply sees it."""
    path = lab_env / "state" / "lab.json"
    data = json.loads(path.read_text())
    account(data)["name"] = "Renamed In AD"  # the admin's Rename-ADObject
    path.write_text(json.dumps(data))
    ran, out = apply(run, {"alias": ROOM, "name": "Renamed In AD"})
    assert [d["field"] for d in out["drift"]] == ["name"], out  # Exchange Online: not before the cycle
    sync_cycle(run)
    assert mailbox_in(world(), ROOM)["name"] == "Renamed In AD"
    ran, out = apply(run, {"alias": ROOM, "name": "Renamed In AD"})
    assert (ran.code, out["changed"], out["drift"]) == (0, False, []), out


@pytest.mark.parametrize(
    ("field", "given", "found"),
    [
        ("ou", "OU=Retired,DC=lab,DC=example", "OU=Resources,DC=lab,DC=example"),
        ("upn", "board@lab.example", f"{ROOM}@lab.example"),
    ],
)
def test_placement_of_a_linked_account_is_drift_never_a_move(
    rooms: None,
    run: Callable[..., Ran],
    world: Callable[[], dict[str, Any]],
    field: str,
    given: str,
    found: str,
) -> None:
    """`ou` and `upn` create the account; afterwards pswrap never moves a linked account (out of sync scope
    its cloud user would be deleted) nor changes its sign-in name: a difference is drift with what to do."""
    before = systems(world())
    ran, out = apply(run, {"alias": ROOM, field: given})
    assert (ran.code, out["changed"], out["changes"]) == (0, False, []), out
    drift = [d for d in out["drift"] if d["field"] == field]
    assert len(drift) == 1, out
    assert (drift[0]["found"].lower(), drift[0]["wanted"], drift[0]["where"]) == (found.lower(), given, "ad")
    assert "pswrap does not" in drift[0]["hint"]
    assert systems(world()) == before
    # A batch compares it too (its check mode and its apply ask AD where Exchange Online cannot tell).
    specs = json.dumps([{"alias": ROOM, field: given}, {"alias": "idcloud"}])
    for mode in (("--dry-run",), ()):
        ran = run("mailbox", "apply", "-", "-f", "json", "-o", "json", *mode, stdin=specs)
        assert ran.code == 0, ran.err
        item = json.loads(ran.out)["items"][0]
        assert item["changed"] is False and [d["field"] for d in item["drift"]] == [field], item
    assert systems(world()) == before
    # The same value, written another way (AD compares DNs and UPNs without regard to case): no drift.
    ran, out = apply(run, {"alias": ROOM, field: found.upper()})
    assert (ran.code, out["changed"], out["drift"]) == (0, False, []), out
