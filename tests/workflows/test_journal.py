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


def _clock(monkeypatch: pytest.MonkeyPatch, stamps: list[str]) -> None:
    """`now_iso` returns the given stamps in turn (the last one from then on)."""
    import pswrap.journal as journal

    left = list(stamps)
    monkeypatch.setattr(journal, "now_iso", lambda: left.pop(0) if len(left) > 1 else left[0])


def test_find_open_continues_the_newest_of_two_open_operations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that failed, then a second that was interrupted: the next run continues the second."""
    _clock(monkeypatch, ["2026-01-01T10:00:00.000+00:00", "2026-01-01T10:05:00.000+00:00"])
    j = Journal(tmp_path / "j.sqlite3")
    older = j.start("mailbox.create", {"run": 1}, target="lab", identity="a|a")
    newer = j.start("mailbox.create", {"run": 2}, target="lab", identity="a|a")
    j.set_status(older, "failed")
    j.set_status(newer, "interrupted")
    found = j.find_open("mailbox.create", "lab", "a|a")
    assert found is not None and found.id == newer and found.args == {"run": 2}
    j.set_status(newer, "completed")  # once the newer one is done, the older open one is next
    again = j.find_open("mailbox.create", "lab", "a|a")
    assert again is not None and again.id == older and again.status == "failed"


def test_find_open_picks_the_later_of_two_started_in_the_same_millisecond(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _clock(monkeypatch, ["2026-01-01T10:00:00.000+00:00"])
    j = Journal(tmp_path / "j.sqlite3")
    first = j.start("mailbox.create", {"run": 1}, target="lab", identity="a|a")
    second = j.start("mailbox.create", {"run": 2}, target="lab", identity="a|a")
    assert j.get(first).created == j.get(second).created  # type: ignore[union-attr]
    found = j.find_open("mailbox.create", "lab", "a|a")
    assert found is not None and found.id == second


@pytest.mark.parametrize("status", ["planned", "running", "pending-sync", "failed", "interrupted"])
def test_every_unfinished_status_is_continued(tmp_path: Path, status: str) -> None:
    j = Journal(tmp_path / "j.sqlite3")
    op = j.start("mailbox.create", {}, target="lab", identity="a|a")
    j.set_status(op, status)
    found = j.find_open("mailbox.create", "lab", "a|a")
    assert found is not None and (found.id, found.status) == (op, status)


@pytest.mark.parametrize("status", ["completed", "refused"])
def test_finished_statuses_are_not_continued(tmp_path: Path, status: str) -> None:
    j = Journal(tmp_path / "j.sqlite3")
    op = j.start("mailbox.create", {}, target="lab", identity="a|a")
    j.set_status(op, status)
    assert j.find_open("mailbox.create", "lab", "a|a") is None
    assert j.find_open("mailbox.create", "lab", "b|b") is None
