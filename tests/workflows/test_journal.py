"""The journal: operations and their steps in SQLite, shared by processes, reusable state."""

from __future__ import annotations

from pathlib import Path

import pytest

from pswrap.journal import Journal, state_dir


def test_operation_lifecycle(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite3")
    op = j.start("mailbox.create", {"alias": "room1"}, target="lab", identity="room1|room1")
    assert j.get(op) is not None and j.get(op).status == "planned"  # type: ignore[union-attr]
    seq = j.step_started(op, "exo/new-mailbox")
    j.step_ended(op, seq, "done", summary={"alias": "room1"})
    seq2 = j.step_started(op, "graph/set-user")
    j.step_ended(op, seq2, "failed", error="Conflict: x")
    j.update_state(op, anchor_guid="g1")
    j.set_status(op, "failed", {"status": "failed"})
    other = Journal(tmp_path / "j.sqlite3")  # another process opening the same file
    got = other.get(op)
    assert got is not None
    assert got.args == {"alias": "room1"} and got.state == {"anchor_guid": "g1"}
    assert got.result == {"status": "failed"}
    assert [(s.seq, s.step_id, s.status) for s in other.steps(op)] == [
        (1, "exo/new-mailbox", "done"),
        (2, "graph/set-user", "failed"),
    ]
    assert other.steps(op)[0].output_summary == {"alias": "room1"}


def test_find_open_skips_completed_and_other_targets(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite3")
    done = j.start("mailbox.create", {}, target="lab", identity="a|a")
    j.set_status(done, "completed")
    assert j.find_open("mailbox.create", "lab", "a|a") is None
    pending = j.start("mailbox.create", {}, target="lab", identity="a|a")
    j.set_status(pending, "pending-sync")
    found = j.find_open("mailbox.create", "lab", "a|a")
    assert found is not None and found.id == pending
    assert j.find_open("mailbox.create", "prod", "a|a") is None
    assert [o.id for o in j.recent()] == [pending, done]


def test_state_dir_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSWRAP_STATE_DIR", str(tmp_path / "s"))
    assert state_dir() == tmp_path / "s"
    assert Journal().path == tmp_path / "s" / "journal.sqlite3"
