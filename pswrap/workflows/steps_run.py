"""Running a workflow's steps through a session, each one journaled (started, ended, summary, error)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pswrap.errors import PswrapError
from pswrap.journal import Journal
from pswrap.workflows.ports import Progress, StepSession, no_progress

SUMMARY_LIMIT = 4000


def summarize(result: Any) -> dict[str, Any] | None:
    """The parsed result as JSON (results carry no secrets), cut to keep the journal small."""
    dump = getattr(result, "model_dump", None)
    if dump is None:
        return None
    data: dict[str, Any] = dump(mode="json")
    text = repr(data)
    if len(text) > SUMMARY_LIMIT:
        return {"truncated": text[:SUMMARY_LIMIT]}
    return data


class JournaledRunner:
    """`run(step_id, choices=..., params=...)`: the session's step, with a journal record around it."""

    def __init__(
        self,
        session: StepSession,
        journal: Journal | None,
        op_id: str | None,
        progress: Progress = no_progress,
    ) -> None:
        self.session = session
        self.journal = journal
        self.op_id = op_id
        self.progress = progress
        self.ran: list[str] = []
        """Every step this run performed through the runner, in order."""

    def __call__(
        self,
        step_id: str,
        *,
        choices: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        seq = None
        if self.journal is not None and self.op_id is not None:
            seq = self.journal.step_started(self.op_id, step_id)
        try:
            result = self.session.step(step_id, choices=choices, params=params)
        except PswrapError as exc:
            self._ended(seq, "failed", error=f"{type(exc).__name__}: {exc}")
            raise
        except BaseException as exc:
            self._ended(seq, "interrupted", error=type(exc).__name__)
            raise
        self._ended(seq, "done", summary=summarize(result))
        self.ran.append(step_id)
        return result

    def _ended(
        self, seq: int | None, status: str, *, summary: dict[str, Any] | None = None, error: str | None = None
    ) -> None:
        """Close the journal record `seq` (None: this run keeps no journal)."""
        if seq is not None and self.journal is not None and self.op_id is not None:
            self.journal.step_ended(self.op_id, seq, status, summary=summary, error=error)
