"""The options every command shares, declared once: names, types (choices), help and defaults.

Option names follow the project's conventions (docs/cli.md): `--output/-o`, `--target/-t`,
`--sync-timeout` (how long to wait for directory sync), `--step-timeout` (one step's wall-clock limit),
`--dry-run`, `--yes/-y`. `--timeout`, the old name of both timeouts, is still accepted where it existed,
with a note on stderr, for one release. Only typer and the standard library are imported here.
"""

from __future__ import annotations

import typer

from pswrap.errors import BadInput

TARGET_OPT = typer.Option(
    None, "--target", "-t", help="A target of the config file, or lab (default: PSWRAP_TARGET)."
)
OUTPUT_OPT = typer.Option("text", "--output", "-o", help="How to print the result.")
DRY_RUN_OPT = typer.Option(
    False, "--dry-run", help="Print the plan (each step's cmdlet lines); change nothing."
)
YES_OPT = typer.Option(False, "--yes", "-y", help="Do not ask before applying (in a terminal).")
WAIT_OPT = typer.Option(True, "--wait/--no-wait", help="Wait for sync to link the account.")
MATCH_OPT = typer.Option(None, "--match", help="How the AD account meets the cloud object (default: hard).")

DEFAULT_SYNC_TIMEOUT = 600.0
SYNC_TIMEOUT_OPT = typer.Option(
    None, "--sync-timeout", metavar="SECONDS", help="How long to wait for sync, then exit 7 (default: 600)."
)
SYNC_TIMEOUT_UNSET_OPT = typer.Option(
    None, "--sync-timeout", metavar="SECONDS", help="How long to wait for sync (default: as before)."
)
STEP_TIMEOUT_OPT = typer.Option(
    None, "--step-timeout", metavar="SECONDS", help="One step's wall-clock limit (default: the target's)."
)
OLD_TIMEOUT_OPT = typer.Option(
    None, "--timeout", metavar="SECONDS", hidden=True, help="Deprecated name of the timeout option."
)


def renamed_timeout(new_name: str, new: float | None, old: float | None) -> float | None:
    """The value of a timeout given under its new name, or (with a note on stderr) under `--timeout`.

    Both at once is refused: which one was meant cannot be guessed. A value must be a finite number of
    seconds more than 0 (`check_seconds`, the one rule for every time limit a user gives).
    """
    if old is not None:
        if new is not None:
            raise BadInput(f"--timeout is the old name of {new_name}: give only {new_name}")
        typer.echo(
            f"pswrap: note: --timeout is deprecated and will be removed in the next release; use {new_name}",
            err=True,
        )
        new = old
    if new is not None:
        from pswrap.workflows.inputs import check_seconds

        new = check_seconds(new, new_name)  # finite, more than 0, at most a week: never nan or inf
    return new


def sync_timeout(new: float | None, old: float | None) -> float:
    """`--sync-timeout` with its default (`mailbox create|link`, `sync wait`), `--timeout` deprecated."""
    value = renamed_timeout("--sync-timeout", new, old)
    return DEFAULT_SYNC_TIMEOUT if value is None else value
