"""`mailbox list`: every room, equipment and shared mailbox, read in bulk, with its link state and, with
`drift`, a summary of what does not line up between Exchange Online, Entra ID and AD.

One filtered read per system: Exchange Online (exo/list-mailboxes); with `drift`, also Entra ID (the
synced users with their ImmutableId, graph/list-synced-users), AD (the mail-enabled accounts of the
domain, ad/list-users) and the sync server's anchor attribute (sync/get-settings). Each read pages
through its service itself; nothing is read per mailbox.
"""

from __future__ import annotations

from typing import Any

from pswrap.desired import facts
from pswrap.workflows.ports import StepSession, anchor_of


def domain_of(dn: str) -> str:
    """The domain's DN (its DC= components) from any DN in it."""
    return ",".join(part for part in dn.split(",") if part.strip().lower().startswith("dc="))


def list_mailboxes(
    session: StepSession,
    *,
    kind: str | None = None,
    unlinked: bool = False,
    drift: bool = False,
    search_base: str | None = None,
) -> list[dict[str, Any]]:
    """Rows sorted by alias; `drift` adds each row's `drift` list and keeps only rows that have some."""
    listed = session.step("exo/list-mailboxes")
    rows = []
    for mailbox in listed.mailboxes:
        observed = facts.Observed(mailbox.alias, mailbox=mailbox)
        row: dict[str, Any] = {
            "alias": mailbox.alias,
            "type": observed.mailbox_type,
            "email": mailbox.primary_smtp_address,
            "display_name": mailbox.display_name,
            "synced": bool(mailbox.is_dir_synced),
            "link_state": observed.link_state,
        }
        if (kind is None or row["type"] == kind) and not (unlinked and row["synced"]):
            rows.append((row, mailbox))
    if drift:
        judge = _drift_judge(session, search_base or "")
        for row, mailbox in rows:
            row["drift"] = judge(mailbox)
        rows = [(row, mailbox) for row, mailbox in rows if row["drift"]]
    return sorted((row for row, _ in rows), key=lambda r: str(r["alias"]).lower())


def _drift_judge(session: StepSession, search_base: str) -> Any:
    settings = session.step("sync/get-settings")
    cloud = {u.id.lower(): u for u in session.step("graph/list-synced-users").users}
    accounts = list(session.step("ad/list-users", params={"SearchBase": search_base}).users)
    by_anchor = {anchor_of(a.object_guid, a.consistency_guid, settings.anchor_attribute): a for a in accounts}
    by_alias = {str(a.mail_nickname or "").lower(): a for a in accounts}

    def judge(mailbox: Any) -> list[str]:
        found: list[str] = []
        holder = by_alias.get(mailbox.alias.lower())
        if not mailbox.is_dir_synced:
            found.append("not synced from AD")
            if holder is not None:
                found.append(f"AD account {holder.sam_account_name} holds the alias but is not linked")
            return found
        user = cloud.get(str(mailbox.external_directory_object_id or "").lower())
        immutable = user.on_premises_immutable_id if user is not None else None
        account = by_anchor.get(immutable or "")
        if account is None:
            found.append(f"no AD account carries the cloud user's anchor {immutable or '(none)'}")
        elif str(account.mail_nickname or "").lower() != mailbox.alias.lower():
            found.append(f"AD account {account.sam_account_name} has mailNickname {account.mail_nickname}")
        if holder is not None and account is not None and holder.object_guid != account.object_guid:
            found.append(f"AD account {holder.sam_account_name} also holds the alias")
        return found

    return judge


def list_text(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no resource mailboxes"
    lines = [f"{'ALIAS':<24} {'TYPE':<10} {'LINK':<12} EMAIL"]
    for r in rows:
        link = "synced" if r["synced"] else "not synced"
        lines.append(f"{r['alias']:<24} {r['type']:<10} {link:<12} {r['email']}")
        lines.extend(f"{'':<24} drift: {d}" for d in r.get("drift") or [])
    return "\n".join(lines)
