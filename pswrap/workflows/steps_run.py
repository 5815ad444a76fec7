"""Running a workflow's steps through a session, each one journaled (started, ended, summary, error).

A changing step whose reply is lost (a dropped connection, an HTTP 500 after it was sent) has an unknown
outcome. The runner never guesses: it hands the session the step's declared read-back
(`Step.read_back`, pswrap/steps/readback.py), which the session runs before any retry. Applied: the run
continues with what was read. Not applied: the step is sent again. One mechanism for every change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

from pswrap.errors import MasteredElsewhere, PswrapError
from pswrap.journal import Journal
from pswrap.workflows.ports import Progress, StepSession, no_progress

SUMMARY_LIMIT = 4000
log = logging.getLogger("pswrap.workflows")


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
        self.read_back: list[tuple[str, bool]] = []
        """(step id, applied) for every read-back this run needed, in order."""

    def __call__(
        self,
        step_id: str,
        *,
        choices: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        from pswrap import audit

        operation = audit.CURRENT_OPERATION.set(self.op_id)  # the audit log names each change's operation
        try:
            return self._run(step_id, choices, params)
        finally:
            audit.CURRENT_OPERATION.reset(operation)

    def _run(
        self, step_id: str, choices: Mapping[str, str] | None, params: Mapping[str, Any] | None
    ) -> Any:
        seq = None
        if self.journal is not None and self.op_id is not None:
            seq = self.journal.step_started(self.op_id, step_id)
        verify = self._verifier(step_id, choices or {}, params or {})
        try:
            if verify is None:
                result = self.session.step(step_id, choices=choices, params=params)
            else:
                step_with_read_back: Any = self.session.step  # Session.step takes `verify`
                result = step_with_read_back(step_id, choices=choices, params=params, verify=verify)
        except PswrapError as exc:
            if isinstance(exc, MasteredElsewhere):
                self._mastered_hint(exc, params or {})
            self._ended(seq, "failed", error=f"{type(exc).__name__}: {exc}")
            raise
        except BaseException as exc:
            self._ended(seq, "interrupted", error=type(exc).__name__)
            raise
        self._ended(seq, "done", summary=summarize(result))
        self.ran.append(step_id)
        return result

    def _mastered_hint(self, exc: MasteredElsewhere, params: Mapping[str, Any]) -> None:
        """Graph refused a property another authority masters: say which one, by the user's
        onPremisesSyncEnabled (one read, only on this failure)."""
        from pswrap.remote.classify import mastered_hint

        user_id = params.get("UserId")
        if not user_id:
            return
        try:
            found = self.session.step("graph/get-user", params={"UserId": user_id})
        except PswrapError:
            return
        user = getattr(found, "user", None)
        if user is not None:
            exc.hint = mastered_hint(user.on_premises_sync_enabled)

    def _verifier(
        self, step_id: str, choices: Mapping[str, str], params: Mapping[str, Any]
    ) -> Callable[[], Any] | None:
        """The read-back of a changing step, bound to this call's inputs (None: nothing to read back)."""
        from pswrap import steps

        try:
            step = steps.get(step_id)
        except PswrapError:
            return None
        read_back = step.read_back
        if not step.changes or read_back is None:
            return None
        sent_at = datetime.now(timezone.utc)

        def verify() -> Any:
            read_choices, read_params = read_back.inputs(choices, params)
            found = self.session.step(read_back.step, choices=read_choices or None, params=read_params)
            applied = read_back.applied(found, params, sent_at)
            self.read_back.append((step_id, applied is not None))
            log.info(
                "%s: its reply was lost; %s read back that it %s",
                step_id,
                read_back.step,
                "applied" if applied is not None else "did not apply (sending it again)",
            )
            return applied

        return verify

    def _ended(
        self, seq: int | None, status: str, *, summary: dict[str, Any] | None = None, error: str | None = None
    ) -> None:
        """Close the journal record `seq` (None: this run keeps no journal)."""
        if seq is not None and self.journal is not None and self.op_id is not None:
            self.journal.step_ended(self.op_id, seq, status, summary=summary, error=error)
