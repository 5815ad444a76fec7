"""`pswrap mailbox apply FILE` with many entries, and `pswrap resume` of such a batch.

A thin layer over `Pswrap.apply_batch` (pswrap.api_batch) and its display (pswrap.cli.batch_out).
"""

from __future__ import annotations

from typing import Any

import typer

from pswrap.cli.mailbox_cmd import _client, _interactive


def apply_rows(
    rows: list[Any],
    args: dict[str, Any],
    *,
    target: str | None,
    output: str,
    dry_run: bool,
    diff: bool,
    wait: bool,
    sync_timeout: float,
    profile: str | None,
    hold: str | None,
    yes: bool,
    parallel: int | None,
    operation: str | None = None,
) -> None:
    """Plan all, (confirm on a terminal without --yes), apply all; print; exit with the worst code."""
    from pswrap.cli.batch_out import Display, emit, table

    options: dict[str, Any] = {
        "parallel": parallel, "wait": wait, "sync_timeout": sync_timeout, "profile": profile, "hold": hold,
    }  # fmt: skip
    args = {**args, "options": {k: v for k, v in options.items() if k != "parallel"}}
    with _client(target) as client:
        if not (yes or dry_run) and _interactive():
            with Display("text", diff) as display:
                plan = client.apply_batch(rows, dry_run=True, listener=display, **options)
            if any(i.result.changed for i in plan.items):
                typer.echo(table(plan, diff), err=True)
                if not typer.confirm("Apply these changes?", default=False, err=True):
                    from pswrap.errors import Refused

                    raise Refused("not applied: the changes were declined", hint="nothing was changed")
        with Display(output, diff) as display:
            result = client.apply_batch(
                rows, dry_run=dry_run, listener=display, operation=operation, args=args, **options
            )
    emit(result, output, diff)
    code = result.exit_code
    if code:
        raise typer.Exit(code)


def resume_batch(
    op: Any, *, target: str | None, output: str, wait: bool | None, timeout: float | None
) -> None:
    """Apply the batch's entries again under its operation: what is done reads as unchanged, the rest is
    finished."""
    from pswrap.desired.batch_load import rows_of

    args = dict(op.args or {})
    options = dict(args.get("options") or {})
    rows = rows_of(list(args.get("specs") or []), str(args.get("origin") or "spec"))
    apply_rows(
        rows, args, target=target or op.target, output=output, dry_run=False, diff=False,
        wait=True if wait is None else wait,
        sync_timeout=float(timeout if timeout is not None else options.get("sync_timeout", 600.0)),
        profile=options.get("profile"), hold=options.get("hold"), yes=True, parallel=None, operation=op.id,
    )  # fmt: skip
