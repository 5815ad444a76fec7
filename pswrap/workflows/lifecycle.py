"""What `mailbox remove`, `restore` and `unlink` share: reading the link, the record a restore needs,
the journaled operation, sync cycles that watch for the deletion threshold, and the result.

The record (kept in the operation's journal state before anything changes) is everything a restore
needs: the spec as `mailbox show` gives it, the mailbox's addresses, the AD account's attributes and OU,
the anchor (the cloud user's ImmutableId) and the sync server's anchor attribute.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pswrap.dn import parent_of, rdn_value
from pswrap.errors import BadInput, NeedsHuman, PswrapError, Refused, WaitTimeout
from pswrap.journal import Journal
from pswrap.workflows.inputs import TargetFacts
from pswrap.workflows.ports import Progress, StepSession, anchor_of, no_progress
from pswrap.workflows.results import FAILED, PENDING_SYNC, REFUSED, MailboxResult
from pswrap.workflows.steps_run import JournaledRunner
from pswrap.workflows.sync_wait import Deadline, start_cycle, wait_until_idle

RESOURCE_TYPES = {"RoomMailbox": "room", "EquipmentMailbox": "equipment", "SharedMailbox": "shared"}
RETENTION_DAYS = 30
"""Entra ID keeps a deleted user 30 days ("Restore or remove a recently deleted user"); Exchange Online a
soft-deleted mailbox 30 days ("Delete or restore user mailboxes in Exchange Online")."""
THRESHOLD_RESULT = "stopped-deletion-threshold-exceeded"
"""The export run's status when the deletion threshold stopped it ("Microsoft Entra Connect Sync: Prevent
accidental deletes")."""
THRESHOLD_WAY_OUT = (
    "the sync server's export stopped at its deletion threshold (Learn: 'Microsoft Entra Connect Sync: "
    "Prevent accidental deletes'); nothing was deleted in Entra ID. pswrap never reads or disables the "
    "threshold (reading it needs an interactive Entra sign-in). An admin checks the pending deletions in "
    "the Synchronization Service Manager; if they are all intended, lets this one export through as that "
    "page describes (disable the threshold, run the export, enable it again); then `pswrap resume {op}`"
)
PLANNED = "planned"
Confirm = Callable[[list[str]], bool]
"""Asked with the plan's lines before the first change; False declines (nothing changes)."""


class WindowPassed(NeedsHuman):
    """A restore that cannot happen (past the retention window, or an anchor no new account can carry):
    refused before any change, exit 6, with what is gone and what can still be done."""


@dataclass
class Linked:
    """A mailbox and the AD account pswrap would act on, with how they are linked."""

    mailbox: Any
    cloud_user: Any | None
    ad_user: Any | None
    anchor_attribute: str
    ad_anchor: str | None

    @property
    def mailbox_type(self) -> str | None:
        return RESOURCE_TYPES.get(str(self.mailbox.recipient_type_details))

    @property
    def linked(self) -> bool:
        cloud = self.cloud_user
        return bool(
            cloud is not None
            and cloud.on_premises_sync_enabled
            and self.ad_anchor is not None
            and cloud.on_premises_immutable_id == self.ad_anchor
        )


def read_linked(run: Callable[..., Any], alias: str) -> Linked | None:
    """The mailbox by alias (None when there is none), its cloud user, the AD account holding the cloud
    user's UPN and that account's anchor by the sync server's anchor attribute."""
    found = run("exo/find-mailbox", params={"Identity": alias})
    if not found.found or str(found.mailbox.alias).lower() != alias.lower():
        return None
    mailbox = found.mailbox
    settings = run("sync/get-settings")
    cloud = None
    user_id = mailbox.external_directory_object_id or mailbox.user_principal_name
    if user_id:
        lookup = run("graph/get-user", params={"UserId": user_id})
        cloud = lookup.user if lookup.found else None
    ad_user = None
    ad_anchor = None
    if cloud is not None:
        account = run("ad/find-user", choices={"by": "upn"}, params={"Value": cloud.user_principal_name})
        if account.found:
            ad_user = account.user
            ad_anchor = anchor_of(ad_user.object_guid, ad_user.consistency_guid, settings.anchor_attribute)
    return Linked(mailbox, cloud, ad_user, settings.anchor_attribute, ad_anchor)


def refuse_unless_removable(linked: Linked, alias: str, verb: str) -> None:
    """Only resource and shared mailboxes, and only one synced from the AD account pswrap would act on."""
    mailbox = linked.mailbox
    if linked.mailbox_type is None:
        raise Refused(
            f"{alias} is a {mailbox.recipient_type_details}: pswrap {verb}s only room, equipment and shared "
            "mailboxes",
            hint="a user mailbox follows its owner's account; change it with your identity lifecycle",
        )
    if linked.cloud_user is None or not linked.cloud_user.on_premises_sync_enabled:
        raise Refused(
            f"{alias} is not synced from on-premises AD (a cloud-only mailbox): there is no AD account whose "
            f"{'removal' if verb == 'remove' else 'source of authority'} pswrap could act on",
            hint="a cloud-only mailbox is removed in Exchange Online (Remove-Mailbox), not through sync",
        )
    if linked.ad_user is None:
        raise Refused(
            f"{alias} is synced, but no AD account holds its UPN {linked.cloud_user.user_principal_name}: "
            "pswrap cannot tell which account is linked",
            hint="`pswrap mailbox show` prints both anchors; fix the account's UPN first",
        )
    if not linked.linked:
        raise Refused(
            f"{alias} is not linked to the AD account {linked.ad_user.sam_account_name}: its anchor "
            f"{linked.ad_anchor} ({linked.anchor_attribute}) differs from the cloud user's ImmutableId "
            f"{linked.cloud_user.on_premises_immutable_id}; {verb} would act on the wrong account",
            hint="`pswrap mailbox show` prints both anchors; find the account the cloud user is synced from",
        )


def make_record(linked: Linked, spec: dict[str, Any], kept: bool) -> dict[str, Any]:
    """What a restore needs, as JSON (journal state)."""
    ad = linked.ad_user
    cloud = linked.cloud_user
    assert ad is not None and cloud is not None
    return {
        "alias": linked.mailbox.alias,
        "type": linked.mailbox_type,
        "spec": spec,
        "addresses": list(linked.mailbox.email_addresses),
        "primary_smtp_address": linked.mailbox.primary_smtp_address,
        "cloud_user_id": cloud.id,
        "cloud_user_upn": cloud.user_principal_name,
        "anchor": cloud.on_premises_immutable_id,
        "anchor_attribute": linked.anchor_attribute,
        "ad_account": {
            **ad.model_dump(mode="json"),
            "name": rdn_value(ad.distinguished_name),
            "ou": parent_of(ad.distinguished_name),
        },
        "ad_account_kept": kept,
    }


@dataclass
class LifecycleResult:
    """The shared result contract plus what these commands add: the plan, and until when a restore works."""

    result: MailboxResult
    kind: str
    alias: str
    plan: list[str] = field(default_factory=list)
    restorable_until: str | None = None
    mailbox_state: str | None = None
    dry_run: bool = False

    @property
    def exit_code(self) -> int:
        return self.result.exit_code

    @property
    def error(self) -> PswrapError | None:
        return self.result.error

    def to_json(self, *, diff: bool = False) -> dict[str, Any]:
        """The shared result shape plus `kind`, `plan`, `restorable_until`, `mailbox_state` (`diff` is
        accepted for `mailbox apply`'s printer; a removal has no field-by-field diff)."""
        out = self.result.to_json()
        out["kind"] = self.kind
        if self.plan:
            out["plan"] = list(self.plan)
        if self.dry_run:
            out["dry_run"] = True
        if self.restorable_until is not None:
            out["restorable_until"] = self.restorable_until
        if self.mailbox_state is not None:
            out["mailbox_state"] = self.mailbox_state
        return out

    def to_text(self) -> str:
        lines = [self.result.to_text()]
        if self.dry_run or (self.plan and not self.result.changed):
            lines.append(f"  plan ({self.kind} {self.alias}):")
            lines.extend(f"    {n}. {line}" for n, line in enumerate(self.plan, start=1))
        if self.mailbox_state:
            lines.append(f"  mailbox now:  {self.mailbox_state}")
        if self.restorable_until:
            lines.append(f"  restorable until {self.restorable_until}: `pswrap mailbox restore {self.alias}`")
        return "\n".join(lines)


class Operation:
    """The journaled operation of one lifecycle command: opened (or continued) by kind and alias."""

    def __init__(
        self,
        session: StepSession,
        journal: Journal | None,
        *,
        kind: str,
        alias: str,
        target: str,
        args: dict[str, Any],
        op_id: str | None,
        progress: Progress = no_progress,
    ) -> None:
        self.session = session
        self.journal = journal
        self.kind = kind
        self.progress = progress
        self.state: dict[str, Any] = {}
        if journal is not None:
            existing = journal.get(op_id) if op_id else journal.find_open(kind, target, alias.lower())
            if existing is not None and existing.kind != kind:
                raise BadInput(f"operation {existing.id} is a {existing.kind}, not a {kind}")
            if existing is None:
                op_id = journal.start(kind, args, target=target, identity=alias.lower())
            else:
                op_id = existing.id
                self.state = dict(existing.state)
                progress(f"continuing operation {op_id}")
            journal.set_status(op_id, "running")
        self.op_id = op_id
        self.run = JournaledRunner(session, journal, op_id, progress)

    def remember(self, **values: Any) -> None:
        self.state.update(values)
        if self.journal is not None and self.op_id is not None:
            self.journal.update_state(self.op_id, **values)

    def close(self, out: LifecycleResult) -> None:
        if self.journal is not None and self.op_id is not None:
            self.journal.set_status(self.op_id, out.result.status, out.to_json())

    def interrupted(self) -> None:
        if self.journal is not None and self.op_id is not None:
            self.journal.set_status(self.op_id, "interrupted")


def cycle_until(
    op: Operation,
    deadline: Deadline,
    check: Callable[[], Any | None],
    *,
    what: str,
    check_first: bool = True,
) -> Any:
    """Run delta cycles until `check()` answers (asked once first: a resumed run may find it done); a run
    the deletion threshold stopped ends it (exit 6)."""
    session, run = op.session, op.run
    answer = check() if check_first else None
    if answer is not None:
        return answer
    seen = {r.run_history_id for r in run("sync/get-run-results", params={"NumberRequested": 10}).runs}
    cycles = 0
    while True:
        start_cycle(run, session, deadline, progress=op.progress)
        cycles += 1
        op.progress(f"sync cycle {cycles} started; waiting for it to end")
        wait_until_idle(session, deadline, op.progress, None)
        results = run("sync/get-run-results", params={"NumberRequested": 10})
        fresh = [r for r in results.runs if r.run_history_id not in seen]
        seen |= {r.run_history_id for r in fresh}
        if any(r.result == THRESHOLD_RESULT for r in fresh):
            raise NeedsHuman(
                f"the deletion of {what} was not exported: the sync run stopped at the export deletion "
                f"threshold ({THRESHOLD_RESULT})",
                hint=THRESHOLD_WAY_OUT.format(op=op.op_id),
            )
        answer = check()
        if answer is not None:
            op.progress(f"{what}: done after {cycles} cycle(s)")
            return answer
        if deadline.passed():
            raise WaitTimeout(
                f"{what} was not visible in the cloud within {deadline.seconds:g} s ({cycles} sync cycle(s))",
                hint=f"the operation is journaled: `pswrap resume {op.op_id}` continues it",
            )


def finish(op: Operation, out: LifecycleResult, body: Callable[[], None]) -> LifecycleResult:
    """Run `body`, turn its errors into the result (pending-sync on a timeout), journal the end."""
    result = out.result
    try:
        body()
    except WaitTimeout as exc:
        result.status, result.error = PENDING_SYNC, exc
    except (Refused, BadInput, WindowPassed) as exc:
        if result.changes:
            result.status, result.error = FAILED, exc
        else:  # before any change: the item's result is a refusal (nothing to resume)
            result.status, result.error = REFUSED, exc
    except PswrapError as exc:
        result.status, result.error = FAILED, exc
    except BaseException:
        op.interrupted()
        raise
    result.changed = bool(result.changes)
    result.operation = op.op_id
    op.close(out)
    if out.dry_run:  # a dry run changes nothing; `changed` says whether it would
        result.changed = result.status == PLANNED
    return out


class LifecycleWorkflow:
    """What `mailbox remove`, `restore` and `unlink` are built on: one constructor, and the journaled
    operation and result each run starts with (`finish` ends it)."""

    def __init__(
        self,
        session: StepSession,
        target: TargetFacts,
        *,
        journal: Journal,
        progress: Progress = no_progress,
        confirm: Confirm | None = None,
    ) -> None:
        self.session = session
        self.target = target
        self.journal = journal
        self.progress = progress
        self.confirm = confirm

    def _begin(
        self, kind: str, verb: str, alias: str, args: dict[str, Any], *, dry_run: bool, op_id: str | None
    ) -> tuple[Operation, LifecycleResult]:
        """Open (or continue) the operation, journaled unless `dry_run`, and its result, failed until the
        run says otherwise."""
        op = Operation(
            self.session,
            None if dry_run else self.journal,
            kind=kind,
            alias=alias,
            target=self.target.name,
            args=args,
            op_id=op_id,
            progress=self.progress,
        )
        out = LifecycleResult(
            MailboxResult(op.op_id, FAILED, target=self.target.name), verb, alias, dry_run=dry_run
        )
        return op, out
