"""The mailbox runbook: facts, then a plan, then apply (check-then-act, journaled), then wait for sync.

This is the seed runbook (000_650fe54a519f435e) as a product. Its identity is the alias (the mailbox)
and the sAMAccountName (the AD account): every run reads what exists under those names and plans only
what is missing, so the same command converges from any machine, with or without the journal.

The order of the changing steps is the hold (docs/design.md, Workflows):
- anchor:     exo/new-mailbox -> graph/set-user (ImmutableId of a new GUID, UPN) -> ad/new-user born
              with mS-DS-ConsistencyGuid = that GUID. Whenever the account syncs, it hard-matches.
- staging-ou: exo/new-mailbox -> ad/new-user in the staging OU (out of scope) -> graph/set-user from
              its objectGUID -> ad/move-user into the resource OU.
- scheduler:  lease (pause) -> wait idle -> exo/new-mailbox -> ad/new-user -> graph/set-user -> end
              the lease (restores the prior state, in a finally).
- none:       soft match only: exo/new-mailbox -> ad/new-user; sync matches on the primary SMTP address.
- hybrid-tools: hybrid/new-remote-mailbox; sync creates the cloud mailbox.

This module runs an operation (journal, facts, plan, confirm, apply, finish). The plan is made in
`mailbox_plan` (its refusals in `mailbox_conflicts`), shown by `mailbox_dryrun`, and the wait and
read-backs after apply are `mailbox_finish`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pswrap.dn import parent_of
from pswrap.errors import AlreadyExists, BadInput, Conflict, PswrapError, WaitTimeout
from pswrap.journal import Journal, new_operation_id
from pswrap.secrets import Secret
from pswrap.workflows import holds
from pswrap.workflows.facts import gather
from pswrap.workflows.inputs import (
    MailboxRequest,
    Resolved,
    TargetFacts,
    choose_hold,
    identify_ad_user,
    resolve,
)
from pswrap.workflows.mailbox_conflicts import lower
from pswrap.workflows.mailbox_dryrun import DryRun, legacy_dry_run, render_plan
from pswrap.workflows.mailbox_finish import Finisher
from pswrap.workflows.mailbox_mastering import changes_of
from pswrap.workflows.mailbox_plan import Ctx, Plan, plan_hybrid, plan_modern, plan_summary
from pswrap.workflows.ports import Progress, StepSession, no_progress
from pswrap.workflows.results import COMPLETED, FAILED, PENDING_SYNC, MailboxResult
from pswrap.workflows.steps_run import JournaledRunner
from pswrap.workflows.sync_wait import Deadline, wait_for_cloud_user

KIND_CREATE = "mailbox.create"
LOST_RACES = 3
"""How often one run re-reads the facts after another run created an object first (then it fails)."""
KIND_LINK = "mailbox.link"
CHANGING = (
    "exo/new-mailbox",
    "graph/set-user",
    "ad/new-user",
    "ad/move-user",
    "hybrid/new-remote-mailbox",
    # issue #11: the addresses, the sign-in and the Exchange attributes' master
    "ad/add-addresses",
    "ad/stamp-exchange-attributes",
    "graph/set-account-enabled",
    "exo/set-exchange-cloud-managed",
)
"""The steps that change a directory object (sync cycles and leases are not counted in `changed`)."""

PLAN_RECORD = "pswrap/plan"
"""The journal record of what the facts said and what was planned (not a remote step)."""


class MailboxWorkflow:
    """One mailbox operation against one session. The API and the CLI both drive this."""

    def __init__(
        self,
        session: StepSession,
        target: TargetFacts,
        *,
        journal: Journal | None = None,
        progress: Progress = no_progress,
        confirm: Callable[[DryRun], bool] | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        sign_in_password: Secret | None = None,
    ) -> None:
        self.sign_in_password = sign_in_password
        """The new account's password with --allow-sign-in (a secret: never journaled)."""
        self.session = session
        self.target = target
        self.journal = journal
        self.progress = progress
        self.confirm = confirm
        self._clock = clock
        self._sleep = sleep

    # --- entry points ---------------------------------------------------------------------------

    def create(
        self, req: MailboxRequest, *, dry_run: bool = False, op_id: str | None = None
    ) -> MailboxResult | DryRun:
        resolved = resolve(req, self.target, dry_run=dry_run)
        if req.profile == "legacy":
            return legacy_dry_run(resolved)
        return self._run(req, resolved, dry_run=dry_run, op_id=op_id)

    def link(
        self,
        mailbox: str,
        *,
        ad_user: str | None,
        create_ad_user: bool,
        base: MailboxRequest | None = None,
        dry_run: bool = False,
        op_id: str | None = None,
    ) -> MailboxResult | DryRun:
        """`mailbox link`: derive the request from the existing mailbox (and account), then run it."""
        if (ad_user is None) == (not create_ad_user):
            raise BadInput(
                "mailbox link needs exactly one of --ad-user SAM|UPN|GUID or --create-ad-user",
                hint="--ad-user links an existing account; --create-ad-user creates one for the mailbox",
            )
        found = self.session.step("exo/find-mailbox", params={"Identity": mailbox})
        if not found.found:
            raise BadInput(
                f"there is no mailbox {mailbox!r} in Exchange Online to link",
                hint="`pswrap mailbox create` creates it and its account together",
            )
        mbx = found.mailbox
        mtype = {"RoomMailbox": "room", "EquipmentMailbox": "equipment", "SharedMailbox": "shared"}.get(
            mbx.recipient_type_details
        )
        if mtype is None:
            raise BadInput(
                f"{mailbox} is a {mbx.recipient_type_details}; pswrap links room, equipment and "
                "shared mailboxes",
                hint="a user mailbox is linked by syncing its owner's account",
            )
        base = base or MailboxRequest(name=mbx.name or mbx.alias, alias=mbx.alias)
        fields: dict[str, Any] = {
            "name": base.name if base.name and base.name != base.alias else (mbx.name or mbx.alias),
            "alias": mbx.alias,
            "type": mtype,
            "email": base.email or mbx.primary_smtp_address,
            "display_name": base.display_name or mbx.display_name,
            "link_existing_mailbox": True,
        }
        if ad_user is not None:
            by, value = identify_ad_user(ad_user)
            account = self.session.step("ad/find-user", choices={"by": by}, params={"Value": value})
            if not account.found:
                raise BadInput(
                    f"there is no AD account {ad_user!r} (looked up by {by})",
                    hint="give its sAMAccountName, UPN or objectGUID, or use --create-ad-user",
                )
            u = account.user
            fields.update(sam=u.sam_account_name, upn=u.user_principal_name or base.upn, link_ad_user=ad_user)
        req = base.with_(**fields)
        return self.create(req, dry_run=dry_run, op_id=op_id)

    # --- the run ----------------------------------------------------------------------------------

    def _deadline(self, seconds: float) -> Deadline:
        d = Deadline(seconds)
        if self._clock is not None:
            d.clock = self._clock
            d.start = self._clock()
        if self._sleep is not None:
            d.sleep = self._sleep
        return d

    def _plan(self, req: MailboxRequest, resolved: Resolved, state: dict[str, Any]) -> Plan:
        from pswrap.workflows.preflight import explained_by_preflight, refuse_when_blocked

        ad_lookup = identify_ad_user(req.link_ad_user) if req.link_ad_user else None
        # A fact that cannot be read (a missing module, an unusable certificate, a silent DC) is refused
        # with the preflight's checklist when a check explains it, rather than as one step's error.
        hold_asked = resolved.hold if resolved.profile == "modern" else None
        seen: str | None = None
        for _ in range(LOST_RACES + 1):
            with explained_by_preflight(self.session, profile=resolved.profile, hold=hold_asked):
                facts = gather(
                    self.session,
                    resolved,
                    ad_lookup=ad_lookup,
                    progress=self.progress,
                    link_existing=req.link_existing_mailbox,
                )
            if resolved.profile == "hybrid-tools":
                plan = plan_hybrid(req, resolved, facts, self.target)
                break
            hold = choose_hold(
                resolved, anchor_attribute=facts.anchor_attribute, staging_mode=facts.staging_mode
            )
            self._names_in_staging_ou(resolved, facts, hold, ad_lookup)
            try:
                plan = plan_modern(req, resolved, facts, hold, state, self.target, self.sign_in_password)
                break
            except Conflict as exc:
                # The facts are several reads, not one snapshot: another run creating the same mailbox
                # between two of them (the mailbox missing from exo/find-mailbox, then present in
                # exo/find-recipients; the account missing by sAMAccountName, then holding the UPN)
                # looks like a recipient or account that is not ours. A conflict is refused only when a
                # second reading shows the same one; a torn reading converges on the next.
                if exc.message == seen:
                    raise
                seen = exc.message
                self.progress("the facts changed while they were read; reading them again")
        else:
            raise Conflict(
                f"the facts of mailbox {resolved.alias} kept changing while they were read "
                f"({LOST_RACES + 1} readings); another run is changing the same objects",
                hint="wait for the other run to finish, then run the same command again",
            )
        scope = self._check_account_in_scope(plan)
        if plan.steps:
            # The preflight checks that matter to this plan (issue #7): a retired module, an old sync
            # engine, a certificate the connect steps cannot use, a staging OU in scope... Only when
            # something is to change: a converged re-run stays fast and cannot be blocked. What this
            # run has read already (settings, scheduler, tenant switches, scope) is not read again.
            self.progress("running the preflight checks")
            refuse_when_blocked(
                self.session,
                profile=resolved.profile,
                hold=plan.hold if resolved.profile == "modern" else None,
                known={**facts.preflight_reads(), "sync/get-scope": scope},
            )
        return plan

    def _names_in_staging_ou(
        self, resolved: Resolved, facts: Any, hold: str, ad_lookup: tuple[str, str] | None
    ) -> None:
        """With the staging-ou hold, New-ADUser creates CN=<name> in the staging OU and Move-ADObject then
        moves it into --ou: a name AD treats as equal in either OU stops the run half-way, so AD is asked
        about both (gather asked about --ou)."""
        staging = self.target.staging_ou
        if hold != "staging-ou" or facts.ad_user is not None or ad_lookup is not None or not staging:
            return
        if lower(staging) == lower(resolved.ou):
            return
        named = self.session.step("ad/find-name", params={"Value": resolved.name, "Path": staging})
        facts.name_holders = [*facts.name_holders, *named.objects]

    def _check_account_in_scope(self, plan: Plan) -> Any | None:
        """An account that ends outside the connectors' OU filtering never syncs: the wait could only time
        out. Where it ends: --ou when the plan creates or moves it, else where the existing account is.
        (The target's resource OU is the preflight's to check.) Returns the scope when it was read."""
        ad = plan.facts.ad_user
        placed = {"ad/new-user", "ad/move-user", "hybrid/new-remote-mailbox"}
        if any(step.step_id in placed for step in plan.steps):
            ou, which = plan.resolved.ou, f"--ou {plan.resolved.ou}"
        elif ad is not None and not plan.linked:
            ou = parent_of(ad.distinguished_name)
            which = f"the AD account {ad.sam_account_name} is in {ou}, which"
        else:
            return None
        if lower(ou) == lower(self.target.resource_ou):
            return None
        from pswrap.workflows.checks.ad import in_scope

        scope = self.session.step("sync/get-scope")
        if in_scope(ou, scope.connectors):
            return scope
        if ou == plan.resolved.ou:
            hint = "choose an OU in sync scope (`pswrap doctor` lists the scope), or leave --ou out for the "
            hint += "target's resource OU"
        elif self.target.staging_ou and lower(ou) == lower(self.target.staging_ou):
            hint = "use --hold staging-ou: pswrap moves the account into sync scope once the cloud user "
            hint += "carries its anchor"
        else:
            hint = "move the account into an OU in sync scope first (`pswrap run ad/move-user`), or link "
            hint += "the mailbox with --create-ad-user"
        raise BadInput(
            f"{which} is outside the sync server's OU filtering: an account there never syncs, so it would "
            "never be linked to the mailbox",
            hint=hint,
        )

    def _run(
        self, req: MailboxRequest, resolved: Resolved, *, dry_run: bool, op_id: str | None
    ) -> MailboxResult | DryRun:
        kind = KIND_LINK if req.link_existing_mailbox else KIND_CREATE
        identity = f"{resolved.alias.lower()}|{resolved.sam.lower()}"
        journal = None if dry_run else self.journal
        state: dict[str, Any] = {}
        fresh = False
        if journal is not None:
            op_id, state, fresh = self._open_operation(journal, kind, identity, req, op_id)
        runner = JournaledRunner(self.session, journal, op_id, self.progress)
        result = MailboxResult(operation=op_id, status=FAILED, target=self.target.name)
        if dry_run and req.allow_sign_in and self.sign_in_password is None:
            self.sign_in_password = Secret("")  # a dry run shows the parameter masked; nothing is sent
        try:
            started = time.monotonic()
            plan = self._plan(req, resolved, state)
            result.timings["facts"] = time.monotonic() - started
            result.hold = plan.hold
            if dry_run:
                return render_plan(self.session, plan, req.timeout)
            if journal is not None and op_id is not None:
                seq = journal.step_started(op_id, PLAN_RECORD)
                journal.step_ended(op_id, seq, "done", summary=plan_summary(plan))
            if (
                plan.anchor_guid
                and journal is not None
                and op_id is not None
                and state.get("anchor_guid") != plan.anchor_guid
            ):
                journal.update_state(op_id, anchor_guid=plan.anchor_guid)
            if plan.keep_addresses and journal is not None and op_id is not None:
                journal.update_state(op_id, keep_addresses=plan.keep_addresses)
            if (
                plan.steps
                and self.confirm is not None
                and not self.confirm(render_plan(self.session, plan, req.timeout))
            ):
                from pswrap.errors import Refused

                raise Refused("not applied: the plan was declined", hint="nothing was changed")
            for lost_races in range(LOST_RACES + 1):
                try:
                    self._apply_and_wait(req, plan, runner, result, op_id)
                    break
                except AlreadyExists:
                    # Another run (this machine or another) created the object between our read of the
                    # facts and our create. Converge instead of failing: read the facts again and apply
                    # what is still missing; the account's anchor, once it exists, wins (mailbox_plan).
                    if lost_races == LOST_RACES:
                        raise
                    self.progress("another run created it first; reading the facts again to converge")
                    plan = self._plan(req, resolved, state)
                    result.hold = plan.hold
        except WaitTimeout as exc:
            result.status = PENDING_SYNC
            result.error = exc
            exc.hint = f"the operation is journaled: `pswrap resume {op_id}` or the same command continues"
        except PswrapError as exc:
            result.status = FAILED
            result.error = exc
        except BaseException:
            if journal is not None and op_id is not None:
                journal.set_status(op_id, "interrupted")
            raise
        finally:
            result.changed = any(s in CHANGING for s in runner.ran)
            result.steps_run = [
                s for s in runner.ran if s in CHANGING or (s.startswith("sync/") and "lease" in s)
            ]
        if journal is not None and op_id is not None:
            self._record(journal, op_id, result, fresh=fresh, kind=kind, identity=identity)
        return result

    def _record(
        self, journal: Journal, op_id: str, result: MailboxResult, *, fresh: bool, kind: str, identity: str
    ) -> None:
        """The operation's end in the journal. A new operation that changed nothing is `unchanged`, never
        an open `pending-sync` left behind (the sync it would wait for is some earlier run's); a run that
        sees the object completed marks the earlier open operations for it completed too."""
        status = result.status
        if fresh and not result.changed and status == PENDING_SYNC:
            status = "unchanged"
        journal.set_status(op_id, status, result.to_json())
        if result.status != COMPLETED:
            return
        for other in journal.recent(200):
            if (
                other.id != op_id
                and other.kind == kind
                and other.target == self.target.name
                and other.identity == identity
                and other.status in ("pending-sync", "interrupted")
            ):
                journal.mark_completed_by(other.id, op_id)

    def _open_operation(
        self, journal: Journal, kind: str, identity: str, req: MailboxRequest, op_id: str | None
    ) -> tuple[str, dict[str, Any], bool]:
        """The operation this run is journaled under, marked running, its state (the anchor GUID chosen
        once), and whether it is new: the one named (resume), else an open one for the same alias and
        account (the same command again continues it), else a new one."""
        fresh = False
        if op_id is not None:
            existing = journal.get(op_id)
        else:
            existing = journal.find_open(kind, self.target.name, identity)
            if existing is None:
                fresh = True
                op_id = journal.start(kind, req.to_json(), target=self.target.name, identity=identity)
            else:
                op_id = existing.id
                journal.set_args(op_id, req.to_json())
                self.progress(f"continuing operation {op_id}")
        journal.claim(op_id)
        return op_id, dict(existing.state) if existing else {}, fresh

    def _apply_and_wait(
        self,
        req: MailboxRequest,
        plan: Plan,
        runner: JournaledRunner,
        result: MailboxResult,
        op_id: str | None,
    ) -> None:
        facts = plan.facts
        ctx = Ctx(
            mailbox=facts.mailbox,
            cloud_user=facts.cloud_user,
            cloud_user_id=facts.cloud_user.id if facts.cloud_user else None,
            ad_user=facts.ad_user,
            immutable_id=plan.expected_immutable_id,
        )
        deadline = self._deadline(req.timeout)
        finisher = Finisher(self.session, self.progress)

        def apply_steps() -> None:
            for step in plan.steps:
                self.progress(f"{step.step_id}: {step.why}")
                cloud_step = step.step_id in ("graph/set-user", "graph/set-account-enabled")
                if cloud_step and ctx.cloud_user_id is None and ctx.mailbox is not None:
                    ctx.cloud_user_id = finisher.cloud_user_of(ctx.mailbox)
                if cloud_step and ctx.cloud_user is None and ctx.cloud_user_id:
                    # A mailbox new to Exchange Online reaches Entra ID after a replication delay.
                    ctx.cloud_user = wait_for_cloud_user(
                        self.session, ctx.cloud_user_id, deadline, self.progress
                    )
                before = ctx.ad_user
                out = runner(step.step_id, choices=step.choices or None, params=step.resolved_params(ctx))
                result.changes.extend(changes_of(step.step_id, out, before))
                if step.after is not None:
                    step.after(ctx, out)

        started = time.monotonic()
        if plan.lease:
            with holds.scheduler_lease(
                runner,
                self.session,
                op_id=op_id or new_operation_id(),  # without a journal: still a lease of its own
                timeout=req.timeout,
                deadline=deadline,
                progress=self.progress,
            ):
                apply_steps()
        else:
            apply_steps()
            if plan.hold == "scheduler" and op_id is not None:
                self._end_leftover_lease(runner, op_id)

        result.timings["apply"] = time.monotonic() - started
        started = time.monotonic()
        try:
            finisher.finish(req, plan, ctx, runner, result, deadline)
        finally:
            result.timings["wait"] = time.monotonic() - started

    def _end_leftover_lease(self, runner: JournaledRunner, op_id: str) -> None:
        """A killed run of this operation left its lease: end it now rather than at its deadline."""
        name = holds.lease_name(op_id)
        leases = self.session.step("sync/list-leases")
        if any(lease.name == name for lease in leases.leases):
            self.progress(f"ending the lease {name} left by an interrupted run")
            runner("sync/remove-lease", params={"LeaseName": name})
