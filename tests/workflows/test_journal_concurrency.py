"""Two runs at once (issue #12 section 2): the journal's appends are atomic, status is not overwritten by
another run, the files are private whatever the umask."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from pswrap.journal import Journal


def test_concurrent_step_appends_get_distinct_numbers(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    op = Journal(path).start("mailbox.create", {}, target="lab", identity="a|a")
    seqs: list[int] = []
    errors: list[BaseException] = []
    gate = threading.Barrier(6)

    def append() -> None:
        journal = Journal(path)  # each "process" has its own connection and claim
        gate.wait()
        try:
            for _ in range(15):
                seqs.append(journal.step_started(op, "exo/find-mailbox"))
        except BaseException as exc:  # an IntegrityError here is the bug
            errors.append(exc)

    threads = [threading.Thread(target=append) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(seqs) == list(range(1, 91))
    assert [s.seq for s in Journal(path).steps(op)] == list(range(1, 91))


def test_a_run_that_lost_the_operation_does_not_overwrite_its_status(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    first, second = Journal(path), Journal(path)
    op = first.start("mailbox.create", {}, target="lab", identity="a|a")
    first.claim(op)
    second.claim(op)  # the same command again, while the first still runs
    assert second.set_status(op, "completed", {"status": "completed"})
    assert not first.set_status(op, "failed", {"status": "failed"})
    got = Journal(path).get(op)
    assert got is not None and got.status == "completed" and got.result == {"status": "completed"}


def test_completed_is_never_set_back(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite3")
    op = j.start("mailbox.create", {}, target="lab", identity="a|a")
    j.claim(op)
    assert j.set_status(op, "completed")
    assert not j.set_status(op, "interrupted")
    assert j.get(op).status == "completed"  # type: ignore[union-attr]


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_journal_and_its_folder_are_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        folder = tmp_path / "state" / "deeper"
        Journal(folder / "journal.sqlite3")
    finally:
        os.umask(old)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "journal.sqlite3").stat().st_mode) == 0o600
