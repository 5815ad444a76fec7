"""docs/permissions.md follows the code: its per-step tables are generated from the cmdlets the templates
call (pswrap.steps.permissions), every Graph and Exchange Online cmdlet of the catalogue has a declared
permission, and the page names each permission a step needs. Regenerate the tables with
PSWRAP_REGEN_FIXTURES=1 .venv/bin/pytest tests/test_permissions_doc.py"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from pswrap.steps import all_steps, permissions
from tests.templates.catalogue_check import load_catalogue

PAGE = Path(__file__).resolve().parent.parent / "docs" / "permissions.md"
BLOCKS = {"exchange-roles": permissions.exchange_table, "graph-permissions": permissions.graph_table}


def _block(text: str, name: str) -> re.Match[str]:
    m = re.search(rf"(<!-- generated: {name} -->\n)(.*?)(\n<!-- end generated -->)", text, re.DOTALL)
    assert m, f"docs/permissions.md has no generated block {name!r}"
    return m


def test_generated_tables_match_the_code() -> None:
    text = PAGE.read_text(encoding="utf-8")
    if os.environ.get("PSWRAP_REGEN_FIXTURES") == "1":
        for name, make in BLOCKS.items():
            m = _block(text, name)
            text = text[: m.start(2)] + make() + text[m.end(2) :]
        PAGE.write_text(text, encoding="utf-8")
    for name, make in BLOCKS.items():
        assert _block(text, name).group(2) == make(), (
            f"docs/permissions.md's {name} table is stale: run PSWRAP_REGEN_FIXTURES=1 "
            ".venv/bin/pytest tests/test_permissions_doc.py and review the diff"
        )


def test_every_catalogued_cloud_cmdlet_has_a_declared_permission() -> None:
    catalogue = load_catalogue()
    graph = {e["name"] for e in catalogue.values() if e["module"].startswith("Microsoft.Graph")}
    assert graph - set(permissions.GRAPH_CMDLETS) == set()
    online = {
        e["name"]
        for e in catalogue.values()
        if e["module"] in ("ExchangePowerShell", "ExchangeOnlineManagement")
        and "Exchange Online" in (e.get("applicable") or [])
    }
    assert online - set(permissions.EXCHANGE_ONLINE_CMDLETS) == set()
    assert "Set-Place" in online and "New-DistributionGroup" in online  # places and room lists


def test_steps_cloud_commands_are_all_declared() -> None:
    """A step calling a Graph or Exchange Online cmdlet nobody declared would get no row."""
    for step in all_steps():
        if step.is_legacy or step.needs not in ("exo", "graph"):
            continue
        table = permissions.GRAPH_CMDLETS if step.needs == "graph" else permissions.EXCHANGE_ONLINE_CMDLETS
        commands = permissions._surface()[step.id]["commands"]
        modules = ("Microsoft.Graph",) if step.needs == "graph" else ("ExchangePowerShell", "ExchangeOnline")
        catalogue = load_catalogue()
        cloud = {c for c in commands if catalogue[c.lower()]["module"].startswith(modules)}
        assert cloud <= set(table), (step.id, cloud - set(table))


@pytest.mark.parametrize(
    ("step_id", "expected"),
    [
        (
            "graph/set-user",
            {
                "User.Read.All",
                "User.ReadWrite.All",
                "RoleManagement.Read.Directory",
                "RoleEligibilitySchedule.Read.Directory",
            },
        ),
        ("graph/get-sync-features", {"OnPremDirectorySynchronization.Read.All"}),
        ("graph/connect", set()),
    ],
)
def test_step_permissions_follow_the_templates(step_id: str, expected: set[str]) -> None:
    assert set(permissions.graph_permissions(step_id)) == expected
    text = PAGE.read_text(encoding="utf-8")
    for permission in expected:
        assert f"`{permission}`" in text


def test_a_parameter_with_its_own_permission_adds_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Update-MgUser -AccountEnabled needs User.EnableDisableAccount.All (Update user, Permissions)."""
    fake = {
        "graph/disable-user": {"needs": "graph", "commands": {"Update-MgUser": ["AccountEnabled", "UserId"]}}
    }
    monkeypatch.setattr(permissions, "_surface", lambda: fake)
    assert permissions.graph_permissions("graph/disable-user") == (
        "User.EnableDisableAccount.All",
        "User.Read.All",
        "User.ReadWrite.All",
    )
    assert "`Update-MgUser -AccountEnabled`" in permissions.graph_table()
    monkeypatch.undo()
    assert permissions.exchange_roles("exo/new-mailbox") == {"New-Mailbox": "Mail Recipient Creation"}
