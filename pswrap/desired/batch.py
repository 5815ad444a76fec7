"""Many mailboxes at once: read in bulk, plan all, apply all in parallel, then ONE sync cycle for all.

Phases (each reported to the listener, which draws the progress display):
1. reading: one filtered read of Exchange Online for every mailbox of the batch (exo/list-mailboxes:
   Get-EXOMailbox by recipient type, paged by the service; no alias filter, so no filter-length limit
   applies), then each mailbox's calendar processing where its spec manages it (one pipeline each, on the
   parallel workers);
2. planning: every mailbox's diff; a refused one (an unknown principal, a type apply does not convert)
   fails alone; `dry_run` stops here with the plan;
3. applying: the mailboxes with something to change, on `len(workers)` workers (each its own session:
   one runspace pool of one runspace per need); the steps of one mailbox run in order on one worker.
   New accounts are created without waiting for sync;
4. waiting for sync: one delta cycle for all of them (started, or the running one awaited and a new one
   started, as sync_wait.start_cycle does), then every pending mailbox is checked at once and finished as
   its link shows; an export error or a stray duplicate fails only its own mailbox. Another cycle runs
   only for mailboxes a cycle did not link (it started before their change was imported).

Every item keeps its own journal records (the mailbox's create and apply operations); the batch's own
operation (`mailbox.batch`) records the file's entries, so `pswrap resume OP` applies them again, which
finishes what is not done and changes nothing that is.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from pswrap.desired import diff as d
from pswrap.desired import facts
from pswrap.desired.apply import PLANNED, ApplyOptions, ApplyResult, CreateWorkflow, _check_type, converge
from pswrap.desired.batch_load import Row
from pswrap.desired.batch_quota import BATCH_NEEDS
from pswrap.errors import BadInput, Conflict, PswrapError, TransportError
from pswrap.journal import Journal
from pswrap.workflows.ports import StepSession
from pswrap.workflows.results import (
    COMPLETED,
    FAILED,
    PENDING_SYNC,
    REFUSED,
    UNCHANGED,
    Change,
    MailboxResult,
    mailbox_json,
)

log = logging.getLogger("pswrap")

KIND_BATCH = "mailbox.batch"
AD_WRITTEN = ("display_name", "email", "addresses")
"""Identity fields apply writes in AD after the link (pswrap.desired.identity)."""

EXIT_ORDER = (6, 5, 4, 3, 7, 2, 0)
"""The most severe item's exit code wins, in this order (the contract for many items)."""

T = TypeVar("T")


@dataclass
class Worker:
    """One parallel lane: its own session (pools of one runspace per need) and the create workflow on it."""

    session: StepSession
    workflow: CreateWorkflow
    release: Callable[[], None] = lambda: None
    """Closes the worker's session (its shells), when the batch lets it go."""


class Listener(Protocol):
    def phase(self, name: str, total: int) -> None: ...
    def advance(self) -> None: ...
    def finished(self, item: ApplyResult) -> None: ...


class Quiet:
    def phase(self, name: str, total: int) -> None:
        pass

    def advance(self) -> None:
        pass

    def finished(self, item: ApplyResult) -> None:
        pass


@dataclass
class Item:
    row: Row
    out: ApplyResult
    observed: facts.Observed | None = None
    planned: list[Change] = field(default_factory=list)
    done: bool = False
    created: bool = False
    """Its mailbox was created in this run (its link is checked in bulk after the cycle: batch_link)."""
    reads_ad: bool = False
    """A value AD masters differs from Exchange Online's: only AD, read by converge, tells the change."""


@dataclass
class BatchResult:
    items: list[ApplyResult]
    operation: str | None = None
    dry_run: bool = False
    cycles: int = 0

    def summary(self) -> dict[str, int]:
        out = dict.fromkeys(("completed", "unchanged", "pending_sync", "failed", "refused"), 0)
        out = {"total": len(self.items), **out}
        if self.dry_run:
            out["planned"] = 0
        for item in self.items:
            key = item.result.status.replace("-", "_")
            if key in out:
                out[key] += 1
        return out

    @property
    def exit_code(self) -> int:
        return worst_exit([i.exit_code for i in self.items])


def _needs_link(observed: facts.Observed) -> bool:
    return observed.mailbox is None or not observed.mailbox.is_dir_synced


def worst_exit(codes: Iterable[int]) -> int:
    codes = list(codes)
    for code in EXIT_ORDER:
        if code in codes:
            return code
    return max(codes, default=0)


class Batch:
    def __init__(
        self,
        workers: list[Worker],
        options: ApplyOptions,
        *,
        journal: Journal | None,
        target_name: str | None,
        listener: Listener | None = None,
    ) -> None:
        if not workers:
            raise ValueError("a batch needs at least one worker")
        self.workers = workers
        self.options = options
        self.journal = None if options.dry_run else journal
        self.target_name = target_name
        self.listener: Listener = listener or Quiet()
        self.op_id: str | None = None
        self.refused_shells: PswrapError | None = None
        """The server's shell-quota fault, when it refused some workers' shells (the batch went on)."""
        self._free: queue.Queue[Worker] = queue.Queue()
        for worker in workers:
            self._free.put(worker)

    def claim(self, needs: tuple[str, ...]) -> None:
        """Open every worker's shells of these needs before sharing out work. A worker the server refuses
        a shell for its shell quota (wsman:QuotaLimit) is let go, its other shells closed: the batch goes
        on with the sessions it has instead of failing mailboxes or waiting for shells it holds itself.
        The first worker is always kept (its steps wait a quota out as any step does)."""
        if len(self.workers) == 1:
            return
        refused: dict[int, TransportError] = {}

        def open_one(worker: Worker) -> None:
            opener = getattr(worker.session, "open_shells", None)
            if opener is None:
                return
            try:
                opener(needs)
            except TransportError as exc:
                if exc.shell_quota:  # anything else: its steps meet it and retry as always
                    refused[id(worker)] = exc

        with ThreadPoolExecutor(max_workers=len(self.workers), thread_name_prefix="pswrap-claim") as pool:
            list(pool.map(open_one, self.workers))
        lost = [w for w in self.workers[1:] if id(w) in refused]
        if not lost:
            return
        self.refused_shells = next(iter(refused.values()))
        kept = [w for w in self.workers if w not in lost]
        for worker in lost:
            worker.release()
        if id(self.workers[0]) in refused:
            open_one(self.workers[0])  # the shells let go are free now; a refusal again is waited out
        self.workers = kept
        self._free = queue.Queue()
        for worker in kept:
            self._free.put(worker)
        log.warning(
            "the server refused %d of %d sessions their shells (its WinRM shell quota: %s); working on with "
            "%d", len(lost), len(lost) + len(kept), self.refused_shells.message, len(kept),
        )  # fmt: skip

    # --- running work on the workers ----------------------------------------------------------

    def parallel(self, work: Callable[[Worker, T], None], things: list[T]) -> None:
        """`work(worker, thing)` for each thing, each on a free worker; the first unexpected exception
        (an interrupt) is raised once every started piece has ended."""

        def one(thing: T) -> None:
            worker = self._free.get()
            try:
                work(worker, thing)
            finally:
                self._free.put(worker)
                self.listener.advance()

        if len(self.workers) == 1 or len(things) <= 1:
            for thing in things:
                one(thing)
            return
        pool = ThreadPoolExecutor(max_workers=len(self.workers), thread_name_prefix="pswrap-batch")
        try:
            futures = [pool.submit(one, thing) for thing in things]
            for future in futures:
                future.result()
        except BaseException:
            # Ctrl+C or a bug: nothing new starts; the steps under way end (each is journaled).
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)

    # --- the run ----------------------------------------------------------------------------------

    def run(
        self, rows: list[Row], *, operation: str | None = None, args: dict[str, Any] | None = None
    ) -> BatchResult:
        items = [Item(row, self._result(row)) for row in rows]
        for item in items:
            if item.row.error is not None:
                self._fail(item, item.row.error, REFUSED)
        valid = [i for i in items if not i.done]
        self.listener.phase("reading", len(valid))
        if any(self._reads_calendar(i) for i in valid[1:]):
            self.claim(("exo",))  # the calendar reads run on every worker
        self._read(valid)
        self.listener.phase("planning", len(valid))
        for item in valid:
            if not item.done:
                self._plan(item)
            self.listener.advance()
        todo = [i for i in valid if not i.done]
        if self.options.dry_run:
            # Check mode asks AD where the plan from Exchange Online cannot tell (converge's own dry run).
            self.parallel(self._check, [i for i in todo if i.reads_ad])
            for item in todo:
                if not item.done:
                    self._planned(item)
            return BatchResult([i.out for i in items], dry_run=True)
        self.op_id = operation  # a resumed batch keeps its operation
        if (todo or operation) and self.journal is not None:
            self.op_id = operation or self.journal.start(
                KIND_BATCH, args or {}, target=self.target_name, identity=f"batch:{len(rows)}"
            )
            self.journal.set_status(self.op_id, "running")
        result = BatchResult([], operation=self.op_id)
        try:
            if len(todo) > 1:  # a mailbox to create or link uses every need; a change of one, only exo
                linking = any(i.observed is None or _needs_link(i.observed) for i in todo)
                self.claim(BATCH_NEEDS if linking else ("exo",))
            self.listener.phase("applying", len(todo))
            self.parallel(self._apply, todo)
            pending = [i for i in todo if not i.done]
            if pending:
                from pswrap.desired.batch_sync import wait_for_all

                self.listener.phase("waiting for sync", len(pending))
                result.cycles = wait_for_all(self, pending)
        except BaseException:
            if self.journal is not None and self.op_id is not None:
                self.journal.set_status(self.op_id, "interrupted")
            raise
        result.items = [i.out for i in items]
        if self.journal is not None and self.op_id is not None:
            status = FAILED if any(i.out.result.status == FAILED for i in items) else COMPLETED
            if any(i.out.result.status == PENDING_SYNC for i in items):
                status = PENDING_SYNC
            self.journal.set_status(self.op_id, status, {"summary": result.summary()})
        return result

    def _result(self, row: Row) -> ApplyResult:
        return ApplyResult(
            MailboxResult(operation=None, status=FAILED, target=self.target_name or ""),
            row.alias,
            self.options.dry_run,
        )

    def finish(self, item: Item) -> None:
        """The item's result is final: report it once."""
        if not item.done:
            item.done = True
            item.observed = None  # what was read is not needed any more: a big batch stays small
            self.listener.finished(item.out)

    def _fail(self, item: Item, error: PswrapError, status: str = FAILED) -> None:
        item.out.result.status, item.out.result.error = status, error
        item.out.result.changed = bool(item.out.result.changes)
        self.finish(item)

    # --- reading and planning ---------------------------------------------------------------------

    def _read(self, items: list[Item]) -> None:
        if not items:
            return
        worker = self.workers[0]
        try:
            listed = worker.session.step("exo/list-mailboxes").mailboxes
        except PswrapError as exc:
            for item in items:
                self._fail(item, exc)
            return
        by_alias = {m.alias.lower(): m for m in listed}
        for item in items:
            assert item.row.spec is not None
            item.observed = facts.Observed(item.row.spec.alias, reads=["exo/list-mailboxes"])
            item.observed.mailbox = by_alias.get(item.row.spec.alias.lower())
        self.parallel(self._read_calendar, [i for i in items if self._reads_calendar(i)])

    @staticmethod
    def _reads_calendar(item: Item) -> bool:
        """An existing mailbox's calendar when the spec manages it; principals are resolved in the same
        read. A mailbox still to create has no calendar to read: every given field is a change."""
        spec, observed = item.row.spec, item.observed
        if spec is None or observed is None:
            return False
        named = bool(facts.principals_named(spec))
        return named or (spec.calendar is not None and observed.mailbox is not None)

    def _read_calendar(self, worker: Worker, item: Item) -> None:
        assert item.row.spec is not None and item.observed is not None
        try:
            facts.read_calendar(worker.session, item.observed, facts.principals_named(item.row.spec))
        except PswrapError as exc:
            self._fail(item, exc)

    def _plan(self, item: Item) -> None:
        spec, observed = item.row.spec, item.observed
        assert spec is not None and observed is not None
        try:
            facts.check_principals(observed, facts.principals_named(spec))
            _check_type(spec, observed)
        except (BadInput, Conflict) as exc:
            self._fail(item, exc, REFUSED)
            return
        planned: list[Change] = []
        if observed.mailbox is None:
            planned.append(Change("mailbox", None, spec.alias, "exo"))
        if observed.mailbox is None or not observed.mailbox.is_dir_synced:
            planned.append(Change("link", False, True, "sync"))
        changes, drift = d.identity_changes(spec, observed)
        if spec.calendar is not None:
            changes += d.calendar_changes(spec.calendar, observed)
        planned.extend(Change(c.field, c.before, c.after, c.where) for c in changes)
        item.planned = planned
        item.out.before.update({c.field: c.before for c in changes})
        item.out.after.update({c.field: c.after for c in changes})
        item.out.result.drift = drift
        # A value AD masters differs from Exchange Online's: only AD (read by converge) says whether it
        # is still to write or already written and waiting for the next sync cycle.
        linked = observed.mailbox is not None and observed.mailbox.is_dir_synced
        item.reads_ad = any(d.where == "ad" and d.field in AD_WRITTEN for d in drift) or bool(
            spec.ou is not None and linked  # the account's OU is known from AD only
        )
        if not planned and not item.reads_ad:
            result = item.out.result
            result.status, result.changed, result.drift = UNCHANGED, False, drift
            result.mailbox = mailbox_json(observed.mailbox)
            self.finish(item)

    def _planned(self, item: Item) -> None:
        result = item.out.result
        result.changes.extend(item.planned)
        result.changed = bool(item.planned)
        result.status = PLANNED if result.changed else UNCHANGED
        result.mailbox = mailbox_json(item.observed.mailbox if item.observed else None)
        self.finish(item)

    # --- applying ---------------------------------------------------------------------------------

    def _check(self, worker: Worker, item: Item) -> None:
        """One mailbox's check mode with its AD values read: its changes as `apply` would make them."""
        assert item.row.spec is not None
        options = ApplyOptions(dry_run=True, profile=self.options.profile, hold=self.options.hold)
        out = converge(
            worker.session,
            item.row.spec,
            options,
            journal=None,
            target_name=self.target_name or "",
            workflow=worker.workflow,
            observed=item.observed,
        )
        item.out = out
        self.finish(item)

    def _apply(self, worker: Worker, item: Item) -> None:
        assert item.row.spec is not None
        options = ApplyOptions(
            dry_run=False,
            wait=False,  # the batch waits for all of them at once (batch_sync)
            sync_timeout=self.options.sync_timeout,
            profile=self.options.profile,
            hold=self.options.hold,
        )
        item.created = item.observed is not None and item.observed.mailbox is None
        out = converge(
            worker.session,
            item.row.spec,
            options,
            journal=self.journal,
            target_name=self.target_name or "",
            workflow=worker.workflow,
            observed=item.observed,
            reread=False,  # the batch reads every mailbox in bulk after the cycle (batch_link)
        )
        out.before, out.after = item.out.before, item.out.after
        item.out = out
        if out.result.status != PENDING_SYNC or not self.options.wait:
            self.finish(item)
