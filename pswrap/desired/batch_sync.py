"""One sync cycle for every account a batch created, watched all at once.

The accounts are all created before the cycle starts (the batch's apply phase), so one delta cycle
imports and exports every one of them. After the cycle, in one pass:
- the cycle's run results are read once; an export error about a mailbox's account (by its AD DN or
  its anchor, as sync_wait.ObjectOfInterest matches) fails that mailbox alone (exit 6, its hint);
- every mailbox the batch created is checked linked in bulk (batch_link: one read per system, both
  anchors compared) and completed; every other pending one is finished on the workers by the mailbox
  workflow again (it continues the mailbox's open operation and, seeing the link, reads back and
  completes), reported as it links;
- a mailbox still unlinked is checked for a stray duplicate (a new synced user with its anchor), which
  fails it alone;
- what is left (a change imported after the cycle's AD import) gets the next cycle, until the deadline;
  then it is pending_sync with a timeout (exit 7) and `pswrap resume` continues it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pswrap.desired.apply import ApplyOptions, request_for
from pswrap.errors import PswrapError, WaitTimeout
from pswrap.journal import Journal
from pswrap.workflows.results import COMPLETED, PENDING_SYNC, Change, MailboxResult
from pswrap.workflows.steps_run import JournaledRunner
from pswrap.workflows.sync_stray import find_stray, stray_error
from pswrap.workflows.sync_wait import (
    Deadline,
    ObjectOfInterest,
    export_error,
    known_runs,
    refuse_when_suspended,
    start_cycle,
    wait_until_idle,
)

if TYPE_CHECKING:
    from pswrap.desired.batch import Batch, Item, Worker


def ours(result: MailboxResult) -> ObjectOfInterest:
    ad = result.ad_user or {}
    cloud = result.cloud_user or {}
    return ObjectOfInterest(
        ad.get("distinguished_name"),
        result.immutable_id,
        cloud_user_id=cloud.get("id"),
        account=ad.get("sam_account_name"),
        upn=ad.get("user_principal_name"),
    )


def _what(result: MailboxResult) -> str:
    target = ours(result)
    return target.describe(f"the account {target.account or 'of the mailbox'}")


def wait_for_all(batch: Batch, pending: list[Item]) -> int:
    """Cycles until every pending item is linked, failed, or the deadline passed; the cycles started."""
    worker = batch.workers[0]
    session = worker.session
    deadline = Deadline(batch.options.sync_timeout)
    runner = JournaledRunner(session, batch.journal, batch.op_id)
    try:
        refuse_when_suspended(session)
        seen = known_runs(session)
    except PswrapError as exc:
        for item in pending:
            _fail(batch, item, exc)
        return 0
    cycles = 0
    left = list(pending)
    while left:
        try:
            start_cycle(runner, session, deadline)
            cycles += 1
            wait_until_idle(session, deadline, what=None)
            errors = _new_export_errors(session, seen)
        except PswrapError as exc:
            for item in left:
                _fail(batch, item, exc, PENDING_SYNC if isinstance(exc, WaitTimeout) else None)
            return cycles
        for item in list(left):
            found = next((e for e in errors if ours(item.out.result).matches(e)), None)
            if found is not None:
                _fail(batch, item, export_error(found, _what(item.out.result)))
        from pswrap.desired.batch_link import link_in_bulk

        rest = link_in_bulk(batch, [i for i in left if not i.done])  # what this run created, in bulk
        batch.parallel(_finish_one(batch), [i for i in rest if not i.done])
        left = [i for i in left if not i.done]
        if left and deadline.passed():
            for item in left:
                timeout = WaitTimeout(
                    f"the link was not visible in the cloud within {deadline.seconds:g} s ({cycles} sync "
                    "cycle(s))",
                    hint=f"`pswrap resume {batch.op_id}` or the same command continues",
                )
                _fail(batch, item, timeout, PENDING_SYNC)
            break
    return cycles


def _new_export_errors(session: Any, seen: set[str]) -> list[Any]:
    results = session.step("sync/get-run-results", params={"NumberRequested": 10})
    errors: list[Any] = []
    for run in results.runs:
        if run.run_history_id not in seen:
            seen.add(run.run_history_id)
            errors.extend(run.export_errors)
    return errors


def _finish_one(batch: Batch) -> Any:
    def finish(worker: Worker, item: Item) -> None:
        spec = item.row.spec
        assert spec is not None
        result = item.out.result
        options = ApplyOptions(
            wait=False, sync_timeout=batch.options.sync_timeout, profile=batch.options.profile,
            hold=batch.options.hold,
        )  # fmt: skip
        try:
            ran = worker.workflow().create(request_for(spec, options))
        except PswrapError as exc:
            _fail(batch, item, exc)
            return
        assert isinstance(ran, MailboxResult)
        if ran.error is not None:
            _fail(batch, item, ran.error)
            return
        if ran.status == COMPLETED:
            _linked(batch, item, ran)
            return
        target = ours(result)
        try:
            stray = find_stray(worker.session, target.source_anchor, target.cloud_user_id)
        except PswrapError:
            return  # the next cycle looks again
        if stray is not None:
            _fail(
                batch,
                item,
                stray_error(
                    stray, what=_what(result), anchor=str(target.source_anchor), mailbox_user=None,
                    wanted_upn=target.upn,
                ),
            )  # fmt: skip

    return finish


def _linked(batch: Batch, item: Item, ran: MailboxResult) -> None:
    result = item.out.result
    result.changes = [
        Change(c.field, c.before, True, c.where) if c.field == "link" else c for c in result.changes
    ]
    result.changes.extend(ran.changes)
    result.drift.extend(ran.drift)
    result.steps_run.extend(s for s in ran.steps_run if s not in result.steps_run)
    result.cloud_user = ran.cloud_user or result.cloud_user
    result.mailbox = ran.mailbox or result.mailbox
    result.ad_user = ran.ad_user or result.ad_user
    result.immutable_id = ran.immutable_id or result.immutable_id
    result.status = COMPLETED
    result.changed = bool(result.changes)
    _record(batch.journal, item)
    batch.finish(item)


def _fail(batch: Batch, item: Item, error: PswrapError, status: str | None = None) -> None:
    result = item.out.result
    result.error = error
    result.status = status or "failed"
    result.changed = bool(result.changes)
    _record(batch.journal, item)
    batch.finish(item)


def _record(journal: Journal | None, item: Item) -> None:
    """The mailbox's apply operation (when it opened one) ends with the item's final result."""
    op = item.out.result.operation
    if journal is not None and op is not None:
        journal.set_status(op, item.out.result.status, item.out.to_json())
