"""`pswrap mailbox create|link`, `pswrap sync status|start|wait`, `pswrap resume`, `pswrap ops list|show`.

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

from pswrap.cli.app import OPTIONS, app
from pswrap.errors import BadInput

if TYPE_CHECKING:
    from pswrap.api import Pswrap

OUTPUTS = ("text", "json")

mailbox_app = typer.Typer(
    name="mailbox",
    help="Create or link a room, equipment or shared mailbox managed from on-premises AD.",
    no_args_is_help=True,
)
sync_app = typer.Typer(
    name="sync", help="The directory sync server: status, start a cycle, wait.", no_args_is_help=True
)
ops_app = typer.Typer(name="ops", help="Operations in the local journal.", no_args_is_help=True)
app.add_typer(mailbox_app, name="mailbox")
app.add_typer(sync_app, name="sync")
app.add_typer(ops_app, name="ops")

TARGET_OPT = typer.Option(
    None, "--target", "-t", help="A target of the config file, or lab (default: PSWRAP_TARGET)."
)
OUTPUT_OPT = typer.Option("text", "--output", "-o", help="text or json.")
# The options `mailbox create` and `mailbox link` share, with the same meaning and default.
MATCH_OPT = typer.Option(None, "--match", help="hard (default) or soft.")
WAIT_OPT = typer.Option(True, "--wait/--no-wait", help="Wait for sync to link the account.")
TIMEOUT_OPT = typer.Option(600.0, "--timeout", help="Seconds to wait for sync (then exit 7).")
DRY_RUN_OPT = typer.Option(False, "--dry-run", help="Print the plan and every script; change nothing.")
YES_OPT = typer.Option(False, "--yes", "-y", help="Do not ask before applying (in a terminal).")
# Who masters what after the link (issue #11, docs/mastering.md).
EXCHANGE_ATTRIBUTES_OPT = typer.Option(
    None,
    "--exchange-attributes",
    help="auto (default), cloud (Set-Mailbox -IsExchangeCloudManaged after the link), stamp (write the "
    "remote-mailbox msExch* values in AD; unsupported by Microsoft) or none.",
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


def _output(output: str) -> str:
    if output not in OUTPUTS:
        raise BadInput(f"unknown output format {output!r}", hint="use --output text or --output json")
    return output


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


def _progress_printer() -> Any:
    """Progress on stderr in a terminal (or with --verbose); quiet for runbook engines."""
    if sys.stderr.isatty() or OPTIONS.verbose:

        def show(message: str) -> None:
            typer.echo(f"pswrap: {message}", err=True)

        return show
    from pswrap.workflows.ports import no_progress

    return no_progress


def _client(target: str | None, *, yes: bool = True) -> Pswrap:
    from pswrap.api import Pswrap

    confirm = None
    if not yes and _interactive():

        def confirm(plan: Any) -> bool:
            typer.echo(plan.summary(), err=True)
            typer.echo("(--dry-run prints every script in full)", err=True)
            return bool(typer.confirm("Apply these changes?", default=False, err=True))

    return Pswrap(target, progress=_progress_printer(), confirm=confirm)


def _emit(out: Any, output: str) -> None:
    """Print a MailboxResult or a DryRun; exit with the result's code."""
    from pswrap.workflows.results import MailboxResult

    if output == "json":
        typer.echo(json.dumps(out.to_json(), indent=2, sort_keys=False))
    else:
        typer.echo(out.to_text())
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


def _operate(target: str | None, output: str, call: Callable[[Pswrap], Any], *, yes: bool = True) -> None:
    """One path for create, link and resume, so that all three confirm, print (the JSON shape even for a
    refusal) and exit alike."""
    client = _client(target, yes=yes)
    with client, _json_errors(output):
        _emit(call(client), output)


@mailbox_app.command("create")
def create_command(
    name: str = typer.Argument(..., metavar="NAME", help="The mailbox's name, e.g. 'Meeting Room 1'."),
    alias: str = typer.Option(..., "--alias", help="The mailbox alias (mailNickname); its identity."),
    type: str = typer.Option("room", "--type", help="room, equipment or shared."),
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
    profile: str | None = typer.Option(None, "--profile", help="modern, legacy or hybrid-tools."),
    hold: str | None = typer.Option(
        None, "--hold", help="anchor, staging-ou, scheduler or none (default: by the server's anchor)."
    ),
    match: str | None = MATCH_OPT,
    wait: bool = WAIT_OPT,
    timeout: float = TIMEOUT_OPT,
    dry_run: bool = DRY_RUN_OPT,
    yes: bool = YES_OPT,
    target: str | None = TARGET_OPT,
    output: str = OUTPUT_OPT,
    exchange_attributes: str | None = EXCHANGE_ATTRIBUTES_OPT,
    allow_sign_in: bool = ALLOW_SIGN_IN_OPT,
) -> None:
    """Create a resource mailbox in Exchange Online and its AD account, linked by a hard match."""
    _output(output)
    password = _sign_in_password(allow_sign_in, may_create=not dry_run)
    calendar: dict[str, Any] = {
        "automate_processing": "AutoAccept" if auto_accept else None,
        "booking_window_days": booking_window_days,
        "max_duration_minutes": max_duration,
        "resource_delegates": delegate or None,
    }
    calendar = {k: v for k, v in calendar.items() if v is not None}
    def create(client: Pswrap) -> Any:
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
            dry_run=dry_run,
            check=False,
            exchange_attributes=exchange_attributes,
            allow_sign_in=allow_sign_in,
            sign_in_password=password,
        )

    if calendar:
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
    _operate(target, output, create, yes=yes or dry_run)


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
    profile: str | None = typer.Option(None, "--profile", help="modern (the only one that links)."),
    hold: str | None = typer.Option(None, "--hold", help="anchor, staging-ou, scheduler or none."),
    match: str | None = MATCH_OPT,
    wait: bool = WAIT_OPT,
    timeout: float = TIMEOUT_OPT,
    dry_run: bool = DRY_RUN_OPT,
    yes: bool = YES_OPT,
    target: str | None = TARGET_OPT,
    output: str = OUTPUT_OPT,
    add_addresses: bool = typer.Option(
        False,
        "--add-addresses",
        help="With --ad-user: add to the account the mailbox's addresses it lacks (else the link is "
        "refused, exit 6, naming them).",
    ),
    exchange_attributes: str | None = EXCHANGE_ATTRIBUTES_OPT,
    allow_sign_in: bool = ALLOW_SIGN_IN_OPT,
) -> None:
    """Link an existing cloud mailbox to an AD account (existing, or created now)."""
    _output(output)
    password = _sign_in_password(allow_sign_in, may_create=create_ad_user and not dry_run)
    if ad_user is not None and (sam is not None or upn is not None):
        raise BadInput("--sam and --upn go with --create-ad-user; --ad-user names an existing account")
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
            dry_run=dry_run,
            check=False,
            add_addresses=add_addresses,
            exchange_attributes=exchange_attributes,
            allow_sign_in=allow_sign_in,
            sign_in_password=password,
        ),
        yes=yes or dry_run,
    )


@app.command("resume")
def resume_command(
    operation: str = typer.Argument(..., metavar="OPERATION_ID", help="From `pswrap ops list`."),
    timeout: float | None = typer.Option(
        None, "--timeout", help="Seconds to wait for sync (default: as before)."
    ),
    wait: bool | None = typer.Option(None, "--wait/--no-wait", help="Wait for sync (default: wait)."),
    target: str | None = TARGET_OPT,
    output: str = OUTPUT_OPT,
) -> None:
    """Finish an interrupted or pending operation to the same end state (no duplicate objects)."""
    _output(output)
    import os

    from pswrap.secrets import Secret
    from pswrap.workflows.mailbox_mastering import SIGN_IN_PASSWORD_ENV

    # An --allow-sign-in operation that stopped before its account was created needs the password again.
    secret = os.environ.get(SIGN_IN_PASSWORD_ENV)
    password = Secret(secret) if secret else None
    _operate(
        target,
        output,
        lambda client: client.resume(
            operation, wait=wait, timeout=timeout, check=False, sign_in_password=password
        ),
    )


# --- sync --------------------------------------------------------------------------------------------


@sync_app.command("status")
def sync_status_command(target: str | None = TARGET_OPT, output: str = OUTPUT_OPT) -> None:
    """The sync server's anchor attribute, staging mode, scheduler and pswrap's leases."""
    _output(output)
    with _client(target) as client:
        status = client.sync_status()
    if output == "json":
        typer.echo(json.dumps(status, indent=2))
        return
    s, sch = status["settings"], status["scheduler"]
    typer.echo(f"anchor attribute:  {s['anchor_attribute']}")
    typer.echo(f"staging mode:      {'on' if s['staging_mode'] else 'off'}")
    typer.echo(f"connect version:   {s.get('connect_version') or '-'}")
    typer.echo(
        f"scheduler:         {'enabled' if sch['sync_cycle_enabled'] else 'PAUSED'}"
        + (" (suspended)" if sch.get("scheduler_suspended") else "")
    )
    typer.echo(f"cycle in progress: {'yes' if sch['sync_cycle_in_progress'] else 'no'}")
    typer.echo(f"next cycle (UTC):  {sch.get('next_sync_cycle_start_time_utc') or '-'}")
    leases = (status.get("leases") or {}).get("leases") or []
    for lease in leases:
        typer.echo(f"lease:             {lease['name']} until {lease['deadline_utc']}")


@sync_app.command("start")
def sync_start_command(
    initial: bool = typer.Option(False, "--initial", help="A full (Initial) cycle instead of Delta."),
    target: str | None = TARGET_OPT,
    output: str = OUTPUT_OPT,
) -> None:
    """Start a sync cycle (Start-ADSyncSyncCycle)."""
    _output(output)
    with _client(target) as client:
        out = client.start_sync(initial=initial)
    if output == "json":
        typer.echo(json.dumps(out, indent=2))
    else:
        typer.echo(f"started a {out['policy']} cycle: {out['result']}")


@sync_app.command("wait")
def sync_wait_command(
    timeout: float = typer.Option(600.0, "--timeout", help="Seconds to wait (then exit 7)."),
    target: str | None = TARGET_OPT,
    output: str = OUTPUT_OPT,
) -> None:
    """Wait until no sync cycle is in progress."""
    _output(output)
    with _client(target) as client:
        out = client.wait_sync(timeout=timeout)
    if output == "json":
        typer.echo(json.dumps(out, indent=2))
    else:
        typer.echo("no sync cycle in progress")


# --- ops ---------------------------------------------------------------------------------------------


@ops_app.command("list")
def ops_list_command(
    limit: int = typer.Option(50, "--limit", help="How many, newest first."),
    output: str = OUTPUT_OPT,
) -> None:
    """Operations in the local journal, newest first."""
    from pswrap.api import Pswrap

    _output(output)
    ops = Pswrap().operations(limit)
    if output == "json":
        typer.echo(json.dumps([o.to_json() for o in ops], indent=2))
        return
    if not ops:
        typer.echo("no operations in the journal")
        return
    for o in ops:
        alias = o.args.get("alias", "")
        typer.echo(f"{o.id}  {o.status:<13} {o.kind:<15} {alias:<20} {o.target or '-':<10} {o.updated}")


@ops_app.command("show")
def ops_show_command(
    operation: str = typer.Argument(..., metavar="OPERATION_ID"),
    output: str = OUTPUT_OPT,
) -> None:
    """One operation: its arguments, status, result and every step it ran."""
    from pswrap.api import Pswrap

    _output(output)
    op, steps = Pswrap().operation(operation)
    if output == "json":
        typer.echo(json.dumps({**op.to_json(), "steps": [s.to_json() for s in steps]}, indent=2))
        return
    typer.echo(f"operation {op.id}: {op.kind} {op.status} on {op.target or '-'}")
    typer.echo(f"  created {op.created}, updated {op.updated}")
    typer.echo("  args: " + json.dumps({k: v for k, v in op.args.items() if v is not None}))
    for s in steps:
        err = f"  {s.error}" if s.error else ""
        typer.echo(f"  {s.seq:>3} {s.step_id:<26} {s.status:<11} {s.started}{err}")
    if op.result and op.result.get("error"):
        typer.echo(f"  error: {op.result['error'].get('message')}")
