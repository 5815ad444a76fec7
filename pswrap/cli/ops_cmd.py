"""`pswrap ops list|show`: the operations in the local journal (read-only; nothing remote)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import typer

from pswrap.choices import Output
from pswrap.cli.app import app
from pswrap.cli.options import OUTPUT_OPT

ops_app = typer.Typer(name="ops", help="Operations in the local journal.", no_args_is_help=True)
app.add_typer(ops_app, name="ops")

COLUMNS = ("OPERATION", "STATUS", "KIND", "ALIAS", "TARGET", "UPDATED (UTC)")


def table(rows: Sequence[Sequence[str]], header: Sequence[str] = COLUMNS) -> str:
    """Rows under a header, each column as wide as its widest cell (the last one unpadded)."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [str(c).ljust(w) for c, w in zip(row[:-1], widths[:-1], strict=True)] + [str(row[-1])]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


@ops_app.command("list")
def ops_list_command(
    limit: int = typer.Option(50, "--limit", help="How many, newest first."),
    output: Output = OUTPUT_OPT,
) -> None:
    """Operations in the local journal, newest first."""
    from pswrap.api import Pswrap

    ops = Pswrap().operations(limit)
    if output == "json":
        typer.echo(json.dumps([o.to_json() for o in ops], indent=2))
        return
    if not ops:
        typer.echo("no operations in the journal")
        return
    rows = [
        (o.id, o.status, o.kind, str(o.args.get("alias") or "-"), o.target or "-", o.updated) for o in ops
    ]
    typer.echo(table(rows))


@ops_app.command("show")
def ops_show_command(
    operation: str = typer.Argument(..., metavar="OPERATION_ID", help="From `pswrap ops list`."),
    output: Output = OUTPUT_OPT,
) -> None:
    """One operation: its arguments, status, result and every step it ran."""
    from pswrap.api import Pswrap

    detail = Pswrap().operation(operation)
    if output == "json":
        typer.echo(json.dumps(detail.to_json(), indent=2))
        return
    op = detail.operation
    typer.echo(f"operation {op.id}: {op.kind} {op.status} on {op.target or '-'}")
    typer.echo(f"  created {op.created}, updated {op.updated}")
    typer.echo("  args: " + json.dumps({k: v for k, v in op.args.items() if v is not None}))
    if detail.steps:
        rows = [(str(s.seq), s.step_id, s.status, s.started, s.error or "") for s in detail.steps]
        typer.echo("")
        typer.echo(table(rows, ("SEQ", "STEP", "STATUS", "STARTED (UTC)", "ERROR")))
    if op.result and op.result.get("error"):
        typer.echo(f"  error: {op.result['error'].get('message')}")
