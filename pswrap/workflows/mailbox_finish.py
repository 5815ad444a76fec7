"""After the steps are applied: wait for sync to link the account, read back what exists, and report
drift from what was asked (modern profile), or wait for sync to create the cloud mailbox (hybrid-tools).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pswrap.errors import ConfigError, PswrapError, WaitTimeout
from pswrap.mastering import LinkState, link_state, where_written
from pswrap.workflows.inputs import MailboxRequest, Resolved
from pswrap.workflows.mailbox_conflicts import lower
from pswrap.workflows.mailbox_mastering import lost_addresses, make_cloud_managed
from pswrap.workflows.mailbox_plan import Ctx, Plan
from pswrap.workflows.ports import Progress, StepSession
from pswrap.workflows.results import (
    COMPLETED,
    PENDING_SYNC,
    Drift,
    MailboxResult,
    Where,
    ad_user_json,
    cloud_user_json,
    mailbox_json,
)
from pswrap.workflows.steps_run import JournaledRunner
from pswrap.workflows.sync_wait import Deadline, ObjectOfInterest
from pswrap.workflows.sync_wait import wait_for_link as poll_for_link


class Finisher:
    """The reads and the wait that end a mailbox operation once its steps ran."""

    def __init__(self, session: StepSession, progress: Progress) -> None:
        self.session = session
        self.progress = progress

    def finish(
        self,
        req: MailboxRequest,
        plan: Plan,
        ctx: Ctx,
        runner: JournaledRunner,
        result: MailboxResult,
        deadline: Deadline,
    ) -> None:
        facts = plan.facts
        resolved = plan.resolved
        if resolved.profile == "hybrid-tools":
            self.finish_hybrid(req, plan, ctx, runner, result, deadline)
            return
        if ctx.ad_user is not None and ctx.immutable_id is None:
            ctx.immutable_id = facts.anchor_for(ctx.ad_user)
        if ctx.cloud_user_id is None and ctx.mailbox is not None:
            ctx.cloud_user_id = self.cloud_user_of(ctx.mailbox)
        result.immutable_id = ctx.immutable_id
        result.ad_user = ad_user_json(ctx.ad_user)
        result.mailbox = mailbox_json(ctx.mailbox)
        cloud = ctx.cloud_user
        result.cloud_user = cloud_user_json(cloud)
        if plan.linked:
            result.status = COMPLETED
            self.after_link(plan, ctx, runner, result)
            return
        if not req.wait:
            result.status = PENDING_SYNC
            self.refresh_cloud(ctx, result)
            return

        expected = ctx.immutable_id
        cloud_id = ctx.cloud_user_id

        def check() -> Any | None:
            if cloud_id is None:
                return None
            lookup = self.session.step("graph/get-user", params={"UserId": cloud_id})
            user = lookup.user if lookup.found else None
            if (
                user is not None
                and user.on_premises_sync_enabled
                and user.on_premises_immutable_id == expected
            ):
                return user
            return None

        try:
            linked = self.wait_for_link(runner, resolved, ctx.ad_user, expected, check, deadline, cloud_id)
        except WaitTimeout:
            self.refresh_cloud(ctx, result)
            raise
        result.cloud_user = cloud_user_json(linked)
        ctx.cloud_user = linked
        # By the cloud user's object id: the link can change the alias and name (AD's mailNickname and cn
        # win), and the mailbox must still be found to say so.
        mailbox = self.session.step("exo/find-mailbox", params={"Identity": linked.id or resolved.alias})
        if mailbox.found:
            ctx.mailbox = mailbox.mailbox
            result.mailbox = mailbox_json(mailbox.mailbox)
        if ctx.ad_user is None:
            found = self.find_ad_user(resolved.sam)
            if found is not None:
                result.ad_user = ad_user_json(found)
        result.status = COMPLETED
        self.after_link(plan, ctx, runner, result)

    def wait_for_link(
        self,
        runner: JournaledRunner,
        resolved: Resolved,
        ad_user: Any | None,
        immutable_id: str | None,
        check: Callable[[], Any | None],
        deadline: Deadline,
        cloud_user_id: str | None = None,
    ) -> Any:
        """Cycles until `check` sees the link; an export error for our account (by its AD DN or its
        connector-space DN) ends the wait early, and so does a new cloud user synced with our anchor that is
        not `cloud_user_id` (the mailbox's)."""
        return poll_for_link(
            runner,
            self.session,
            ours=ObjectOfInterest(
                ad_user.distinguished_name if ad_user else None,
                immutable_id,
                cloud_user_id=cloud_user_id,
                account=resolved.sam,
                upn=resolved.upn,
            ),
            check=check,
            deadline=deadline,
            progress=self.progress,
            what=f"the account {resolved.sam}",
        )

    def find_ad_user(self, sam: str) -> Any | None:
        found = self.session.step("ad/find-user", choices={"by": "sam"}, params={"Value": sam})
        return found.user if found.found else None

    def refresh_cloud(self, ctx: Ctx, result: MailboxResult) -> None:
        if ctx.cloud_user_id is None:
            return
        try:
            lookup = self.session.step("graph/get-user", params={"UserId": ctx.cloud_user_id})
        except PswrapError:
            return
        if lookup.found:
            result.cloud_user = cloud_user_json(lookup.user)

    def cloud_user_of(self, mailbox: Any) -> str | None:
        if mailbox.external_directory_object_id:
            return str(mailbox.external_directory_object_id)
        if mailbox.user_principal_name:
            lookup = self.session.step("graph/get-user", params={"UserId": mailbox.user_principal_name})
            if lookup.found:
                return str(lookup.user.id)
        return None

    def after_link(self, plan: Plan, ctx: Ctx, runner: JournaledRunner, result: MailboxResult) -> None:
        """Once the link is verified: move the Exchange attributes to the cloud when that is the route, then
        compare what exists with what was asked and kept; every difference is drift (issue #11)."""
        resolved = plan.resolved
        cloud_managed = False
        if plan.route is not None and plan.route.name == "cloud" and ctx.mailbox is not None:
            cloud_managed = make_cloud_managed(self.session, runner, resolved.alias, result)
        schema = plan.facts.exchange_schema
        state = link_state(
            linked=True, exchange_cloud_managed=cloud_managed, exchange_schema=bool(schema and schema.present)
        )
        result.drift.extend(self.drift(resolved, ctx.mailbox, keep=plan.keep_addresses, state=state))
        cloud = ctx.cloud_user
        if not resolved.allow_sign_in and cloud is not None and cloud.account_enabled:
            # The account follows AD after the link: an existing AD account that is enabled signs in.
            result.drift.append(Drift("account_enabled", True, False, where("account_enabled", state)))

    @staticmethod
    def drift(
        resolved: Resolved,
        mailbox: Any | None,
        *,
        keep: Sequence[str] | None = None,
        state: LinkState = "linked",
    ) -> list[Drift]:
        """After the link AD is authoritative: what of the mailbox differs from what was asked, and which
        of the addresses it had before the link (`keep`) it lost. `where` is the table's master."""
        if mailbox is None:
            return [Drift("mailbox", None, resolved.alias, "exo")]
        drift = []

        if mailbox.recipient_type_details != resolved.recipient_type:
            drift.append(
                Drift("type", mailbox.recipient_type_details, resolved.recipient_type, where("type", state))
            )
        if lower(mailbox.primary_smtp_address) != lower(resolved.primary_smtp):
            drift.append(
                Drift("email", mailbox.primary_smtp_address, resolved.primary_smtp, where("email", state))
            )
        if mailbox.display_name is not None and mailbox.display_name != resolved.display_name:
            drift.append(
                Drift(
                    "display_name", mailbox.display_name, resolved.display_name, where("display_name", state)
                )
            )
        if resolved.capacity is not None and mailbox.resource_capacity != resolved.capacity:
            drift.append(
                Drift("capacity", mailbox.resource_capacity, resolved.capacity, where("capacity", state))
            )
        if keep is not None:
            lost = lost_addresses(keep, mailbox.email_addresses)
            if lost:
                drift.append(
                    Drift("addresses", list(mailbox.email_addresses), list(keep), where("addresses", state))
                )
            return drift
        have = {lower(a.split(":", 1)[-1]) for a in mailbox.email_addresses}
        if have:
            missing = [a for a in resolved.addresses if lower(a) not in have]
            if missing:
                found = sorted(a.split(":", 1)[-1] for a in mailbox.email_addresses)
                drift.append(Drift("addresses", found, sorted([*found, *missing]), where("addresses", state)))
        return drift

    def finish_hybrid(
        self,
        req: MailboxRequest,
        plan: Plan,
        ctx: Ctx,
        runner: JournaledRunner,
        result: MailboxResult,
        deadline: Deadline,
    ) -> None:
        resolved = plan.resolved
        if ctx.remote_mailbox is not None or ctx.ad_user is None:
            ctx.ad_user = self.find_ad_user(resolved.sam)
        result.mailbox = mailbox_json(ctx.remote_mailbox or plan.facts.remote_mailbox)
        result.ad_user = ad_user_json(ctx.ad_user)
        if ctx.ad_user is not None:
            result.immutable_id = plan.facts.anchor_for(ctx.ad_user)
        cloud_reachable = True

        def check() -> Any | None:
            # The cloud side is read with the modern steps when the target has the tenant's app
            # identity; without it, a cycle that ends with no export error for our account is the end.
            nonlocal cloud_reachable
            if not cloud_reachable or result.immutable_id is None:
                return True
            try:
                found = self.session.step(
                    "graph/find-users", choices={"by": "immutableid"}, params={"Value": result.immutable_id}
                )
            except ConfigError:
                cloud_reachable = False
                return True
            for user in found.users:
                if user.on_premises_sync_enabled:
                    result.cloud_user = cloud_user_json(user)
                    return user
            return None

        if not plan.steps and check() is not None:
            result.status = COMPLETED
            self.read_back_hybrid(resolved, result, cloud_reachable)
            return
        if not req.wait:
            result.status = PENDING_SYNC
            return
        self.wait_for_link(runner, resolved, ctx.ad_user, result.immutable_id, check, deadline)
        result.status = COMPLETED
        self.read_back_hybrid(resolved, result, cloud_reachable)

    def read_back_hybrid(self, resolved: Resolved, result: MailboxResult, cloud_reachable: bool) -> None:
        """The mailbox sync created in Exchange Online, when the cloud side is reachable."""
        if not cloud_reachable:
            return
        try:
            found = self.session.step("exo/find-mailbox", params={"Identity": resolved.alias})
        except ConfigError:
            return
        if found.found:
            result.mailbox = mailbox_json(found.mailbox)
            result.drift = self.drift(resolved, found.mailbox)


def where(field: str, state: LinkState) -> Where:
    """The system a field's drift is reported in: its master in the table (a value nobody may set is
    reported where it is read, Exchange Online)."""
    master = where_written(field, state)
    if master == "not_settable":
        return "exo"
    return master
