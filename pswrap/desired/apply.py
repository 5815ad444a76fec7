"""Converge one mailbox to its spec: read, diff, (create and link when missing), apply, re-read.

- Read once per system and area (`facts.read`); the principals are resolved in that read, and an unknown
  one stops the run (exit 2) before anything changes.
- A missing mailbox is created and linked first, by the existing mailbox workflow (the same plan,
  holds, journal and sync wait as `mailbox create`); so is an existing one that is not linked yet.
- What differs is written where the mastering table says for the mailbox's link state: the identity
  fields Exchange Online masters in one Set-Mailbox, those AD masters after the link (display name,
  primary and extra addresses; pswrap.desired.identity) in one Set-ADUser step together with part 2's AD
  values, the calendar fields in one Set-CalendarProcessing (a setting Exchange Online or AD refuses fails
  alone, remote error, exit 5; the others are applied). A value written in AD reaches Exchange Online at
  the next sync cycle; it is compared with AD, so the next apply is a no-op at once. What pswrap does not
  write (a synced mailbox's name: an AD rename) is drift.
- Each change is journaled (an operation `mailbox.apply` with its steps), then the state is read again
  and what still differs is reported as drift.
- Check mode (`dry_run`) stops after the diff: `changed` says whether something would change.
- `pswrap resume` of an interrupted apply (`operation`) converges the recorded spec again under the same
  journal operation: what the first run changed reads back equal and is not sent again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pswrap.desired import diff as d
from pswrap.desired import facts, facts_access, plan_access
from pswrap.desired.spec import MailboxSpec
from pswrap.errors import BadInput, Conflict, PswrapError, RemoteError
from pswrap.journal import Journal
from pswrap.workflows.inputs import MailboxRequest
from pswrap.workflows.ports import Progress, StepSession, no_progress
from pswrap.workflows.results import (
    COMPLETED,
    FAILED,
    PENDING_SYNC,
    REFUSED,
    UNCHANGED,
    Change,
    Drift,
    MailboxResult,
    mailbox_json,
)
from pswrap.workflows.steps_run import JournaledRunner

KIND_APPLY = "mailbox.apply"
PLANNED = "planned"
"""The status of a dry run that would change something (as `mailbox create --dry-run` reports it)."""


@dataclass
class ApplyOptions:
    dry_run: bool = False
    wait: bool = True
    sync_timeout: float = 600.0
    profile: str = "modern"
    hold: str | None = None


@dataclass
class ApplyResult:
    """One mailbox's result (the shared contract) plus what `--diff` shows."""

    result: MailboxResult
    alias: str
    dry_run: bool = False
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    create_operation: str | None = None
    """The `mailbox.create` operation that created or linked the mailbox in this run (a batch completes it
    once its link shows)."""

    @property
    def exit_code(self) -> int:
        return self.result.exit_code

    def to_json(self, *, diff: bool = False) -> dict[str, Any]:
        out = self.result.to_json()
        if self.dry_run:
            out["dry_run"] = True
        if diff:
            out["diff"] = {"before": self.before, "after": self.after}
        return out


# The mailbox workflow, built by the API for a profile (so apply shares its session and journal).
CreateWorkflow = Callable[[], Any]


def converge(
    session: StepSession,
    spec: MailboxSpec,
    options: ApplyOptions,
    *,
    journal: Journal | None,
    target_name: str,
    workflow: CreateWorkflow,
    progress: Progress = no_progress,
    observed: facts.Observed | None = None,
    operation: str | None = None,
    reread: bool = True,
) -> ApplyResult:
    """Apply one spec. Every error is in the result: `refused` when it stopped the run before any change
    (an unknown principal, a type apply does not convert), `failed` otherwise. `observed`: what a batch
    has read already (pswrap.desired.batch), used instead of reading again. `operation`: the journal
    operation of an interrupted apply being resumed (`pswrap resume`): its changes are journaled there and
    it is closed with this result; what the first run changed reads back equal and is not sent again.
    `reread` False (a batch): a mailbox just created is not read again before its calendar is written
    (every given calendar field is written, then read back as always); the batch reads the mailboxes in
    bulk after the sync cycle and reports their identity drift then. A spec with part 2's areas is always
    read again."""
    out = ApplyResult(
        MailboxResult(operation=None, status=FAILED, target=target_name), spec.alias, options.dry_run
    )
    result = out.result
    progress(f"reading mailbox {spec.alias}")
    try:
        observed = observed if observed is not None else facts.read(session, spec)
        facts.check_principals(observed, facts.principals_named(spec))
        _check_type(spec, observed)
        areas = facts_access.read(session, spec, observed)  # part 2: permissions, place, room lists
        facts_access.check(spec, observed, areas)
    except (BadInput, Conflict) as exc:
        result.status, result.error = REFUSED, exc
        return out
    except PswrapError as exc:
        result.error = exc
        return out
    needs_mailbox = observed.mailbox is None or not observed.mailbox.is_dir_synced
    journal = None if options.dry_run else journal
    runner = JournaledRunner(session, journal, None, progress)
    if operation is not None and journal is not None:
        runner.op_id = result.operation = operation
        journal.claim(operation)  # this run now holds the operation the killed one left running
    try:
        pending = False
        if needs_mailbox:
            pending = _create_or_link(spec, observed, options, workflow, out)
            if result.error is not None:
                return _finish(out, runner)
            if not options.dry_run and (reread or _manages_areas(spec)):
                observed = facts.read(session, spec)
                areas = facts_access.read(session, spec, observed)
        changes, result.drift = d.identity_changes(spec, observed, areas)
        changes += d.calendar_changes(spec.calendar, observed) if spec.calendar is not None else []
        if options.dry_run and needs_mailbox and areas.state == "not_linked":  # apply links it first
            areas.state = "linked"
        planned, area_drift = plan_access.plan(spec, observed, areas)
        changes, ad_identity = _split_ad(changes)  # AD's Set-ADUser carries them with part 2's AD values
        planned = ad_identity + planned
        result.drift.extend(area_drift)
        out.before.update({c.field: c.before for c in changes})
        out.after.update({c.field: c.after for c in changes})
        out.before.update({p.field: p.before for p in planned})
        out.after.update({p.field: p.after for p in planned})
        if options.dry_run:
            result.changes.extend(Change(c.field, c.before, c.after, c.where) for c in changes)
            result.changes.extend(plan_access.as_change(p) for p in planned)
            result.changed = bool(result.changes)
            result.status = PLANNED if result.changed else UNCHANGED
            result.mailbox = mailbox_json(observed.mailbox)
            return out
        errors: list[PswrapError] = []
        if changes:
            _open_operation(runner, spec, target_name, result)
            mailbox_changes = [c for c in changes if c.step == "exo/set-mailbox"]
            if mailbox_changes:  # Set-Mailbox answers with the mailbox as written: no re-read needed
                params: dict[str, Any] = {"Identity": spec.alias}
                for c in mailbox_changes:
                    params.update(c.sent())
                observed.mailbox = runner("exo/set-mailbox", params=params)
                result.changes.extend(Change(c.field, c.before, c.after, c.where) for c in mailbox_changes)
            calendar = [c for c in changes if c.step == "exo/set-calendar-processing"]
            if calendar:
                try:
                    _apply_calendar(runner, spec, calendar, result)
                except RemoteError as exc:  # the other areas are still applied
                    errors.append(exc)
                names = facts.principals_named(spec)
                facts.read_calendar(session, observed, names, exists=needs_mailbox)  # only what was written
            left, _ = d.identity_changes(spec, observed, areas)
            left = [c for c in left if c.step != AD_STEP]  # AD's are judged after part 2's writes
            left += d.calendar_changes(spec.calendar, observed) if spec.calendar is not None else []
            refused = {c.field for c in changes} - {c.field for c in result.changes}
            result.drift.extend(
                Drift(c.field, c.before, c.after, c.where) for c in left if c.field not in refused
            )
        if planned:  # part 2: one write per area and system, then those areas read again
            _open_operation(runner, spec, target_name, result)
            errors.extend(plan_access.apply(runner, spec, observed, planned, result))
            again = facts_access.read(session, spec, observed)
            left_planned, _ = plan_access.plan(spec, observed, again)
            left_planned += _split_ad(d.identity_changes(spec, observed, again)[0])[1]
            done = {c.field for c in result.changes}
            result.drift.extend(plan_access.as_drift(p) for p in left_planned if p.field in done)
        if errors:
            raise (
                errors[0]
                if len(errors) == 1
                else RemoteError("; ".join(e.message for e in errors), hint=errors[0].hint)
            )
        result.mailbox = mailbox_json(observed.mailbox)
        result.changed = bool(result.changes)
        if result.error is None:
            # --no-wait: the link completes at a later sync cycle (`pswrap resume` or apply again).
            result.status = PENDING_SYNC if pending else COMPLETED if result.changed else UNCHANGED
            if operation is not None and result.status == UNCHANGED:  # resumed: the first run changed it
                result.status = COMPLETED
    except PswrapError as exc:
        result.error = exc
        result.status = FAILED
        result.changed = bool(result.changes)
    return _finish(out, runner)


AD_STEP = "ad/set-resource-attributes"


def _split_ad(changes: list[d.FieldChange]) -> tuple[list[d.FieldChange], list[plan_access.Planned]]:
    """Identity values AD masters go with part 2's AD values in one Set-ADUser (plan_access.apply): one
    write per system, each value refused on its own (docs/desired-state.md)."""
    keep = [c for c in changes if c.step != AD_STEP]
    ad = [
        plan_access.Planned(c.field, c.before, c.after, "ad", AD_STEP, c.parameter, c.sent())
        for c in changes
        if c.step == AD_STEP
    ]
    return keep, ad


AREA_FIELDS = ("permissions", "place", "room_lists", "hidden_from_address_lists", "workspace")
"""Part 2's spec fields: their areas are read from the mailbox as it exists (facts_access)."""


def _manages_areas(spec: MailboxSpec) -> bool:
    return any(getattr(spec, name) is not None for name in AREA_FIELDS)


def _open_operation(
    runner: JournaledRunner, spec: MailboxSpec, target_name: str, result: MailboxResult
) -> None:
    """The journal operation of this apply, opened before its first change (a no-op apply leaves none)."""
    journal = runner.journal
    if journal is None or runner.op_id is not None:
        return
    runner.op_id = journal.start(
        KIND_APPLY, spec.model_dump(mode="json"), target=target_name, identity=spec.alias
    )
    journal.set_status(runner.op_id, "running")
    result.operation = runner.op_id


def _finish(out: ApplyResult, runner: JournaledRunner) -> ApplyResult:
    if runner.journal is not None and runner.op_id is not None:
        out.result.operation = runner.op_id
        runner.journal.set_status(runner.op_id, out.result.status, out.to_json())
    return out


def _check_type(spec: MailboxSpec, observed: facts.Observed) -> None:
    """Calendar processing is for rooms and equipment, a capacity for rooms; the type of an existing
    mailbox is not changed."""
    kind = observed.mailbox_type or spec.type or "room"
    if spec.calendar is not None and kind == "shared":
        raise BadInput(
            f"mailbox {spec.alias} is a shared mailbox: calendar processing is managed for rooms and "
            "equipment only",
            hint="remove the calendar section, or declare type room or equipment",
        )
    if spec.capacity is not None and kind != "room":
        raise BadInput(
            f"mailbox {spec.alias} is a {kind} mailbox: a capacity is for rooms only",
            hint="remove capacity, or declare type room",
        )
    if observed.mailbox is not None and spec.type is not None and observed.mailbox_type != spec.type:
        raise Conflict(
            f"mailbox {spec.alias} is a {observed.mailbox.recipient_type_details}, not a {spec.type} "
            "mailbox; apply does not convert mailbox types",
            hint=f"declare type {observed.mailbox_type}, or convert it yourself (Set-Mailbox -Type)",
        )


def request_for(spec: MailboxSpec, options: ApplyOptions, existing: Any | None = None) -> MailboxRequest:
    """The `mailbox create` request the spec's identity fields make (defaults as `mailbox create`; for a
    mailbox that exists but is not linked, its own name, type and addresses, as `mailbox link` does)."""
    kind = facts.TYPES.get(str(existing.recipient_type_details)) if existing is not None else None
    return MailboxRequest(
        name=spec.name or (existing.name if existing is not None else None) or spec.alias,
        alias=spec.alias,
        type=spec.type or kind or "room",
        sam=spec.sam,
        upn=spec.upn,
        email=spec.email or (existing.primary_smtp_address if existing is not None else None),
        ou=spec.ou,
        display_name=spec.display_name or (existing.display_name if existing is not None else None),
        capacity=spec.capacity,
        profile=options.profile,
        hold=options.hold,
        wait=options.wait,
        timeout=options.sync_timeout,
    )


def _create_or_link(
    spec: MailboxSpec,
    observed: facts.Observed,
    options: ApplyOptions,
    workflow: CreateWorkflow,
    out: ApplyResult,
) -> bool:
    """Through the existing workflow: `mailbox create` when missing, which also links an existing but
    unlinked mailbox (its plan starts from what exists). True when the link waits for a later sync
    cycle (--no-wait)."""
    from pswrap.workflows.mailbox_dryrun import DryRun

    result = out.result
    created = observed.mailbox is None
    ran = workflow().create(request_for(spec, options, observed.mailbox), dry_run=options.dry_run)
    if isinstance(ran, DryRun):
        would = bool(ran.scripts)
        if would and created:
            result.changes.append(Change("mailbox", None, spec.alias, "exo"))
        elif would:
            result.changes.append(Change("link", False, True, "sync"))
        return False
    assert isinstance(ran, MailboxResult)
    result.operation = out.create_operation = ran.operation
    result.immutable_id = ran.immutable_id
    result.ad_user = ran.ad_user
    result.cloud_user = ran.cloud_user
    result.steps_run.extend(ran.steps_run)
    result.drift.extend(ran.drift)
    if ran.changed:
        if created:
            result.changes.append(Change("mailbox", None, spec.alias, "exo"))
        if "ad/new-user" in ran.steps_run or "graph/set-user" in ran.steps_run:
            result.changes.append(Change("link", False, ran.status != PENDING_SYNC, "sync"))
        result.changes.extend(ran.changes)  # what the workflow itself reports (e.g. the sign-in blocked)
    if ran.error is not None:
        result.error = ran.error
        result.status = ran.status
        result.changed = bool(result.changes)
    return ran.status == PENDING_SYNC


def _apply_calendar(
    runner: JournaledRunner, spec: MailboxSpec, changes: list[d.FieldChange], result: MailboxResult
) -> None:
    """One Set-CalendarProcessing for every differing field; refused settings fail alone."""
    params: dict[str, Any] = {"Identity": spec.alias}
    params.update({c.parameter: c.value for c in changes})
    done = runner("exo/set-calendar-processing", params=params)
    applied = {str(p).lower() for p in done.applied}
    for c in changes:
        if c.parameter.lower() in applied:
            result.changes.append(Change(c.field, c.before, c.after, c.where))
    if done.refused:
        by_parameter = {c.parameter: c.field for c in changes}
        parts = [f"{by_parameter.get(r.parameter, r.parameter)}: {r.message}" for r in done.refused]
        raise RemoteError(
            f"Exchange Online refused {len(parts)} calendar setting(s) of {spec.alias}: " + "; ".join(parts),
            hint="the other settings were applied; fix or remove the refused ones and apply again",
        )
