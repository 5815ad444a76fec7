"""Refusals before any plan: objects that hold our names but are not ours (Conflict), and tenant
settings or roles that stop the match (NeedsHuman). Both exit 6 and name what to do."""

from __future__ import annotations

import re
from typing import Any

from pswrap.dn import parent_of
from pswrap.errors import Conflict, NeedsHuman
from pswrap.workflows.facts import Facts
from pswrap.workflows.inputs import Resolved
from pswrap.workflows.role_holders import refuse_role_holder


def lower(value: str | None) -> str:
    return (value or "").lower()


def _is_our_mailbox(facts: Facts, recipient: Any) -> bool:
    mailbox = facts.mailbox
    if mailbox is None:
        return False
    if recipient.external_directory_object_id and mailbox.external_directory_object_id:
        return bool(recipient.external_directory_object_id == mailbox.external_directory_object_id)
    return lower(recipient.alias) == lower(mailbox.alias) and lower(recipient.primary_smtp_address) == lower(
        mailbox.primary_smtp_address
    )


def _is_our_account(resolved: Resolved, user: Any) -> bool:
    proxies = {lower(p) for p in user.proxy_addresses}
    return (
        lower(user.mail_nickname) == lower(resolved.mail_nickname)
        or "smtp:" + lower(resolved.primary_smtp) in proxies
        or lower(user.user_principal_name) == lower(resolved.upn)
    )


def _describe_recipient(r: Any) -> str:
    return f"{r.recipient_type_details} {r.name or r.alias!s} <{r.primary_smtp_address}>"


STRAY_UPN = re.compile(r"\+\d{4}@[^@]+\.onmicrosoft\.com$", re.IGNORECASE)
"""A UPN sync quarantined because another object held it (duplicate attribute resiliency)."""


def check_conflicts(resolved: Resolved, facts: Facts, *, linking_ad_user: bool) -> None:
    """Existing objects that are not ours and hold our names: refused, naming what and where (exit 6)."""
    for r in facts.recipients:
        if _is_our_mailbox(facts, r):
            continue
        held = []
        if lower(r.alias) == lower(resolved.alias):
            held.append(f"the alias {resolved.alias}")
        addresses = {lower(a.split(":", 1)[-1]) for a in r.email_addresses} | {lower(r.primary_smtp_address)}
        held.extend(f"the address {a}" for a in resolved.addresses if lower(a) in addresses)
        if not held:
            continue
        raise Conflict(
            f"{' and '.join(held)} {'is' if len(held) == 1 else 'are'} held by another recipient in "
            f"Exchange Online: {_describe_recipient(r)}",
            hint="choose another --alias/--email, or remove or rename that recipient first",
        )
    mailbox = facts.mailbox
    if mailbox is not None and mailbox.recipient_type_details != resolved.recipient_type:
        raise Conflict(
            f"the alias {resolved.alias} is held in Exchange Online by a mailbox of type "
            f"{mailbox.recipient_type_details} ({mailbox.primary_smtp_address}), "
            f"not {resolved.recipient_type}",
            hint="choose another --alias, or --type matching the existing mailbox",
        )
    if facts.ad_user is not None and not linking_ad_user and not _is_our_account(resolved, facts.ad_user):
        u = facts.ad_user
        raise Conflict(
            f"the sAMAccountName {resolved.sam} is held in AD by {u.distinguished_name} (UPN "
            f"{u.user_principal_name}), which is not the account of mailbox {resolved.alias} (its "
            "mailNickname, addresses and UPN differ)",
            hint="give another --sam, or link that account explicitly with `pswrap mailbox link "
            f"{resolved.alias} --ad-user {resolved.sam}`",
        )
    cloud = facts.cloud_user
    anchor = facts.ad_anchor()
    others = [u for u in facts.anchor_holders if cloud is None or u.id != cloud.id]
    if others and facts.ad_user is not None:
        o = others[0]
        hint = "link that cloud user's mailbox instead, or clear its ImmutableId if the link is wrong"
        if STRAY_UPN.search(str(o.user_principal_name or "")):
            # Duplicate attribute resiliency quarantines a clashing UPN as <prefix>+<4 digits>@<initial
            # domain> (Microsoft Learn: "Identity synchronization and duplicate attribute resiliency"):
            # sync created a second cloud object for our account, e.g. when two runs wrote two anchors.
            hint = (
                f"{o.user_principal_name} is a stray object sync created for this account: delete it "
                f"(Remove-MgUser -UserId {o.id}), then run the same command again to link the mailbox's user"
            )
        raise Conflict(
            f"the AD account {facts.ad_user.sam_account_name} is already linked to another cloud user: "
            f"{o.user_principal_name} (id {o.id}) carries its anchor {anchor}",
            hint=hint,
        )
    if facts.name_holders:
        o = facts.name_holders[0]
        raise Conflict(
            f"AD already has {o.distinguished_name} in {parent_of(o.distinguished_name)}, a name AD "
            f"treats as the same as "
            f"{resolved.name!r} (it ignores case and accents), so the account cannot be created there",
            hint="give the mailbox another name, or another --ou (or rename or remove that object)",
        )
    if facts.upn_holder is not None:
        u = facts.upn_holder
        raise Conflict(
            f"the UPN {resolved.upn} is held in AD by {u.distinguished_name} (sAMAccountName "
            f"{u.sam_account_name})",
            hint="give another --upn, or --sam of that account if it is the one to use",
        )
    if facts.upn_cloud_holder is not None:
        c = facts.upn_cloud_holder
        raise Conflict(
            f"the UPN {resolved.upn} is held in Entra ID by another cloud user (id {c.id})",
            hint="give another --upn, or remove that cloud user's UPN first",
        )
    if cloud is not None and cloud.on_premises_immutable_id:
        # Two machines, one alias (issue #12): once the AD account exists its anchor wins, and the plan
        # writes it to a cloud user that is not synced yet; only a cloud user already synced from another
        # object is a conflict.
        if anchor is not None and cloud.on_premises_immutable_id != anchor and cloud.on_premises_sync_enabled:
            raise Conflict(
                f"the cloud user of mailbox {resolved.alias} ({cloud.user_principal_name}) is linked to "
                f"another on-premises object: its ImmutableId is {cloud.on_premises_immutable_id}, the AD "
                f"account {facts.ad_user.sam_account_name if facts.ad_user else ''} has {anchor}",
                hint="check which AD account owns this mailbox; `pswrap mailbox link` with that account",
            )
        if anchor is None and cloud.on_premises_sync_enabled:
            raise Conflict(
                f"the cloud user of mailbox {resolved.alias} is already synced from another on-premises "
                f"object (ImmutableId {cloud.on_premises_immutable_id}), and no AD account "
                f"{resolved.sam} exists",
                hint="find the AD account it is synced from (`pswrap run graph/find-users`), and use it",
            )


def check_blocks(resolved: Resolved, facts: Facts) -> None:
    """A blocked match or a role-holding cloud user: refuse and say what the admin can do (exit 6).

    pswrap never changes tenant security settings itself (docs/sources.md §3: Microsoft advises keeping both
    blocks on except during a planned matching window, which is the admin's decision).
    """
    features = facts.features
    if resolved.match == "soft" and features is not None and features.block_soft_match:
        raise NeedsHuman(
            "the tenant blocks soft match (BlockSoftMatchEnabled), so the new account would not match "
            "the cloud mailbox's user but create a second one",
            hint="use --match hard (the default), or have an admin lift BlockSoftMatch for a planned "
            "matching window (Update-MgDirectoryOnPremiseSynchronization) and re-enable it afterwards",
        )
    if resolved.match == "hard" and features is not None and features.block_hard_match_takeover:
        raise NeedsHuman(
            "the tenant blocks cloud object takeover through hard match "
            "(BlockCloudObjectTakeoverThroughHardMatchEnabled): the sync engine would refuse the link "
            "with InvalidHardMatch",
            hint="an admin can lift the block for a planned matching window "
            "(Update-MgDirectoryOnPremiseSynchronization, docs/sources.md §3) and re-enable it after the "
            "link; "
            "or use --profile hybrid-tools, where sync creates the mailbox and nothing is taken over",
        )
    # Any role, also scoped to an administrative unit or only eligible (MC1262584; pswrap's caution).
    refuse_role_holder(facts.cloud_user)
