"""`pswrap mailbox restore ALIAS|OPERATION`: bring a removed mailbox back within the retention window.

Order of operations (docs/lifecycle.md), from the record `mailbox remove` journaled:
1. read where things are: the mailbox, the cloud user (live or in deleted items), the AD account;
   past the window (the cloud user permanently deleted) refuse, saying what is gone and what is left;
2. bring the AD account back into sync scope, as the anchor decides:
   - a kept (retired) account: moved back to its OU;
   - mS-DS-ConsistencyGuid: a re-created account carrying the recorded ConsistencyGuid matches again;
   - objectGUID: only the original object matches: Restore-ADObject when the forest has the AD Recycle
     Bin enabled (Get-ADOptionalFeature), otherwise refuse: it cannot be relinked;
3. run sync cycles until the cloud user is back, synced, with the recorded anchor, and the mailbox is
   back (restoring the user reconnects its soft-deleted mailbox);
4. verify: re-apply the recorded spec (what differs is changed back or reported), compare the addresses.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from pswrap.dn import parent_of
from pswrap.errors import BadInput, NeedsHuman, Refused
from pswrap.immutableid import guid_for_immutable_id
from pswrap.journal import Journal
from pswrap.workflows.lifecycle import (
    PLANNED,
    RETENTION_DAYS,
    LifecycleResult,
    LifecycleWorkflow,
    Operation,
    WindowPassed,
    cycle_until,
    finish,
)
from pswrap.workflows.remove import KIND_REMOVE, iso_z
from pswrap.workflows.results import COMPLETED, FAILED, PENDING_SYNC, UNCHANGED, Change, Drift
from pswrap.workflows.sync_wait import Deadline

KIND_RESTORE = "mailbox.restore"
CONSISTENCY = "ms-ds-consistencyguid"
Reapply = Callable[[dict[str, Any]], Any]
"""Apply a spec (pswrap.desired.apply via the API); returns its ApplyResult."""


def find_removal(journal: Journal, what: str) -> Any:
    """The `mailbox remove` operation named, or the newest one of that alias with a record."""
    op = journal.get(what)
    if op is not None:
        if op.kind != KIND_REMOVE:
            raise BadInput(f"operation {what} is a {op.kind}, not a mailbox removal")
        return op
    for candidate in journal.recent(1000):
        if (
            candidate.kind == KIND_REMOVE
            and candidate.identity == what.lower()
            and candidate.state.get("record")
        ):
            return candidate
    raise BadInput(
        f"no removal of {what!r} in the journal ({journal.path}): a restore needs what `pswrap mailbox "
        "remove` recorded before it changed anything",
        hint="run restore on the machine that removed it, or name the operation (`pswrap ops list`)",
    )


class RestoreWorkflow(LifecycleWorkflow):
    _removal_id = ""

    def restore(
        self,
        what: str,
        *,
        reapply: Reapply,
        dry_run: bool = False,
        wait: bool = True,
        timeout: float = 600.0,
        op_id: str | None = None,
    ) -> LifecycleResult:
        removal = find_removal(self.journal, what)
        record = removal.state.get("record")
        if not record:
            raise BadInput(f"operation {removal.id} recorded nothing to restore (it changed nothing)")
        alias = record["alias"]
        self._removal_id = removal.id
        args = {"alias": alias, "from": removal.id, "wait": wait, "timeout": timeout}
        op, out = self._begin(KIND_RESTORE, "restore", alias, args, dry_run=dry_run, op_id=op_id)

        def body() -> None:
            back = self._linked_again(op, record)
            if back is None:
                self._bring_back(op, out, record, dry_run=dry_run)
                if dry_run or out.result.status == PLANNED:
                    return
                if not wait:
                    out.result.status = PENDING_SYNC
                    return
                cycle_until(
                    op, Deadline(timeout), lambda: self._linked_again(op, record), what=f"{alias}'s return"
                )
                out.result.changes.append(Change("link", False, True, "sync"))
            elif dry_run:
                out.result.status = UNCHANGED
                return
            self._verify(op, out, record, reapply)

        return finish(op, out, body)

    def _linked_again(self, op: Operation, record: dict[str, Any]) -> Any | None:
        cloud = op.run("graph/get-user", params={"UserId": record["cloud_user_id"]})
        if not cloud.found or not cloud.user.on_premises_sync_enabled:
            return None
        if cloud.user.on_premises_immutable_id != record["anchor"]:
            return None
        mailbox = op.run("exo/find-mailbox", params={"Identity": record["alias"]})
        return mailbox.mailbox if mailbox.found else None

    def _bring_back(
        self, op: Operation, out: LifecycleResult, record: dict[str, Any], *, dry_run: bool
    ) -> None:
        ad = record["ad_account"]
        deleted = op.run("graph/get-deleted-user", params={"DirectoryObjectId": record["cloud_user_id"]})
        if not deleted.found:
            self._window_passed(op, record)
        until = None
        if deleted.deleted_date_time is not None:
            until = deleted.deleted_date_time + timedelta(days=RETENTION_DAYS)
            out.restorable_until = iso_z(until)
        if until is not None and until <= datetime.now(timezone.utc) and not dry_run:
            self._window_passed(op, record)
        guid = ad["object_guid"]
        account = op.run("ad/find-user", choices={"by": "guid"}, params={"Value": guid})
        steps: list[tuple[str, dict[str, Any], list[Change]]] = []
        if account.found:
            steps.extend(self._reinstate(account.user, ad))
        elif record["anchor_attribute"].lower() == CONSISTENCY:
            steps.extend(self._recreate(op, record))
        else:
            steps.append(self._from_recycle_bin(op, record))
        out.plan = [f"{step}: {change.to_text()}" for step, _, changes in steps for change in changes] + [
            "sync: cycles until the cloud user is back from deleted items with the recorded anchor "
            f"{record['anchor']} and its mailbox is reconnected",
            "verify: re-apply the recorded spec; compare the addresses",
        ]
        if dry_run:
            out.result.status = PLANNED
            out.result.changes.extend(change for _, _, changes in steps for change in changes)
            return
        if self.confirm is not None and not self.confirm(out.plan):
            raise Refused("not restored: the plan was declined", hint="nothing was changed")
        for step, params, changes in steps:
            self.progress(f"{step}: " + "; ".join(change.to_text() for change in changes))
            op.run(step, params=params)
            out.result.changes.extend(changes)
        if not account.found and ad.get("enabled") and record["anchor_attribute"].lower() == CONSISTENCY:
            # A re-created account is born disabled: enabling one needs a password, which pswrap never
            # keeps. The admin sets one and enables it (a Teams Rooms account signs in again then).
            out.result.drift.append(Drift("account_enabled", False, True, "ad"))

    @staticmethod
    def _reinstate(user: Any, ad: dict[str, Any]) -> list[tuple[str, dict[str, Any], list[Change]]]:
        """A kept (retired) account goes back to its OU with the enabled state it had before the removal
        (ad/retire-user disabled it); an account already so is left alone."""
        enabled = bool(ad["enabled"]) if ad.get("enabled") is not None else bool(user.enabled)
        changes = []
        if parent_of(user.distinguished_name).lower() != ad["ou"].lower():
            changes.append(Change("ad_account", user.distinguished_name, ad["distinguished_name"], "ad"))
        if bool(user.enabled) != enabled:
            changes.append(Change("account_enabled", bool(user.enabled), enabled, "ad"))
        if not changes:
            return []
        params = {"Identity": user.object_guid, "TargetPath": ad["ou"], "Enabled": enabled}
        return [("ad/reinstate-user", params, changes)]

    def _recreate(
        self, op: Operation, record: dict[str, Any]
    ) -> list[tuple[str, dict[str, Any], list[Change]]]:
        """mS-DS-ConsistencyGuid: a new account born with the recorded value matches the deleted cloud user
        (hard match on the sourceAnchor). A re-created account from an interrupted run is reused."""
        ad = record["ad_account"]
        same = op.run("ad/find-user", choices={"by": "sam"}, params={"Value": ad["sam_account_name"]})
        if same.found:
            if same.user.consistency_guid != record["anchor"]:
                raise NeedsHuman(
                    f"another AD account {ad['sam_account_name']} exists with a different anchor: restoring "
                    f"{record['alias']} would need its sAMAccountName",
                    hint="rename or remove that account, then restore again",
                )
            if parent_of(same.user.distinguished_name).lower() == ad["ou"].lower():
                return []
            return [
                (
                    "ad/move-user",
                    {"Identity": same.user.object_guid, "TargetPath": ad["ou"]},
                    [Change("ad_account", same.user.distinguished_name, ad["distinguished_name"], "ad")],
                )
            ]
        params = {
            "Name": ad["name"],
            "Path": ad["ou"],
            "SamAccountName": ad["sam_account_name"],
            "UserPrincipalName": ad["user_principal_name"],
            "DisplayName": ad.get("display_name") or ad["name"],
            "EmailAddress": ad.get("mail") or record["primary_smtp_address"],
            "ProxyAddresses": list(ad.get("proxy_addresses") or []),
            "MailNickname": ad.get("mail_nickname") or record["alias"],
            "ConsistencyGuid": guid_for_immutable_id(record["anchor"]),
        }
        return [("ad/new-user", params, [Change("ad_account", None, ad["distinguished_name"], "ad")])]

    def _from_recycle_bin(
        self, op: Operation, record: dict[str, Any]
    ) -> tuple[str, dict[str, Any], list[Change]]:
        """objectGUID: only the original object carries the anchor; a new account never matches."""
        ad = record["ad_account"]
        bin_ = op.run("ad/get-recycle-bin")
        gone = None
        if not bin_.enabled:
            gone = "the forest does not have the AD Recycle Bin enabled: the deleted account cannot come back"
        else:
            kept = op.run("ad/find-deleted-user", params={"Identity": ad["object_guid"]})
            if not kept.found:
                gone = "the deleted account is no longer in the AD Recycle Bin"
        if gone is not None:
            raise WindowPassed(
                f"{record['alias']} cannot be relinked: the sync server's anchor is objectGUID and {gone}; a "
                "new account gets a new objectGUID, which never matches the deleted cloud user",
                hint="the cloud user and its mailbox stay in Entra ID's deleted items until the window ends; "
                "to keep them, restore the user in the Microsoft Entra admin center (Learn: 'Restore or "
                "remove a recently deleted user'): it comes back cloud-only, pswrap no longer links it; or "
                f"create the mailbox anew with `pswrap mailbox apply` from the spec recorded in "
                f"`pswrap ops show {self._removal_id}`",
            )
        return (
            "ad/restore-user",
            {"Identity": ad["object_guid"]},
            [Change("ad_account", None, ad["distinguished_name"], "ad")],
        )

    def _window_passed(self, op: Operation, record: dict[str, Any]) -> None:
        """Past the retention window: say what is gone and what is left."""
        mailbox = op.run("exo/find-deleted-mailbox", params={"Identity": record["alias"]})
        left = []
        if mailbox.found and mailbox.is_inactive_mailbox:
            left.append(
                "the mailbox is an inactive mailbox kept by its hold: its content can be recovered into a "
                "new mailbox (Microsoft Purview: 'Recover an inactive mailbox'); pswrap does not do that"
            )
        account = op.run(
            "ad/find-user", choices={"by": "guid"}, params={"Value": record["ad_account"]["object_guid"]}
        )
        if account.found:
            left.append(f"the AD account {account.user.distinguished_name} still exists")
        left.append(
            "a new mailbox with the same name and addresses: `pswrap mailbox apply` with the spec recorded "
            f"by the removal (`pswrap ops show {self._removal_id}` prints it)"
        )
        raise WindowPassed(
            f"{record['alias']} can no longer be restored: the cloud user {record['cloud_user_upn']} is no "
            f"longer in Entra ID's deleted items (kept {RETENTION_DAYS} days), so it and its soft-deleted "
            "mailbox are permanently deleted",
            hint="what can still be done: " + "; ".join(left),
        )

    def _verify(self, op: Operation, out: LifecycleResult, record: dict[str, Any], reapply: Reapply) -> None:
        """Re-apply the recorded spec; the addresses and the anchor must be the recorded ones."""
        result = out.result
        spec = record.get("spec") or {"alias": record["alias"]}
        applied = reapply(spec)
        result.changes.extend(applied.result.changes)
        result.drift.extend(applied.result.drift)
        if applied.result.error is not None:
            result.error = applied.result.error
        mailbox = op.run("exo/find-mailbox", params={"Identity": record["alias"]})
        if mailbox.found:
            from pswrap.workflows.results import mailbox_json

            result.mailbox = mailbox_json(mailbox.mailbox)
            have = {a.split(":", 1)[-1].lower() for a in mailbox.mailbox.email_addresses}
            wanted = [a for a in record["addresses"] if a.lower().startswith("smtp:")]
            missing = [a for a in wanted if a.split(":", 1)[-1].lower() not in have]
            if missing:
                result.drift.append(
                    Drift("addresses", sorted(have), sorted(a.split(":", 1)[-1] for a in wanted), "ad")
                )
        result.immutable_id = record["anchor"]
        result.status = COMPLETED if result.error is None else FAILED
        if not result.changes and result.error is None:
            result.status = UNCHANGED
