"""What `--dry-run` shows and the confirmation prompt asks about: a plan rendered to its exact scripts
and parameters, as text or JSON, without running anything.

The text is for a change approval board: each step as the lines of its own that matter (its values bound
first, in PowerShell syntax, by the same encoder `--emit-ps1` and `render --standalone` use), the connect
step of each service before its first step, and the prologue every step shares printed once at the end.
`--scripts` prints every script in full instead. `emit_ps1.py` writes the same plan as one script.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
    connects: dict[str, Any] = field(default_factory=dict)
    """The connect step's script of each need (exo, graph, hybrid) the plan's steps use, by need."""

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
            "connect": [script_json(None, sc, f"connect to {need}") for need, sc in self.connects.items()],
            "notes": plan.notes if plan else [],
        }

    def summary(self) -> str:
        """The plan without the script bodies: what the confirmation prompt shows."""
        return self.to_text(bodies=False)

    def to_text(self, *, bodies: bool = True, scripts: bool = False) -> str:
        """The plan, then each step: its values and own lines (`bodies`), or its whole script (`scripts`),
        or only its values (neither: the confirmation prompt)."""
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
        mode = "scripts" if scripts else "excerpt" if bodies else "values"
        connected: set[str] = set()
        entries: list[tuple[str, PlannedStep | None, Any, str]] = [
            (f"[{n}]", step, script, step.why) for n, (step, script) in enumerate(self.scripts, 1)
        ]
        entries += [("[then]", None, script, why) for why, script in self.wait]
        for label, step, script, why in entries:
            need = script.step.needs
            if need in self.connects and need not in connected:
                connected.add(need)
                connect = self.connects[need]
                lines.append("")
                lines.append(f"[connect] {connect.step_id}: connect to {need} (once per session)")
                lines.extend(_script_lines(connect, None, mode))
            lines.append("")
            lines.append(f"{label} {script.step_id}: {why}")
            lines.extend(_script_lines(script, step, mode))
        if mode == "excerpt" and entries:
            from pswrap.render.excerpt import prologue

            lines.append("")
            lines.append("Every step above runs after this prologue (shared by all of them):")
            lines.extend("    " + line if line else "" for line in prologue().rstrip("\n").split("\n"))
        if bodies or scripts:
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


def _script_lines(script: Any, step: PlannedStep | None, mode: str = "excerpt") -> list[str]:
    """One step for the text output. `values`: its parameters as PowerShell assignments; `excerpt`: those,
    then the step's own lines; `scripts`: its whole script, then its parameters."""
    from pswrap.render.excerpt import step_lines

    indent = "    "
    values = [indent + line for line in _value_lines(script, step)]
    if mode == "scripts":
        body = [indent + line for line in script.text.rstrip("\n").split("\n")]
        return [*body, f"{indent}# parameters sent with it:", *values]
    if mode == "values":
        return values or [f"{indent}# (no parameters)"]
    own = [indent + line if line else "" for line in step_lines(script.text)]
    return [indent + script.marker, *values, *own]


def _value_lines(script: Any, step: PlannedStep | None) -> list[str]:
    """`$Name = <literal>` for each parameter, by the encoder an emitted script uses; a value known only
    at run time, or a secret, is named in a comment instead."""
    from pswrap.render.literals import to_literal

    deferred = step.deferred if step is not None else {}
    lines = []
    for name, value in script.parameters.items():
        if name in deferred:
            lines.append(f"${name} = $null  # at run time: {deferred[name][0]}")
        elif isinstance(value, str) and value.startswith("<") and value.endswith(">"):
            lines.append(f"${name} = $null  # at run time: {value[1:-1]}")
        else:
            lines.append(f"${name} = {to_literal(value)}")
    for name in getattr(script, "secrets", {}):
        lines.append(f"${name} = Read-Host -AsSecureString -Prompt {to_literal(name)}  # a secret, asked for")
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
    connects = _connects(session, [sc for _s, sc in scripts])
    if not plan.linked:
        wait.append(
            (
                "start a delta sync cycle (after any running one ends), then poll until the link shows",
                session.script("sync/start-cycle", choices={"policy": "delta"}),
            )
        )
    return DryRun(plan, scripts, wait, connects=connects)


def _connects(session: StepSession, scripts: list[Any]) -> dict[str, Any]:
    """The connect script of each need the steps use, in order of first use."""
    from pswrap.steps import CONNECT_STEPS

    out: dict[str, Any] = {}
    for script in scripts:
        need = script.step.needs
        if need in CONNECT_STEPS and need not in out:
            out[need] = session.script(CONNECT_STEPS[need])
    return out


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
