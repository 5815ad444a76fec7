"""`pswrap sync status|start|wait`: the directory sync server, read and driven through the API."""

from __future__ import annotations

import json

import typer

from pswrap.choices import Output
from pswrap.cli.app import OPTIONS, app
from pswrap.cli.options import OLD_TIMEOUT_OPT, OUTPUT_OPT, SYNC_TIMEOUT_OPT, TARGET_OPT, sync_timeout
from pswrap.cli.progress import Progress

sync_app = typer.Typer(
    name="sync", help="The directory sync server: status, start a cycle, wait.", no_args_is_help=True
)
app.add_typer(sync_app, name="sync")


@sync_app.command("status")
def sync_status_command(target: str | None = TARGET_OPT, output: Output = OUTPUT_OPT) -> None:
    """The sync server's anchor attribute, staging mode, scheduler and pswrap's leases."""
    from pswrap.api import Pswrap

    with Progress(verbose=OPTIONS.verbose) as progress, Pswrap(target, progress=progress) as client:
        status = client.sync_status()
    if output == "json":
        typer.echo(json.dumps(status.to_json(), indent=2))
        return
    s, sch = status.settings, status.scheduler
    typer.echo(f"anchor attribute:  {s.anchor_attribute}")
    typer.echo(f"staging mode:      {'on' if s.staging_mode else 'off'}")
    typer.echo(f"connect version:   {s.connect_version or '-'}")
    typer.echo(
        f"scheduler:         {'enabled' if sch.sync_cycle_enabled else 'PAUSED'}"
        + (" (suspended)" if sch.scheduler_suspended else "")
    )
    typer.echo(f"cycle in progress: {'yes' if sch.sync_cycle_in_progress else 'no'}")
    next_start = status.to_json()["scheduler"].get("next_sync_cycle_start_time_utc")
    typer.echo(f"next cycle (UTC):  {next_start or '-'}")
    for lease in status.leases or []:
        typer.echo(f"lease:             {lease.name} until {lease.model_dump(mode='json')['deadline_utc']}")


@sync_app.command("start")
def sync_start_command(
    initial: bool = typer.Option(False, "--initial", help="A full (Initial) cycle instead of Delta."),
    target: str | None = TARGET_OPT,
    output: Output = OUTPUT_OPT,
) -> None:
    """Start a sync cycle (Start-ADSyncSyncCycle)."""
    from pswrap.api import Pswrap

    with Progress(verbose=OPTIONS.verbose) as progress, Pswrap(target, progress=progress) as client:
        out = client.start_sync(initial=initial)
    if output == "json":
        typer.echo(json.dumps(out.to_json(), indent=2))
    else:
        typer.echo(f"started a {out.policy} cycle: {out.result}")


@sync_app.command("wait")
def sync_wait_command(
    sync_timeout_s: float | None = SYNC_TIMEOUT_OPT,
    old_timeout: float | None = OLD_TIMEOUT_OPT,
    target: str | None = TARGET_OPT,
    output: Output = OUTPUT_OPT,
) -> None:
    """Wait until no sync cycle is in progress."""
    from pswrap.api import Pswrap

    timeout = sync_timeout(sync_timeout_s, old_timeout)
    with (
        Progress(verbose=OPTIONS.verbose, deadline_seconds=timeout) as progress,
        Pswrap(target, progress=progress) as client,
    ):
        out = client.wait_sync(timeout=timeout)
    if output == "json":
        typer.echo(json.dumps(out.to_json(), indent=2))
    else:
        typer.echo("no sync cycle in progress")
