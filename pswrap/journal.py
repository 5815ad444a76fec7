"""The local journal: every operation and every step it ran, in SQLite in the user's state directory.

Why a journal when every step is check-then-act anyway: it is what `pswrap resume OP` and `pswrap ops
show OP` read, it keeps the values an operation chose once and must reuse (the anchor GUID of the
`anchor` hold), and it is the audit trail of what pswrap did on which target. It is never required for
correctness: the same command from another machine converges from the facts alone.

It holds no secret: operation arguments are the command's own arguments (which take none), and step
summaries are built from parsed results, not from the parameters sent.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS operations (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    target TEXT,
    identity TEXT,
    args TEXT NOT NULL,
    status TEXT NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT '{}',
    result TEXT
);
CREATE INDEX IF NOT EXISTS operations_identity ON operations (kind, target, identity);
CREATE TABLE IF NOT EXISTS steps (
    op_id TEXT NOT NULL REFERENCES operations (id),
    seq INTEGER NOT NULL,
    step_id TEXT NOT NULL,
    status TEXT NOT NULL,
    started TEXT NOT NULL,
    ended TEXT,
    output_summary TEXT,
    error TEXT,
    PRIMARY KEY (op_id, seq)
);
"""

OPEN_STATUSES = ("planned", "running", "pending-sync", "failed", "interrupted")
"""Statuses an operation can be resumed from (a `completed` one is done; `refused` never started)."""


def state_dir() -> Path:
    """`PSWRAP_STATE_DIR`, else the platform's user state directory (e.g. ~/.local/state/pswrap)."""
    env = os.environ.get("PSWRAP_STATE_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_state_dir("pswrap"))


def private_dir(path: Path) -> None:
    """Create `path` (and parents) and make it 0700 whatever the umask: it holds the journal and the
    audit log, which name every object pswrap touched."""
    path.mkdir(parents=True, exist_ok=True)
    if os.name == "posix":
        os.chmod(path, 0o700)


def private_file(path: Path) -> None:
    """Create `path` if missing, 0600 from its first byte whatever the umask (O_CREAT with the mode
    can be widened by nothing but an explicit chmod, which follows)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.close(fd)
    if os.name == "posix":
        os.chmod(path, 0o600)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def new_operation_id() -> str:
    """Short, sortable, and safe in a scheduled task's name (the scheduler hold's lease)."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


@dataclass(frozen=True)
class Operation:
    id: str
    kind: str
    target: str | None
    identity: str | None
    args: dict[str, Any]
    status: str
    created: str
    updated: str
    state: dict[str, Any]
    result: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "target": self.target,
            "identity": self.identity,
            "args": self.args,
            "status": self.status,
            "created": self.created,
            "updated": self.updated,
            "result": self.result,
        }


@dataclass(frozen=True)
class StepRecord:
    op_id: str
    seq: int
    step_id: str
    status: str
    started: str
    ended: str | None
    output_summary: dict[str, Any] | None
    error: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "step_id": self.step_id,
            "status": self.status,
            "started": self.started,
            "ended": self.ended,
            "output": self.output_summary,
            "error": self.error,
        }


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


class Journal:
    """One SQLite file; each call is its own short transaction, so two pswrap processes can share it."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or (state_dir() / "journal.sqlite3")
        private_dir(self.path.parent)
        private_file(self.path)
        self.run_token = secrets.token_hex(8)
        """This process's claim on the operations it runs (see `set_status`)."""
        db = sqlite3.connect(self.path, timeout=30.0)
        try:
            with db:
                db.executescript(SCHEMA)  # IF NOT EXISTS: safe when two processes do it at once
        finally:
            db.close()
        with self._db() as db:
            columns = {row[1] for row in db.execute("PRAGMA table_info(operations)")}
            if "owner" not in columns:  # journals written before runs claimed their operation
                db.execute("ALTER TABLE operations ADD COLUMN owner TEXT")

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction, taken with BEGIN IMMEDIATE: a read-then-write inside it (the
        operation's state) cannot interleave with another process's write."""
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            db.close()

    # --- operations -----------------------------------------------------------------------------

    def start(
        self, kind: str, args: dict[str, Any], *, target: str | None = None, identity: str | None = None
    ) -> str:
        op_id = new_operation_id()
        stamp = now_iso()
        with self._db() as db:
            db.execute(
                "INSERT INTO operations (id, kind, target, identity, args, status, created, updated)"
                " VALUES (?, ?, ?, ?, ?, 'planned', ?, ?)",
                (op_id, kind, target, identity, json.dumps(args, sort_keys=True), stamp, stamp),
            )
        return op_id

    def find_open(self, kind: str, target: str | None, identity: str) -> Operation | None:
        """The newest unfinished operation for the same object: the same command continues it.

        Two started in the same millisecond have equal `created` stamps; the later insert (rowid) wins.
        """
        marks = ",".join("?" for _ in OPEN_STATUSES)
        with self._db() as db:
            row = db.execute(
                f"SELECT * FROM operations WHERE kind = ? AND target IS ? AND identity = ?"
                f" AND status IN ({marks}) ORDER BY created DESC, rowid DESC LIMIT 1",
                (kind, target, identity, *OPEN_STATUSES),
            ).fetchone()
        return self._operation(row) if row else None

    def claim(self, op_id: str) -> None:
        """This run is now the one running `op_id` (a later run of the same operation takes it over)."""
        with self._db() as db:
            db.execute(
                "UPDATE operations SET status = 'running', owner = ?, updated = ? WHERE id = ?",
                (self.run_token, now_iso(), op_id),
            )

    def set_status(self, op_id: str, status: str, result: dict[str, Any] | None = None) -> bool:
        """Record how this run ended the operation. Two runs of one operation at once (the same command
        twice) must not overwrite each other: only the run holding the claim writes, and a `completed`
        operation is never set back by a run that ended otherwise. False: not written."""
        guard = "id = ? AND (owner IS NULL OR owner = ?) AND (status != 'completed' OR ? = 'completed')"
        with self._db() as db:
            if result is None:
                cur = db.execute(
                    f"UPDATE operations SET status = ?, updated = ? WHERE {guard}",
                    (status, now_iso(), op_id, self.run_token, status),
                )
            else:
                cur = db.execute(
                    f"UPDATE operations SET status = ?, updated = ?, result = ? WHERE {guard}",
                    (status, now_iso(), json.dumps(result, sort_keys=True), op_id, self.run_token, status),
                )
            return cur.rowcount == 1

    def mark_completed_by(self, op_id: str, by: str) -> bool:
        """An open operation another run has seen completed (the same mailbox and account, linked) is done:
        marked `completed` with `completed_by`, whoever claimed it last, but only while nothing runs it
        (pending-sync or interrupted), in one statement. False: not written."""
        with self._db() as db:
            row = db.execute("SELECT result FROM operations WHERE id = ?", (op_id,)).fetchone()
            done = {**(_loads(row[0]) or {} if row else {}), "status": "completed", "completed_by": by}
            cur = db.execute(
                "UPDATE operations SET status = 'completed', updated = ?, result = ? "
                "WHERE id = ? AND status IN ('pending-sync', 'interrupted')",
                (now_iso(), json.dumps(done, sort_keys=True), op_id),
            )
            return cur.rowcount == 1

    def set_args(self, op_id: str, args: dict[str, Any]) -> None:
        """The arguments of the latest run of the operation (what `resume` re-runs)."""
        with self._db() as db:
            db.execute(
                "UPDATE operations SET args = ?, updated = ? WHERE id = ?",
                (json.dumps(args, sort_keys=True), now_iso(), op_id),
            )

    def update_state(self, op_id: str, **values: Any) -> dict[str, Any]:
        """Values the operation chose and must reuse when resumed (merged into what is there)."""
        with self._db() as db:
            row = db.execute("SELECT state FROM operations WHERE id = ?", (op_id,)).fetchone()
            state: dict[str, Any] = json.loads(row[0]) if row else {}
            state.update(values)
            db.execute(
                "UPDATE operations SET state = ?, updated = ? WHERE id = ?",
                (json.dumps(state, sort_keys=True), now_iso(), op_id),
            )
        return state

    def get(self, op_id: str) -> Operation | None:
        with self._db() as db:
            row = db.execute("SELECT * FROM operations WHERE id = ?", (op_id,)).fetchone()
        return self._operation(row) if row else None

    def recent(self, limit: int = 50) -> list[Operation]:
        with self._db() as db:
            rows = db.execute(
                "SELECT * FROM operations ORDER BY created DESC, id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [self._operation(r) for r in rows]

    # --- steps --------------------------------------------------------------------------------

    def step_started(self, op_id: str, step_id: str) -> int:
        """Append a step record; its number is drawn inside the one INSERT, so two runs appending to
        the same operation at once get distinct numbers (no read-then-insert race to lose)."""
        with self._db() as db:
            row = db.execute(
                "INSERT INTO steps (op_id, seq, step_id, status, started)"
                " SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, 'running', ? FROM steps WHERE op_id = ?"
                " RETURNING seq",
                (op_id, step_id, now_iso(), op_id),
            ).fetchone()
            db.execute("UPDATE operations SET updated = ? WHERE id = ?", (now_iso(), op_id))
        return int(row[0])

    def step_ended(
        self,
        op_id: str,
        seq: int,
        status: str,
        *,
        summary: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        with self._db() as db:
            db.execute(
                "UPDATE steps SET status = ?, ended = ?, output_summary = ?, error = ?"
                " WHERE op_id = ? AND seq = ?",
                (
                    status,
                    now_iso(),
                    None if summary is None else json.dumps(summary, sort_keys=True, default=str),
                    error,
                    op_id,
                    seq,
                ),
            )

    def steps(self, op_id: str) -> list[StepRecord]:
        with self._db() as db:
            rows = db.execute(
                "SELECT op_id, seq, step_id, status, started, ended, output_summary, error"
                " FROM steps WHERE op_id = ? ORDER BY seq",
                (op_id,),
            ).fetchall()
        return [StepRecord(r[0], r[1], r[2], r[3], r[4], r[5], _loads(r[6]), r[7]) for r in rows]

    @staticmethod
    def _operation(row: tuple[Any, ...]) -> Operation:
        return Operation(
            id=row[0],
            kind=row[1],
            target=row[2],
            identity=row[3],
            args=json.loads(row[4]),
            status=row[5],
            created=row[6],
            updated=row[7],
            state=json.loads(row[8] or "{}"),
            result=_loads(row[9]),
        )
