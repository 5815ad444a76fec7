"""The registry of steps: look a step up by id, list them all.

Steps are declared in area modules (`runbook.py` for the mailbox runbook, `preflight.py` for the checks
of `pswrap doctor`); this module only collects them.
"""

from __future__ import annotations

from functools import cache

from pswrap.errors import BadInput
from pswrap.steps.model import NEEDS, PROFILES, Choice, Need, Param, Profile, Retired, Step

CONNECT_STEPS: dict[Need, str] = {
    "exo": "exo/connect",
    "graph": "graph/connect",
    "hybrid": "hybrid/connect",
}
"""The step the runner performs in a pool before the first step with that need (and after a reopen)."""


AREA_MODULES = ("runbook", "preflight", "permission_checks", "desired", "lifecycle", "access")
"""Modules declaring `STEPS`; the preflight checks of `pswrap doctor` add theirs here."""


@cache
def _registry() -> dict[str, Step]:
    import importlib

    steps: list[Step] = []
    for area in AREA_MODULES:
        steps.extend(importlib.import_module(f"pswrap.steps.{area}").STEPS)
    registry: dict[str, Step] = {}
    for step in steps:
        if step.id in registry:
            raise RuntimeError(f"step {step.id} declared twice")
        registry[step.id] = step
    return registry


def all_steps() -> list[Step]:
    return sorted(_registry().values(), key=lambda s: s.id)


def get(step_id: str) -> Step:
    try:
        return _registry()[step_id]
    except KeyError:
        known = ", ".join(sorted(_registry()))
        raise BadInput(
            f"unknown step {step_id!r}", hint=f"`pswrap render --list` shows the steps: {known}"
        ) from None


__all__ = [
    "CONNECT_STEPS",
    "NEEDS",
    "PROFILES",
    "Choice",
    "Need",
    "Param",
    "Profile",
    "Retired",
    "Step",
    "all_steps",
    "get",
]
