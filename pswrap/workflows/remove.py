"""`pswrap mailbox remove ALIAS` and `state: absent`: retire a resource mailbox the way sync requires.

Order of operations (docs/lifecycle.md):
1. read the mailbox, its cloud user and the AD account it is synced from; refuse a user mailbox, a
   cloud-only one, or one not linked to the account pswrap would remove (nothing changes);
2. journal the record a restore needs (spec as `mailbox show` gives it, addresses, the account's
   attributes and OU, the anchor and the anchor attribute);
3. take the AD account out of sync scope: delete it (Remove-ADUser), or with --keep-ad-account move it
   to the target's retired OU and disable it;
4. run sync cycles until Entra ID has the cloud user in its deleted items and Exchange Online has the
   mailbox soft-deleted (or inactive, under a hold); a run stopped by the export deletion threshold
   stops pswrap with exit 6 and the way out;
5. report the date until which `pswrap mailbox restore` works (30 days after the deletion).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta, timezone
from typing import Any

from pswrap.errors import BadInput, Refused
from pswrap.workflows.lifecycle import (
    PLANNED,
    RETENTION_DAYS,
    LifecycleResult,
    LifecycleWorkflow,
    Operation,
    cycle_until,
    finish,
    make_record,
    read_linked,
    refuse_unless_removable,
)
from pswrap.workflows.results import COMPLETED, PENDING_SYNC, UNCHANGED, Change
from pswrap.workflows.sync_wait import Deadline

KIND_REMOVE = "mailbox.remove"
AD_USER_KEYS = ("object_guid", "sam_account_name", "user_principal_name", "distinguished_name")
Describe = Callable[[str], dict[str, Any]]
"""`mailbox show` for an alias: `{spec, link}` (pswrap.desired.show), given by the API."""


def iso_z(moment: Any) -> str:
    return str(moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))


def restorable_until(deleted: Any) -> str | None:
    if deleted.deleted_date_time is None:
        return None
    return iso_z(deleted.deleted_date_time + timedelta(days=RETENTION_DAYS))


def remove_plan(record: dict[str, Any], retired_ou: str | None) -> list[str]:
    ad = record["ad_account"]
    alias = record["alias"]
    if record["ad_account_kept"]:
        first = (
            f"AD: move the account {ad['sam_account_name']} from {ad['ou']} to the retired OU {retired_ou} "
            "(out of sync scope) and disable it (Move-ADObject, Disable-ADAccount)"
        )
    else:
        first = (
            f"AD: delete the account {ad['sam_account_name']} ({ad['distinguished_name']}) (Remove-ADUser)"
        )
    return [
        "journal what a restore needs: the spec as `mailbox show` gives it, the addresses, the AD "
        f"account's attributes and OU, the anchor {record['anchor']} ({record['anchor_attribute']})",
        first,
        "sync: one cycle exports the deletion; Entra ID moves the cloud user "
        f"{record['cloud_user_upn']} to its deleted items, kept {RETENTION_DAYS} days (Learn: 'Restore "
        "or remove a recently deleted user')",
        f"Exchange Online: the mailbox {alias} becomes soft-deleted, kept {RETENTION_DAYS} days (Learn: "
        "'Delete or restore user mailboxes in Exchange Online'); a mailbox under a hold (Litigation Hold, "
        "eDiscovery or retention) becomes an inactive mailbox instead, kept as long as the hold (Microsoft "
        "Purview: 'Learn about inactive mailboxes')",
        "wait for both, then print the date until which `pswrap mailbox restore` can bring it back; if "
        "the export stops at the deletion threshold, stop (exit 6): pswrap never disables the threshold",
    ]


class RemoveWorkflow(LifecycleWorkflow):
    _missing_ok = False

    def remove(
        self,
        alias: str,
        *,
        describe: Describe,
        keep_ad_account: bool = False,
        dry_run: bool = False,
        wait: bool = True,
        timeout: float = 600.0,
        op_id: str | None = None,
        missing_ok: bool = False,
    ) -> LifecycleResult:
        """`missing_ok`: a mailbox that does not exist at all is `unchanged` (`state: absent` in a spec),
        not bad input (`mailbox remove` of an unknown alias)."""
        self._missing_ok = missing_ok
        retired_ou = self.target.retired_ou
        if keep_ad_account:
            self._check_retired_ou(retired_ou)
        args = {"alias": alias, "keep_ad_account": keep_ad_account, "wait": wait, "timeout": timeout}
        op, out = self._begin(KIND_REMOVE, "remove", alias, args, dry_run=dry_run, op_id=op_id)
        if op.state.get("record"):  # a resumed run keeps the choice it recorded
            keep_ad_account = bool(op.state["record"]["ad_account_kept"])

        def body() -> None:
            record = op.state.get("record")
            if record is None:
                record = self._record(op, out, alias, keep_ad_account, retired_ou, describe)
                if record is None:
                    return
                out.plan = remove_plan(record, retired_ou)
                if dry_run:
                    out.result.status, out.result.changed = PLANNED, True
                    return
                if self.confirm is not None and not self.confirm(out.plan):
                    raise Refused("not removed: the plan was declined", hint="nothing was changed")
                op.remember(record=record)
            self._apply(op, out, record, retired_ou, wait=wait, timeout=timeout)

        return finish(op, out, body)

    def _check_retired_ou(self, retired_ou: str | None) -> None:
        if not retired_ou:
            raise BadInput(
                "--keep-ad-account needs the target's retired_ou: an OU outside sync scope for retired "
                "accounts",
                hint="set retired_ou in the target's config (not the staging OU, which create and link "
                "treat as 'waiting to be linked')",
            )
        staging = self.target.staging_ou
        if staging and retired_ou.lower() == staging.lower():
            raise BadInput(
                f"the retired OU {retired_ou} is the staging OU: create and link treat accounts there as "
                "waiting to be linked",
                hint="configure a separate retired_ou outside sync scope",
            )

    def _record(
        self,
        op: Operation,
        out: LifecycleResult,
        alias: str,
        keep: bool,
        retired_ou: str | None,
        describe: Describe,
    ) -> dict[str, Any] | None:
        """Read and check; the record, or None when the mailbox is already removed (unchanged)."""
        linked = read_linked(op.run, alias)
        if linked is None:
            gone = op.run("exo/find-deleted-mailbox", params={"Identity": alias})
            if not gone.found and self._missing_ok:
                out.result.status = UNCHANGED
                return None
            if not gone.found:
                raise BadInput(
                    f"there is no mailbox with the alias {alias} in Exchange Online",
                    hint="`pswrap mailbox list` lists the resource mailboxes",
                )
            out.result.status = UNCHANGED
            out.mailbox_state = "inactive (kept by its hold)" if gone.is_inactive_mailbox else "soft-deleted"
            cloud_id = gone.mailbox.external_directory_object_id if gone.mailbox else None
            if cloud_id:
                deleted = op.run("graph/get-deleted-user", params={"DirectoryObjectId": cloud_id})
                if deleted.found:
                    out.restorable_until = restorable_until(deleted)
            return None
        refuse_unless_removable(linked, alias, "remove")
        if keep and retired_ou:
            self._check_out_of_scope(op, retired_ou)
        shown = describe(alias)
        record = make_record(linked, shown.get("spec", {}), keep)
        record["link"] = shown.get("link")
        return record

    def _check_out_of_scope(self, op: Operation, retired_ou: str) -> None:
        from pswrap.workflows.checks.ad import in_scope

        scope = op.run("sync/get-scope")
        if in_scope(retired_ou, scope.connectors):
            raise BadInput(
                f"the retired OU {retired_ou} is inside the sync server's OU filtering: an account moved "
                "there stays in scope and its mailbox would not be removed",
                hint="choose an OU the AD connector does not sync (`pswrap doctor` lists the scope)",
            )

    def _apply(
        self,
        op: Operation,
        out: LifecycleResult,
        record: dict[str, Any],
        retired_ou: str | None,
        *,
        wait: bool,
        timeout: float,
    ) -> None:
        result = out.result
        ad = record["ad_account"]
        guid = ad["object_guid"]
        out.plan = remove_plan(record, retired_ou)
        result.immutable_id = record["anchor"]
        result.ad_user = {k: ad.get(k) for k in AD_USER_KEYS}
        if record["ad_account_kept"]:
            self.progress(f"moving {ad['sam_account_name']} to {retired_ou} and disabling it")
            after = op.run("ad/retire-user", params={"Identity": guid, "TargetPath": retired_ou})
            if not op.state.get("ad_done"):
                before = ad["distinguished_name"]
                result.changes.append(Change("ad_account", before, after.distinguished_name, "ad"))
        else:
            self.progress(f"deleting the AD account {ad['sam_account_name']}")
            removed = op.run("ad/remove-user", params={"Identity": guid})
            if removed.existed:
                result.changes.append(Change("ad_account", ad["distinguished_name"], None, "ad"))
        op.remember(ad_done=True)
        if not wait:
            result.status = PENDING_SYNC
            return
        cloud_id = record["cloud_user_id"]

        def check() -> Any | None:
            if op.run("graph/get-user", params={"UserId": cloud_id}).found:
                return None
            deleted = op.run("graph/get-deleted-user", params={"DirectoryObjectId": cloud_id})
            if not deleted.found:
                return None
            # By alias: a soft-deleted mailbox keeps it (Get-EXOMailbox -SoftDeletedMailbox -Identity).
            mailbox = op.run("exo/find-deleted-mailbox", params={"Identity": record["alias"]})
            return (deleted, mailbox) if mailbox.found else None

        deleted, mailbox = cycle_until(op, Deadline(timeout), check, what=f"the removal of {record['alias']}")
        out.restorable_until = restorable_until(deleted)
        out.mailbox_state = "inactive (kept by its hold)" if mailbox.is_inactive_mailbox else "soft-deleted"
        if not op.state.get("cloud_done"):
            result.changes.append(Change("cloud_user", record["cloud_user_upn"], "deleted items", "graph"))
            result.changes.append(Change("mailbox", record["alias"], out.mailbox_state, "exo"))
            op.remember(cloud_done=True)
        result.status = COMPLETED
