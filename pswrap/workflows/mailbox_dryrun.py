"""What `--dry-run` shows and the confirmation prompt asks about: a plan rendered to its exact scripts
and parameters, as text or JSON, without running anything."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pswrap.workflows import holds
from pswrap.workflows.inputs import Resolved
from pswrap.workflows.mailbox_plan import Plan, PlannedStep
from pswrap.workflows.ports import StepSession

NIL_GUID = "00000000-0000-0000-0000-000000000000"


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
            # Check mode: true when the run would change something (a legacy plan never runs).
            "changed": bool(plan is not None and plan.steps),
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
                if plan.route is not None:  # who masters the Exchange attributes after the link (#11)
                    lines.append(f"  Exchange attributes after the link: {plan.route.reason}")
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


def render_plan(session: StepSession, plan: Plan, timeout: float) -> DryRun:
    """The dry run of a plan: each step's script (deferred parameters as placeholders), the lease
    around them when the scheduler hold pauses sync, then the wait for the link."""
    scripts = []
    for step in plan.steps:
        params = dict(step.params)
        for name in step.deferred:
            params[name] = _placeholder(step.step_id, name)
        scripts.append((step, session.script(step.step_id, choices=step.choices, params=params)))
    wait: list[tuple[str, Any]] = []
    if plan.lease:
        scripts.insert(
            0,
            (
                PlannedStep("sync/install-lease", "pause the scheduler under a lease"),
                session.script(
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
                PlannedStep("sync/remove-lease", "end the lease: the scheduler returns to its prior state"),
                session.script("sync/remove-lease", params={"LeaseName": holds.lease_name("<operation>")}),
            )
        )
    if not plan.linked:
        wait.append(
            (
                "start a delta sync cycle (after any running one ends), then poll until the link shows",
                session.script("sync/start-cycle", choices={"policy": "delta"}),
            )
        )
    return DryRun(plan, scripts, wait)


def legacy_dry_run(resolved: Resolved) -> DryRun:
    """The seed's 2014 runbook rendered with the request's values (never run)."""
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


def _placeholder(step_id: str, name: str) -> Any:
    from pswrap.steps import get

    try:
        kind = get(step_id).param(name).type
    except KeyError:
        return f"<{name}>"
    if kind == "guid":
        return NIL_GUID
    return f"<{name}>"
