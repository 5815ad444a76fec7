"""`pswrap mailbox apply|show|list|schema`: the desired-state commands, on the `mailbox` app.

A thin layer over `pswrap.api` (apply_mailbox, show_mailbox, list_mailboxes) and `pswrap.desired`
(loading specs, the schema). Heavy modules are imported inside the commands.
"""

from __future__ import annotations

import json
from typing import Any

import typer

from pswrap.choices import ApplyOutput, Hold, MailboxType, Output, Profile, SpecFormat, SpecOutput
from pswrap.cli.mailbox_cmd import _client, _emit, _interactive, _json_errors, mailbox_app
from pswrap.cli.options import (
    OLD_TIMEOUT_OPT,
    OUTPUT_OPT,
    SYNC_TIMEOUT_OPT,
    TARGET_OPT,
    YES_OPT,
    sync_timeout,
)
from pswrap.errors import BadInput

EXIT_ORDER = (6, 5, 4, 3, 7, 2, 0)
"""The most severe item's exit code wins, in this order (the shared contract for many items)."""


def worst_exit(codes: list[int]) -> int:
    for code in EXIT_ORDER:
        if code in codes:
            return code
    return max(codes, default=0)


@mailbox_app.command("apply")
def apply_command(
    spec: str = typer.Argument(
        ..., metavar="SPEC|-", help="A spec file (YAML, TOML, JSON or CSV), or - for stdin."
    ),
    spec_format: SpecFormat | None = typer.Option(
        None, "--format", "-f", help="The spec's format (default: by the file's suffix; stdin: yaml)."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Check mode: report what would change (changed: true), change nothing."
    ),
    diff: bool = typer.Option(False, "--diff", help="Print each changed field before and after."),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Wait for sync to link a new mailbox."),
    sync_timeout_s: float | None = SYNC_TIMEOUT_OPT,
    old_timeout: float | None = OLD_TIMEOUT_OPT,
    profile: Profile | None = typer.Option(None, "--profile", help="Only modern supports apply."),
    hold: Hold | None = typer.Option(None, "--hold", help="For a mailbox apply creates."),
    yes: bool = YES_OPT,
    target: str | None = TARGET_OPT,
    output: ApplyOutput = typer.Option("text", "--output", "-o", help="jsonl: one result per line."),
    parallel: int | None = typer.Option(
        None,
        "--parallel",
        "-j",
        min=1,
        max=32,
        help="With many specs: mailboxes applied at once, each on its own session of one shell per "
        "need. Default: as many as the server's default quota of 25 shells per user fits (6 with every "
        "need on one server); more warns, as the quota must be raised on the server (docs/batch.md).",
    ),
) -> None:
    """Converge mailboxes to a spec: change only the fields given that differ; --dry-run is check mode.

    With many specs (a list, or a CSV of rows): read in bulk, show one plan, apply in parallel, one sync
    cycle for all; a bad row fails alone.

    Example: pswrap mailbox apply rooms.yaml --dry-run --diff
    """
    from pswrap.desired.batch_load import documents, rows_of
    from pswrap.desired.load import read_source

    timeout = sync_timeout(sync_timeout_s, old_timeout)
    text, fmt = read_source(spec, spec_format)
    origin = "stdin" if spec == "-" else spec
    docs = documents(text, fmt, origin)
    if not docs:
        raise BadInput(f"{origin} declares no mailbox")
    rows = rows_of(docs, origin)
    if len(rows) > 1:
        from pswrap.cli.batch_cmd import apply_rows

        apply_rows(
            rows, {"specs": docs, "origin": origin}, target=target, output=output, dry_run=dry_run,
            diff=diff, wait=wait, sync_timeout=timeout, profile=profile, hold=hold, yes=yes,
            parallel=parallel,
        )  # fmt: skip
        return
    if rows[0].error is not None:
        raise rows[0].error
    specs = [rows[0].spec]
    apply_specs(
        specs, target=target, output=output, dry_run=dry_run, diff=diff, wait=wait,
        sync_timeout=timeout, profile=profile, hold=hold, yes=yes,
    )  # fmt: skip


def apply_specs(
    specs: list[Any],
    *,
    target: str | None,
    output: str,
    dry_run: bool,
    wait: bool,
    sync_timeout: float,
    profile: Profile | None,
    hold: Hold | None,
    diff: bool = False,
    yes: bool = True,
) -> None:
    """Apply each spec (validated ones, or mappings validated here first: all before any change), print
    the results and exit with the most severe code."""
    from pswrap.desired.load import validate

    specs = [s if not isinstance(s, dict) else validate(s, "the command line") for s in specs]
    results: list[Any] = []
    with _client(target) as client:
        if not (yes or dry_run) and _interactive():
            _confirm(client, specs, wait=wait, sync_timeout=sync_timeout, profile=profile, hold=hold)
        for one in specs:
            out = client.apply_mailbox(
                one,
                dry_run=dry_run,
                wait=wait,
                sync_timeout=sync_timeout,
                profile=profile,
                hold=hold,
                check=False,
            )
            results.append(out)
            if output == "jsonl":
                typer.echo(json.dumps(out.to_json(diff=diff)))
    if output == "json":
        items = [r.to_json(diff=diff) for r in results]
        single = len(items) == 1
        typer.echo(
            json.dumps(items[0] if single else {"items": items, "summary": _summary(results)}, indent=2)
        )
    elif output == "text":
        for r in results:
            typer.echo(_text(r, diff))
    for r in results:
        if r.result.error is not None:
            typer.echo(f"pswrap: error: {r.alias}: {r.result.error}", err=True)
            if r.result.error.hint:
                typer.echo(f"hint: {r.result.error.hint}", err=True)
    code = worst_exit([r.exit_code for r in results])
    if code:
        raise typer.Exit(code)


def create_and_configure(
    create: Any,
    spec: dict[str, Any],
    *,
    target: str | None,
    output: str,
    dry_run: bool,
    yes: bool,
    wait: bool,
    sync_timeout: float,
    profile: Profile | None,
    hold: Hold | None,
) -> None:
    """`mailbox create` with calendar flags: the spec is validated first (exit 2 before anything), then
    the mailbox is created as usual and its calendar configured as `apply` does, in one result. A dry run
    is apply's check mode for the whole spec."""
    from pswrap.desired.load import validate

    checked = validate(spec, "the command line")
    if dry_run:
        apply_specs([checked], target=target, output=output, dry_run=True, wait=wait,
                    sync_timeout=sync_timeout, profile=profile, hold=hold)  # fmt: skip
        return
    client = _client(target, yes=yes)
    with client, _json_errors(output):
        created = create(client)
        if created.error is None:
            calendar = validate({"alias": checked.alias, "calendar": spec["calendar"]}, "the command line")
            configured = client.apply_mailbox(
                calendar, wait=wait, sync_timeout=sync_timeout, profile=profile, hold=hold, check=False
            ).result
            created.changes.extend(configured.changes)
            created.drift.extend(configured.drift)
            created.changed = created.changed or configured.changed
            if configured.error is not None:
                created.error, created.status = configured.error, configured.status
        _emit(created, output)


def _confirm(client: Any, specs: list[Any], **options: Any) -> None:
    """In a terminal without --yes: show what would change (check mode) and ask before changing it."""
    from pswrap.errors import Refused

    planned = [client.apply_mailbox(one, dry_run=True, check=False, **options) for one in specs]
    if not any(p.result.changed for p in planned):
        return
    for p in planned:
        if p.result.changed:
            typer.echo(_text(p, False), err=True)
    if not typer.confirm("Apply these changes?", default=False, err=True):
        raise Refused("not applied: the changes were declined", hint="nothing was changed")


def _summary(results: list[Any]) -> dict[str, int]:
    summary = {
        "total": len(results),
        "completed": 0,
        "unchanged": 0,
        "pending_sync": 0,
        "failed": 0,
        "refused": 0,
    }
    for r in results:
        key = r.result.status.replace("-", "_")
        if key in summary:
            summary[key] += 1
    return summary


def _text(out: Any, diff: bool) -> str:
    result = out.result
    head = f"mailbox {out.alias}: {result.status}" + (" (dry run)" if out.dry_run else "")
    head += "" if result.changed else " (no change)"
    lines = [head]
    verb = "would change" if out.dry_run else "changed"
    for c in result.changes:
        lines.append(f"  {verb}: {c.to_text()}")
        if diff:
            lines.append(f"    - {c.field}: {json.dumps(c.before)}")
            lines.append(f"    + {c.field}: {json.dumps(c.after)}")
    for d in result.drift:
        lines.append(f"  drift:   {d.to_text()}")
    if result.operation:
        lines.append(f"  operation: {result.operation}")
    return "\n".join(lines)


@mailbox_app.command("show")
def show_command(
    alias: str = typer.Argument(..., metavar="ALIAS", help="The mailbox's alias."),
    target: str | None = TARGET_OPT,
    output: SpecOutput = typer.Option("text", "--output", "-o", help="yaml: a spec apply accepts."),
) -> None:
    """Show a mailbox in the spec's shape, with its link state."""
    from pswrap.desired.show import show_text, show_yaml

    with _client(target) as client:
        shown = client.show_mailbox(alias).to_json()
    if output == "json":
        typer.echo(json.dumps(shown, indent=2))
    elif output == "yaml":
        typer.echo(show_yaml(shown), nl=False)
    else:
        typer.echo(show_text(shown))


@mailbox_app.command("list")
def list_command(
    type: MailboxType | None = typer.Option(None, "--type", help="Only mailboxes of this type."),
    unlinked: bool = typer.Option(False, "--unlinked", help="Only mailboxes not synced from AD."),
    drift: bool = typer.Option(
        False,
        "--drift",
        help="Also read AD and Entra ID in bulk; only mailboxes whose link does not line up.",
    ),
    target: str | None = TARGET_OPT,
    output: Output = OUTPUT_OPT,
) -> None:
    """List the resource and shared mailboxes (one bulk read per system) with their link state."""
    from pswrap.desired.listing import list_text

    with _client(target) as client:
        rows = [row.to_json() for row in client.list_mailboxes(type=type, unlinked=unlinked, drift=drift)]
    typer.echo(json.dumps(rows, indent=2) if output == "json" else list_text(rows))


@mailbox_app.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of a mailbox spec (every field, its type and what it means)."""
    from pswrap.desired.spec import json_schema

    typer.echo(json.dumps(json_schema(), indent=2))
