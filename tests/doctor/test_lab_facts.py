"""The lab's preflight handlers on the world's host facts: Get-Module's wildcards, the certificate's
stores and key, the pinned DC and the OUs, as the templates they imitate report them."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

import pswrap.lab.handlers  # noqa: F401  (registers the handlers)
from pswrap.lab.dispatch import HANDLERS, Invocation, PSError
from pswrap.lab.facts import look_alike_module
from pswrap.lab.world import LAB_DEFAULTS, fresh_world
from pswrap.results.preflight import CertificateInfo, ModuleInventory, OuReport, SyncScope
from pswrap.workflows.checks.ad import in_scope
from pswrap.workflows.checks.modules import MODULE_PATTERNS


class MemoryWorld:
    def __init__(self, world: dict[str, Any]) -> None:
        self.world = world

    @contextmanager
    def transaction(self) -> Iterator[dict[str, Any]]:
        yield self.world

    def read(self) -> dict[str, Any]:
        return copy.deepcopy(self.world)


@pytest.fixture
def world() -> dict[str, Any]:
    return fresh_world()


def call(world: dict[str, Any], step_id: str, **params: Any) -> Any:
    inv = Invocation(step_id=step_id, choices={}, params=params, session={}, world=MemoryWorld(world))
    return HANDLERS[step_id](inv)


def test_every_module_step_lists_the_one_host(world: dict[str, Any]) -> None:
    for step_id in ("ad/get-modules", "sync/get-modules", "exo/get-modules", "graph/get-modules"):
        inventory = ModuleInventory.model_validate(call(world, step_id, Name=list(MODULE_PATTERNS)))
        names = {m.name for m in inventory.modules}
        assert "ExchangeOnlineManagement" in names and "ADSync" in names
        assert inventory.computer_name == "SYNC1"


def test_module_names_match_as_get_module_wildcards(world: dict[str, Any]) -> None:
    world["host"]["modules"].append(look_alike_module("Exchange-OnlineManagement"))
    world["host"]["modules"].append({"name": "Pester", "version": "3.4.0"})
    listed = call(world, "sync/get-modules", Name=["*exchange*", "MSOnline"])
    assert sorted(m["name"] for m in listed["modules"]) == [
        "Exchange-OnlineManagement",
        "ExchangeOnlineManagement",
    ]
    assert call(world, "sync/get-modules", Name=["NoSuchModule"])["modules"] == []


def test_certificate_from_the_machine_store(world: dict[str, Any]) -> None:
    thumb = LAB_DEFAULTS.certificate_thumbprint
    cert = CertificateInfo.model_validate(
        call(world, "exo/get-certificate", CertificateThumbprint=thumb.lower())
    )
    assert cert.found and cert.has_private_key and cert.private_key_usable
    assert cert.thumbprint == thumb
    assert cert.subject == LAB_DEFAULTS.certificate_subject


def test_certificate_key_not_readable_reports_keyset_does_not_exist(world: dict[str, Any]) -> None:
    world["certs"]["local_machine_my"][0]["private_key_usable"] = False
    cert = call(world, "graph/get-certificate", CertificateThumbprint=LAB_DEFAULTS.certificate_thumbprint)
    assert cert["has_private_key"] is True and cert["private_key_usable"] is False
    assert cert["private_key_error"] == "Keyset does not exist"


def test_certificate_only_in_the_user_store(world: dict[str, Any]) -> None:
    world["certs"]["current_user_my"] = world["certs"].pop("local_machine_my")
    world["certs"]["local_machine_my"] = []
    cert = call(world, "exo/get-certificate", CertificateThumbprint=LAB_DEFAULTS.certificate_thumbprint)
    assert cert["found"] is False and cert["in_current_user_store"] is True


def test_malformed_thumbprint_fails_parameter_validation(world: dict[str, Any]) -> None:
    with pytest.raises(PSError) as raised:
        call(world, "exo/get-certificate", CertificateThumbprint="not-a-thumbprint")
    assert raised.value.fqid == "ParameterArgumentValidationError"
    assert "Cannot validate argument on parameter 'CertificateThumbprint'" in raised.value.message


def test_ous_from_the_pinned_dc(world: dict[str, Any]) -> None:
    report = OuReport.model_validate(
        call(
            world,
            "ad/get-ous",
            Identity=[LAB_DEFAULTS.resource_ou, "OU=Gone,DC=lab,DC=example"],
            Server=LAB_DEFAULTS.domain_controller,
        )
    )
    assert report.server == LAB_DEFAULTS.domain_controller
    assert report.domain == LAB_DEFAULTS.domain_dn
    assert [(o.distinguished_name, o.exists) for o in report.ous] == [
        (LAB_DEFAULTS.resource_ou, True),
        ("OU=Gone,DC=lab,DC=example", False),
    ]


def test_a_server_that_is_no_dc_does_not_answer(world: dict[str, Any]) -> None:
    with pytest.raises(PSError) as raised:
        call(world, "ad/get-ous", Identity=[], Server="dc9.lab.example")
    assert raised.value.message.startswith("Unable to contact the server.")
    assert raised.value.exception_type.endswith("ADServerDownException")


def test_without_the_module_its_cmdlets_are_unknown(world: dict[str, Any]) -> None:
    world["host"]["modules"] = [m for m in world["host"]["modules"] if m["name"] != "ADSync"]
    with pytest.raises(PSError) as raised:
        call(world, "sync/get-scope")
    assert raised.value.fqid == "CommandNotFoundException"
    assert "'Get-ADSyncConnector'" in raised.value.message


def test_sync_scope_reproduces_each_ous_in_sync_scope(world: dict[str, Any]) -> None:
    world["ad"]["ous"].append({"dn": "OU=Rooms,OU=Resources,DC=lab,DC=example", "in_sync_scope": False})
    scope = SyncScope.model_validate(call(world, "sync/get-scope"))
    for ou in world["ad"]["ous"]:
        assert in_scope(ou["dn"], scope.connectors) is ou["in_sync_scope"], ou
