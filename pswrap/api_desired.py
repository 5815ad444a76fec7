"""Desired state (`mailbox apply|show|list`): the part of `pswrap.api.Pswrap` that reads and converges
mailboxes to a spec (pswrap.desired). A mixin so that `api.py` stays one concern; use it through
`pswrap.api.connect`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from pswrap.api_models import ListedMailbox, ShownMailbox
from pswrap.choices import Hold, MailboxType, Profile
from pswrap.errors import BadInput
from pswrap.journal import Journal, Operation
from pswrap.secrets import Secret
from pswrap.workflows.inputs import TargetFacts
from pswrap.workflows.mailbox import MailboxWorkflow
from pswrap.workflows.ports import Progress, StepSession
from pswrap.workflows.results import MailboxResult

if TYPE_CHECKING:
    from pswrap.api import Pswrap
    from pswrap.desired.apply import ApplyResult
    from pswrap.desired.batch import BatchResult
    from pswrap.desired.batch_load import Row
    from pswrap.desired.spec import MailboxSpec
    from pswrap.workflows.lifecycle import LifecycleResult


class DesiredState:
    """Needs from the class it is mixed into: `journal`, `progress`, `_lazy(profile)` (a session that
    connects on first use), `_workflow(profile)`, `_target_facts()` and `_default_profile()`."""

    journal: Journal
    progress: Progress

    def _lazy(self, profile: str) -> StepSession:
        raise NotImplementedError

    def _workflow(self, profile: str, sign_in_password: Secret | None = None) -> MailboxWorkflow:
        raise NotImplementedError

    def _target_facts(self) -> TargetFacts:
        raise NotImplementedError

    def _default_profile(self) -> Profile:
        raise NotImplementedError

    def _remove_absent(
        self, alias: str, *, dry_run: bool, wait: bool, sync_timeout: float, check: bool
    ) -> LifecycleResult:
        """`state: absent`: the removal workflow (pswrap.api_lifecycle.Lifecycle provides it)."""
        raise NotImplementedError

    # --- desired state (pswrap.desired: mailbox apply, show, list) -------------------------------

    def apply_mailbox(
        self,
        spec: MailboxSpec | Mapping[str, Any],
        *,
        dry_run: bool = False,
        wait: bool = True,
        sync_timeout: float = 600.0,
        profile: Profile | None = None,
        hold: Hold | None = None,
        check: bool = True,
    ) -> ApplyResult | LifecycleResult:
        """Converge one mailbox to `spec` (a `pswrap.desired.spec.MailboxSpec` or a mapping of its fields).

        Returns a `pswrap.desired.apply.ApplyResult` (`.result` is the `MailboxResult`); `dry_run` is check
        mode: nothing changes and `changed` says whether something would.
        """
        from pswrap.desired.apply import ApplyOptions, converge
        from pswrap.desired.load import validate
        from pswrap.desired.spec import MailboxSpec

        if not isinstance(spec, MailboxSpec):
            spec = validate(spec, "spec")
        if spec.state == "absent":  # removal: the same workflow as `mailbox remove` (docs/lifecycle.md)
            return self._remove_absent(
                spec.alias, dry_run=dry_run, wait=wait, sync_timeout=sync_timeout, check=check
            )
        chosen = profile or self._default_profile()
        if chosen != "modern":
            raise BadInput(
                f"mailbox apply needs the modern profile, not {chosen}",
                hint="calendar processing is read and written in Exchange Online (--profile modern)",
            )
        options = ApplyOptions(
            dry_run=dry_run, wait=wait, sync_timeout=sync_timeout, profile=chosen, hold=hold
        )
        out = converge(
            self._lazy(chosen),
            spec,
            options,
            journal=self.journal,
            target_name=self._target_facts().name,
            workflow=lambda: self._workflow(chosen),
            progress=self.progress,
        )
        if check:
            out.result.raise_for_error()
        return out

    def _resume_apply(
        self, op: Operation, *, wait: bool | None, timeout: float | None, check: bool
    ) -> MailboxResult:
        """`pswrap resume` of an interrupted `mailbox apply`: the recorded spec converged again under the
        same operation. It reads first and changes only what still differs, so a change the first run made
        is not made twice."""
        from pswrap.desired.apply import ApplyOptions, converge
        from pswrap.desired.spec import MailboxSpec

        spec = MailboxSpec.model_validate(op.args)
        options = ApplyOptions(wait=True if wait is None else wait, profile="modern")
        if timeout is not None:
            options.sync_timeout = timeout
        out = converge(
            self._lazy("modern"),
            spec,
            options,
            journal=self.journal,
            target_name=op.target or self._target_facts().name,
            workflow=lambda: self._workflow("modern"),
            progress=self.progress,
            operation=op.id,
        )
        if check:
            out.result.raise_for_error()
        return out.result

    def apply_batch(self, rows: list[Row], **options: Any) -> BatchResult:
        """Many specs at once (`pswrap.desired.batch_load.Row`s): read in bulk, plan all, apply on
        `parallel` workers, one sync cycle for all. Options: parallel, dry_run, wait, sync_timeout,
        profile, hold, listener (see pswrap.api_batch)."""
        from pswrap.api_batch import apply_batch

        # The batch opens more sessions of the same client (pswrap.api_batch): it needs the whole Pswrap.
        return apply_batch(cast("Pswrap", self), rows, **options)

    def show_mailbox(self, alias: str) -> ShownMailbox:
        """The mailbox in the spec's shape (`.spec`), and its link as read (`.link`)."""
        from pswrap.desired.show import show

        return ShownMailbox.of(show(self._lazy("modern"), alias))

    def list_mailboxes(
        self, *, type: MailboxType | None = None, unlinked: bool = False, drift: bool = False
    ) -> list[ListedMailbox]:
        """The tenant's room, equipment and shared mailboxes, read in bulk, with their link state; `drift`
        adds what does not line up between Exchange Online, Entra ID and AD (and keeps only those)."""
        from pswrap.desired.listing import domain_of, list_mailboxes

        base = domain_of(self._target_facts().resource_ou)
        rows = list_mailboxes(
            self._lazy("modern"), kind=type, unlinked=unlinked, drift=drift, search_base=base
        )
        return [ListedMailbox.of(row) for row in rows]
