"""`pswrap jea`: write the files of a least-privilege JEA endpoint for the remoting account.

Nothing is sent anywhere: the command writes a role capability file, a session configuration file and the
registration commands for an admin to review and run on the server (docs/jea.md).
"""

from __future__ import annotations

import re
from pathlib import Path

import typer

from pswrap.cli.app import app
from pswrap.errors import BadInput

_NAME = re.compile(r"^[A-Za-z][\w.-]{0,63}$")
_ACCOUNT = re.compile(r"^[^\s\\/'\"]+\\[^\s\\/'\"]+$")


def _needs(text: str) -> tuple[str, ...]:
    from pswrap.steps.model import NEEDS

    needs = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in needs if n not in NEEDS]
    if unknown or not needs:
        raise BadInput(
            f"unknown need(s) {', '.join(unknown) or '(none given)'}", hint=f"use: {','.join(NEEDS)}"
        )
    return needs


@app.command("jea")
def jea_command(
    group: list[str] = typer.Option(
        [], "--group", "-g", help="A group allowed to connect, DOMAIN\\name (repeatable; at least one)."
    ),
    name: str = typer.Option(
        "pswrap", "--name", help="The endpoint's name: the target's configuration_name."
    ),
    gmsa: str | None = typer.Option(
        None,
        "--gmsa",
        help="Run as this group-managed service account (DOMAIN\\name$) instead of a virtual account.",
    ),
    virtual_account_group: list[str] = typer.Option(
        [],
        "--virtual-account-group",
        help="A local group the virtual account joins instead of Administrators (repeatable).",
    ),
    transcripts: str = typer.Option(
        "C:\\ProgramData\\pswrap\\Transcripts",
        "--transcripts",
        help="Where the server keeps session transcripts.",
    ),
    language_mode: str = typer.Option(
        "ConstrainedLanguage", "--language-mode", help="ConstrainedLanguage (default) or FullLanguage."
    ),
    needs: str = typer.Option(
        "ad,adsync,exo,graph,hybrid",
        "--needs",
        help="The needs whose steps the endpoint serves (comma-separated).",
    ),
    scheduler_hold: bool = typer.Option(
        True,
        "--scheduler-hold/--no-scheduler-hold",
        help="Include the scheduler hold's lease steps (they register a task that runs as SYSTEM).",
    ),
    output_dir: Path = typer.Option(Path("."), "--output-dir", "-o", help="Where to write the files."),
) -> None:
    """Write a JEA role capability (.psrc), session configuration (.pssc) and register.ps1 for the server."""
    from pswrap.render import jea

    if not group:
        raise BadInput("name at least one group allowed to connect", hint="--group CORP\\pswrap-operators")
    for account in [*group, *([gmsa] if gmsa else [])]:
        if not _ACCOUNT.match(account):
            raise BadInput(f"{account!r} is not DOMAIN\\name", hint="e.g. --group CORP\\pswrap-operators")
    if gmsa and not gmsa.endswith("$"):
        raise BadInput(f"{gmsa!r} is not a group-managed service account name", hint="it ends with $")
    if gmsa and virtual_account_group:
        raise BadInput("--virtual-account-group applies to a virtual account, not to --gmsa")
    if not _NAME.match(name):
        raise BadInput(f"{name!r} is not a session configuration name", hint="letters, digits, . _ -")
    options = jea.EndpointOptions(
        allowed_groups=tuple(group),
        name=name,
        group_managed_account=gmsa,
        virtual_account_groups=tuple(virtual_account_group),
        transcript_directory=transcripts,
        language_mode=language_mode,
        needs=_needs(needs),  # type: ignore[arg-type]  # checked against NEEDS above
        scheduler_hold=scheduler_hold,
    )
    files = {
        f"{jea.ROLE_NAME}.psrc": jea.role_capability(options),
        f"{name}.pssc": jea.session_configuration(options),
        "register.ps1": jea.registration_script(options),
    }
    output_dir.mkdir(parents=True, exist_ok=True)
    for file_name, text in files.items():
        path = output_dir / file_name
        path.write_text(text, encoding="ascii", newline="\n")
        typer.echo(f"wrote {path}")
    typer.echo(
        f'Copy them to the server, run register.ps1 there, then set configuration_name = "{name}" '
        "on the target (docs/jea.md)."
    )
