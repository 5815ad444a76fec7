"""The fresh world (`pswrap lab reset`), serve-time configuration, the clock, and `lab set` paths.

The fresh world is what docs/lab.md's section on the lab's world documents, and what the embedded `lab`
target is configured from (LAB_DEFAULTS)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from pswrap.lab.store import Store
from pswrap.lab.sync_engine import version_tuple
from pswrap.lab.world import (
    LAB_DEFAULTS,
    UnknownPath,
    advance,
    configure,
    fresh_world,
    get_path,
    guid_from_immutable_id,
    immutable_id,
    now,
    parse_time,
    parse_value,
    set_path,
)


def test_fresh_world_is_the_documented_one() -> None:
    world = fresh_world()
    domain = world["ad"]["domain"]
    assert domain["domain_controllers"] == [LAB_DEFAULTS.domain_controller] == ["dc1.lab.example"]
    assert domain["pdc_emulator"] == LAB_DEFAULTS.domain_controller
    assert domain["upn_suffixes"] == [LAB_DEFAULTS.upn_suffix]
    scopes = {ou["dn"]: ou["in_sync_scope"] for ou in world["ad"]["ous"]}
    assert scopes == {LAB_DEFAULTS.resource_ou: True, LAB_DEFAULTS.staging_ou: False}
    assert world["cloud"]["tenant"]["initial_domain"].endswith(".onmicrosoft.com")
    assert world["cloud"]["tenant"]["tenant_id"] == LAB_DEFAULTS.tenant_id
    # Both tenant blocks off in a fresh world (Microsoft's default; docs/sources.md §3 advises turning them
    # on).
    assert world["cloud"]["features"] == {"block_soft_match": False, "block_hard_match_takeover": False}
    (cert,) = world["certs"]["local_machine_my"]
    assert cert["thumbprint"] == LAB_DEFAULTS.certificate_thumbprint
    assert cert["has_private_key"] is True
    assert parse_time(cert["not_after"]) > datetime.now(timezone.utc)
    settings = world["sync"]["settings"]
    assert settings["anchor_attribute"] == "mS-DS-ConsistencyGuid"
    assert settings["staging_mode"] is False
    # docs/sources.md §1.3: 2.5.79.0 or higher is required after 2026-09-30.
    assert version_tuple(settings["connect_version"]) >= (2, 5, 79, 0)
    scheduler = world["sync"]["scheduler"]
    assert scheduler["sync_cycle_enabled"] is True and scheduler["suspended"] is False
    assert scheduler["interval_seconds"] == 1800  # the documented default cycle of 30 minutes (§1.3)
    assert world["ad"]["users"] == [] and world["cloud"]["users"] == [] and world["exo"]["mailboxes"] == []


def test_store_reset_gives_the_fresh_world(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.json")
    with store.transaction() as world:
        world["cloud"]["features"]["block_soft_match"] = True
    store.reset()
    assert store.read()["cloud"]["features"]["block_soft_match"] is False


def test_configure_applies_serve_options() -> None:
    world = configure(fresh_world(), sync_seconds=0.5, anchor="objectGUID")
    assert world["sync"]["scheduler"]["cycle_seconds"] == 0.5
    assert world["sync"]["settings"]["anchor_attribute"] == "objectGUID"
    with pytest.raises(ValueError, match="anchor"):
        configure(fresh_world(), anchor="employeeID")
    with pytest.raises(ValueError):
        configure(fresh_world(), sync_seconds=-1)


def test_sync_seconds_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSWRAP_LAB_SYNC_SECONDS", "7.5")
    assert fresh_world()["sync"]["scheduler"]["cycle_seconds"] == 7.5
    monkeypatch.setenv("PSWRAP_LAB_SYNC_SECONDS", "soon")
    with pytest.raises(ValueError, match="PSWRAP_LAB_SYNC_SECONDS"):
        fresh_world()


def test_clock_moves_forward_only() -> None:
    world = fresh_world()
    before = now(world)
    advance(world, 3600)
    assert (now(world) - before).total_seconds() >= 3600
    with pytest.raises(ValueError):
        advance(world, -1)


def test_immutable_id_is_base64_of_guid_to_byte_array() -> None:
    # docs/sources.md §3: Guid.ToByteArray() is mixed-endian; the .NET doc's example: C9 8B 91 35 6D 19 EA
    # 40 ...
    guid = "35918bc9-196d-40ea-9779-889d79b753f0"
    value = immutable_id(guid)
    import base64

    assert base64.b64decode(value)[:8] == bytes.fromhex("C98B91356D19EA40")
    assert guid_from_immutable_id(value) == guid


def test_set_path_changes_a_setting_and_keeps_its_type() -> None:
    world = fresh_world()
    assert set_path(world, "cloud.features.block_hard_match_takeover", parse_value("true")) is False
    assert get_path(world, "cloud.features.block_hard_match_takeover") is True
    set_path(world, "sync.settings.connect_version", parse_value("2.4.18.0"))
    assert world["sync"]["settings"]["connect_version"] == "2.4.18.0"
    set_path(world, "ad.ous.1.in_sync_scope", True)
    assert world["ad"]["ous"][1]["in_sync_scope"] is True
    with pytest.raises(ValueError, match="boolean"):
        set_path(world, "sync.scheduler.suspended", 3)
    with pytest.raises(UnknownPath, match="known here"):
        set_path(world, "sync.settings.no_such_thing", 1)
    with pytest.raises(UnknownPath, match="derived"):
        set_path(world, "sync.scheduler.sync_cycle_in_progress", True)
    with pytest.raises(ValueError, match="anchor_attribute"):
        set_path(world, "sync.settings.anchor_attribute", "cn")


def test_every_modern_and_hybrid_tools_step_has_a_handler() -> None:
    """Issue #4 item 3: a handler for every step of the modern and hybrid-tools profiles (and the legacy
    ones, which refuse)."""
    import pswrap.lab.handlers  # noqa: F401  (registers every handler)
    from pswrap.lab.dispatch import HANDLERS
    from pswrap.steps import all_steps

    for step in all_steps():
        assert step.id in HANDLERS, step.id


def test_embedded_lab_target_matches_the_fresh_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue #4 item 2: the embedded `lab` target's settings (issue #5) are the fresh world's names: its DC,
    tenant, app, certificate, the OU in sync scope and the one outside it, the UPN suffix."""
    from pswrap.remote.target import load_target

    monkeypatch.delenv("PSWRAP_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))  # no config file: the embedded lab only
    monkeypatch.delenv("PSWRAP_TARGET", raising=False)
    target = load_target("lab")
    world = fresh_world()
    assert target.domain_controller in world["ad"]["domain"]["domain_controllers"]
    assert target.organization == world["cloud"]["tenant"]["initial_domain"]
    assert target.tenant_id == world["cloud"]["tenant"]["tenant_id"]
    assert target.app_id == world["cloud"]["tenant"]["app_id"]
    assert target.certificate_thumbprint in [c["thumbprint"] for c in world["certs"]["local_machine_my"]]
    scopes = {ou["dn"]: ou["in_sync_scope"] for ou in world["ad"]["ous"]}
    assert scopes[target.resource_ou] is True and scopes[target.staging_ou] is False
    assert target.upn_suffix in world["ad"]["domain"]["upn_suffixes"]
