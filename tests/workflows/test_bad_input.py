"""Bad input never crashes and is never silently changed (issue #12 section 5): invisible characters,
spaces at either end, DNs with escaped commas, byte-array anchors, time limits."""

from __future__ import annotations

import pytest

from pswrap import dn
from pswrap.errors import BadInput
from pswrap.immutableid import parse
from pswrap.workflows.inputs import check_seconds, resolve
from tests.workflows.test_inputs import TARGET, req


@pytest.mark.parametrize("char", ["\u200b", "\u200d", "\u202e", "\u2066", "\ufeff", "\u00ad", "\x07"])
@pytest.mark.parametrize("field", ["name", "display_name", "ou"])
def test_invisible_characters_are_refused(field: str, char: str) -> None:
    value = {"name": "Room 1", "display_name": "Room 1", "ou": "OU=Resources,DC=lab,DC=example"}[field]
    with pytest.raises(BadInput, match="invisible"):
        resolve(req(**{field: value[:2] + char + value[2:]}), TARGET)


@pytest.mark.parametrize("field", ["name", "display_name"])
@pytest.mark.parametrize("value", [" Room 1", "Room 1 ", "Room 1\t"])
def test_spaces_at_either_end_are_refused_not_trimmed(field: str, value: str) -> None:
    with pytest.raises(BadInput, match=r"space|invisible"):
        resolve(req(**{field: value}), TARGET)


def test_inner_spaces_are_kept() -> None:
    assert resolve(req(name="Room  1"), TARGET).name == "Room  1"


def test_dn_with_an_escaped_comma_is_one_rdn() -> None:
    value = "CN=Lobby\\, East,OU=Resources,DC=lab,DC=example"
    assert dn.split_rdns(value) == ["CN=Lobby\\, East", "OU=Resources", "DC=lab", "DC=example"]
    assert dn.parent_of(value) == "OU=Resources,DC=lab,DC=example"
    assert dn.rdn_value(value) == "Lobby, East"
    assert dn.rdn_value("CN=Caf\\C3\\A9,OU=x") == "Café"
    assert dn.is_within(value, "ou=resources,dc=LAB,dc=example")
    assert not dn.is_within("OU=Resources2,DC=lab,DC=example", "OU=Resources,DC=lab,DC=example")


def test_ou_with_an_escaped_comma_is_accepted() -> None:
    ou = "OU=Rooms\\, East,DC=lab,DC=example"
    assert resolve(req(ou=ou), TARGET).ou == ou
    with pytest.raises(BadInput, match="distinguished name"):
        resolve(req(ou="Resources"), TARGET)


def test_immutableid_accepts_the_byte_array_powershell_shows() -> None:
    anchor = parse("{201, 139, 145, 53, 109, 25, 234, 64, 151, 121, 136, 157, 121, 183, 83, 240}")
    assert str(anchor.guid) == "35918bc9-196d-40ea-9779-889d79b753f0"
    with pytest.raises(BadInput, match="cut short"):
        parse("{201, 139, 145, 53...}")
    with pytest.raises(BadInput, match="above 255"):
        parse("{256, 1}")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 1e308, -1.0, 0.0])
def test_time_limits_must_be_finite_and_positive(value: float) -> None:
    with pytest.raises(BadInput, match="--timeout"):
        check_seconds(value, "--timeout")
    with pytest.raises(BadInput, match="--timeout"):
        resolve(req(timeout=value), TARGET)


def test_scope_decisions_use_the_dn_parser() -> None:
    """An escaped comma in a name is part of the name, never a container boundary (lab and preflight)."""
    from types import SimpleNamespace

    from pswrap.lab.sync_engine import in_sync_scope
    from pswrap.lab.world import fresh_world
    from pswrap.workflows.checks.ad import in_scope

    world = fresh_world()
    world["ad"]["ous"].append({"dn": "OU=East,DC=lab,DC=example", "in_sync_scope": True})
    assert in_sync_scope(world, "CN=Lobby\\, East,OU=Resources,DC=lab,DC=example")
    # "Lobby\,OU=East" is one name directly under the domain root, not an object in OU=East.
    assert not in_sync_scope(world, "CN=Lobby\\,OU=East,DC=lab,DC=example")
    scopes = [SimpleNamespace(inclusions=["OU=East,DC=lab,DC=example"], exclusions=[])]
    assert in_scope("CN=Room,OU=East,DC=lab,DC=example", scopes)
    assert not in_scope("CN=Room\\,OU=East,DC=lab,DC=example", scopes)
