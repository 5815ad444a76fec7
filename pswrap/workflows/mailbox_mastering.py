"""What the link does beyond the match (issue #11): keep every address, keep the resource account from
signing in, and give the Exchange attributes a master (docs/mastering.md).

- Addresses: after a hard match the cloud keeps only what AD carries ("Microsoft Entra Connect: When you
  have an existing tenant"). So the account carries every SMTP address of the mailbox and an X500 address
  with its LegacyExchangeDN before the link; an address lost anyway is reported as drift, never hidden.
- Sign-in: New-Mailbox creates a room's account enabled with an unknown password (a shared mailbox's
  disabled); after the link accountEnabled follows AD. pswrap creates the AD account disabled and blocks
  the cloud account's sign-in before the link, unless `--allow-sign-in` (Teams Rooms devices).
- Exchange attributes: `cloud` moves their source of authority to Exchange Online after the link
  (Set-Mailbox -IsExchangeCloudManaged); `stamp` writes the remote-mailbox values New-RemoteMailbox would
  set (community practice, unsupported by Microsoft); `none` leaves them mastered in AD.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pswrap import mastering
from pswrap.errors import NeedsHuman, PswrapError
from pswrap.workflows.inputs import Resolved
from pswrap.workflows.results import Change, Drift

# --- the Exchange attributes' route ------------------------------------------------------------------------

EXCHANGE_ROUTES: tuple[str, ...] = ("auto", "cloud", "stamp", "none")

CLOUD_MINIMUM = (2, 5, 76, 0)
"""The lowest Entra Connect version published for cloud-managed Exchange attributes (community:
https://blog.icewolf.ch/archive/2025/09/16/change-source-of-authority-soa-for-exchange-attribtes-preview ; the
same figure Microsoft documents for the user source-of-authority switch, "Configure User SOA")."""

CLOUD_AGREED = (2, 5, 190, 0)
"""The other published figure (community: https://github.com/mardahl/Exchange-SOA-Manager/wiki/Prerequisites).
The two conflict and Microsoft's Set-Mailbox page states none: `auto` chooses `cloud` only from this one,
where both agree."""


@dataclass(frozen=True)
class Route:
    name: str
    """cloud, stamp or none."""
    reason: str


def _version(text: str | None) -> tuple[int, ...] | None:
    if not text:
        return None
    try:
        return tuple(int(p) for p in str(text).split("."))
    except ValueError:
        return None


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(str(p) for p in version)


def choose_route(asked: str | None, connect_version: str | None) -> Route:
    """The route for the Exchange attributes, and why (the doctor and the dry run print the reason)."""
    asked = asked or "auto"
    version = _version(connect_version)
    shown = connect_version or "unknown"
    if asked == "none":
        return Route("none", "--exchange-attributes none: the Exchange attributes stay mastered in AD")
    if asked == "stamp":
        return Route(
            "stamp",
            "--exchange-attributes stamp: the remote-mailbox values are written in AD before the link "
            "(community practice; Microsoft does not support it)",
        )
    if asked == "cloud":
        if version is not None and version < CLOUD_MINIMUM:
            raise NeedsHuman(
                f"--exchange-attributes cloud needs Entra Connect {_dotted(CLOUD_MINIMUM)} or later; the "
                f"sync server runs {shown}",
                hint="upgrade Entra Connect, or use --exchange-attributes none (they stay mastered in AD)",
            )
        return Route(
            "cloud",
            f"--exchange-attributes cloud: Set-Mailbox -IsExchangeCloudManaged after the link (Entra Connect "
            f"{shown}; published minimums {_dotted(CLOUD_MINIMUM)} and {_dotted(CLOUD_AGREED)} conflict)",
        )
    if version is not None and version >= CLOUD_AGREED:
        return Route(
            "cloud",
            f"auto: Entra Connect {shown} meets both published minimums for cloud-managed Exchange "
            "attributes, Microsoft's supported route without an Exchange server",
        )
    return Route(
        "none",
        f"auto: Entra Connect {shown} is below {_dotted(CLOUD_AGREED)}, the higher of the two published "
        "minimums for cloud-managed Exchange attributes, so they stay mastered in AD "
        f"(--exchange-attributes cloud uses them from {_dotted(CLOUD_MINIMUM)})",
    )


STAMP_VALUES: dict[str, tuple[int, int, int]] = {
    "room": (8589934592, 33, -2147481850),
    "equipment": (17179869184, 65, -2147481594),
    "shared": (34359738368, 97, -2147483642),
}
"""(msExchRecipientTypeDetails, msExchRemoteRecipientType, msExchRecipientDisplayType) of a remote room,
equipment and shared mailbox, as New-RemoteMailbox sets them. Community values, not a Microsoft procedure:
https://learn.microsoft.com/archive/blogs/undocumentedfeatures/updating-remote-recipient-types-on-premises
(Microsoft's archived "Undocumented Features" blog), https://www.michev.info/blog/post/1228 ; Microsoft's
KB2710029 itself writes the shared mailbox's 34359738368 (with 100, the migrated form of 97)."""


def stamp_params(mailbox_type: str) -> dict[str, str]:
    details, remote, display = STAMP_VALUES[mailbox_type]
    return {
        "RecipientTypeDetails": str(details),
        "RemoteRecipientType": str(remote),
        "RecipientDisplayType": str(display),
    }


# --- addresses -------------------------------------------------------------------------------------------


def _split(address: str) -> tuple[str, str]:
    prefix, sep, rest = str(address).partition(":")
    if not sep:
        return "smtp", str(address)
    return prefix.lower(), rest


def _key(address: str) -> tuple[str, str]:
    prefix, rest = _split(address)
    return prefix, rest.lower()


def keep_addresses(mailbox: Any, primary: str, proxy_addresses: Sequence[str]) -> list[str]:
    """What the account must carry so the link loses nothing: the primary (SMTP:), every other SMTP
    address of the mailbox, its X500 addresses, and X500:<its LegacyExchangeDN>, plus pswrap's own
    (`proxy_addresses`, e.g. the tenant routing address).

    Verified domains: no catalogued cmdlet lists them (Get-MgDomain and Get-AcceptedDomain are not in the
    catalogue). Exchange Online accepts an address only in one of the organization's accepted domains, and
    an accepted domain of Exchange Online is a domain the tenant verified, so every SMTP address a mailbox
    holds is in a verified domain and is carried."""
    out = [f"SMTP:{primary}"]
    seen = {("smtp", primary.lower())}

    def add(prefix: str, rest: str) -> None:
        if (prefix, rest.lower()) in seen:
            return
        seen.add((prefix, rest.lower()))
        out.append(f"{'smtp' if prefix == 'smtp' else prefix.upper()}:{rest}")

    for address in [*proxy_addresses, *(mailbox.email_addresses or [])]:
        prefix, rest = _split(address)
        if prefix in ("smtp", "x500"):
            add(prefix, rest)
    if mailbox.legacy_exchange_dn:
        add("x500", str(mailbox.legacy_exchange_dn))
    return out


def service_kept(address: str) -> bool:
    """An address on the tenant's *.onmicrosoft.com domains: the service stamps it on every recipient, so
    the link does not lose it even when AD lacks it (the lab's sync engine models the same inference)."""
    prefix, rest = _split(address)
    return prefix == "smtp" and rest.lower().endswith(".onmicrosoft.com")


def at_risk(have: Sequence[str], keep: Sequence[str]) -> list[str]:
    """What the link would lose from the mailbox if the account (`have`) is linked as it is."""
    return [a for a in missing_addresses(have, keep) if not service_kept(a)]


def missing_addresses(have: Sequence[str], keep: Sequence[str]) -> list[str]:
    """The addresses of `keep` an account lacks (compared without case, SMTP: and smtp: alike). The primary
    is added as a secondary when the account already has another primary (never two primaries)."""
    present = {_key(a) for a in have}
    has_primary = any(str(a).startswith("SMTP:") for a in have)
    out = []
    for address in keep:
        if _key(address) in present:
            continue
        if address.startswith("SMTP:") and has_primary:
            address = "smtp:" + address[5:]
        out.append(address)
    return out


def lost_addresses(keep: Sequence[str], found: Sequence[str]) -> list[str]:
    """What of `keep` the mailbox no longer has after the link."""
    present = {_key(a) for a in found}
    return [a for a in keep if _key(a) not in present]


# --- the steps before the link ------------------------------------------------------------------------

SIGN_IN_PASSWORD_ENV = "PSWRAP_SIGN_IN_PASSWORD"
"""Where `--allow-sign-in` takes the new account's password from (or a prompt in a terminal)."""


@dataclass(frozen=True)
class StepSpec:
    """A step the plan adds before the link (the plan turns it into a PlannedStep)."""

    step_id: str
    why: str
    params: dict[str, Any]


def block_sign_in(resolved: Resolved, cloud: Any | None, params: dict[str, Any]) -> StepSpec | None:
    """Before the link: block the cloud account's sign-in where it is enabled (New-Mailbox.md: a room's
    account is created enabled with an unknown password; a shared mailbox's disabled; equipment is not
    stated, so it is treated as enabled). The table says it is Graph's to write while not linked."""
    params = {**params, "AccountEnabled": False}
    mastering.check_cloud_write("graph/set-account-enabled", params, "not_linked")
    if cloud is not None:
        if cloud.account_enabled is False:
            return None
        why = f"block sign-in of the cloud account {cloud.user_principal_name} before the link"
    elif resolved.type == "shared":
        return None
    else:
        why = f"block sign-in of the new {resolved.type} mailbox's cloud account (created enabled)"
    return StepSpec("graph/set-account-enabled", why, params)


def existing_account_steps(
    resolved: Resolved, ad: Any, keep: Sequence[str] | None, route: Route | None, *, owned: bool
) -> list[StepSpec]:
    """Before an existing account is linked: refuse what would be lost or could not sign in (exit 6, before
    any change), add the addresses it lacks (`owned`: pswrap created it; else only with --add-addresses),
    stamp it on the `stamp` route."""
    if resolved.allow_sign_in and ad.enabled is False:
        raise NeedsHuman(
            f"--allow-sign-in: the AD account {ad.sam_account_name} is disabled, and after the link the "
            "cloud account follows it, so the device could not sign in",
            hint="enable it with the password the device uses (Enable-ADAccount), or drop --allow-sign-in",
        )
    specs = []
    if keep is not None:
        missing = missing_addresses(ad.proxy_addresses, keep)
        lost = at_risk(ad.proxy_addresses, keep)
        if lost and not owned and not resolved.add_addresses:
            raise NeedsHuman(
                f"linking mailbox {resolved.alias} to the AD account {ad.sam_account_name} would lose "
                f"{len(lost)} of its addresses, which the account lacks: {', '.join(lost)} (after the link "
                "the mailbox keeps only what AD carries)",
                hint="add them to the account first, or give --add-addresses to let pswrap add them",
            )
        if missing and (lost or owned or resolved.add_addresses):
            specs.append(
                StepSpec(
                    "ad/add-addresses",
                    f"add to {ad.sam_account_name} the {len(missing)} address(es) of the mailbox it lacks, "
                    "so the link keeps them",
                    {"Identity": ad.object_guid, "Addresses": missing},
                )
            )
    if route is not None and route.name == "stamp":
        specs.append(
            StepSpec(
                "ad/stamp-exchange-attributes",
                f"write the remote {resolved.type} mailbox's msExch* values on {ad.sam_account_name} "
                "(unsupported by Microsoft; --exchange-attributes stamp)",
                {"Identity": ad.object_guid, **stamp_params(resolved.type)},
            )
        )
    return specs


# --- what each step changed ----------------------------------------------------------------------------


def changes_of(step_id: str, out: Any, before: Any | None = None) -> list[Change]:
    """The `changes` entries one applied step stands for (`before`: the AD account it changed, if known)."""
    if step_id == "ad/new-user":
        return [Change("account_enabled", None, bool(out.enabled), "ad")]
    if step_id == "ad/add-addresses":
        had = list(before.proxy_addresses) if before is not None else []
        now = list(out.proxy_addresses)
        return (
            [] if {_key(a) for a in had} == {_key(a) for a in now} else [Change("addresses", had, now, "ad")]
        )
    if step_id == "graph/set-account-enabled":
        if out.account_enabled_before == out.account_enabled:
            return []
        return [Change("account_enabled", out.account_enabled_before, out.account_enabled, "graph")]
    if step_id == "ad/stamp-exchange-attributes":
        return [Change("type", None, out.recipient_type_details, "ad")]
    return []


# --- after the link ------------------------------------------------------------------------------------


def make_cloud_managed(session: Any, runner: Any, alias: str, result: Any) -> bool:
    """The `cloud` route, once the link is verified: set IsExchangeCloudManaged and read it back. Returns
    True when the mailbox is cloud-managed afterwards (a failure to verify is drift, never success)."""
    try:
        before = session.step("exo/get-exchange-authority", params={"Identity": alias})
    except PswrapError:
        before = None
    if before is not None and before.is_exchange_cloud_managed:
        return True
    after = runner("exo/set-exchange-cloud-managed", params={"Identity": alias})
    if after.is_exchange_cloud_managed:
        result.changes.append(Change("exchange_attributes", "ad", "exo", "exo"))
        return True
    result.drift.append(Drift("exchange_attributes", after.is_exchange_cloud_managed, "cloud-managed", "exo"))
    return False
