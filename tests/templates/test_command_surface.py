"""`pswrap/steps/commands.json` is exactly what the templates call, so `pswrap jea` and the permissions
table (which read it at run time, without tree-sitter) follow the code. Regenerate it with
PSWRAP_REGEN_FIXTURES=1 after changing a template, then review the diff."""

from __future__ import annotations

import os

from pswrap.steps import all_steps
from tests.templates.surface import SURFACE_PATH, compute, dumps


def test_committed_surface_matches_the_templates() -> None:
    fresh = dumps(compute())
    if os.environ.get("PSWRAP_REGEN_FIXTURES") == "1":
        SURFACE_PATH.write_text(fresh, encoding="utf-8")
    assert SURFACE_PATH.read_text(encoding="utf-8") == fresh, (
        f"{SURFACE_PATH.name} is stale: run PSWRAP_REGEN_FIXTURES=1 "
        ".venv/bin/pytest tests/templates/test_command_surface.py and review the diff"
    )


def test_every_runnable_step_has_a_surface() -> None:
    surface = compute()["steps"]
    assert set(surface) == {s.id for s in all_steps() if not s.is_legacy}
    # Spot checks a reader can verify in the templates.
    assert "Filter" in surface["ad/find-user"]["commands"]["Get-ADUser"]
    assert "OnPremisesImmutableId" in surface["graph/set-user"]["commands"]["Update-MgUser"]
    assert "Write-PswrapResult" in surface["ad/find-user"]["functions"]
    assert surface["exo/connect"]["providers"] == ["Certificate"]
