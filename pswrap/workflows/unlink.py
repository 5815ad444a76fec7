"""`pswrap mailbox unlink ALIAS`: back out to cloud-managed. The mailbox and its cloud user stay; AD stops
being authoritative.

The supported route only: the user source-of-authority switch (Learn: "Configure User Source of Authority
(SOA) in Microsoft Entra ID", marked preview; Graph beta `onPremisesSyncBehavior`, `isCloudManaged = true`;
application permission User-OnPremisesSyncBehavior.ReadWrite.All; Entra Connect 2.5.76.0 or later).

Order of operations (docs/lifecycle.md):
1. read and refuse as `mailbox remove` does (resource and shared mailboxes linked to the account only);
   check the engine version and the Graph permission (also `pswrap doctor`'s unlink checks);
2. journal the record (as remove does);
3. switch the source of authority (check, then act), then one sync cycle so Entra Connect marks the
   object blockOnPremisesSync before the account moves;
4. take the AD account out of scope: retire it (move to the retired OU, disable), or delete it with
   --delete-ad-account; one more cycle;
5. verify: the cloud user is no longer synced (cloud-managed), the mailbox is still there with its
   addresses.

The older community method (out of scope -> soft-deleted -> restored -> ImmutableId cleared with a raw
Graph request) is left out: it is not a Microsoft procedure, Microsoft's sync-errors troubleshooting page
warns that restoring a synced object "does not convert the object to a cloud-only object" and that Connect
then fails on it (Error Type 114), and it puts the mailbox through a soft-deleted window. The SOA switch
does the same job without deleting anything.
"""

from __future__ import annotations

from typing import Any

from pswrap.errors import BadInput, NeedsHuman, Refused
from pswrap.workflows.checks.unlink import SOA_PERMISSION, judge_soa_engine, judge_soa_permission
from pswrap.workflows.lifecycle import (
    PLANNED,
    LifecycleResult,
    LifecycleWorkflow,
    Operation,
    cycle_until,
    finish,
    make_record,
    read_linked,
    refuse_unless_removable,
)
from pswrap.workflows.remove import Describe
from pswrap.workflows.results import (
    COMPLETED,
    FAILED,
    UNCHANGED,
    Change,
    Drift,
    cloud_user_json,
)
from pswrap.workflows.sync_wait import Deadline

KIND_UNLINK = "mailbox.unlink"


def unlink_plan(record: dict[str, Any], delete: bool, retired_ou: str | None) -> list[str]:
    ad = record["ad_account"]
    if delete:
        out_of_scope = f"AD: delete the account {ad['sam_account_name']} (Remove-ADUser)"
    else:
        out_of_scope = (
            f"AD: move the account {ad['sam_account_name']} to the retired OU {retired_ou} (out of sync "
            "scope) and disable it"
        )
    return [
        "journal what a restore or a roll-back needs (the spec, addresses, the AD account and OU, the "
        "anchor)",
        f"Graph (beta, preview feature 'Configure User SOA'): set onPremisesSyncBehavior.isCloudManaged = "
        f"true on {record['cloud_user_upn']} (permission {SOA_PERMISSION}; Entra Connect 2.5.76.0+)",
        "sync: one cycle, so Entra Connect marks the object blockOnPremisesSync (AD changes stop flowing)",
        out_of_scope,
        "sync: one more cycle; verify the cloud user is cloud-managed (onPremisesSyncEnabled no longer "
        "true), and the mailbox is still there with every address",
    ]


class UnlinkWorkflow(LifecycleWorkflow):
    def unlink(
        self,
        alias: str,
        *,
        describe: Describe,
        delete_ad_account: bool = False,
        dry_run: bool = False,
        timeout: float = 600.0,
        op_id: str | None = None,
    ) -> LifecycleResult:
        retired_ou = self.target.retired_ou
        if not delete_ad_account and not retired_ou:
            raise BadInput(
                "unlink moves the AD account to the target's retired OU, and none is configured",
                hint="set retired_ou in the target's config, or give --delete-ad-account",
            )
        args = {"alias": alias, "delete_ad_account": delete_ad_account, "timeout": timeout}
        op, out = self._begin(KIND_UNLINK, "unlink", alias, args, dry_run=dry_run, op_id=op_id)
        if op.state.get("record"):
            delete_ad_account = bool(op.state.get("delete_ad_account", delete_ad_account))

        def body() -> None:
            record = op.state.get("record")
            if record is None:
                record = self._record(op, out, alias, describe)
                if record is None:
                    return
                out.plan = unlink_plan(record, delete_ad_account, retired_ou)
                if dry_run:
                    out.result.status, out.result.changed = PLANNED, True
                    return
                if self.confirm is not None and not self.confirm(out.plan):
                    raise Refused("not unlinked: the plan was declined", hint="nothing was changed")
                op.remember(record=record, delete_ad_account=delete_ad_account)
            out.plan = unlink_plan(record, delete_ad_account, retired_ou)
            self._apply(op, out, record, delete_ad_account, retired_ou, Deadline(timeout))

        return finish(op, out, body)

    def _record(
        self, op: Operation, out: LifecycleResult, alias: str, describe: Describe
    ) -> dict[str, Any] | None:
        linked = read_linked(op.run, alias)
        if linked is None:
            raise BadInput(
                f"there is no mailbox with the alias {alias} in Exchange Online",
                hint="`pswrap mailbox list` lists the resource mailboxes",
            )
        cloud = linked.cloud_user
        if cloud is not None and not cloud.on_premises_sync_enabled and linked.mailbox_type is not None:
            behavior = op.run("graph/get-sync-behavior", params={"UserId": cloud.id})
            if behavior.is_cloud_managed:
                out.result.status = UNCHANGED
                out.result.cloud_user = cloud_user_json(cloud)
                return None
        refuse_unless_removable(linked, alias, "unlink")
        settings = op.run("sync/get-settings")
        for check in (
            judge_soa_engine(settings.connect_version),
            judge_soa_permission(op.run("graph/get-permissions").permissions),
        ):
            if check.status == "fail":
                raise NeedsHuman(f"unlink needs {check.name.lower()}: {check.found}", hint=check.fix or "")
        shown = describe(alias)
        record = make_record(linked, shown.get("spec", {}), kept=True)
        record["link"] = shown.get("link")
        return record

    def _apply(
        self,
        op: Operation,
        out: LifecycleResult,
        record: dict[str, Any],
        delete: bool,
        retired_ou: str | None,
        deadline: Deadline,
    ) -> None:
        result = out.result
        cloud_id = record["cloud_user_id"]
        switched = op.run("graph/set-sync-behavior", params={"UserId": cloud_id})
        if not switched.is_cloud_managed_before:
            result.changes.append(Change("source_of_authority", "ad", "cloud", "graph"))

        def marked() -> Any | None:
            user = op.run("graph/get-user", params={"UserId": cloud_id})
            return user.user if user.found and not user.user.on_premises_sync_enabled else None

        if not op.state.get("ad_done"):
            what = f"the source-of-authority switch of {record['alias']}"
            cycle_until(op, deadline, marked, what=what, check_first=False)
            ad = record["ad_account"]
            guid = ad["object_guid"]
            if delete:
                removed = op.run("ad/remove-user", params={"Identity": guid})
                if removed.existed:
                    result.changes.append(Change("ad_account", ad["distinguished_name"], None, "ad"))
            else:
                after = op.run("ad/retire-user", params={"Identity": guid, "TargetPath": retired_ou})
                result.changes.append(
                    Change("ad_account", ad["distinguished_name"], after.distinguished_name, "ad")
                )
            op.remember(ad_done=True)

        # One cycle after the account left scope (not just a read): the cloud user must survive it.
        user = cycle_until(
            op, deadline, marked, what=f"{record['alias']} after the unlink", check_first=False
        )
        self._verify(op, out, record, user)

    def _verify(self, op: Operation, out: LifecycleResult, record: dict[str, Any], user: Any) -> None:
        result = out.result
        result.cloud_user = cloud_user_json(user)
        behavior = op.run("graph/get-sync-behavior", params={"UserId": record["cloud_user_id"]})
        if not behavior.is_cloud_managed:
            result.drift.append(Drift("source_of_authority", "ad", "cloud", "graph"))
        mailbox = op.run("exo/find-mailbox", params={"Identity": record["alias"]})
        if not mailbox.found:
            result.error = NeedsHuman(
                f"the mailbox {record['alias']} is no longer there after the unlink",
                hint=f"`pswrap mailbox restore {record['alias']}` brings it back within 30 days",
            )
            result.status = FAILED
            return
        from pswrap.workflows.results import mailbox_json

        result.mailbox = mailbox_json(mailbox.mailbox)
        have = {a.split(":", 1)[-1].lower() for a in mailbox.mailbox.email_addresses}
        wanted = [a.split(":", 1)[-1] for a in record["addresses"] if a.lower().startswith("smtp:")]
        if any(a.lower() not in have for a in wanted):
            result.drift.append(Drift("addresses", sorted(have), sorted(wanted), "exo"))
        result.status = COMPLETED
