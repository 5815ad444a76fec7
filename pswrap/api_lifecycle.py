"""Lifecycle (`mailbox remove|restore|unlink`, `state: absent`): the part of `pswrap.api.Pswrap` that takes a
resource mailbox out through sync, brings it back within the retention window, or backs it out to
cloud-managed. A mixin so that `api.py` stays one concern; use it through `pswrap.api.connect`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pswrap.api_desired import DesiredState
from pswrap.journal import Operation
from pswrap.workflows.lifecycle import LifecycleResult, LifecycleWorkflow

LIFECYCLE_KINDS = ("mailbox.remove", "mailbox.restore", "mailbox.unlink")
_Flow = TypeVar("_Flow", bound=LifecycleWorkflow)


class Lifecycle(DesiredState):
    """Removal is desired state too (`state: absent`), and restore re-applies the recorded spec: so this
    extends the desired-state mixin, with the same needs from the class it is mixed into."""

    def _remove_absent(
        self, alias: str, *, dry_run: bool, wait: bool, sync_timeout: float, check: bool
    ) -> LifecycleResult:
        out: LifecycleResult = self.remove_mailbox(
            alias, dry_run=dry_run, wait=wait, sync_timeout=sync_timeout, check=check, missing_ok=True
        )
        return out

    # --- lifecycle (issue #16): mailbox remove, restore, unlink; state: absent ----------------------

    def _describe(self, alias: str) -> dict[str, Any]:
        from pswrap.desired.show import show

        return show(self._lazy("modern"), alias)

    def _run_lifecycle(
        self,
        flow: type[_Flow],
        confirm: Callable[[list[str]], bool] | None,
        check: bool,
        run: Callable[[_Flow], LifecycleResult],
    ) -> LifecycleResult:
        """Build the workflow on the modern profile, `run` it, and raise its error when `check`."""
        built = flow(
            self._lazy("modern"), self._target_facts(), journal=self.journal, progress=self.progress,
            confirm=confirm,
        )  # fmt: skip
        out = run(built)
        if check:
            out.result.raise_for_error()
        return out

    def remove_mailbox(
        self,
        alias: str,
        *,
        keep_ad_account: bool = False,
        dry_run: bool = False,
        wait: bool = True,
        sync_timeout: float = 600.0,
        confirm: Callable[[list[str]], bool] | None = None,
        check: bool = True,
        op_id: str | None = None,
        missing_ok: bool = False,
    ) -> LifecycleResult:
        """Remove a resource mailbox through sync (pswrap.workflows.remove); a `LifecycleResult`.
        `missing_ok`: a mailbox that does not exist is `unchanged` (as `state: absent` wants)."""
        from pswrap.workflows.remove import RemoveWorkflow

        return self._run_lifecycle(
            RemoveWorkflow, confirm, check,
            lambda flow: flow.remove(
                alias, describe=self._describe, keep_ad_account=keep_ad_account, dry_run=dry_run,
                wait=wait, timeout=sync_timeout, op_id=op_id, missing_ok=missing_ok,
            ),
        )  # fmt: skip

    def restore_mailbox(
        self,
        what: str,
        *,
        dry_run: bool = False,
        wait: bool = True,
        sync_timeout: float = 600.0,
        confirm: Callable[[list[str]], bool] | None = None,
        check: bool = True,
        op_id: str | None = None,
    ) -> LifecycleResult:
        """Restore a removed mailbox (ALIAS or the removal's operation id) within the retention window."""
        from pswrap.workflows.restore import RestoreWorkflow

        def reapply(spec: dict[str, Any]) -> Any:
            return self.apply_mailbox(spec, wait=wait, sync_timeout=sync_timeout, check=False)

        return self._run_lifecycle(
            RestoreWorkflow, confirm, check,
            lambda flow: flow.restore(
                what, reapply=reapply, dry_run=dry_run, wait=wait, timeout=sync_timeout, op_id=op_id
            ),
        )  # fmt: skip

    def unlink_mailbox(
        self,
        alias: str,
        *,
        delete_ad_account: bool = False,
        dry_run: bool = False,
        sync_timeout: float = 600.0,
        confirm: Callable[[list[str]], bool] | None = None,
        check: bool = True,
        op_id: str | None = None,
    ) -> LifecycleResult:
        """Back out to cloud-managed with the user source-of-authority switch (pswrap.workflows.unlink)."""
        from pswrap.workflows.unlink import UnlinkWorkflow

        return self._run_lifecycle(
            UnlinkWorkflow, confirm, check,
            lambda flow: flow.unlink(
                alias, describe=self._describe, delete_ad_account=delete_ad_account, dry_run=dry_run,
                timeout=sync_timeout, op_id=op_id,
            ),
        )  # fmt: skip

    def resume_lifecycle(
        self, operation_id: str, *, timeout: float | None = None, check: bool = True
    ) -> LifecycleResult:
        """`pswrap resume` of a removal, restore or unlink, with its whole result (plan, restore window)."""
        from pswrap.errors import BadInput

        op = self.journal.get(operation_id)
        if op is None or op.kind not in LIFECYCLE_KINDS:
            raise BadInput(
                f"{operation_id!r} is not a removal, restore or unlink in the journal ({self.journal.path})",
                hint="`pswrap ops list` shows the operations on this machine",
            )
        return self._resume_lifecycle(op, timeout, check)

    def _resume_lifecycle(self, op: Operation, timeout: float | None, check: bool) -> LifecycleResult:
        """`pswrap resume` of a removal, restore or unlink: the same command, continued (check-then-act)."""
        args = op.args
        seconds = timeout if timeout is not None else float(args.get("timeout", 600.0))
        if op.kind == "mailbox.remove":
            return self.remove_mailbox(
                args["alias"], keep_ad_account=bool(args.get("keep_ad_account")), sync_timeout=seconds,
                check=check, op_id=op.id,
            )  # fmt: skip
        if op.kind == "mailbox.restore":
            return self.restore_mailbox(args["from"], sync_timeout=seconds, check=check, op_id=op.id)
        return self.unlink_mailbox(
            args["alias"], delete_ad_account=bool(args.get("delete_ad_account")), sync_timeout=seconds,
            check=check, op_id=op.id,
        )  # fmt: skip
