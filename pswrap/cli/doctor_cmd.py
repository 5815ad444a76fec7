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

from pswrap.cli.app import OPTIONS, app
from pswrap.errors import BadInput

if TYPE_CHECKING:
    from pswrap.workflows.checks.model import Check

SECTIONS = (
    ("connection", "Connection"),
    ("modules", "Modules and snap-ins"),
    ("sync", "Sync engine (Entra Connect Sync)"),
    ("tenant", "Tenant (Exchange Online, Microsoft Graph)"),
    ("ad", "Active Directory"),
    ("unlink", "Unlink (user source of authority, preview; only `mailbox unlink` needs it)"),
)
HOLDS = ("anchor", "staging-ou", "scheduler")
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
    target: str | None = typer.Option(
        None, "--target", "-t", help="A target of the config file, or lab (default: PSWRAP_TARGET)."
    ),
    output: str = typer.Option("text", "--output", "-o", help="text (a checklist) or json."),
    profile: str | None = typer.Option(
        None, "--profile", help="modern or hybrid-tools (default: the target's profile)."
    ),
    hold: str | None = typer.Option(
        None,
        "--hold",
        help="anchor, staging-ou or scheduler: check what that hold needs (default: the hold mailbox "
        "create would pick on this sync server).",
    ),
) -> None:
    """Check, read-only, whether the runbook can work on a target: connection, modules, sync engine,
    tenant and AD. Exit 0 when nothing fails, 6 when something does."""
    from pswrap.remote.session import open_session
    from pswrap.workflows.checks.model import exit_status
    from pswrap.workflows.preflight import run_checks

    if output not in ("text", "json"):
        raise BadInput(f"unknown output format {output!r}", hint="use --output text or --output json")
    if profile is not None and profile not in ("modern", "hybrid-tools"):
        raise BadInput(
            f"pswrap doctor checks the modern or hybrid-tools profile, not {profile!r}",
            hint="the legacy profile never runs (its services are retired), so there is nothing to check",
        )
    if hold is not None and hold not in HOLDS:
        raise BadInput(f"unknown hold {hold!r}", hint=f"holds: {', '.join(HOLDS)}")

    def progress(message: str) -> None:
        if OPTIONS.verbose:
            typer.echo(f"pswrap: {message}", err=True)

    with open_session(target, profile=profile, verbose=OPTIONS.verbose) as session:  # type: ignore[arg-type]
        chosen = profile or session.target.profile
        if chosen == "legacy":
            chosen = "modern"
        checks = run_checks(session, profile=chosen, hold=hold, progress=progress)  # type: ignore[arg-type]
        name = session.target.name + (" (embedded lab)" if session.target.is_lab else "")
    if output == "json":
        typer.echo(json.dumps([c.as_json() for c in checks], indent=2))
    else:
        typer.echo(render_text(checks, header=f"pswrap doctor: target {name}, profile {chosen}"))
    code = exit_status(checks)
    if code:
        raise typer.Exit(code)
