"""The identity fields of an existing mailbox: name, display name, primary address and extra addresses.

Pure functions of (spec, what was read): each given field is compared with the value in the system the
mastering table names for the mailbox's link state, and becomes a change written there:

- Exchange Online (`exo`: not linked; the addresses also when the Exchange attributes are cloud-managed):
  one Set-Mailbox (`-Name`, `-DisplayName`, `-EmailAddresses` with the whole list, `SMTP:` the primary);
- AD (`ad`: after the link): Set-ADUser on the mailbox's account (`-DisplayName`; `-EmailAddress` with
  `-Replace @{proxyAddresses}` in one update, the primary being in both). Exchange Online shows the value
  after the next sync cycle carries it; the diff compares with AD, so a second apply is a no-op at once.
- The name of a synced mailbox is AD's cn: renaming an AD object needs Rename-ADObject, which pswrap's
  catalogue does not hold. A different name is drift, with a hint saying how the admin renames it.

When AD was not read (a batch plans from Exchange Online alone), a value AD masters is compared with
Exchange Online's and reported as drift; the batch then hands that mailbox to converge, which reads AD
(its apply, or its check mode under --dry-run).

Addresses: `addresses` are the extra SMTP addresses. The primary and the service's *.onmicrosoft.com
addresses are not counted among them, and every other address type (X500, SIP, ...) is kept as it is. A full
list replaces the extra SMTP addresses; `{add, remove}` changes only those named. A new primary demotes the
old one to an extra address (as Set-Mailbox -PrimarySmtpAddress does), unless a full list leaves it out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pswrap.desired.spec import ListEdit, MailboxSpec
from pswrap.dn import is_within, parent_of
from pswrap.mastering import LinkState, Master, where_written

AD_STEP = "ad/set-resource-attributes"
EXO_STEP = "exo/set-mailbox"

OU_HINT = (
    "pswrap does not move a linked account: outside the sync scope its cloud user is deleted and the "
    "mailbox soft-deleted. Move it yourself to an OU in sync scope (Move-ADObject; `pswrap doctor` lists the "
    "scope), or change `ou` in the spec to where it is"
)
UPN_HINT = (
    "pswrap does not change a linked account's UPN (it is the cloud user's sign-in name): change it in AD "
    "(Set-ADUser -UserPrincipalName) and the next sync cycle carries it, or change `upn` in the spec"
)
NAME_HINT = (
    "pswrap does not rename AD objects (no rename cmdlet in its catalogue): rename the account in AD "
    "(Rename-ADObject -Identity <its DN> -NewName <name>, or Active Directory Users and Computers); the "
    "next sync cycle carries the name to Exchange Online"
)


@dataclass(frozen=True)
class IdentityChange:
    """One identity field to write (`params`: what the write step is sent for it) or, `params` None, a
    difference pswrap reports as drift (`hint`: what the admin does)."""

    field: str
    before: Any
    after: Any
    where: Master
    step: str | None = None
    params: dict[str, Any] | None = None
    hint: str | None = None


def _counted(address: str) -> bool:
    return not address.lower().endswith(".onmicrosoft.com")


def split(entries: list[str]) -> tuple[str | None, list[str], list[str]]:
    """(primary, extra SMTP addresses, every other entry as stored) of an address list."""
    primary = next((e.split(":", 1)[1] for e in entries if e.startswith("SMTP:")), None)
    extra = [e.split(":", 1)[1] for e in entries if e.startswith("smtp:")]
    other = [e for e in entries if e.split(":", 1)[0].lower() != "smtp"]
    return primary, extra, other


def target_addresses(
    entries: list[str], email: str | None, wanted: list[str] | ListEdit | None
) -> tuple[list[str], list[str], list[str]]:
    """The whole list after the change, and the counted extra addresses before and after."""
    primary, extra, other = split(entries)
    have = [a for a in extra if _counted(a)]
    service = [a for a in extra if not _counted(a)]
    new_primary = email or primary
    if wanted is None or isinstance(wanted, ListEdit):
        kept = list(have)
        if primary and new_primary and primary.lower() != new_primary.lower():
            kept.append(primary)  # the old primary stays an address of the mailbox
        target = wanted.apply(kept) if isinstance(wanted, ListEdit) else kept
    else:
        target = list(wanted)
    seen = {new_primary.lower()} if new_primary else set()
    after: list[str] = []
    for address in target:
        if address.lower() not in seen:
            seen.add(address.lower())
            after.append(address)
    entries_after = [f"SMTP:{new_primary}"] if new_primary else []
    entries_after += [f"smtp:{a}" for a in after]
    entries_after += [f"smtp:{a}" for a in service if a.lower() not in seen]
    entries_after += other
    return entries_after, have, after


def _same_addresses(a: list[str], b: list[str]) -> bool:
    return {x.lower() for x in a} == {x.lower() for x in b}


def changes(spec: MailboxSpec, mailbox: Any, state: LinkState, ad: Any | None) -> list[IdentityChange]:
    """name, display_name, email and addresses of an existing mailbox. `ad`: results.access.AdAttributes
    of its account when it was read (found), else None."""
    out: list[IdentityChange] = []
    out.extend(_placement(spec, mailbox, state, ad))
    if spec.name is not None and spec.name != mailbox.name:
        where = where_written("name", state)
        if where == "exo":
            out.append(IdentityChange("name", mailbox.name, spec.name, where, EXO_STEP, {"Name": spec.name}))
        else:
            out.append(IdentityChange("name", mailbox.name, spec.name, where, hint=NAME_HINT))
    if spec.display_name is not None:
        where = where_written("display_name", state)
        now = ad.display_name if where == "ad" and ad is not None else mailbox.display_name
        if now != spec.display_name:
            params = {"DisplayName": spec.display_name}
            out.append(_write("display_name", now, spec.display_name, where, ad, params))
    if spec.email is not None or spec.addresses is not None:
        where = where_written("addresses", state)
        from_ad = where == "ad" and ad is not None
        source = ad if from_ad else None
        entries = list(source.proxy_addresses if source is not None else mailbox.email_addresses)
        primary = split(entries)[0] or (source.mail if source is not None else mailbox.primary_smtp_address)
        whole, have, after = target_addresses(entries, spec.email, spec.addresses)
        addresses: dict[str, Any] = {"ProxyAddresses": whole} if from_ad else {"EmailAddresses": whole}
        email_differs = spec.email is not None and str(primary or "").lower() != spec.email.lower()
        if email_differs and from_ad:
            addresses["EmailAddress"] = spec.email
        if email_differs:
            out.append(_write("email", primary, spec.email, where, ad, addresses))
        if spec.addresses is not None and not _same_addresses(have, after):
            out.append(_write("addresses", have, after, where, ad, addresses))
    return out


def _placement(spec: MailboxSpec, mailbox: Any, state: LinkState, ad: Any | None) -> list[IdentityChange]:
    """`ou` and `upn` of a linked account: given to create it, only compared afterwards (drift with what
    the admin does); pswrap never moves a linked account or changes its sign-in name."""
    if state == "not_linked":
        return []
    out: list[IdentityChange] = []
    if spec.ou is not None and ad is not None and ad.distinguished_name:
        now = parent_of(ad.distinguished_name)
        if not (is_within(now, spec.ou) and is_within(spec.ou, now)):
            out.append(IdentityChange("ou", now, spec.ou, where_written("ou", state), hint=OU_HINT))
    upn = mailbox.user_principal_name
    if spec.upn is not None and upn and str(upn).lower() != spec.upn.lower():
        out.append(IdentityChange("upn", upn, spec.upn, where_written("upn", state), hint=UPN_HINT))
    return out


def _write(
    field: str, before: Any, after: Any, where: Master, ad: Any | None, params: dict[str, Any]
) -> IdentityChange:
    if where == "exo":
        return IdentityChange(field, before, after, where, EXO_STEP, params)
    if where == "ad" and ad is not None:
        return IdentityChange(field, before, after, where, AD_STEP, params)
    return IdentityChange(field, before, after, "exo" if where == "not_settable" else where)
