"""`pswrap doctor`: the preflight checklist, before anything changes.

Read-only: every check reads facts (one template per check, except reachability and encryption, which
the client sees itself). Exit 0 when nothing failed, 6 when something did, so a runbook engine can gate
on it. Heavy modules are imported inside the command.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

import typer

from pswrap.choices import DoctorHold, DoctorProfile, Output
from pswrap.cli.app import OPTIONS, app
from pswrap.cli.options import TARGET_OPT
from pswrap.cli.progress import Progress

if TYPE_CHECKING:
    from pswrap.workflows.checks.model import Check

SECTIONS = (
    ("connection", "Connection"),
    ("modules", "Modules and snap-ins"),
    ("sync", "Sync engine (Entra Connect Sync)"),
    ("tenant", "Tenant (Exchange Online, Microsoft Graph)"),
    ("ad", "Active Directory"),
)
MARKS = {"pass": "[ OK ]", "warn": "[WARN]", "fail": "[FAIL]"}


def render_text(checks: Sequence[Check], *, header: str) -> str:
    """The checklist as an admin reads it: grouped, one line per check, the fix under anything not OK.

    A check that could not run (it waits for another that failed) is one line naming that check: its
    fix is that other check's, and repeating it under every waiting line would bury the fixes that
    matter.
    """
    lines = [header, ""]
    for prefix, title in SECTIONS:
        section = [c for c in checks if c.id.split(".", 1)[0] == prefix]
        if not section:
            continue
        lines.append(title)
        for check in section:
            if check.after:
                lines.append(
                    f"  {MARKS[check.status]} {check.name}: not checked until '{check.after}' passes"
                )
                continue
            lines.append(f"  {MARKS[check.status]} {check.name}: {check.found}")
            if check.status != "pass" and check.fix:
                lines.append(f"         fix: {check.fix}")
        lines.append("")
    failed = sum(c.status == "fail" for c in checks)
    waiting = sum(c.status == "fail" and c.after is not None for c in checks)
    warned = sum(c.status == "warn" for c in checks)
    passed = sum(c.status == "pass" for c in checks)
    summary = f"{failed} failed"
    if waiting:
        summary += f" ({waiting} of them not checked: each waits for a failed check)"
    summary += f", {warned} warning(s), {passed} passed."
    if failed:
        summary += " Do the fix of each FAIL line, top down, then run `pswrap doctor` again."
    elif warned:
        summary += " Nothing blocks the runbook; the WARN lines say what is worth doing."
    else:
        summary += " The runbook can run on this target."
    lines.append(summary)
    return "\n".join(lines)


@app.command("doctor")
def doctor_command(
    target: str | None = TARGET_OPT,
    output: Output = typer.Option("text", "--output", "-o", help="A checklist (text) or json."),
    profile: DoctorProfile | None = typer.Option(
        None, "--profile", help="The profile to check (default: the target's)."
    ),
    hold: DoctorHold | None = typer.Option(
        None,
        "--hold",
        help="Check what that hold needs (default: the hold mailbox create would pick on this sync server).",
    ),
) -> None:
    """Check, read-only, whether the runbook can work on a target: connection, modules, sync engine,
    tenant and AD. Exit 0 when nothing fails, 6 when something does."""
    from pswrap.api import Pswrap

    with Progress(verbose=OPTIONS.verbose) as progress, Pswrap(target, progress=progress) as client:
        checklist = client.doctor(profile=profile, hold=hold)
    if output == "json":
        typer.echo(json.dumps(checklist.to_json(), indent=2))
    else:
        name = checklist.target + (" (embedded lab)" if checklist.is_lab else "")
        header = f"pswrap doctor: target {name}, profile {checklist.profile}"
        typer.echo(render_text(checklist.checks, header=header))
    if checklist.exit_code:
        raise typer.Exit(checklist.exit_code)
