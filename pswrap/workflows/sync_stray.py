"""A sync that created a NEW cloud object instead of matching the mailbox's user, told as such.

Duplicate attribute resiliency is always on ("Identity synchronization and duplicate attribute
resiliency", Learn): an account that neither hard- nor soft-matches is provisioned as a new cloud user
even when its UPN and SMTP address belong to the mailbox's user; the UPN becomes a placeholder
(`<prefix>+<4 digits>@<initial domain>`, or as the page's own example writes it, without the `+`), the
address is quarantined, the conflicts are stored on the new object (`onPremisesProvisioningErrors`), and
no export error is logged. Waiting for the link would only run into the timeout, so after a cycle that
did not link, pswrap looks for a synced user carrying its anchor that is not the mailbox's.
"""

from __future__ import annotations

import re
from typing import Any

from pswrap.errors import NeedsHuman
from pswrap.workflows.ports import StepSession


def is_placeholder_upn(upn: str, wanted_upn: str | None) -> bool:
    """A UPN duplicate attribute resiliency gave instead of `wanted_upn`: `prefix+1234@x.onmicrosoft.com`
    as the page's format writes it, or `prefix1234@x.onmicrosoft.com` as its example does."""
    m = re.fullmatch(r"(?P<prefix>.+?)(?P<plus>\+?)\d{4}@[^@]+\.onmicrosoft\.com", upn.strip(), re.IGNORECASE)
    if m is None:
        return False
    if wanted_upn:
        return m.group("prefix").lower() == wanted_upn.split("@", 1)[0].lower()
    return bool(m.group("plus"))


def find_stray(session: StepSession, anchor: str | None, mailbox_user_id: str | None) -> Any | None:
    """A synced cloud user carrying `anchor` that is not the mailbox's user, or None."""
    if not anchor or not mailbox_user_id:
        return None
    found = session.step("graph/find-users", choices={"by": "immutableid"}, params={"Value": anchor})
    for user in found.users:
        if user.on_premises_sync_enabled and str(user.id).lower() != mailbox_user_id.lower():
            return user
    return None


def stray_error(
    stray: Any, *, what: str, anchor: str, mailbox_user: Any | None, wanted_upn: str | None
) -> NeedsHuman:
    """Exit 6: which object was created, why, and how to clean up."""
    upn = str(stray.user_principal_name)
    placeholder = (
        " (a placeholder given by duplicate attribute resiliency)"
        if is_placeholder_upn(upn, wanted_upn)
        else ""
    )
    conflicts = [
        f"{e.property_causing_error} {e.value}" for e in getattr(stray, "on_premises_provisioning_errors", [])
    ]
    quarantined = (
        f"; values quarantined on it because another object holds them: {', '.join(conflicts)}"
        if conflicts
        else ""
    )
    if mailbox_user is not None:
        theirs = mailbox_user.on_premises_immutable_id or "none"
        target = f"the mailbox's user {mailbox_user.user_principal_name} (id {mailbox_user.id})"
        why = (
            f"that user does not carry the account's ImmutableId {anchor} (it has {theirs}), so there was "
            "no hard match, and no soft match took it (BlockSoftMatchEnabled, or another primary SMTP "
            "address and UPN)"
        )
    else:
        target = "the mailbox's user"
        why = "there was neither a hard nor a soft match"
    return NeedsHuman(
        f"{what} synced into a NEW cloud user {upn}{placeholder} (id {stray.id}) instead of matching "
        f"{target}: {why}{quarantined}",
        hint=(
            "clean up, then run the command again: move the AD account out of sync scope (or delete it) "
            "and let a cycle run, which soft-deletes the new cloud user; remove it for good from Entra "
            f"ID's deleted users (Remove-MgDirectoryDeletedItem -DirectoryObjectId {stray.id}); give the "
            f"mailbox's user the ImmutableId {anchor} (or lift BlockSoftMatch for a planned matching "
            "window); move the account back into scope"
        ),
    )
