"""How the read-back tests judge one step's declaration: its inputs from the sent parameters, and
whether what the read found shows the change applied (pswrap.steps.readback)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from pswrap import steps

NOW = datetime.now(timezone.utc)


def judge(step_id: str, found: Any, params: dict[str, Any]) -> Any:
    read_back = steps.get(step_id).read_back
    assert read_back is not None
    return read_back.applied(found, params, NOW)


def inputs(step_id: str, params: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    read_back = steps.get(step_id).read_back
    assert read_back is not None
    return read_back.inputs({}, params)
