"""`pswrap ops list|show`, `pswrap sync status|start|wait`, and the Python API the CLI is built on."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Ran


def test_ops_list_and_show_record_every_step_without_secrets(
    cli: Callable[..., Ran], env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "S3cret-never-shown"
    monkeypatch.setenv("PSWRAP_AD_CREDENTIAL_USER", "LAB\\svc")
    monkeypatch.setenv("PSWRAP_AD_CREDENTIAL_PASSWORD_ENV", "PSWRAP_TEST_ADPW")
    monkeypatch.setenv("PSWRAP_TEST_ADPW", secret)
    from pswrap.lab import invoke as lab_invoke

    arrived: list[str] = []
    decode = lab_invoke.to_python

    def watch(value: Any) -> Any:
        plain = decode(value)
        if plain == secret:
            arrived.append(type(value).__name__)
        return plain

    monkeypatch.setattr(lab_invoke, "to_python", watch)  # the embedded lab runs in this process
    ran = cli("mailbox", "create", "Meeting Room 1", "--alias", "room1", "--output", "json")
    assert ran.code == 0, ran.err
    assert arrived, "the AD credential was never sent: this test would prove nothing"
    op = ran.json()["operation"]
    listed = cli("ops", "list", "--output", "json").json()
    assert [o["id"] for o in listed] == [op]
    assert listed[0]["status"] == "completed" and listed[0]["kind"] == "mailbox.create"
    assert listed[0]["args"]["alias"] == "room1"
    listed_text = cli("ops", "list").out
    assert op in listed_text and "completed" in listed_text and "room1" in listed_text
    shown = cli("ops", "show", op, "--output", "json").json()
    steps = [s["step_id"] for s in shown["steps"]]
    for step in ("exo/new-mailbox", "graph/set-user", "ad/new-user", "sync/start-cycle"):
        assert step in steps
    assert steps.index("exo/new-mailbox") < steps.index("graph/set-user") < steps.index("ad/new-user")
    assert all(s["status"] == "done" for s in shown["steps"])
    assert shown["result"]["status"] == "completed"
    text = cli("ops", "show", op)
    assert text.code == 0 and "ad/new-user" in text.out
    journal = Path(env["PSWRAP_STATE_DIR"], "journal.sqlite3").read_bytes()
    assert secret.encode() not in journal
    assert secret not in ran.out + ran.err + text.out
    assert cli("ops", "show", "nope").code == 2
    assert cli("resume", "nope").code == 2


def test_sync_status_start_wait(cli: Callable[..., Ran], monkeypatch: pytest.MonkeyPatch) -> None:
    # A cycle long enough that the next command surely still sees it running on a loaded machine.
    monkeypatch.setenv("PSWRAP_LAB_SYNC_SECONDS", "2")
    status = cli("sync", "status", "--output", "json")
    assert status.code == 0, status.err
    data = status.json()
    assert data["settings"]["anchor_attribute"] == "mS-DS-ConsistencyGuid"
    assert data["scheduler"]["sync_cycle_in_progress"] is False
    started = cli("sync", "start", "--output", "json")
    assert started.code == 0, started.err
    assert started.json() == {"policy": "delta", "result": "Success"}
    busy = cli("sync", "start")
    assert busy.code == 5 and "sync wait" in busy.err
    waited = cli("sync", "wait", "--timeout", "10", "--output", "json")
    assert waited.code == 0, waited.err
    assert waited.json()["scheduler"]["sync_cycle_in_progress"] is False
    assert cli("sync", "start", "--initial").code == 0
    assert "cycle in progress: yes" in cli("sync", "status").out


def test_sync_wait_times_out_with_exit_7(cli: Callable[..., Ran], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSWRAP_LAB_SYNC_SECONDS", "5")
    assert cli("sync", "start").code == 0
    ran = cli("sync", "wait", "--timeout", "0.3")
    assert ran.code == 7


def test_python_api_runbook_example(env: dict[str, str]) -> None:
    import pswrap.api
    from pswrap.errors import Conflict

    with pswrap.api.connect("lab") as ps:
        result = ps.create_mailbox("Meeting Room 1", alias="room1", type="room", capacity=10)
        assert result.status == "completed" and result.changed
        data: dict[str, Any] = result.to_json()
        assert set(data) == {
            "operation", "status", "changed", "changes", "immutable_id", "ad_user", "mailbox", "cloud_user",
            "drift",
        }  # fmt: skip
        json.dumps(data)
        again = ps.create_mailbox("Meeting Room 1", alias="room1", type="room", capacity=10)
        assert again.changed is False
        plan = ps.create_mailbox("Room 2", alias="room2", dry_run=True)
        assert [s["step"] for s in plan.to_json()["steps"]] == [
            "exo/new-mailbox",
            "graph/set-account-enabled",  # a room's account is created enabled: blocked before the link
            "graph/set-user",
            "ad/new-user",
        ]
        with pytest.raises(Conflict):
            ps.create_mailbox("Other", alias="room1", type="shared")
        failed = ps.create_mailbox("Other", alias="room1", type="shared", check=False)
        assert failed.status == "failed" and failed.to_json()["error"]["type"] == "Conflict"
        assert [o.status for o in ps.operations()][:2] == ["failed", "completed"]


def test_confirmation_declined_changes_nothing(env: dict[str, str]) -> None:
    """What a terminal user answering 'no' gets: the plan was shown, nothing was applied."""
    import pswrap.api
    from pswrap.errors import Refused

    shown: list[str] = []

    def decline(plan: Any) -> bool:
        shown.append(plan.summary())
        return False

    with pswrap.api.connect("lab", confirm=decline) as ps:
        with pytest.raises(Refused, match="declined"):
            ps.create_mailbox("Room C", alias="roomc")
        assert "exo/new-mailbox" in shown[0] and "script:" not in shown[0]
        assert ps.create_mailbox("Room C", alias="roomc", dry_run=True).plan.facts.mailbox is None
    with pswrap.api.connect("lab", confirm=lambda plan: True) as ps:
        assert ps.create_mailbox("Room C", alias="roomc").status == "completed"
        assert ps.create_mailbox("Room C", alias="roomc").changed is False  # nothing to confirm
