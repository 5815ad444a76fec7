"""The mailbox runbook: facts, then a plan, then apply (check-then-act, journaled), then wait for sync.

This is the seed runbook (000_650fe54a519f435e) as a product. Its identity is the alias (the mailbox)
and the sAMAccountName (the AD account): every run reads what exists under those names and plans only
what is missing, so the same command converges from any machine, with or without the journal.

The order of the changing steps is the hold (DESIGN.md, Workflows):
- anchor:     exo/new-mailbox -> graph/set-user (ImmutableId of a new GUID, UPN) -> ad/new-user born
              with mS-DS-ConsistencyGuid = that GUID. Whenever the account syncs, it hard-matches.
- staging-ou: exo/new-mailbox -> ad/new-user in the staging OU (out of scope) -> graph/set-user from
              its objectGUID -> ad/move-user into the resource OU.
- scheduler:  lease (pause) -> wait idle -> exo/new-mailbox -> ad/new-user -> graph/set-user -> end
              the lease (restores the prior state, in a finally).
- none:       soft match only: exo/new-mailbox -> ad/new-user; sync matches on the primary SMTP address.
- hybrid-tools: hybrid/new-remote-mailbox; sync creates the cloud mailbox.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pswrap.errors import BadInput, ConfigError, Conflict, NeedsHuman, PswrapError, WaitTimeout
from pswrap.immutableid import immutable_id_for_guid
from pswrap.journal import Journal, new_operation_id
from pswrap.workflows import holds
from pswrap.workflows.facts import Facts, gather
from pswrap.workflows.inputs import (
    REMOTE_RECIPIENT_TYPE,
    MailboxRequest,
    Resolved,
    TargetFacts,
    choose_hold,
    identify_ad_user,
    resolve,
)
from pswrap.workflows.ports import Progress, StepSession, no_progress
from pswrap.workflows.results import (
    COMPLETED,
    FAILED,
    PENDING_SYNC,
    Drift,
    MailboxResult,
    ad_user_json,
    cloud_user_json,
    mailbox_json,
)
from pswrap.workflows.steps_run import JournaledRunner
from pswrap.workflows.sync_wait import Deadline, ObjectOfInterest, wait_for_link

KIND_CREATE = "mailbox.create"
KIND_LINK = "mailbox.link"
CHANGING = (
    "exo/new-mailbox",
    "graph/set-user",
    "ad/new-user",
    "ad/move-user",
    "hybrid/new-remote-mailbox",
)
"""The steps that change a directory object (sync cycles and leases are not counted in `changed`)."""

NIL_GUID = "00000000-0000-0000-0000-000000000000"
PLAN_RECORD = "pswrap/plan"
"""The journal record of what the facts said and what was planned (not a remote step)."""


# --- the plan ---------------------------------------------------------------------------------------


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
    }


# --- conflicts and blocks -------------------------------------------------------------------------


def _lower(value: str | None) -> str:
    return (value or "").lower()


def _is_our_mailbox(facts: Facts, recipient: Any) -> bool:
    mailbox = facts.mailbox
    if mailbox is None:
        return False
    if recipient.external_directory_object_id and mailbox.external_directory_object_id:
        return bool(recipient.external_directory_object_id == mailbox.external_directory_object_id)
    return _lower(recipient.alias) == _lower(mailbox.alias) and _lower(
        recipient.primary_smtp_address
    ) == _lower(mailbox.primary_smtp_address)


def _is_our_account(resolved: Resolved, user: Any) -> bool:
    proxies = {_lower(p) for p in user.proxy_addresses}
    return (
        _lower(user.mail_nickname) == _lower(resolved.mail_nickname)
        or "smtp:" + _lower(resolved.primary_smtp) in proxies
        or _lower(user.user_principal_name) == _lower(resolved.upn)
    )


def _describe_recipient(r: Any) -> str:
    return f"{r.recipient_type_details} {r.name or r.alias!s} <{r.primary_smtp_address}>"


def check_conflicts(resolved: Resolved, facts: Facts, *, linking_ad_user: bool) -> None:
    """Existing objects that are not ours and hold our names: refused, naming what and where (exit 6)."""
    for r in facts.recipients:
        if _is_our_mailbox(facts, r):
            continue
        held = []
        if _lower(r.alias) == _lower(resolved.alias):
            held.append(f"the alias {resolved.alias}")
        addresses = {_lower(a.split(":", 1)[-1]) for a in r.email_addresses} | {
            _lower(r.primary_smtp_address)
        }
        held.extend(f"the address {a}" for a in resolved.addresses if _lower(a) in addresses)
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
        raise Conflict(
            f"the AD account {facts.ad_user.sam_account_name} is already linked to another cloud user: "
            f"{o.user_principal_name} (id {o.id}) carries its anchor {anchor}",
            hint="link that cloud user's mailbox instead, or clear its ImmutableId if the link is wrong",
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
        if anchor is not None and cloud.on_premises_immutable_id != anchor:
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

    pswrap never changes tenant security settings itself (domain.md §3: Microsoft advises keeping both
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
            "(Update-MgDirectoryOnPremiseSynchronization, domain.md §3) and re-enable it after the link; "
            "or use --profile hybrid-tools, where sync creates the mailbox and nothing is taken over",
        )
    cloud = facts.cloud_user
    if cloud is not None and cloud.directory_roles:
        raise NeedsHuman(
            f"the cloud user {cloud.user_principal_name} holds directory role(s) "
            f"{', '.join(cloud.directory_roles)}; Entra ID does not match an on-premises account with a "
            "cloud user that holds an admin role",
            hint="remove the role(s) from the cloud user, run the command again, then re-add them "
            "(how-to-connect-install-existing-tenant, domain.md §3)",
        )


# --- planning -------------------------------------------------------------------------------------


def _parent(dn: str) -> str:
    return dn.split(",", 1)[1] if "," in dn else ""


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
    if linked:
        return plan

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
        and _lower(cloud.user_principal_name) != _lower(resolved.upn)
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
        "ProxyAddresses": list(resolved.proxy_addresses),
        "MailNickname": resolved.mail_nickname,
    }
    cloud_id_deferred: dict[str, tuple[str, Resolver]] = {}
    set_params: dict[str, Any] = {}
    if cloud is not None:
        set_params["UserId"] = cloud.id
    else:
        cloud_id_deferred["UserId"] = ("the id of the new mailbox's cloud user", _cloud_id)
    needs_upn = cloud is None or _lower(cloud.user_principal_name) != _lower(resolved.upn)

    def new_ad_user(where: str, **params: Any) -> None:
        steps.append(
            PlannedStep(
                "ad/new-user",
                f"create the AD account {resolved.sam} in {where}",
                params={**ad_params, **params},
                after=_after_ad,
            )
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
        if new_ad or _lower(_parent(ad.distinguished_name)) == _lower(staging):
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
        if remote.sam_account_name and _lower(remote.sam_account_name) != _lower(resolved.sam):
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


# --- the run --------------------------------------------------------------------------------------


@dataclass
class DryRun:
    """What `--dry-run` prints: the facts read, then each step with its exact script and parameters."""

    plan: Plan | None
    scripts: list[tuple[PlannedStep, Any]]
    wait: list[tuple[str, Any]]
    legacy: bool = False

    def to_json(self) -> dict[str, Any]:
        def script_json(step: PlannedStep | None, script: Any, why: str) -> dict[str, Any]:
            params = {k: _jsonable(v) for k, v in script.parameters.items()}
            if step is not None:
                for name, (desc, _get) in step.deferred.items():
                    params[name] = f"<{desc}>"
            return {"step": script.step_id, "why": why, "script": script.text, "parameters": params}

        plan = self.plan
        return {
            "operation": None,
            "status": "planned",
            "dry_run": True,
            "profile": plan.resolved.profile if plan else "legacy",
            "hold": plan.hold if plan else None,
            "changed": False,
            "linked": plan.linked if plan else False,
            "immutable_id": plan.expected_immutable_id if plan else None,
            "steps": [script_json(s, sc, s.why) for s, sc in self.scripts],
            "then": [script_json(None, sc, why) for why, sc in self.wait],
            "notes": plan.notes if plan else [],
        }

    def summary(self) -> str:
        """The plan without the script bodies: what the confirmation prompt shows."""
        return self.to_text(bodies=False)

    def to_text(self, *, bodies: bool = True) -> str:
        """The plan, then each step with its parameters (and, with `bodies`, its script)."""
        lines: list[str] = []
        plan = self.plan
        if self.legacy:
            lines.append(
                "The seed's 2014 runbook (legacy profile: rendered, never run; its services are retired):"
            )
        elif plan is not None:
            r = plan.resolved
            f = plan.facts
            route = f"hold {plan.hold}" if r.profile == "modern" else "New-RemoteMailbox, no hold"
            lines.append(f"Plan for {r.type} mailbox {r.alias} ({r.profile} profile, {route}):")
            lines.append(
                f"  sync server anchors on {f.anchor_attribute}; "
                f"staging mode {'on' if f.staging_mode else 'off'}"
            )
            lines.append(f"  AD account {r.sam}: {'exists' if f.ad_user else 'missing'}")
            if r.profile == "modern":
                lines.append(f"  mailbox {r.alias}: {'exists' if f.mailbox else 'missing'}")
                if f.cloud_user:
                    lines.append(
                        f"  cloud user {f.cloud_user.user_principal_name}: ImmutableId "
                        f"{f.cloud_user.on_premises_immutable_id or '-'}, "
                        f"{'synced' if f.cloud_user.on_premises_sync_enabled else 'cloud-only'}"
                    )
            else:
                lines.append(f"  remote mailbox {r.alias}: {'exists' if f.remote_mailbox else 'missing'}")
            if plan.linked:
                lines.append("  already linked: nothing to change")
            elif not self.scripts:
                lines.append("  nothing to change; only waiting for sync")
            if plan.lease:
                lines.append("  the steps below run while the scheduler is paused under a lease")
            for note in plan.notes:
                lines.append(f"  note: {note}")
        for n, (step, script) in enumerate(self.scripts, 1):
            lines.append("")
            lines.append(f"[{n}] {script.step_id}: {step.why}")
            lines.extend(_script_lines(script, step, bodies))
        for why, script in self.wait:
            lines.append("")
            lines.append(f"[then] {script.step_id}: {why}")
            lines.extend(_script_lines(script, None, bodies))
        if bodies:
            lines.append("")
            lines.append("Dry run: nothing was changed.")
        return "\n".join(lines)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    isoformat = getattr(value, "isoformat", None)
    if isoformat is not None:
        return str(isoformat())
    return str(value)


def _script_lines(script: Any, step: PlannedStep | None, body: bool = True) -> list[str]:
    lines = ["    parameters:"]
    deferred = step.deferred if step is not None else {}
    for name, value in script.parameters.items():
        shown = f"<{deferred[name][0]}>" if name in deferred else repr(_jsonable(value))
        lines.append(f"      -{name} {shown}")
    for name in getattr(script, "secrets", {}):
        lines.append(f"      -{name} ********")
    if not script.parameters and not getattr(script, "secrets", {}):
        lines.append("      (none)")
    if body:
        lines.append("    script:")
        lines.extend("      " + line for line in script.text.rstrip("\n").split("\n"))
    return lines


class MailboxWorkflow:
    """One mailbox operation against one session. The API and the CLI both drive this."""

    def __init__(
        self,
        session: StepSession,
        target: TargetFacts,
        *,
        journal: Journal | None = None,
        progress: Progress = no_progress,
        confirm: Callable[[DryRun], bool] | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.session = session
        self.target = target
        self.journal = journal
        self.progress = progress
        self.confirm = confirm
        self._clock = clock
        self._sleep = sleep

    # --- entry points ---------------------------------------------------------------------------

    def create(
        self, req: MailboxRequest, *, dry_run: bool = False, op_id: str | None = None
    ) -> MailboxResult | DryRun:
        resolved = resolve(req, self.target, dry_run=dry_run)
        if req.profile == "legacy":
            return self._legacy_dry_run(resolved)
        return self._run(req, resolved, dry_run=dry_run, op_id=op_id)

    def link(
        self,
        mailbox: str,
        *,
        ad_user: str | None,
        create_ad_user: bool,
        base: MailboxRequest | None = None,
        dry_run: bool = False,
        op_id: str | None = None,
    ) -> MailboxResult | DryRun:
        """`mailbox link`: derive the request from the existing mailbox (and account), then run it."""
        if (ad_user is None) == (not create_ad_user):
            raise BadInput(
                "mailbox link needs exactly one of --ad-user SAM|UPN|GUID or --create-ad-user",
                hint="--ad-user links an existing account; --create-ad-user creates one for the mailbox",
            )
        found = self.session.step("exo/find-mailbox", params={"Identity": mailbox})
        if not found.found:
            raise BadInput(
                f"there is no mailbox {mailbox!r} in Exchange Online to link",
                hint="`pswrap mailbox create` creates it and its account together",
            )
        mbx = found.mailbox
        mtype = {"RoomMailbox": "room", "EquipmentMailbox": "equipment", "SharedMailbox": "shared"}.get(
            mbx.recipient_type_details
        )
        if mtype is None:
            raise BadInput(
                f"{mailbox} is a {mbx.recipient_type_details}; pswrap links room, equipment and "
                "shared mailboxes",
                hint="a user mailbox is linked by syncing its owner's account",
            )
        base = base or MailboxRequest(name=mbx.name or mbx.alias, alias=mbx.alias)
        fields: dict[str, Any] = {
            "name": base.name if base.name and base.name != base.alias else (mbx.name or mbx.alias),
            "alias": mbx.alias,
            "type": mtype,
            "email": base.email or mbx.primary_smtp_address,
            "display_name": base.display_name or mbx.display_name,
            "link_existing_mailbox": True,
        }
        if ad_user is not None:
            by, value = identify_ad_user(ad_user)
            account = self.session.step("ad/find-user", choices={"by": by}, params={"Value": value})
            if not account.found:
                raise BadInput(
                    f"there is no AD account {ad_user!r} (looked up by {by})",
                    hint="give its sAMAccountName, UPN or objectGUID, or use --create-ad-user",
                )
            u = account.user
            fields.update(sam=u.sam_account_name, upn=u.user_principal_name or base.upn, link_ad_user=ad_user)
        req = base.with_(**fields)
        return self.create(req, dry_run=dry_run, op_id=op_id)

    # --- the run ----------------------------------------------------------------------------------

    def _deadline(self, seconds: float) -> Deadline:
        d = Deadline(seconds)
        if self._clock is not None:
            d.clock = self._clock
            d.start = self._clock()
        if self._sleep is not None:
            d.sleep = self._sleep
        return d

    def _plan(self, req: MailboxRequest, resolved: Resolved, state: dict[str, Any]) -> Plan:
        from pswrap.workflows.preflight import explained_by_preflight, refuse_when_blocked

        ad_lookup = identify_ad_user(req.link_ad_user) if req.link_ad_user else None
        # A fact that cannot be read (a missing module, an unusable certificate, a silent DC) is refused
        # with the preflight's checklist when a check explains it, rather than as one step's error.
        hold_asked = resolved.hold if resolved.profile == "modern" else None
        with explained_by_preflight(self.session, profile=resolved.profile, hold=hold_asked):
            facts = gather(self.session, resolved, ad_lookup=ad_lookup, progress=self.progress)
        if resolved.profile == "hybrid-tools":
            plan = plan_hybrid(req, resolved, facts, self.target)
        else:
            hold = choose_hold(
                resolved, anchor_attribute=facts.anchor_attribute, staging_mode=facts.staging_mode
            )
            plan = plan_modern(req, resolved, facts, hold, state, self.target)
        scope = self._check_account_in_scope(plan)
        if plan.steps:
            # The preflight checks that matter to this plan (issue #7): a retired module, an old sync
            # engine, a certificate the connect steps cannot use, a staging OU in scope... Only when
            # something is to change: a converged re-run stays fast and cannot be blocked. What this
            # run has read already (settings, scheduler, tenant switches, scope) is not read again.
            self.progress("running the preflight checks")
            refuse_when_blocked(
                self.session,
                profile=resolved.profile,
                hold=plan.hold if resolved.profile == "modern" else None,
                known={**facts.preflight_reads(), "sync/get-scope": scope},
            )
        return plan

    def _check_account_in_scope(self, plan: Plan) -> Any | None:
        """An account that ends outside the connectors' OU filtering never syncs: the wait could only time
        out. Where it ends: --ou when the plan creates or moves it, else where the existing account is.
        (The target's resource OU is the preflight's to check.) Returns the scope when it was read."""
        ad = plan.facts.ad_user
        placed = {"ad/new-user", "ad/move-user", "hybrid/new-remote-mailbox"}
        if any(step.step_id in placed for step in plan.steps):
            ou, which = plan.resolved.ou, f"--ou {plan.resolved.ou}"
        elif ad is not None and not plan.linked:
            ou = _parent(ad.distinguished_name)
            which = f"the AD account {ad.sam_account_name} is in {ou}, which"
        else:
            return None
        if _lower(ou) == _lower(self.target.resource_ou):
            return None
        from pswrap.workflows.preflight import in_scope

        scope = self.session.step("sync/get-scope")
        if in_scope(ou, scope.connectors):
            return scope
        if ou == plan.resolved.ou:
            hint = "choose an OU in sync scope (`pswrap doctor` lists the scope), or leave --ou out for the "
            hint += "target's resource OU"
        elif self.target.staging_ou and _lower(ou) == _lower(self.target.staging_ou):
            hint = "use --hold staging-ou: pswrap moves the account into sync scope once the cloud user "
            hint += "carries its anchor"
        else:
            hint = "move the account into an OU in sync scope first (`pswrap run ad/move-user`), or link "
            hint += "the mailbox with --create-ad-user"
        raise BadInput(
            f"{which} is outside the sync server's OU filtering: an account there never syncs, so it would "
            "never be linked to the mailbox",
            hint=hint,
        )

    def _render(self, plan: Plan, timeout: float) -> DryRun:
        scripts = []
        for step in plan.steps:
            params = dict(step.params)
            for name in step.deferred:
                params[name] = _placeholder(step.step_id, name)
            scripts.append((step, self.session.script(step.step_id, choices=step.choices, params=params)))
        wait: list[tuple[str, Any]] = []
        if plan.lease:
            scripts.insert(
                0,
                (
                    PlannedStep("sync/install-lease", "pause the scheduler under a lease"),
                    self.session.script(
                        "sync/install-lease",
                        params={
                            "LeaseName": holds.lease_name("<operation>"),
                            "DeadlineUtc": holds.lease_deadline(timeout),
                        },
                    ),
                ),
            )
            scripts.append(
                (
                    PlannedStep(
                        "sync/remove-lease", "end the lease: the scheduler returns to its prior state"
                    ),
                    self.session.script(
                        "sync/remove-lease", params={"LeaseName": holds.lease_name("<operation>")}
                    ),
                )
            )
        if not plan.linked:
            wait.append(
                (
                    "start a delta sync cycle (after any running one ends), then poll until the link shows",
                    self.session.script("sync/start-cycle", choices={"policy": "delta"}),
                )
            )
        return DryRun(plan, scripts, wait)

    def _legacy_dry_run(self, resolved: Resolved) -> DryRun:
        from pswrap.render.engine import render
        from pswrap.steps import get
        from pswrap.workflows.legacy import LEGACY_ORDER, legacy_params

        values = legacy_params(
            name=resolved.name,
            alias=resolved.alias,
            ou=resolved.ou,
            sam=resolved.sam,
            upn=resolved.upn,
            display_name=resolved.display_name,
            email=resolved.primary_smtp,
            proxy=list(resolved.proxy_addresses),
        )
        scripts = []
        for step_id in LEGACY_ORDER:
            step = get(step_id)
            retired = step.retired
            why = step.summary
            if retired is not None and retired.retired != "-":
                why += f" [retired {retired.retired}; now: {retired.replacement}]"
            script = render(step, profile="legacy", params=values.get(step_id, {}))
            scripts.append((PlannedStep(step_id, why), script))
        return DryRun(None, scripts, [], legacy=True)

    def _run(
        self, req: MailboxRequest, resolved: Resolved, *, dry_run: bool, op_id: str | None
    ) -> MailboxResult | DryRun:
        kind = KIND_LINK if req.link_existing_mailbox else KIND_CREATE
        identity = f"{resolved.alias.lower()}|{resolved.sam.lower()}"
        journal = None if dry_run else self.journal
        state: dict[str, Any] = {}
        if journal is not None:
            op_id, state = self._open_operation(journal, kind, identity, req, op_id)
        runner = JournaledRunner(self.session, journal, op_id, self.progress)
        result = MailboxResult(operation=op_id, status=FAILED, target=self.target.name)
        try:
            started = time.monotonic()
            plan = self._plan(req, resolved, state)
            result.timings["facts"] = time.monotonic() - started
            result.hold = plan.hold
            if dry_run:
                return self._render(plan, req.timeout)
            if journal is not None and op_id is not None:
                seq = journal.step_started(op_id, PLAN_RECORD)
                journal.step_ended(op_id, seq, "done", summary=plan_summary(plan))
            if (
                plan.anchor_guid
                and journal is not None
                and op_id is not None
                and state.get("anchor_guid") != plan.anchor_guid
            ):
                journal.update_state(op_id, anchor_guid=plan.anchor_guid)
            if plan.steps and self.confirm is not None and not self.confirm(self._render(plan, req.timeout)):
                from pswrap.errors import Refused

                raise Refused("not applied: the plan was declined", hint="nothing was changed")
            self._apply_and_wait(req, plan, runner, result, op_id)
        except WaitTimeout as exc:
            result.status = PENDING_SYNC
            result.error = exc
            exc.hint = f"the operation is journaled: `pswrap resume {op_id}` or the same command continues"
        except PswrapError as exc:
            result.status = FAILED
            result.error = exc
        except BaseException:
            if journal is not None and op_id is not None:
                journal.set_status(op_id, "interrupted")
            raise
        finally:
            result.changed = any(s in CHANGING for s in runner.ran)
            result.steps_run = [
                s for s in runner.ran if s in CHANGING or (s.startswith("sync/") and "lease" in s)
            ]
        if journal is not None and op_id is not None:
            journal.set_status(op_id, result.status, result.to_json())
        return result

    def _open_operation(
        self, journal: Journal, kind: str, identity: str, req: MailboxRequest, op_id: str | None
    ) -> tuple[str, dict[str, Any]]:
        """The operation this run is journaled under, marked running, and its state (the anchor GUID
        chosen once): the one named (resume), else an open one for the same alias and account (the same
        command again continues it), else a new one."""
        if op_id is not None:
            existing = journal.get(op_id)
        else:
            existing = journal.find_open(kind, self.target.name, identity)
            if existing is None:
                op_id = journal.start(kind, req.to_json(), target=self.target.name, identity=identity)
            else:
                op_id = existing.id
                journal.set_args(op_id, req.to_json())
                self.progress(f"continuing operation {op_id}")
        journal.set_status(op_id, "running")
        return op_id, dict(existing.state) if existing else {}

    def _apply_and_wait(
        self,
        req: MailboxRequest,
        plan: Plan,
        runner: JournaledRunner,
        result: MailboxResult,
        op_id: str | None,
    ) -> None:
        facts = plan.facts
        ctx = Ctx(
            mailbox=facts.mailbox,
            cloud_user=facts.cloud_user,
            cloud_user_id=facts.cloud_user.id if facts.cloud_user else None,
            ad_user=facts.ad_user,
            immutable_id=plan.expected_immutable_id,
        )
        deadline = self._deadline(req.timeout)

        def apply_steps() -> None:
            for step in plan.steps:
                self.progress(f"{step.step_id}: {step.why}")
                if step.step_id == "graph/set-user" and ctx.cloud_user_id is None and ctx.mailbox is not None:
                    ctx.cloud_user_id = self._cloud_user_of(ctx.mailbox)
                out = runner(step.step_id, choices=step.choices or None, params=step.resolved_params(ctx))
                if step.after is not None:
                    step.after(ctx, out)

        started = time.monotonic()
        if plan.lease:
            with holds.scheduler_lease(
                runner,
                self.session,
                op_id=op_id or new_operation_id(),  # without a journal: still a lease of its own
                timeout=req.timeout,
                deadline=deadline,
                progress=self.progress,
            ):
                apply_steps()
        else:
            apply_steps()
            if plan.hold == "scheduler" and op_id is not None:
                self._end_leftover_lease(runner, op_id)

        result.timings["apply"] = time.monotonic() - started
        started = time.monotonic()
        try:
            self._finish(req, plan, ctx, runner, result, deadline)
        finally:
            result.timings["wait"] = time.monotonic() - started

    def _finish(
        self,
        req: MailboxRequest,
        plan: Plan,
        ctx: Ctx,
        runner: JournaledRunner,
        result: MailboxResult,
        deadline: Deadline,
    ) -> None:
        facts = plan.facts
        resolved = plan.resolved
        if resolved.profile == "hybrid-tools":
            self._finish_hybrid(req, plan, ctx, runner, result, deadline)
            return
        if ctx.ad_user is not None and ctx.immutable_id is None:
            ctx.immutable_id = facts.anchor_for(ctx.ad_user)
        if ctx.cloud_user_id is None and ctx.mailbox is not None:
            ctx.cloud_user_id = self._cloud_user_of(ctx.mailbox)
        result.immutable_id = ctx.immutable_id
        result.ad_user = ad_user_json(ctx.ad_user)
        result.mailbox = mailbox_json(ctx.mailbox)
        cloud = ctx.cloud_user
        result.cloud_user = cloud_user_json(cloud)
        if plan.linked:
            result.status = COMPLETED
            result.drift = self._drift(resolved, ctx.mailbox)
            return
        if not req.wait:
            result.status = PENDING_SYNC
            self._refresh_cloud(ctx, result)
            return

        expected = ctx.immutable_id
        cloud_id = ctx.cloud_user_id

        def check() -> Any | None:
            if cloud_id is None:
                return None
            lookup = self.session.step("graph/get-user", params={"UserId": cloud_id})
            user = lookup.user if lookup.found else None
            if (
                user is not None
                and user.on_premises_sync_enabled
                and user.on_premises_immutable_id == expected
            ):
                return user
            return None

        try:
            linked = self._wait_for_link(runner, resolved, ctx.ad_user, expected, check, deadline)
        except WaitTimeout:
            self._refresh_cloud(ctx, result)
            raise
        result.cloud_user = cloud_user_json(linked)
        mailbox = self.session.step("exo/find-mailbox", params={"Identity": resolved.alias})
        if mailbox.found:
            ctx.mailbox = mailbox.mailbox
            result.mailbox = mailbox_json(mailbox.mailbox)
        if ctx.ad_user is None:
            found = self._find_ad_user(resolved.sam)
            if found is not None:
                result.ad_user = ad_user_json(found)
        result.drift = self._drift(resolved, ctx.mailbox)
        result.status = COMPLETED

    def _wait_for_link(
        self,
        runner: JournaledRunner,
        resolved: Resolved,
        ad_user: Any | None,
        immutable_id: str | None,
        check: Callable[[], Any | None],
        deadline: Deadline,
    ) -> Any:
        """Cycles until `check` sees the link; an export error for our account (by its DN or anchor) ends
        the wait early."""
        return wait_for_link(
            runner,
            self.session,
            ours=ObjectOfInterest(ad_user.distinguished_name if ad_user else None, immutable_id),
            check=check,
            deadline=deadline,
            progress=self.progress,
            what=f"the account {resolved.sam}",
        )

    def _find_ad_user(self, sam: str) -> Any | None:
        found = self.session.step("ad/find-user", choices={"by": "sam"}, params={"Value": sam})
        return found.user if found.found else None

    def _end_leftover_lease(self, runner: JournaledRunner, op_id: str) -> None:
        """A killed run of this operation left its lease: end it now rather than at its deadline."""
        name = holds.lease_name(op_id)
        leases = self.session.step("sync/list-leases")
        if any(lease.name == name for lease in leases.leases):
            self.progress(f"ending the lease {name} left by an interrupted run")
            runner("sync/remove-lease", params={"LeaseName": name})

    def _refresh_cloud(self, ctx: Ctx, result: MailboxResult) -> None:
        if ctx.cloud_user_id is None:
            return
        try:
            lookup = self.session.step("graph/get-user", params={"UserId": ctx.cloud_user_id})
        except PswrapError:
            return
        if lookup.found:
            result.cloud_user = cloud_user_json(lookup.user)

    def _cloud_user_of(self, mailbox: Any) -> str | None:
        if mailbox.external_directory_object_id:
            return str(mailbox.external_directory_object_id)
        if mailbox.user_principal_name:
            lookup = self.session.step("graph/get-user", params={"UserId": mailbox.user_principal_name})
            if lookup.found:
                return str(lookup.user.id)
        return None

    @staticmethod
    def _drift(resolved: Resolved, mailbox: Any | None) -> list[Drift]:
        """After the link AD is authoritative: what of the mailbox differs from what was asked."""
        if mailbox is None:
            return [Drift("mailbox", None, resolved.alias, "exo")]
        drift = []
        if mailbox.recipient_type_details != resolved.recipient_type:
            drift.append(Drift("type", mailbox.recipient_type_details, resolved.recipient_type, "exo"))
        if _lower(mailbox.primary_smtp_address) != _lower(resolved.primary_smtp):
            drift.append(Drift("email", mailbox.primary_smtp_address, resolved.primary_smtp, "ad"))
        if mailbox.display_name is not None and mailbox.display_name != resolved.display_name:
            drift.append(Drift("display_name", mailbox.display_name, resolved.display_name, "ad"))
        have = {_lower(a.split(":", 1)[-1]) for a in mailbox.email_addresses}
        if have:
            missing = [a for a in resolved.addresses if _lower(a) not in have]
            if missing:
                found = sorted(a.split(":", 1)[-1] for a in mailbox.email_addresses)
                drift.append(Drift("addresses", found, sorted([*found, *missing]), "ad"))
        return drift

    def _finish_hybrid(
        self,
        req: MailboxRequest,
        plan: Plan,
        ctx: Ctx,
        runner: JournaledRunner,
        result: MailboxResult,
        deadline: Deadline,
    ) -> None:
        resolved = plan.resolved
        if ctx.remote_mailbox is not None or ctx.ad_user is None:
            ctx.ad_user = self._find_ad_user(resolved.sam)
        result.mailbox = mailbox_json(ctx.remote_mailbox or plan.facts.remote_mailbox)
        result.ad_user = ad_user_json(ctx.ad_user)
        if ctx.ad_user is not None:
            result.immutable_id = plan.facts.anchor_for(ctx.ad_user)
        cloud_reachable = True

        def check() -> Any | None:
            # The cloud side is read with the modern steps when the target has the tenant's app
            # identity; without it, a cycle that ends with no export error for our account is the end.
            nonlocal cloud_reachable
            if not cloud_reachable or result.immutable_id is None:
                return True
            try:
                found = self.session.step(
                    "graph/find-users", choices={"by": "immutableid"}, params={"Value": result.immutable_id}
                )
            except ConfigError:
                cloud_reachable = False
                return True
            for user in found.users:
                if user.on_premises_sync_enabled:
                    result.cloud_user = cloud_user_json(user)
                    return user
            return None

        if not plan.steps and check() is not None:
            result.status = COMPLETED
            self._read_back_hybrid(resolved, result, cloud_reachable)
            return
        if not req.wait:
            result.status = PENDING_SYNC
            return
        self._wait_for_link(runner, resolved, ctx.ad_user, result.immutable_id, check, deadline)
        result.status = COMPLETED
        self._read_back_hybrid(resolved, result, cloud_reachable)

    def _read_back_hybrid(self, resolved: Resolved, result: MailboxResult, cloud_reachable: bool) -> None:
        """The mailbox sync created in Exchange Online, when the cloud side is reachable."""
        if not cloud_reachable:
            return
        try:
            found = self.session.step("exo/find-mailbox", params={"Identity": resolved.alias})
        except ConfigError:
            return
        if found.found:
            result.mailbox = mailbox_json(found.mailbox)
            result.drift = self._drift(resolved, found.mailbox)


def _placeholder(step_id: str, name: str) -> Any:
    from pswrap.steps import get

    try:
        kind = get(step_id).param(name).type
    except KeyError:
        return f"<{name}>"
    if kind == "guid":
        return NIL_GUID
    return f"<{name}>"
