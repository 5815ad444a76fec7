"""What `pswrap ops list` shows after re-runs: no `pending-sync` left behind by a run that changed
nothing, and earlier operations for a mailbox marked completed once a later run sees it linked."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pswrap.journal import Journal
from tests.e2e.conftest import Ran


def _statuses(cli: Callable[..., Ran]) -> list[str]:
    return [o["status"] for o in cli("ops", "list", "--output", "json").json()]


def test_a_run_that_changes_nothing_leaves_no_pending_sync_operation(
    cli: Callable[..., Ran], env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first = cli("mailbox", "create", "Room 6", "--alias", "room6", "--no-wait", "--output", "json")
    assert first.code == 0 and first.json()["status"] == "pending-sync" and first.json()["changed"]
    assert _statuses(cli) == ["pending-sync"]  # it changed something: resume or a re-run finishes it
    # Another machine (its own journal) runs the same command before sync has linked the account:
    # nothing is missing, so nothing changes; its journal must not hold an open pending-sync operation.
    other = tmp_path / "other-machine"
    other.mkdir()
    monkeypatch.setenv("PSWRAP_STATE_DIR", str(other))
    again = cli("mailbox", "create", "Room 6", "--alias", "room6", "--no-wait", "--output", "json")
    assert again.code == 0, again.err
    assert again.json()["status"] == "pending-sync" and again.json()["changed"] is False
    assert _statuses(cli) == ["unchanged"]


def test_an_operation_seen_completed_by_a_later_run_is_marked_completed(
    cli: Callable[..., Ran], env: dict[str, str]
) -> None:
    first = cli("mailbox", "create", "Room 8", "--alias", "room8", "--no-wait", "--output", "json")
    assert first.code == 0 and first.json()["status"] == "pending-sync"
    journal = Journal(Path(env["PSWRAP_STATE_DIR"]) / "journal.sqlite3")
    # A second open operation for the same mailbox and account (e.g. from a run that was killed):
    # the later run continues the newest one; the older one must not stay pending-sync forever.
    newer = journal.start("mailbox.create", {"alias": "room8"}, target="lab", identity="room8|room8")
    journal.set_status(newer, "interrupted")
    done = cli("mailbox", "create", "Room 8", "--alias", "room8", "--output", "json")
    assert done.code == 0 and done.json()["status"] == "completed", done.err
    assert done.json()["operation"] == newer
    assert _statuses(cli) == ["completed", "completed"]
    older = journal.get(first.json()["operation"])
    assert older is not None and older.result is not None
    assert older.result["completed_by"] == newer
