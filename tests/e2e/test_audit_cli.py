"""The audit log from a real run (issue #12 section 6): each change of `mailbox create` is one line
naming its operation, cmdlet and outcome; a converged re-run adds none."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path

from tests.e2e.conftest import Ran


def test_mailbox_create_audits_each_change_under_its_operation(
    cli: Callable[..., Ran], env: dict[str, str]
) -> None:
    ran = cli("mailbox", "create", "Audit Room", "--alias", "auditroom", "--yes", "-o", "json")
    assert ran.code == 0, ran.err
    operation = ran.json()["operation"]
    path = Path(env["PSWRAP_STATE_DIR"]) / "audit.jsonl"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    changes = {x["step"]: x for x in lines}
    assert {"exo/new-mailbox", "ad/new-user", "graph/set-user", "sync/start-cycle"} <= set(changes)
    assert {x["operation"] for x in lines} == {operation}
    assert changes["exo/new-mailbox"]["cmdlet"] == "New-Mailbox"
    assert changes["ad/new-user"]["cmdlet"] == "New-ADUser"
    assert all(x["outcome"] == "applied" for x in lines)
    again = cli("mailbox", "create", "Audit Room", "--alias", "auditroom", "--yes")
    assert again.code == 0
    assert len(path.read_text().splitlines()) == len(lines)
