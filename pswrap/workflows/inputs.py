"""What the admin asked for, checked and completed locally before anything remote is touched.

Every rule here is one an admin would otherwise learn from a half-finished run: AD refuses a long or
oddly-charactered sAMAccountName only after the mailbox exists, and a wrong profile/hold/match combination
is a race the seed runbook warns about. So all of it is decided here, from the arguments and the target's
settings alone, and refused with exit 2 before the first remote call.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from pswrap.errors import BadInput, Refused
from pswrap.immutableid import parse_guid

MailboxType = Literal["room", "equipment", "shared"]
Hold = Literal["anchor", "staging-ou", "scheduler", "none"]
Match = Literal["hard", "soft"]

MAILBOX_TYPES: tuple[str, ...] = ("room", "equipment", "shared")
HOLDS: tuple[str, ...] = ("anchor", "staging-ou", "scheduler", "none")
MATCHES: tuple[str, ...] = ("hard", "soft")
PROFILES: tuple[str, ...] = ("modern", "legacy", "hybrid-tools")
EXCHANGE_ATTRIBUTES: tuple[str, ...] = ("auto", "cloud", "stamp", "none")

RECIPIENT_TYPE = {"room": "RoomMailbox", "equipment": "EquipmentMailbox", "shared": "SharedMailbox"}
REMOTE_RECIPIENT_TYPE = {
    "room": "RemoteRoomMailbox",
    "equipment": "RemoteEquipmentMailbox",
    "shared": "RemoteSharedMailbox",
}

SAM_MAX = 20
MAX_SECONDS = 7 * 24 * 3600.0
"""The longest --timeout accepted (a week): beyond it a number is a typo, and `inf` or 1e308 would
overflow the clock arithmetic of a deadline."""
SAM_FORBIDDEN = '"/\\[]:;|=,+*?<>'
# Exchange alias (mailNickname): RFC 5322 atext, dots not leading, trailing or doubled, at most 64.
_ATEXT = r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]"
ALIAS_RE = re.compile(rf"^{_ATEXT}+(\.{_ATEXT}+)*$")
def check_seconds(value: float, option: str, *, maximum: float = MAX_SECONDS) -> float:
    """A time limit given by the user: a finite number of seconds, more than 0, at most `maximum`."""
    import math

    if not isinstance(value, (int, float)) or not math.isfinite(value) or not 0 < value <= maximum:
        raise BadInput(
            f"{option} {value!r} must be a number of seconds more than 0 and at most {maximum:g}",
            hint=f"e.g. {option} 600",
        )
    return float(value)


ADDRESS_RE = re.compile(rf"^{_ATEXT}+(\.{_ATEXT}+)*@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


@dataclass(frozen=True)
class TargetFacts:
    """The few target settings the inputs default from (a `pswrap.remote.target.Target` has them all)."""

    name: str
    upn_suffix: str
    resource_ou: str
    staging_ou: str | None = None
    organization: str | None = None
    """The tenant's primary .onmicrosoft.com domain: the mailbox's routing address lives there."""

    @classmethod
    def of(cls, target: Any) -> TargetFacts:
        return cls(
            name=str(getattr(target, "name", "lab")),
            upn_suffix=str(getattr(target, "upn_suffix", "") or ""),
            resource_ou=str(getattr(target, "resource_ou", "") or ""),
            staging_ou=getattr(target, "staging_ou", None) or None,
            organization=getattr(target, "organization", None) or None,
        )


@dataclass(frozen=True)
class MailboxRequest:
    """The arguments of `mailbox create` / `mailbox link`, as given (None = use the default).

    This is what the journal stores for the operation: it never holds a secret, and `resume` re-runs
    the operation from it.
    """

    name: str
    alias: str
    type: str = "room"
    sam: str | None = None
    upn: str | None = None
    email: str | None = None
    ou: str | None = None
    display_name: str | None = None
    capacity: int | None = None
    profile: str = "modern"
    hold: str | None = None
    match: str | None = None
    wait: bool = True
    timeout: float = 600.0
    link_ad_user: str | None = None
    """`mailbox link --ad-user`: link to this existing account (sAMAccountName, UPN or objectGUID)."""
    link_existing_mailbox: bool = False
    """`mailbox link`: the cloud mailbox must exist already; it is never created."""
    add_addresses: bool = False
    """`mailbox link --ad-user --add-addresses`: pswrap may add to an account it does not own the addresses
    the link would otherwise lose."""
    exchange_attributes: str | None = None
    """auto (None), cloud, stamp or none: who masters the Exchange attributes after the link."""
    allow_sign_in: bool = False
    """Keep the account able to sign in (Teams Rooms devices); the password is a secret, never stored."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MailboxRequest:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})

    def with_(self, **changes: Any) -> MailboxRequest:
        return replace(self, **changes)


@dataclass(frozen=True)
class Resolved:
    """The request with every default filled in: exactly the values the scripts will carry."""

    name: str
    alias: str
    type: str
    sam: str
    upn: str
    primary_smtp: str
    mail_nickname: str
    proxy_addresses: tuple[str, ...]
    ou: str
    display_name: str
    capacity: int | None
    profile: str
    hold: str | None
    """None until the server's anchor attribute is known (the default depends on it)."""
    match: str | None
    addresses: tuple[str, ...] = field(default=())
    """Every SMTP address, without prefix, primary first."""
    exchange_attributes: str = "auto"
    allow_sign_in: bool = False
    add_addresses: bool = False

    @property
    def recipient_type(self) -> str:
        return RECIPIENT_TYPE[self.type]


def check_sam(sam: str, *, given: bool) -> None:
    """AD's sAMAccountName rules (at most 20 characters; none of `"/\\[]:;|=,+*?<>`; no trailing dot)."""
    bad = sorted({c for c in sam if c in SAM_FORBIDDEN or ord(c) < 32})
    problem = None
    if not sam:
        problem = "is empty"
    elif len(sam) > SAM_MAX:
        problem = f"has {len(sam)} characters (AD allows at most {SAM_MAX})"
    elif bad:
        problem = "contains " + " ".join(repr(c) for c in bad) + " (AD forbids " + SAM_FORBIDDEN + ")"
    elif sam.endswith("."):
        problem = "ends with a dot (AD forbids it)"
    if problem is None:
        return
    if given:
        raise BadInput(f"--sam {sam!r} {problem}", hint="choose another sAMAccountName with --sam")
    raise BadInput(
        f"the alias {sam!r} cannot be the sAMAccountName (it {problem}): --sam is required",
        hint="give one with --sam (at most 20 characters, none of " + SAM_FORBIDDEN + ")",
    )


INVISIBLE = frozenset(
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u200e\u200f"
    "\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069"
    "\u206a\u206b\u206c\u206d\u206e\u206f\u3164\ufeff\uffa0"
)
"""Zero-width characters, joiners, bidi controls and fillers: invisible in every admin tool, so a name
holding one looks like another object's name and cannot be typed again."""


def check_visible(flag: str, value: str | None) -> None:
    """Refuse invisible characters, control characters, and spaces at either end (never trimmed
    silently: AD and Exchange would keep them, and a trimmed value is not what was asked for)."""
    import unicodedata

    if value is None:
        return
    hidden = sorted({c for c in value if c in INVISIBLE or unicodedata.category(c) in ("Cc", "Cf")})
    if hidden:
        codes = ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, 'control character')}" for c in hidden)
        raise BadInput(
            f"{flag} {value!r} contains invisible characters ({codes})",
            hint="type the value again without them (they often come with text copied from documents)",
        )
    if value != value.strip():
        raise BadInput(
            f"{flag} {value!r} begins or ends with a space",
            hint="give it without the spaces at either end (pswrap never trims a value silently)",
        )


def is_dn(value: str | None) -> bool:
    """A distinguished name by the one DN parser (pswrap.dn): RDNs of attribute=value, none empty."""
    from pswrap.dn import split_rdns

    if not value:
        return False
    rdns = split_rdns(value)
    return bool(rdns) and all("=" in r and r.split("=", 1)[0].strip() and r.split("=", 1)[1] for r in rdns)


def _check_address(flag: str, value: str) -> None:
    if not ADDRESS_RE.match(value) or len(value) > 256:
        raise BadInput(f"{flag} {value!r} is not an address of the form local@domain.example")


def check_combination(req: MailboxRequest, *, dry_run: bool) -> None:
    """The valid profile/hold/match combinations of issue #6; everything else is refused (exit 2)."""
    if req.profile not in PROFILES:
        raise BadInput(f"unknown profile {req.profile!r}", hint="one of: " + ", ".join(PROFILES))
    if req.hold is not None and req.hold not in HOLDS:
        raise BadInput(f"unknown hold {req.hold!r}", hint="one of: " + ", ".join(HOLDS))
    if req.match is not None and req.match not in MATCHES:
        raise BadInput(f"unknown match {req.match!r}", hint="one of: " + ", ".join(MATCHES))
    if req.profile == "legacy":
        if req.hold is not None or req.match is not None:
            raise Refused(
                "the legacy profile takes no --hold or --match: it only renders the seed's 2014 runbook",
                hint="drop --hold/--match, and add --dry-run to print the runbook",
            )
        if not dry_run:
            from pswrap.workflows.legacy import retired_explanation

            raise Refused(
                "the legacy profile only renders the seed's runbook (with --dry-run); its services "
                "are retired:\n" + retired_explanation(),
                hint="run the same command with --profile modern, or add --dry-run to read the old runbook",
            )
        return
    if req.profile == "hybrid-tools":
        if req.exchange_attributes not in (None, "auto") or req.allow_sign_in:
            raise Refused(
                "with the hybrid-tools profile New-RemoteMailbox writes the Exchange attributes and the "
                "account: --exchange-attributes and --allow-sign-in do not apply",
                hint="drop them, or use --profile modern",
            )
        if req.hold not in (None, "none") or req.match is not None:
            raise Refused(
                "the hybrid-tools profile creates the account with New-RemoteMailbox and sync creates the "
                "mailbox: there is no cloud object to match, so --hold and --match do not apply",
                hint="drop --hold/--match, or use --profile modern for the hard-match route",
            )
        if req.link_ad_user is not None or req.link_existing_mailbox:
            raise Refused(
                "mailbox link needs the modern profile: New-RemoteMailbox cannot take over an existing "
                "cloud mailbox",
                hint="use --profile modern",
            )
        return
    # modern
    match = req.match or "hard"
    if match == "soft":
        if req.hold not in (None, "none"):
            raise Refused(
                f"--hold {req.hold} with --match soft: a soft match (on the primary SMTP address, then "
                "the UPN) takes no hold; the only hold for soft match is none",
                hint="use --hold none with --match soft, or --match hard with a hold",
            )
        if req.link_ad_user is not None:
            raise Refused(
                "mailbox link --ad-user sets the cloud ImmutableId, which is a hard match",
                hint="drop --match soft",
            )
        return
    if req.hold == "none":
        raise Refused(
            "--hold none with a hard match: the new account could sync before the cloud object carries "
            "its anchor and become a second cloud user (the race the seed runbook warns about)",
            hint="use --hold anchor, staging-ou or scheduler, or --match soft",
        )


def resolve(req: MailboxRequest, target: TargetFacts, *, dry_run: bool = False) -> Resolved:
    """Check every argument and fill in every default; raises BadInput/Refused (exit 2)."""
    if req.type not in MAILBOX_TYPES:
        raise BadInput(f"unknown mailbox type {req.type!r}", hint="one of: " + ", ".join(MAILBOX_TYPES))
    if req.exchange_attributes is not None and req.exchange_attributes not in EXCHANGE_ATTRIBUTES:
        raise BadInput(
            f"unknown --exchange-attributes {req.exchange_attributes!r}",
            hint="one of: " + ", ".join(EXCHANGE_ATTRIBUTES),
        )
    check_combination(req, dry_run=dry_run)
    for flag, text in (("the name", req.name), ("--display-name", req.display_name), ("--ou", req.ou),
                       ("--alias", req.alias), ("--sam", req.sam), ("--upn", req.upn),
                       ("--email", req.email)):  # fmt: skip
        check_visible(flag, text)
    name = req.name
    if not name or len(name) > 64:
        raise BadInput(f"the name {req.name!r} must have 1 to 64 characters (Exchange's limit for -Name)")
    if not ALIAS_RE.match(req.alias) or len(req.alias) > 64:
        raise BadInput(
            f"--alias {req.alias!r} is not a valid Exchange alias",
            hint="letters, digits and !#$%&'*+-/=?^_`{|}~, dots between them, at most 64 characters",
        )
    if req.capacity is not None:
        if req.type != "room":
            raise BadInput(f"--capacity is for rooms only, not for a {req.type} mailbox")
        if req.capacity < 0 or req.capacity > 100000:
            raise BadInput(f"--capacity {req.capacity} must be between 0 and 100000")
    check_seconds(req.timeout, "--timeout")
    sam = req.sam if req.sam is not None else req.alias
    check_sam(sam, given=req.sam is not None)
    if req.upn is not None:
        upn = req.upn
        _check_address("--upn", upn)
    else:
        if not target.upn_suffix:
            raise BadInput(
                f"target {target.name!r} has no UPN suffix to build the default UPN from: --upn is required",
                hint="give --upn, or set upn_suffix for the target in the configuration",
            )
        upn = f"{req.alias}@{target.upn_suffix}"
        _check_address("the default UPN", upn)
    primary = req.email if req.email is not None else upn
    _check_address("--email", primary)
    ou = req.ou if req.ou is not None else target.resource_ou
    if not is_dn(ou):
        raise BadInput(
            f"the OU {ou!r} is not a distinguished name",
            hint="give --ou 'OU=...,DC=...' (a comma inside a name escaped as \\,) or set resource_ou "
            "for the target",
        )
    addresses: list[str] = [primary]
    if target.organization and req.profile == "modern":
        # The mailbox's own address on the tenant domain: AD must carry it too, or the first sync
        # (on-premises is authoritative after the link) removes it from the mailbox. With
        # hybrid-tools, New-RemoteMailbox sets the addresses (and the remote routing address).
        routing = f"{req.alias}@{target.organization}"
        if routing.lower() != primary.lower():
            addresses.append(routing)
    proxy = ["SMTP:" + addresses[0], *("smtp:" + a for a in addresses[1:])]
    hold = req.hold
    match = req.match
    if req.profile == "modern":
        match = match or "hard"
        if match == "soft":
            hold = "none"
    elif req.profile == "hybrid-tools":
        hold, match = "none", None
    display_name = req.display_name or name
    if len(display_name) > 256:
        raise BadInput("--display-name has more than 256 characters (AD's limit for displayName)")
    return Resolved(
        name=name,
        alias=req.alias,
        type=req.type,
        sam=sam,
        upn=upn,
        primary_smtp=primary,
        mail_nickname=req.alias,
        proxy_addresses=tuple(proxy),
        ou=ou,
        display_name=display_name,
        capacity=req.capacity,
        profile=req.profile,
        hold=hold,
        match=match,
        addresses=tuple(addresses),
        exchange_attributes=req.exchange_attributes or "auto",
        allow_sign_in=req.allow_sign_in,
        add_addresses=req.add_addresses,
    )


def choose_hold(resolved: Resolved, *, anchor_attribute: str, staging_mode: bool) -> str:
    """The hold, now that the server's anchor attribute is known (docs/design.md, Workflows)."""
    if resolved.profile != "modern":
        return "none"
    consistency = anchor_attribute.lower() == "ms-ds-consistencyguid"
    hold = resolved.hold
    if hold is None:
        hold = "anchor" if consistency else "staging-ou"
    if hold == "anchor" and not consistency:
        raise Refused(
            f"--hold anchor needs the sync server's sourceAnchor to be mS-DS-ConsistencyGuid; this server "
            f"anchors on {anchor_attribute}, so a pre-stamped mS-DS-ConsistencyGuid would be ignored",
            hint="use --hold staging-ou (the default here) or --hold scheduler",
        )
    if hold == "scheduler" and staging_mode:
        raise Refused(
            "--hold scheduler on a sync server in staging mode: it exports nothing, and its scheduler "
            "must not be paused for that",
            hint="run against the active sync server, or use --hold anchor / staging-ou",
        )
    return hold


def identify_ad_user(value: str) -> tuple[str, str]:
    """How `--ad-user` names the account: ('guid'|'upn'|'sam', value)."""
    try:
        return "guid", str(parse_guid(value))  # an objectGUID, as AD tools write it (braces allowed)
    except BadInput:
        pass
    if "@" in value:
        return "upn", value
    return "sam", value
