"""What every benchmark does the same way: an embedded lab of its own in a temporary state directory, and
the lab's own counts of what it answered.

Imported by the benchmarks beside it (each puts this folder on sys.path, as a script run from anywhere).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

NOT_INHERITED = ("PSWRAP_TARGET", "PSWRAP_CONFIG", "PSWRAP_LAB_FAULTS")
"""Settings of the caller's shell a benchmark must not pick up (a configured target, injected faults)."""


def isolated_lab(
    prefix: str,
    sync_seconds: float,
    extra: dict[str, str] | None = None,
    unset: tuple[str, ...] = NOT_INHERITED,
) -> Path:
    """A temporary state directory holding the journal, the config home and the embedded lab's world,
    set in this process's environment; the lab's state file (in that directory)."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    state = tmp / "lab.json"
    os.environ.update(
        {
            "PSWRAP_STATE_DIR": str(tmp),
            "PSWRAP_LAB_STATE": str(state),
            "PSWRAP_LAB_SYNC_SECONDS": str(sync_seconds),
            "XDG_CONFIG_HOME": str(tmp / "config"),
            **(extra or {}),
        }
    )
    for name in unset:
        os.environ.pop(name, None)
    return state


def world_of(state: Path) -> dict[str, Any]:
    """The lab's world as stored ({} before the lab has written it)."""
    from pswrap.lab.store import Store

    if not state.exists():
        return {}
    world: dict[str, Any] = Store(state).read()
    return world


def answered(world: dict[str, Any]) -> tuple[int, int]:
    """(pipelines, HTTP requests) a world's lab had answered (the lab's own `stats.requests`)."""
    requests = world.get("stats", {}).get("requests", {})
    return int(requests.get("Command", 0)), int(sum(requests.values()))


def counts(state: Path) -> tuple[int, int]:
    """(pipelines, HTTP requests) the lab has answered so far."""
    return answered(world_of(state))
