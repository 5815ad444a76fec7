"""`pswrap mailbox create|link` and `pswrap resume` (sync_cmd.py and ops_cmd.py have the other groups).

A thin layer over `pswrap.api`: parse the options, build the call, print the result (text for people,
`--output json` for runbook engines) and exit with the error's code. Heavy modules are imported inside
the commands only (`pswrap --help` stays fast).

Confirmation: in a terminal, without `--yes`, pswrap shows the plan and asks before changing anything.
Without a terminal (a runbook engine, a pipe, cron) it applies without asking: that caller has no one to
answer, the command names exactly what it wants, and every step is check-then-act, so a repeated call
changes nothing. `--dry-run` is the way to see the plan from a runbook.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer

from pswrap.choices import ExchangeAttributes, Hold, MailboxType, Match, Output, Profile
from pswrap.cli.app import OPTIONS, app
from pswrap.cli.options import (
    DRY_RUN_OPT,
    MATCH_OPT,
    OLD_TIMEOUT_OPT,
    OUTPUT_OPT,
    SYNC_TIMEOUT_OPT,
    SYNC_TIMEOUT_UNSET_OPT,
    TARGET_OPT,
    WAIT_OPT,
    YES_OPT,
    renamed_timeout,
    sync_timeout,
)
from pswrap.cli.progress import Progress
from pswrap.errors import BadInput

if TYPE_CHECKING:
    from pswrap.api import Pswrap
    from pswrap.workflows.mailbox_dryrun import DryRun
    from pswrap.workflows.results import MailboxResult

mailbox_app = typer.Typer(
    name="mailbox",
    help="Create or link a room, equipment or shared mailbox managed from on-premises AD.",
    no_args_is_help=True,
)
app.add_typer(mailbox_app, name="mailbox")

SCRIPTS_OPT = typer.Option(False, "--scripts", help="With --dry-run: print every step's full script.")
EMIT_OPT = typer.Option(
    None,
    "--emit-ps1",
    metavar="FILE",
    help="Write the plan as one Windows PowerShell 5.1 script to review and run by hand; change nothing.",
)
# Who masters what after the link (docs/mastering.md).
EXCHANGE_ATTRIBUTES_OPT = typer.Option(
    None,
    "--exchange-attributes",
    help="Who masters the Exchange attributes after the link: auto (default), cloud "
    "(Set-Mailbox -IsExchangeCloudManaged after the link), stamp (write the remote-mailbox msExch* values "
    "in AD; unsupported by Microsoft) or none.",
)
ALLOW_SIGN_IN_OPT = typer.Option(
    False,
    "--allow-sign-in",
    help="Keep the account able to sign in (Teams Rooms). A new AD account's password comes from "
    "PSWRAP_SIGN_IN_PASSWORD or a prompt, never the command line.",
)


def _sign_in_password(allow_sign_in: bool, *, may_create: bool) -> Any:
    """The password of the AD account --allow-sign-in makes pswrap create: the environment variable, else
    a prompt in a terminal, else None (the plan refuses then, before any change)."""
    if not allow_sign_in or not may_create:
        return None
    import os

    from pswrap.secrets import Secret
    from pswrap.workflows.mailbox_mastering import SIGN_IN_PASSWORD_ENV

    value = os.environ.get(SIGN_IN_PASSWORD_ENV)
    if value is None and _interactive():
        value = typer.prompt("Password for the new AD account", hide_input=True, err=True)
    return Secret(value) if value else None


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


def _client(target: str | None, progress: Progress | None = None, *, yes: bool = True) -> Pswrap:
    from pswrap.api import Pswrap

    if progress is None:  # a caller without a progress line of its own: --verbose lines only
        progress = Progress(verbose=OPTIONS.verbose)

    confirm = None
    if not yes and _interactive():

        def confirm(plan: DryRun) -> bool:
            with progress.paused():
                typer.echo(plan.summary(), err=True)
                typer.echo("(--dry-run --scripts prints every script in full)", err=True)
                return bool(typer.confirm("Apply these changes?", default=False, err=True))

    return Pswrap(target, progress=progress, confirm=confirm)


def _emit(out: MailboxResult | DryRun, output: str, *, scripts: bool = False) -> None:
    """Print a MailboxResult or a DryRun; exit with the result's code."""
    from pswrap.workflows.results import MailboxResult

    if output == "json":
        typer.echo(json.dumps(out.to_json(), indent=2, sort_keys=False))
    elif isinstance(out, MailboxResult):
        typer.echo(out.to_text())
    else:
        typer.echo(out.to_text(scripts=scripts))
    if isinstance(out, MailboxResult) and out.error is not None:
        err = out.error
        typer.echo(f"pswrap: error: {err}", err=True)
        if err.hint:
            typer.echo(f"hint: {err.hint}", err=True)
        raise typer.Exit(out.exit_code)


@contextmanager
def _json_errors(output: str) -> Iterator[None]:
    """With --output json, a refusal before any operation exists still prints the result shape."""
    from pswrap.errors import PswrapError

    try:
        yield
    except PswrapError as exc:
        if output == "json":
            from pswrap.workflows.results import MailboxResult

            failed = MailboxResult(operation=None, status="failed", error=exc)
            typer.echo(json.dumps(failed.to_json(), indent=2))
        raise


def _operate(
    target: str | None,
    output: str,
    call: Callable[[Pswrap], MailboxResult | DryRun],
    *,
    yes: bool = True,
    wait_seconds: float | None = None,
    scripts: bool = False,
    emit: str | None = None,
    sync_seconds: float = 600.0,
) -> None:
    """One path for create, link and resume, so that all three confirm, show progress, print (the JSON
    shape even for a refusal) and exit alike. With `emit`, the dry run is written as one script."""
    with Progress(verbose=OPTIONS.verbose, deadline_seconds=wait_seconds) as progress:
        client = _client(target, progress, yes=yes)
        with client, _json_errors(output):
            out = call(client)
            progress.stop()
            if emit is not None:
                _write_script(out, emit, sync_seconds)
                return
            _emit(out, output, scripts=scripts)


def _write_script(out: MailboxResult | DryRun, path: str, wait_seconds: float) -> None:
    from pswrap.workflows.emit_ps1 import emit_ps1
    from pswrap.workflows.results import MailboxResult

    if isinstance(out, MailboxResult):  # pragma: no cover - the call asked for a dry run
        raise BadInput("--emit-ps1 writes a plan; nothing was planned")
    text = emit_ps1(out, wait_seconds=wait_seconds)
    # UTF-8 with a byte order mark: Windows PowerShell 5.1 reads a script without one in the ANSI code
    # page (about_Character_Encoding), which would change any non-ASCII character of a value.
    with open(path, "w", encoding="utf-8-sig", newline="\r\n") as handle:
        handle.write(text)
    typer.echo(f"wrote {path}: {len(out.scripts)} step(s); review it, then run it in Windows PowerShell 5.1",
               err=True)


@mailbox_app.command("create")
def create_command(
    name: str = typer.Argument(..., metavar="NAME", help="The mailbox's name, e.g. 'Meeting Room 1'."),
    alias: str = typer.Option(..., "--alias", help="The mailbox alias (mailNickname); its identity."),
    type: MailboxType = typer.Option("room", "--type", help="The kind of resource mailbox."),
    sam: str | None = typer.Option(None, "--sam", help="sAMAccountName (default: the alias, if it fits AD)."),
    upn: str | None = typer.Option(None, "--upn", help="UPN (default: ALIAS@the target's UPN suffix)."),
    email: str | None = typer.Option(None, "--email", help="Primary SMTP address (default: the UPN)."),
    ou: str | None = typer.Option(
        None, "--ou", help="OU for the account (default: the target's resource OU)."
    ),
    display_name: str | None = typer.Option(None, "--display-name", help="Display name (default: NAME)."),
    capacity: int | None = typer.Option(None, "--capacity", help="Room capacity (rooms only)."),
    auto_accept: bool = typer.Option(False, "--auto-accept", help="Calendar: AutomateProcessing AutoAccept."),
    booking_window_days: int | None = typer.Option(
        None, "--booking-window-days", help="Calendar: how many days ahead it can be booked (0-1080)."
    ),
    max_duration: int | None = typer.Option(
        None, "--max-duration", help="Calendar: the longest meeting accepted, in minutes."
    ),
    delegate: list[str] | None = typer.Option(
        None, "--delegate", help="Calendar: a resource delegate (UPN, address or alias); repeatable."
    ),
    profile: Profile | None = typer.Option(None, "--profile", help="The route (default: the target's)."),
    hold: Hold | None = typer.Option(
        None, "--hold", help="What keeps sync from racing the link (default: by the server's anchor)."
    ),
    match: Match | None = MATCH_OPT,
    wait: bool = WAIT_OPT,
    sync_timeout_s: float | None = SYNC_TIMEOUT_OPT,
    old_timeout: float | None = OLD_TIMEOUT_OPT,
    dry_run: bool = DRY_RUN_OPT,
    scripts: bool = SCRIPTS_OPT,
    emit_ps1: str | None = EMIT_OPT,
    yes: bool = YES_OPT,
    target: str | None = TARGET_OPT,
    output: Output = OUTPUT_OPT,
    exchange_attributes: ExchangeAttributes | None = EXCHANGE_ATTRIBUTES_OPT,
    allow_sign_in: bool = ALLOW_SIGN_IN_OPT,
) -> None:
    """Create a resource mailbox in Exchange Online and its AD account, linked by a hard match."""
    timeout = sync_timeout(sync_timeout_s, old_timeout)
    plan_only = dry_run or emit_ps1 is not None
    password = _sign_in_password(allow_sign_in, may_create=not plan_only)
    calendar: dict[str, Any] = {
        "automate_processing": "AutoAccept" if auto_accept else None,
        "booking_window_days": booking_window_days,
        "max_duration_minutes": max_duration,
        "resource_delegates": delegate or None,
    }
    calendar = {k: v for k, v in calendar.items() if v is not None}

    def create(client: Pswrap) -> MailboxResult | DryRun:
        return client.create_mailbox(
            name,
            alias=alias,
            type=type,
            sam=sam,
            upn=upn,
            email=email,
            ou=ou,
            display_name=display_name,
            capacity=capacity,
            profile=profile,
            hold=hold,
            match=match,
            wait=wait,
            timeout=timeout,
            dry_run=plan_only,
            check=False,
            exchange_attributes=exchange_attributes,
            allow_sign_in=allow_sign_in,
            sign_in_password=password,
        )

    if calendar:
        if emit_ps1 is not None or scripts:
            raise BadInput(
                "--emit-ps1 and --scripts show the create plan; the calendar flags are applied after it",
                hint="drop the calendar flags for the script, then `pswrap mailbox apply` the calendar",
            )
        # The calendar flags fill the desired-state spec: create as usual, then configure as `apply` does.
        from pswrap.cli.desired_cmd import create_and_configure

        fields: dict[str, Any] = {"name": name, "alias": alias, "type": type, "sam": sam, "upn": upn}
        fields.update(email=email, ou=ou, display_name=display_name, capacity=capacity, calendar=calendar)
        spec = {k: v for k, v in fields.items() if v is not None}
        create_and_configure(
            create, spec, target=target, output=output, dry_run=dry_run, yes=yes, wait=wait,
            sync_timeout=timeout, profile=profile, hold=hold,
        )  # fmt: skip
        return
    _operate(
        target,
        output,
        create,
        yes=yes or plan_only,
        wait_seconds=timeout if wait and not plan_only else None,
        scripts=scripts,
        emit=emit_ps1,
        sync_seconds=timeout,
    )


@mailbox_app.command("link")
def link_command(
    mailbox: str = typer.Argument(
        ..., metavar="MAILBOX", help="The existing cloud mailbox (alias or address)."
    ),
    ad_user: str | None = typer.Option(
        None, "--ad-user", help="Link to this AD account: SAM, UPN or objectGUID."
    ),
    create_ad_user: bool = typer.Option(False, "--create-ad-user", help="Create the AD account for it."),
    sam: str | None = typer.Option(None, "--sam", help="With --create-ad-user: sAMAccountName."),
    upn: str | None = typer.Option(None, "--upn", help="With --create-ad-user: UPN."),
    ou: str | None = typer.Option(None, "--ou", help="With --create-ad-user: OU."),
    display_name: str | None = typer.Option(None, "--display-name", help="With --create-ad-user."),
    profile: Profile | None = typer.Option(None, "--profile", help="Only modern links (the default)."),
    hold: Hold | None = typer.Option(None, "--hold", help="What keeps sync from racing the link."),
    match: Match | None = MATCH_OPT,
    wait: bool = WAIT_OPT,
    sync_timeout_s: float | None = SYNC_TIMEOUT_OPT,
    old_timeout: float | None = OLD_TIMEOUT_OPT,
    dry_run: bool = DRY_RUN_OPT,
    scripts: bool = SCRIPTS_OPT,
    emit_ps1: str | None = EMIT_OPT,
    yes: bool = YES_OPT,
    target: str | None = TARGET_OPT,
    output: Output = OUTPUT_OPT,
    add_addresses: bool = typer.Option(
        False,
        "--add-addresses",
        help="With --ad-user: add to the account the mailbox's addresses it lacks (else the link is "
        "refused, exit 6, naming them).",
    ),
    exchange_attributes: ExchangeAttributes | None = EXCHANGE_ATTRIBUTES_OPT,
    allow_sign_in: bool = ALLOW_SIGN_IN_OPT,
) -> None:
    """Link an existing cloud mailbox to an AD account (existing, or created now)."""
    timeout = sync_timeout(sync_timeout_s, old_timeout)
    password = _sign_in_password(allow_sign_in, may_create=create_ad_user and not (dry_run or emit_ps1))
    if ad_user is not None and (sam is not None or upn is not None):
        raise BadInput("--sam and --upn go with --create-ad-user; --ad-user names an existing account")
    plan_only = dry_run or emit_ps1 is not None
    _operate(
        target,
        output,
        lambda client: client.link_mailbox(
            mailbox,
            ad_user=ad_user,
            create_ad_user=create_ad_user,
            sam=sam,
            upn=upn,
            ou=ou,
            display_name=display_name,
            profile=profile,
            hold=hold,
            match=match,
            wait=wait,
            timeout=timeout,
            dry_run=plan_only,
            check=False,
            add_addresses=add_addresses,
            exchange_attributes=exchange_attributes,
            allow_sign_in=allow_sign_in,
            sign_in_password=password,
        ),
        yes=yes or plan_only,
        wait_seconds=timeout if wait and not plan_only else None,
        scripts=scripts,
        emit=emit_ps1,
        sync_seconds=timeout,
    )


@app.command("resume")
def resume_command(
    operation: str = typer.Argument(..., metavar="OPERATION_ID", help="From `pswrap ops list`."),
    sync_timeout_s: float | None = SYNC_TIMEOUT_UNSET_OPT,
    old_timeout: float | None = OLD_TIMEOUT_OPT,
    wait: bool | None = typer.Option(None, "--wait/--no-wait", help="Wait for sync (default: wait)."),
    target: str | None = TARGET_OPT,
    output: Output = OUTPUT_OPT,
) -> None:
    """Finish an interrupted or pending operation to the same end state (no duplicate objects)."""
    timeout = renamed_timeout("--sync-timeout", sync_timeout_s, old_timeout)
    import os

    from pswrap.journal import Journal
    from pswrap.secrets import Secret
    from pswrap.workflows.mailbox_mastering import SIGN_IN_PASSWORD_ENV

    batch = Journal().get(operation)  # issue #15: a batch resumes by applying its entries again
    if batch is not None and batch.kind == "mailbox.batch":
        from pswrap.cli.batch_cmd import resume_batch

        resume_batch(batch, target=target, output=output, wait=wait, timeout=timeout)
        return
    # An --allow-sign-in operation that stopped before its account was created needs the password again.
    secret = os.environ.get(SIGN_IN_PASSWORD_ENV)
    password = Secret(secret) if secret else None
    _operate(
        target,
        output,
        lambda client: client.resume(
            operation, wait=wait, timeout=timeout, check=False, sign_in_password=password
        ),
        wait_seconds=timeout if wait is not False else None,
    )
