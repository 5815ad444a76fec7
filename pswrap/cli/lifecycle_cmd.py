"""`pswrap mailbox remove|restore|unlink`: the rest of a resource mailbox's life (docs/lifecycle.md).

A thin layer over `pswrap.api` (remove_mailbox, restore_mailbox, unlink_mailbox). In a terminal without
`--yes` the plan is shown and confirmed first; `--dry-run` shows the plan and changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import typer

from pswrap.choices import Output
from pswrap.cli.mailbox_cmd import _client, _interactive, mailbox_app
from pswrap.cli.options import OUTPUT_OPT, TARGET_OPT, YES_OPT
from pswrap.workflows.inputs import check_seconds

SYNC_TIMEOUT_OPT = typer.Option(
    600.0, "--sync-timeout", metavar="SECONDS", help="How long to wait for sync, then exit 7 (default: 600)."
)
DRY_RUN_OPT = typer.Option(False, "--dry-run", help="Show the plan; change nothing.")


def _asker(yes: bool, dry_run: bool) -> Callable[[list[str]], bool] | None:
    if yes or dry_run or not _interactive():
        return None

    def confirm(plan: list[str]) -> bool:
        for n, line in enumerate(plan, start=1):
            typer.echo(f"  {n}. {line}", err=True)
        return bool(typer.confirm("Apply these changes?", default=False, err=True))

    return confirm


def _print(out: Any, output: str) -> None:
    if output == "json":
        typer.echo(json.dumps(out.to_json(), indent=2))
    else:
        typer.echo(out.to_text())
    error = out.result.error
    if error is not None:
        typer.echo(f"pswrap: error: {error}", err=True)
        if error.hint:
            typer.echo(f"hint: {error.hint}", err=True)
        raise typer.Exit(out.exit_code)


def _run(target: str | None, output: str, call: Callable[[Any], Any]) -> None:
    with _client(target) as client:
        out = call(client)
    _print(out, output)


@mailbox_app.command("remove")
def remove_command(
    alias: str = typer.Argument(..., metavar="ALIAS", help="The resource or shared mailbox's alias."),
    keep_ad_account: bool = typer.Option(
        False,
        "--keep-ad-account",
        help="Move the AD account to the target's retired OU and disable it instead of deleting it.",
    ),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Wait until sync exported the deletion."),
    sync_timeout: float = SYNC_TIMEOUT_OPT,
    dry_run: bool = DRY_RUN_OPT,
    yes: bool = YES_OPT,
    target: str | None = TARGET_OPT,
    output: Output = OUTPUT_OPT,
) -> None:
    """Remove a resource mailbox through sync: the AD account leaves scope, the mailbox is soft-deleted.

    Prints the date until which `pswrap mailbox restore` can bring it back (30 days).
    Example: pswrap mailbox remove room1 --dry-run
    """
    check_seconds(sync_timeout, "--sync-timeout")
    _run(
        target,
        output,
        lambda c: c.remove_mailbox(
            alias, keep_ad_account=keep_ad_account, dry_run=dry_run, wait=wait, sync_timeout=sync_timeout,
            confirm=_asker(yes, dry_run), check=False,
        ),
    )  # fmt: skip


@mailbox_app.command("restore")
def restore_command(
    what: str = typer.Argument(..., metavar="ALIAS|OPERATION", help="The alias, or the removal's operation."),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Wait until the mailbox is back."),
    sync_timeout: float = SYNC_TIMEOUT_OPT,
    dry_run: bool = DRY_RUN_OPT,
    yes: bool = YES_OPT,
    target: str | None = TARGET_OPT,
    output: Output = OUTPUT_OPT,
) -> None:
    """Bring back a mailbox `mailbox remove` removed, within 30 days, with its addresses and settings.

    Example: pswrap mailbox restore room1
    """
    check_seconds(sync_timeout, "--sync-timeout")
    _run(
        target,
        output,
        lambda c: c.restore_mailbox(
            what, dry_run=dry_run, wait=wait, sync_timeout=sync_timeout, confirm=_asker(yes, dry_run),
            check=False,
        ),
    )  # fmt: skip


@mailbox_app.command("unlink")
def unlink_command(
    alias: str = typer.Argument(..., metavar="ALIAS", help="The synced resource or shared mailbox's alias."),
    delete_ad_account: bool = typer.Option(
        False, "--delete-ad-account", help="Delete the AD account instead of retiring it."
    ),
    sync_timeout: float = SYNC_TIMEOUT_OPT,
    dry_run: bool = DRY_RUN_OPT,
    yes: bool = YES_OPT,
    target: str | None = TARGET_OPT,
    output: Output = OUTPUT_OPT,
) -> None:
    """Make a synced mailbox cloud-managed (user source of authority, preview); the mailbox stays.

    Example: pswrap mailbox unlink room1 --dry-run
    """
    check_seconds(sync_timeout, "--sync-timeout")
    _run(
        target,
        output,
        lambda c: c.unlink_mailbox(
            alias, delete_ad_account=delete_ad_account, dry_run=dry_run, sync_timeout=sync_timeout,
            confirm=_asker(yes, dry_run), check=False,
        ),
    )  # fmt: skip
