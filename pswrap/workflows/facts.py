"""Facts: what the directory, the tenant and the sync server say now, read with read-only steps only.

The plan is computed from these and nothing else (pyinfra's facts vs operations), which is why a
re-run from another machine, without the journal, reaches the same plan: the world is the state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pswrap.workflows.inputs import Resolved
from pswrap.workflows.ports import Progress, StepSession, anchor_of, no_progress


@dataclass
class Facts:
    anchor_attribute: str
    staging_mode: bool
    scheduler: Any
    """SchedulerState."""
    features: Any | None = None
    """SyncFeatures (modern only)."""
    ad_user: Any | None = None
    """AdUser found by the sAMAccountName (or by `--ad-user`)."""
    upn_holder: Any | None = None
    """Another AD account holding our UPN (a conflict), when different from `ad_user`."""
    name_holders: list[Any] = field(default_factory=list)
    """Objects in the target OU whose name AD treats as equal to ours (asked of AD: ad/find-name)."""
    mailbox: Any | None = None
    recipients: list[Any] = field(default_factory=list)
    cloud_user: Any | None = None
    """The mailbox's cloud user (Graph)."""
    upn_cloud_holder: Any | None = None
    """Another cloud user holding our UPN (a conflict for graph/set-user)."""
    anchor_holders: list[Any] = field(default_factory=list)
    """Cloud users whose ImmutableId is the AD account's anchor."""
    remote_mailbox: Any | None = None
    """hybrid-tools: the remote mailbox with our alias."""
    settings: Any | None = None
    """SyncSettings as read: the preflight judges more of them (the engine's version) than the plan."""
    exchange_schema: Any | None = None
    """ExchangeSchema, read only for `--exchange-attributes stamp` (it needs the msExch* attributes)."""

    def preflight_reads(self) -> dict[str, Any]:
        """The parameterless reads the preflight would repeat, by step id (`preflight.run_checks(known=)`)."""
        return {
            "sync/get-settings": self.settings,
            "sync/get-scheduler": self.scheduler,
            "graph/get-sync-features": self.features,
        }

    def anchor_for(self, user: Any) -> str:
        """The ImmutableId the sync server gives this AD account (by its sourceAnchor attribute)."""
        return anchor_of(user.object_guid, user.consistency_guid, self.anchor_attribute)

    def ad_anchor(self) -> str | None:
        return None if self.ad_user is None else self.anchor_for(self.ad_user)


def _lower(value: str | None) -> str:
    return (value or "").lower()


def gather(
    session: StepSession,
    resolved: Resolved,
    *,
    ad_lookup: tuple[str, str] | None = None,
    mailbox_identity: str | None = None,
    progress: Progress = no_progress,
    link_existing: bool = False,
) -> Facts:
    """Read every fact the plan needs; `ad_lookup` = (by, value) for `mailbox link --ad-user`."""
    progress("reading the sync server's settings")
    settings = session.step("sync/get-settings")
    scheduler = session.step("sync/get-scheduler")
    facts = Facts(
        anchor_attribute=settings.anchor_attribute,
        staging_mode=bool(settings.staging_mode),
        scheduler=scheduler,
        settings=settings,
    )
    by, value = ad_lookup if ad_lookup is not None else ("sam", resolved.sam)
    progress(f"looking up the AD account {value}")
    found = session.step("ad/find-user", choices={"by": by}, params={"Value": value})
    facts.ad_user = found.user if found.found else None

    if resolved.profile == "hybrid-tools":
        lookup = session.step("hybrid/find-remote-mailbox", params={"Identity": resolved.alias})
        facts.remote_mailbox = lookup.remote_mailbox if lookup.found else None
        return facts

    if facts.ad_user is None and ad_lookup is None:
        # New-ADUser would create CN=<name> in the OU: AD refuses a name it treats as equal to one there
        # (case and diacritics ignored), so AD itself is asked; nothing is normalised here.
        named = session.step("ad/find-name", params={"Value": resolved.name, "Path": resolved.ou})
        facts.name_holders = list(named.objects)

    other_upn = facts.ad_user is None or _lower(facts.ad_user.user_principal_name) != _lower(resolved.upn)
    if other_upn and ad_lookup is None:
        holder = session.step("ad/find-user", choices={"by": "upn"}, params={"Value": resolved.upn})
        if holder.found and (facts.ad_user is None or holder.user.object_guid != facts.ad_user.object_guid):
            facts.upn_holder = holder.user

    if resolved.exchange_attributes == "stamp" or link_existing:
        # The stamp needs the msExch* attributes; a link of an existing mailbox reports where the recipient
        # type is mastered afterwards (in AD only with the schema, docs/mastering.md).
        facts.exchange_schema = session.step("ad/get-exchange-schema")

    progress(f"looking up the mailbox {mailbox_identity or resolved.alias}")
    facts.features = session.step("graph/get-sync-features")
    mailbox = session.step("exo/find-mailbox", params={"Identity": mailbox_identity or resolved.alias})
    facts.mailbox = mailbox.mailbox if mailbox.found else None
    recipients = session.step(
        "exo/find-recipients",
        params={"Alias": resolved.alias, "Addresses": list(resolved.addresses)},
    )
    facts.recipients = list(recipients.recipients)

    if facts.mailbox is not None:
        user_id = facts.mailbox.external_directory_object_id or facts.mailbox.user_principal_name
        if user_id:
            lookup = session.step("graph/get-user", params={"UserId": user_id})
            facts.cloud_user = lookup.user if lookup.found else None
    cloud_upn = (facts.cloud_user.user_principal_name if facts.cloud_user else "") or ""
    if cloud_upn.lower() != resolved.upn.lower():
        lookup = session.step("graph/get-user", params={"UserId": resolved.upn})
        if lookup.found and (facts.cloud_user is None or lookup.user.id != facts.cloud_user.id):
            facts.upn_cloud_holder = lookup.user

    anchor = facts.ad_anchor()
    if anchor is not None:
        holders = session.step("graph/find-users", choices={"by": "immutableid"}, params={"Value": anchor})
        facts.anchor_holders = list(holders.users)
    return facts
