"""`pswrap mailbox apply` with many specs: the progress display, the per-item output and the summary.

- On a terminal, a progress display on stderr (rich, which Typer brings; imported only here, lazily):
  items done of N, the phase (reading, planning, applying, waiting for sync), elapsed time and an
  estimate. Without a terminal on stderr, nothing of it is drawn.
- `-o jsonl`: one JSON object per mailbox as it finishes, then one `{"summary": ...}` object.
- `-o json`: one document at the end, `{"operation", "items", "summary"}`.
- text: a table (alias, status, what changed or why it failed), then the totals.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

import typer


class Display:
    """The batch's listener: draws progress on a terminal, prints jsonl items as they finish."""

    def __init__(self, output: str, diff: bool, *, terminal: bool | None = None) -> None:
        self.output = output
        self.diff = diff
        self._lock = threading.Lock()
        self._progress: Any | None = None
        self._task: Any | None = None
        self.terminal = sys.stderr.isatty() if terminal is None else terminal

    def __enter__(self) -> Display:
        if self.terminal:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                ProgressColumn,
                TextColumn,
                TimeRemainingColumn,
            )
            from rich.text import Text

            started = time.monotonic()

            class Elapsed(ProgressColumn):
                """Time since the batch started (the phases' own times restart)."""

                def render(self, task: Any) -> Text:
                    seconds = int(time.monotonic() - started)
                    return Text(f"{seconds // 60}:{seconds % 60:02d} elapsed", style="progress.elapsed")

            self._progress = Progress(
                TextColumn("{task.description:<18}"),
                BarColumn(),
                MofNCompleteColumn(),
                Elapsed(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(None, None, None)
            self._progress = None

    def phase(self, name: str, total: int) -> None:
        if self._progress is None:
            return
        with self._lock:
            if self._task is not None:
                self._progress.remove_task(self._task)
            self._task = self._progress.add_task(name, total=max(total, 1))

    def advance(self) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task)

    def finished(self, item: Any) -> None:
        if self.output != "jsonl":
            return
        line = json.dumps(item_json(item, self.diff))
        with self._lock:
            if self._progress is not None:
                self._progress.console.file.flush()
            typer.echo(line)
            sys.stdout.flush()


def item_json(item: Any, diff: bool) -> dict[str, Any]:
    """One mailbox's result (the shared contract), led by its alias as the file gave it."""
    return {"alias": item.alias, **item.to_json(diff=diff)}


def emit(result: Any, output: str, diff: bool) -> None:
    """What is printed at the end (jsonl items were printed as they finished)."""
    summary = result.summary()
    if output == "jsonl":
        typer.echo(json.dumps({"summary": summary, "operation": result.operation}))
    elif output == "json":
        items = [item_json(i, diff) for i in result.items]
        doc = {"operation": result.operation, "items": items, "summary": summary}
        if result.dry_run:
            doc["dry_run"] = True
        typer.echo(json.dumps(doc, indent=2))
    else:
        typer.echo(table(result, diff))
    for item in result.items:
        error = item.result.error
        if error is not None:
            typer.echo(f"pswrap: error: {item.alias}: {error}", err=True)
            if error.hint:
                typer.echo(f"hint: {error.hint}", err=True)


def table(result: Any, diff: bool = False) -> str:
    rows = [("ALIAS", "STATUS", "DETAIL")]
    for item in result.items:
        r = item.result
        if r.error is not None:
            detail = str(r.error).splitlines()[0]
        elif r.changes:
            detail = ", ".join(
                f"{c.field}: {c.before!r} -> {c.after!r}" if diff else c.field for c in r.changes
            )
        else:
            detail = "no change"
        rows.append((item.alias, r.status, detail))
    width = [max(len(row[i]) for row in rows) for i in range(2)]
    lines = [f"{a:<{width[0]}}  {s:<{width[1]}}  {d}" for a, s, d in rows]
    totals = ", ".join(f"{k} {v}" for k, v in result.summary().items() if v or k == "total")
    lines.append("")
    lines.append(("plan: " if result.dry_run else "") + totals)
    return "\n".join(lines)
