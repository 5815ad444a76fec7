"""Two machines, one alias (issue #12 section 2): the same create started three times at once — two runs
sharing a journal, one with a journal of its own (another machine) — all end exit 0 on one world."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Ran


def test_same_alias_runs_at_once_converge(
    spawn: Callable[..., Any], cli: Callable[..., Ran], world: Callable[[], dict[str, Any]], tmp_path: Path
) -> None:
    assert cli("lab", "show").code == 0  # the world exists before the runs race
    args = ("mailbox", "create", "Twin Room", "--alias", "twin", "--yes", "-o", "json")
    runs = [
        spawn(*args),
        spawn(*args),
        spawn(*args, extra={"PSWRAP_STATE_DIR": str(tmp_path / "other-machine")}),
    ]
    finished = [r.finish(timeout=180) for r in runs]
    for ran in finished:
        assert ran.code == 0, ran.err
        assert ran.json()["status"] == "completed"
    w = world()
    assert len([u for u in w["ad"]["users"] if u["sam_account_name"] == "twin"]) == 1
    assert len([b for b in w["exo"]["mailboxes"] if b["alias"] == "twin"]) == 1
    again = cli(*args)
    assert again.code == 0 and again.json()["changed"] is False


def test_refused_preflight_json_carries_the_checks(
    cli: Callable[..., Ran], lab_set: Callable[..., None]
) -> None:
    lab_set("sync.settings.connect_version=2.4.18.0")
    ran = cli("mailbox", "create", "Room C", "--alias", "roomc", "--yes", "-o", "json")
    assert ran.code == 6, ran.err
    error: dict[str, Any] = ran.json()["error"]
    assert isinstance(error["checks"], list) and error["checks"]
    assert all({"id", "status", "found"} <= set(check) for check in error["checks"])
    assert any("2.5.79.0" in str(check) for check in error["checks"])
