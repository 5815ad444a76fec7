"""The sync server, the doctor and the journal: the part of `pswrap.api.Pswrap` that is not about one
mailbox. A mixin so that `api.py` stays one screenful per concern; use it through `pswrap.api.connect`.
"""

from __future__ import annotations

from typing import Any

from pswrap.api_models import Checklist, OperationDetail, SyncStarted, SyncStatus, SyncWaited
from pswrap.choices import DoctorHold, DoctorProfile, Profile, SyncPolicy
from pswrap.errors import BadInput, PswrapError, SyncBusy
from pswrap.journal import Journal, Operation
from pswrap.workflows.ports import Progress


class ServerOperations:
    """Needs from the class it is mixed into: `journal`, `progress`, `_session(profile)` and
    `_default_profile()` (pswrap.api.Pswrap has them)."""

    journal: Journal
    progress: Progress

    def _session(self, profile: str) -> Any:
        raise NotImplementedError

    def _default_profile(self) -> Profile:
        raise NotImplementedError

    # --- sync -----------------------------------------------------------------------------------

    def _sync_session(self) -> Any:
        profile = self._default_profile()
        return self._session("modern" if profile == "legacy" else profile)

    def sync_status(self) -> SyncStatus:
        """The sync server's anchor attribute and staging mode, its scheduler, and pswrap's leases."""
        s = self._sync_session()
        settings = s.step("sync/get-settings")
        scheduler = s.step("sync/get-scheduler")
        try:
            leases = list(s.step("sync/list-leases").leases)
        except PswrapError:  # the status is still worth printing; the leases are shown as unknown
            leases = None
        return SyncStatus(settings=settings, scheduler=scheduler, leases=leases)

    def start_sync(self, *, initial: bool = False) -> SyncStarted:
        """Start a Delta cycle (an Initial one with `initial`); `SyncBusy` (exit 5) while one runs."""
        s = self._sync_session()
        policy: SyncPolicy = "initial" if initial else "delta"
        try:
            started = s.step("sync/start-cycle", choices={"policy": policy})
        except SyncBusy as exc:
            exc.hint = "a cycle is running; `pswrap sync wait` waits for it to end"
            raise
        return SyncStarted(policy=policy, result=str(started.result))

    def wait_sync(self, *, timeout: float = 600.0) -> SyncWaited:
        """Wait until no cycle is in progress; `WaitTimeout` (exit 7) after `timeout` seconds."""
        from pswrap.workflows.inputs import check_seconds
        from pswrap.workflows.sync_wait import Deadline, wait_until_idle

        check_seconds(timeout, "--sync-timeout")
        s = self._sync_session()
        state = wait_until_idle(s, Deadline(timeout), self.progress)
        return SyncWaited(scheduler=state)

    # --- the doctor -----------------------------------------------------------------------------

    def doctor(self, *, profile: DoctorProfile | None = None, hold: DoctorHold | None = None) -> Checklist:
        """The preflight checklist (read-only): connection, modules, sync engine, tenant and AD.

        `profile` defaults to the target's (a legacy target is checked as modern: legacy never runs);
        `hold` to the hold `create_mailbox` would pick on this sync server. The checklist's `ok` and
        `exit_code` say whether the runbook can run.
        """
        from pswrap.workflows.preflight import run_checks

        chosen: DoctorProfile
        if profile is not None:
            chosen = profile
        else:
            default = self._default_profile()
            chosen = "hybrid-tools" if default == "hybrid-tools" else "modern"
        session = self._session(chosen)
        checks = run_checks(session, profile=chosen, hold=hold, progress=self.progress)
        target = session.target
        return Checklist(target=target.name, is_lab=bool(target.is_lab), profile=chosen, checks=checks)

    # --- the journal ----------------------------------------------------------------------------

    def operations(self, limit: int = 50) -> list[Operation]:
        return self.journal.recent(limit)

    def operation(self, operation_id: str) -> OperationDetail:
        op = self.journal.get(operation_id)
        if op is None:
            raise BadInput(
                f"no operation {operation_id!r} in the journal ({self.journal.path})",
                hint="`pswrap ops list` shows the operations on this machine",
            )
        return OperationDetail(op, self.journal.steps(op.id))
