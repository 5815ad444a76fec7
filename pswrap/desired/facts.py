"""Reading what exists: one read step per system and area, never one per field.

- identity (Exchange Online): exo/find-mailbox, the mailbox by its alias;
- calendar (Exchange Online): exo/get-calendar-processing, which also resolves every principal the spec
  names (delegates, book-in) in the same pipeline, so they are known before anything changes;
- link (only for `show`): the cloud user (Graph), the AD account and the sync server's anchor attribute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pswrap.desired.spec import ListEdit, MailboxSpec
from pswrap.errors import BadInput
from pswrap.mastering import LinkState, link_state
from pswrap.workflows.ports import StepSession, anchor_of


@dataclass
class Observed:
    """What the reads found for one alias."""

    alias: str
    mailbox: Any | None = None
    """results.models.Mailbox, when a mailbox with this alias exists."""
    calendar: Any | None = None
    """results.desired.CalendarProcessing, when read and the mailbox exists."""
    principals: dict[str, Any] = field(default_factory=dict)
    """Each principal the spec names (lower-cased as given) -> results.desired.Principal."""
    reads: list[str] = field(default_factory=list)

    @property
    def link_state(self) -> LinkState:
        """Synced or not, as Exchange Online sees it (IsDirSynced). Whether the Exchange attributes are
        cloud-managed, or AD has the Exchange schema, is not read yet: a synced mailbox is `linked`."""
        return link_state(linked=bool(self.mailbox is not None and self.mailbox.is_dir_synced))

    @property
    def mailbox_type(self) -> str | None:
        if self.mailbox is None:
            return None
        kind = str(self.mailbox.recipient_type_details)
        return TYPES.get(kind, kind)


TYPES = {"RoomMailbox": "room", "EquipmentMailbox": "equipment", "SharedMailbox": "shared"}


def principals_named(spec: MailboxSpec) -> list[str]:
    """Every principal the spec names, in order, once each."""
    names: list[str] = []
    if spec.calendar is not None:
        for value in (spec.calendar.resource_delegates, spec.calendar.book_in_policy):
            if isinstance(value, ListEdit):
                names.extend([*value.add, *value.remove])
            elif value is not None:
                names.extend(value)
    once: dict[str, str] = {}
    for name in names:
        once.setdefault(name.lower(), name)
    return list(once.values())


def read(session: StepSession, spec: MailboxSpec, *, calendar: bool | None = None) -> Observed:
    """The mailbox, and its calendar processing when the spec manages it (or `calendar` is True)."""
    observed = Observed(spec.alias)
    found = session.step("exo/find-mailbox", params={"Identity": spec.alias})
    observed.reads.append("exo/find-mailbox")
    # The alias is the identity: a mailbox that only shares a name or an address is not this one.
    if found.found and found.mailbox.alias.lower() == spec.alias.lower():
        observed.mailbox = found.mailbox
    names = principals_named(spec)
    if calendar or (calendar is None and spec.calendar is not None) or names:
        read_calendar(session, observed, names)
    return observed


def read_calendar(
    session: StepSession, observed: Observed, names: list[str], *, exists: bool = False
) -> None:
    """`exists`: the mailbox exists though `observed` predates it (a batch just created it)."""
    params: dict[str, Any] = {"Identity": observed.alias}
    if names:
        params["Principals"] = names
    result = session.step("exo/get-calendar-processing", params=params)
    observed.reads.append("exo/get-calendar-processing")
    observed.calendar = result.calendar if observed.mailbox is not None or exists else None
    observed.principals = {p.identity.lower(): p for p in result.principals}


def check_principals(observed: Observed, names: list[str]) -> None:
    """Unknown or ambiguous principals are the admin's to fix: exit 2, naming each, before any change."""
    unknown = [n for n in names if not _found(observed, n)]
    if not unknown:
        return
    ambiguous = [
        n for n in unknown if (p := observed.principals.get(n.lower())) is not None and p.matches > 1
    ]
    missing = [n for n in unknown if n not in ambiguous]
    parts = []
    if missing:
        parts.append("no recipient is " + ", ".join(missing))
    if ambiguous:
        parts.append("more than one recipient matches " + ", ".join(ambiguous))
    raise BadInput(
        f"mailbox {observed.alias}: {'; '.join(parts)}",
        hint="name delegates and book-in principals by UPN, SMTP address or alias of an existing recipient",
    )


def _found(observed: Observed, name: str) -> bool:
    principal = observed.principals.get(name.lower())
    return principal is not None and principal.found


@dataclass
class LinkFacts:
    """The link as `show` reports it: both anchors and whether they agree."""

    synced: bool
    state: LinkState
    cloud_immutable_id: str | None = None
    ad_anchor: str | None = None
    ad_account: str | None = None
    anchor_attribute: str | None = None

    @property
    def agree(self) -> bool | None:
        if self.cloud_immutable_id is None or self.ad_anchor is None:
            return None
        return self.cloud_immutable_id == self.ad_anchor


def read_link(session: StepSession, observed: Observed) -> LinkFacts:
    """For `show` only: the link state in full (for a synced mailbox, whether its Exchange attributes
    are cloud-managed and whether AD has the Exchange schema), the cloud user's ImmutableId and the AD
    account's anchor (the account holding the cloud user's UPN) by the sync server's anchor attribute."""
    facts = LinkFacts(synced=observed.link_state != "not_linked", state=observed.link_state)
    mailbox = observed.mailbox
    if mailbox is None:
        return facts
    if facts.synced:
        authority = session.step("exo/get-exchange-authority", params={"Identity": mailbox.alias})
        schema = session.step("ad/get-exchange-schema")
        facts.state = link_state(
            linked=True,
            exchange_cloud_managed=bool(authority.is_exchange_cloud_managed),
            exchange_schema=bool(schema.present),
        )
    user_id = mailbox.external_directory_object_id or mailbox.user_principal_name
    cloud = session.step("graph/get-user", params={"UserId": user_id}) if user_id else None
    if cloud is None or not cloud.found:
        return facts
    facts.cloud_immutable_id = cloud.user.on_premises_immutable_id
    settings = session.step("sync/get-settings")
    facts.anchor_attribute = settings.anchor_attribute
    account = session.step(
        "ad/find-user", choices={"by": "upn"}, params={"Value": cloud.user.user_principal_name}
    )
    if account.found:
        user = account.user
        facts.ad_account = user.sam_account_name
        facts.ad_anchor = anchor_of(user.object_guid, user.consistency_guid, settings.anchor_attribute)
    return facts
