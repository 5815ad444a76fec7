"""The mailbox plan: what the facts say is missing, as steps in the order of the chosen hold.

`plan_modern` covers the modern profile's holds (anchor, staging-ou, scheduler, none), `plan_hybrid` the
hybrid-tools profile. Parameters known only once an earlier step ran are deferred: resolved from `Ctx`
when the step is applied, shown as placeholders in a dry run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pswrap.dn import parent_of
from pswrap.errors import BadInput, Conflict, NeedsHuman, PswrapError
from pswrap.immutableid import immutable_id_for_guid
from pswrap.secrets import Secret
from pswrap.workflows import holds
from pswrap.workflows.facts import Facts
from pswrap.workflows.inputs import REMOTE_RECIPIENT_TYPE, MailboxRequest, Resolved, TargetFacts
from pswrap.workflows.mailbox_conflicts import check_blocks, check_conflicts, lower
from pswrap.workflows.mailbox_mastering import (
    SIGN_IN_PASSWORD_ENV,
    Route,
    block_sign_in,
    choose_route,
    existing_account_steps,
    keep_addresses,
    stamp_params,
)


@dataclass
class Ctx:
    """What earlier steps of this run produced, for the parameters of later ones."""

    mailbox: Any | None = None
    cloud_user: Any | None = None
    cloud_user_id: str | None = None
    ad_user: Any | None = None
    remote_mailbox: Any | None = None
    immutable_id: str | None = None


Resolver = Callable[[Ctx], Any]


@dataclass
class PlannedStep:
    step_id: str
    why: str
    choices: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    deferred: dict[str, tuple[str, Resolver]] = field(default_factory=dict)
    """Parameters known only once an earlier step ran: name -> (what it will be, how to get it)."""
    after: Callable[[Ctx, Any], None] | None = None

    def resolved_params(self, ctx: Ctx) -> dict[str, Any]:
        out = dict(self.params)
        for name, (_desc, get) in self.deferred.items():
            out[name] = get(ctx)
        return out


@dataclass
class Plan:
    resolved: Resolved
    hold: str
    facts: Facts
    steps: list[PlannedStep]
    lease: bool
    linked: bool
    """The cloud user already shows the sync link with the expected anchor: nothing to wait for."""
    expected_immutable_id: str | None
    notes: list[str] = field(default_factory=list)
    anchor_guid: str | None = None
    keep_addresses: list[str] | None = None
    """Every address of the existing mailbox the account must carry (issue #11): compared after the link."""
    route: Route | None = None
    """Who masters the Exchange attributes after the link (cloud, stamp or none), and why."""


def plan_summary(plan: Plan) -> dict[str, Any]:
    """What `pswrap ops show` tells an admin about why these steps ran."""
    f = plan.facts
    return {
        "hold": plan.hold,
        "anchor_attribute": f.anchor_attribute,
        "staging_mode": f.staging_mode,
        "ad_user": f.ad_user.distinguished_name if f.ad_user else None,
        "mailbox": f.mailbox.primary_smtp_address if f.mailbox else None,
        "cloud_user": f.cloud_user.id if f.cloud_user else None,
        "linked": plan.linked,
        "steps": [s.step_id for s in plan.steps],
        "lease": plan.lease,
        "exchange_attributes": plan.route.name if plan.route else None,
        "exchange_attributes_why": plan.route.reason if plan.route else None,
    }


def _cloud_id(ctx: Ctx) -> str:
    if ctx.cloud_user_id:
        return ctx.cloud_user_id
    raise PswrapError(
        "the mailbox's cloud user id is not known (Exchange returned no ExternalDirectoryObjectId)"
    )


def _ad_anchor(facts: Facts) -> Resolver:
    def get(ctx: Ctx) -> str:
        assert ctx.ad_user is not None
        value = facts.anchor_for(ctx.ad_user)
        ctx.immutable_id = value
        return value

    return get


def _new_object_guid(ctx: Ctx) -> str:
    user: Any = ctx.ad_user
    return str(user.object_guid)


def _after_mailbox(ctx: Ctx, mailbox: Any) -> None:
    ctx.mailbox = mailbox
    ctx.cloud_user_id = mailbox.external_directory_object_id


def _after_ad(ctx: Ctx, user: Any) -> None:
    ctx.ad_user = user


def _after_cloud(ctx: Ctx, user: Any) -> None:
    ctx.cloud_user = user
    ctx.cloud_user_id = user.id


def _mailbox_params(resolved: Resolved) -> dict[str, Any]:
    """What New-Mailbox (exo/new-mailbox) and New-RemoteMailbox (hybrid/new-remote-mailbox) both name
    a new mailbox by."""
    return {
        "Name": resolved.name,
        "Alias": resolved.alias,
        "DisplayName": resolved.display_name,
        "PrimarySmtpAddress": resolved.primary_smtp,
    }


def plan_modern(
    req: MailboxRequest,
    resolved: Resolved,
    facts: Facts,
    hold: str,
    state: dict[str, Any],
    target: TargetFacts,
    sign_in_password: Secret | None = None,
) -> Plan:
    check_conflicts(resolved, facts, linking_ad_user=req.link_ad_user is not None)
    cloud = facts.cloud_user
    anchor = facts.ad_anchor()
    linked = bool(
        cloud is not None
        and cloud.on_premises_sync_enabled
        and anchor is not None
        and cloud.on_premises_immutable_id == anchor
    )
    if not linked:
        check_blocks(resolved, facts)
    plan = Plan(resolved, hold, facts, [], lease=False, linked=linked, expected_immutable_id=anchor)
    settings = facts.settings
    plan.route = choose_route(resolved.exchange_attributes, settings.connect_version if settings else None)
    keep = None
    if facts.mailbox is not None:
        # With what an earlier run of this operation saw before the link (journaled): a resumed run that
        # finds the link done still compares against the addresses the mailbox had before it.
        earlier = [str(a) for a in state.get("keep_addresses") or []]
        keep = keep_addresses(facts.mailbox, resolved.primary_smtp, [*resolved.proxy_addresses, *earlier])
        plan.keep_addresses = keep
    if linked:
        return plan
    if plan.route.name == "stamp" and not (facts.exchange_schema and facts.exchange_schema.present):
        raise NeedsHuman(
            "--exchange-attributes stamp: the forest's schema has no Exchange attributes, so AD cannot hold "
            "the remote-mailbox values",
            hint="use --exchange-attributes cloud (Microsoft's route without an Exchange server), or none",
        )

    steps = plan.steps
    ad: Any = facts.ad_user
    new_ad = ad is None
    # A pending link with no account yet: pswrap sets the ImmutableId and the UPN in one graph/set-user,
    # so a pending ImmutableId under our UPN is ours (a run that stopped before ad/new-user); under
    # another UPN it waits for some other account.
    if (
        new_ad
        and cloud is not None
        and cloud.on_premises_immutable_id
        and lower(cloud.user_principal_name) != lower(resolved.upn)
    ):
        raise Conflict(
            f"the cloud user of mailbox {resolved.alias} ({cloud.user_principal_name}) already waits "
            f"for another on-premises account: its ImmutableId is {cloud.on_premises_immutable_id}",
            hint="link that account with `pswrap mailbox link --ad-user`, or clear the cloud user's "
            "ImmutableId if that link is abandoned",
        )
    if facts.mailbox is None:
        params = _mailbox_params(resolved)
        if resolved.capacity is not None:
            params["ResourceCapacity"] = resolved.capacity
        steps.append(
            PlannedStep(
                "exo/new-mailbox",
                f"create the cloud {resolved.type} mailbox {resolved.alias}",
                choices={"type": resolved.type},
                params=params,
                after=_after_mailbox,
            )
        )
    ad_params: dict[str, Any] = {
        "Name": resolved.name,
        "Path": resolved.ou,
        "SamAccountName": resolved.sam,
        "UserPrincipalName": resolved.upn,
        "DisplayName": resolved.display_name,
        "EmailAddress": resolved.primary_smtp,
        "ProxyAddresses": list(keep if keep is not None else resolved.proxy_addresses),
        "MailNickname": resolved.mail_nickname,
        "Enabled": resolved.allow_sign_in,
    }
    cloud_id_deferred: dict[str, tuple[str, Resolver]] = {}
    set_params: dict[str, Any] = {}
    if cloud is not None:
        set_params["UserId"] = cloud.id
    else:
        cloud_id_deferred["UserId"] = ("the id of the new mailbox's cloud user", _cloud_id)
    needs_upn = cloud is None or lower(cloud.user_principal_name) != lower(resolved.upn)

    new_mailbox_addresses: dict[str, tuple[str, Resolver]] = {}
    if keep is None:
        # The mailbox is created by this run: the account carries its addresses and X500:<LegacyExchangeDN>
        # as soon as they exist (read from the new mailbox when the account is created).
        def addresses_of_new_mailbox(ctx: Ctx) -> list[str]:
            if ctx.mailbox is None:
                return list(resolved.proxy_addresses)
            return keep_addresses(ctx.mailbox, resolved.primary_smtp, resolved.proxy_addresses)

        new_mailbox_addresses["ProxyAddresses"] = (
            f"{', '.join(resolved.proxy_addresses)} and X500:<the new mailbox's LegacyExchangeDN>",
            addresses_of_new_mailbox,
        )

    def new_ad_user(where: str, **params: Any) -> None:
        signs_in = "enabled, with the password given for --allow-sign-in"
        if not resolved.allow_sign_in:
            signs_in = "disabled: a resource account does not sign in"
        if resolved.allow_sign_in:
            if sign_in_password is None:
                raise BadInput(
                    "--allow-sign-in: the new account needs a password, and none was given",
                    hint=f"set {SIGN_IN_PASSWORD_ENV} (or run in a terminal to be asked); never on the "
                    "command line",
                )
            params = {**params, "AccountPassword": sign_in_password}
        steps.append(
            PlannedStep(
                "ad/new-user",
                f"create the AD account {resolved.sam} ({signs_in}) in {where}",
                params={**ad_params, **params},
                deferred=new_mailbox_addresses,
                after=_after_ad,
            )
        )
        if plan.route is not None and plan.route.name == "stamp":
            stamp = PlannedStep(
                "ad/stamp-exchange-attributes",
                f"write the remote {resolved.type} mailbox's msExch* values on the new account (unsupported "
                "by Microsoft; --exchange-attributes stamp)",
                params=stamp_params(resolved.type),
            )
            stamp.deferred["Identity"] = ("the new account's objectGUID", _new_object_guid)
            steps.append(stamp)

    def prepare_existing_account() -> None:
        """Before an existing account is linked: the addresses it lacks, its sign-in, the stamp."""
        owned = req.link_ad_user is None  # found by --sam: created by an earlier run of this command
        for spec in existing_account_steps(resolved, ad, keep, plan.route, owned=owned):
            after = _after_ad if spec.step_id == "ad/add-addresses" else None
            steps.append(PlannedStep(spec.step_id, spec.why, params=spec.params, after=after))

    block = None if resolved.allow_sign_in else block_sign_in(resolved, cloud, set_params)
    if block is not None:
        steps.append(
            PlannedStep(block.step_id, block.why, params=block.params, deferred=dict(cloud_id_deferred))
        )

    def set_user(immutable: str | None, why: str, deferred_anchor: bool = False) -> None:
        """graph/set-user with what the cloud user lacks (the anchor now or from the new account, the
        UPN); none when it lacks nothing."""
        params = dict(set_params)
        deferred = dict(cloud_id_deferred)
        if deferred_anchor:
            deferred["OnPremisesImmutableId"] = (
                "the new account's anchor (base64 of its objectGUID)",
                _ad_anchor(facts),
            )
        elif immutable is not None and (cloud is None or cloud.on_premises_immutable_id != immutable):
            params["OnPremisesImmutableId"] = immutable
        if needs_upn:
            params["UserPrincipalName"] = resolved.upn
        if (
            "OnPremisesImmutableId" not in params
            and "OnPremisesImmutableId" not in deferred
            and not needs_upn
        ):
            return
        steps.append(PlannedStep("graph/set-user", why, params=params, deferred=deferred, after=_after_cloud))

    def link_existing_account() -> None:
        prepare_existing_account()
        set_user(anchor, f"link the cloud user to {ad.sam_account_name}: ImmutableId {anchor}")

    if hold == "none":  # soft match: no ImmutableId; sync matches on the primary SMTP address, then UPN
        if (
            cloud is not None
            and cloud.on_premises_immutable_id
            and (anchor is None or cloud.on_premises_immutable_id != anchor)
        ):
            raise Conflict(
                f"the cloud user of mailbox {resolved.alias} already carries an ImmutableId "
                f"({cloud.on_premises_immutable_id}); a soft match only works for a cloud user without one "
                "(InvalidSoftMatch)",
                hint="use --match hard, which links through that anchor",
            )
        if new_ad:
            new_ad_user(f"{resolved.ou}; sync soft-matches it on {resolved.primary_smtp}")
        plan.notes.append(
            "soft match: the sync engine matches the account to the cloud user by its primary SMTP address"
        )
        return plan

    if hold == "anchor":
        if new_ad:
            guid, source = holds.anchor_guid(state, cloud)
            plan.anchor_guid = str(guid)
            immutable = immutable_id_for_guid(guid)
            plan.expected_immutable_id = immutable
            set_user(
                immutable,
                "link the cloud user to the account-to-be: ImmutableId of the new "
                f"anchor GUID {guid} ({source}), UPN {resolved.upn}",
            )
            new_ad_user(
                f"{resolved.ou}, born with mS-DS-ConsistencyGuid {guid}: it hard-matches whenever it syncs",
                ConsistencyGuid=str(guid),
            )
        else:
            link_existing_account()
        return plan

    if hold == "staging-ou":
        staging = target.staging_ou
        if not staging:
            raise BadInput(
                "--hold staging-ou needs a staging OU outside sync scope, and target "
                f"{target.name!r} has none",
                hint="set staging_ou for the target, or use --hold anchor / scheduler",
            )
        if new_ad:
            new_ad_user(f"the staging OU {staging} (outside sync scope)", Path=staging)
            set_user(None, "link the cloud user: ImmutableId from the new account's objectGUID", True)
        else:
            link_existing_account()
        if new_ad or lower(parent_of(ad.distinguished_name)) == lower(staging):
            move = PlannedStep(
                "ad/move-user",
                f"move the account into sync scope ({resolved.ou})",
                params={"TargetPath": resolved.ou},
                after=_after_ad,
            )
            if new_ad:
                move.deferred["Identity"] = ("the new account's objectGUID", _new_object_guid)
            else:
                move.params["Identity"] = ad.object_guid
            steps.append(move)
        return plan

    # scheduler
    holds.check_scheduler_hold(facts.scheduler, facts.staging_mode)
    if new_ad:
        new_ad_user(f"{resolved.ou} (the scheduler is paused)")
        set_user(None, "link the cloud user: ImmutableId from the new account's anchor", True)
    else:
        link_existing_account()
    plan.lease = bool(steps)
    return plan


def plan_hybrid(req: MailboxRequest, resolved: Resolved, facts: Facts, target: TargetFacts) -> Plan:
    remote = facts.remote_mailbox
    expected_type = REMOTE_RECIPIENT_TYPE[resolved.type]
    if remote is not None:
        if remote.recipient_type_details != expected_type:
            raise Conflict(
                f"the alias {resolved.alias} is held by a remote mailbox of type "
                f"{remote.recipient_type_details}, not {expected_type}",
                hint="choose another --alias or the matching --type",
            )
        if remote.sam_account_name and lower(remote.sam_account_name) != lower(resolved.sam):
            raise Conflict(
                f"the remote mailbox {resolved.alias} belongs to the AD account {remote.sam_account_name}, "
                f"not {resolved.sam}",
                hint=f"give --sam {remote.sam_account_name}",
            )
    elif facts.ad_user is not None:
        u = facts.ad_user
        raise Conflict(
            f"the sAMAccountName {resolved.sam} is held in AD by {u.distinguished_name}, which has no "
            f"remote mailbox {resolved.alias}",
            hint="give another --sam, or enable that account's remote mailbox with Enable-RemoteMailbox",
        )
    anchor = facts.ad_anchor()
    plan = Plan(resolved, "none", facts, [], lease=False, linked=False, expected_immutable_id=anchor)
    if remote is None:
        params = {
            **_mailbox_params(resolved),
            "UserPrincipalName": resolved.upn,
            "SamAccountName": resolved.sam,
            "OnPremisesOrganizationalUnit": resolved.ou,
        }
        if target.organization and target.organization.endswith(".onmicrosoft.com"):
            routing_domain = target.organization.replace(".onmicrosoft.com", ".mail.onmicrosoft.com")
            params["RemoteRoutingAddress"] = f"{resolved.alias}@{routing_domain}"

        def after(ctx: Ctx, result: Any) -> None:
            ctx.remote_mailbox = result

        plan.steps.append(
            PlannedStep(
                "hybrid/new-remote-mailbox",
                f"create the AD account {resolved.sam} and remote {resolved.type} mailbox {resolved.alias}; "
                "sync creates the mailbox in Exchange Online",
                choices={"type": resolved.type},
                params=params,
                after=after,
            )
        )
    return plan
