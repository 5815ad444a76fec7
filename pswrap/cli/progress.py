"""Progress of a command on stderr: a live line in a terminal, plain lines with --verbose, else nothing.

In a terminal the line shows the phase (the workflow's latest message: reading facts, waiting for the
running cycle, our cycle, reading results), the time elapsed and, when the command waits for sync, the
deadline. It is drawn by rich (which Typer brings), imported only when a terminal is there to draw on,
so `pswrap --help` and runs under a runbook engine never load it. Without a terminal, stdout and stderr
carry only the result and errors: a runbook engine parses them.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

import typer


class Progress:
    """A `pswrap.workflows.ports.Progress` callable for the CLI. Use as a context manager."""

    def __init__(self, *, verbose: bool = False, deadline_seconds: float | None = None) -> None:
        self.verbose = verbose
        self.terminal = sys.stderr.isatty()
        self.deadline_seconds = deadline_seconds
        self.phase = "starting"
        self.started = time.monotonic()
        self.deadline_wall = (
            datetime.now(timezone.utc) + timedelta(seconds=deadline_seconds)
            if deadline_seconds is not None
            else None
        )
        self._live: Any = None

    def __call__(self, message: str) -> None:
        self.phase = message
        if self._live is None and self.verbose:
            typer.echo(f"pswrap: {message}", err=True)
        elif self._live is not None:
            if self.verbose:
                self._live.console.print(f"pswrap: {message}", highlight=False)
            self._live.refresh()

    def line(self) -> str:
        """The text of the live line (computed at each refresh, so the elapsed time ticks)."""
        elapsed = time.monotonic() - self.started
        text = f"{self.phase} - {elapsed:.0f}s elapsed"
        if self.deadline_wall is not None and self.deadline_seconds is not None:
            left = max(0.0, self.deadline_seconds - elapsed)
            text += f", sync deadline {self.deadline_wall:%H:%M:%S} UTC ({left:.0f}s left)"
        return text

    def __enter__(self) -> Progress:
        if self.terminal:
            from rich.console import Console
            from rich.live import Live
            from rich.spinner import Spinner

            owner = self

            class _Line:
                def __rich__(self) -> Spinner:
                    return Spinner("dots", text=owner.line())

            self._live = Live(_Line(), console=Console(stderr=True), refresh_per_second=4, transient=True)
            self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Stop drawing while the user is asked something; draw again after."""
        live = self._live
        if live is None:
            yield
            return
        live.stop()
        try:
            yield
        finally:
            live.start()
