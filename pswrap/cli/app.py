"""The root Typer app, global options, and the one place errors become exit codes."""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass

import typer

from pswrap import __version__
from pswrap.errors import PswrapError

app = typer.Typer(
    name="pswrap",
    help="Run trusted PowerShell runbooks on a remote Windows server over PSRP, with typed results.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)


@dataclass
class GlobalOptions:
    debug: bool = False
    verbose: bool = False


OPTIONS = GlobalOptions()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"pswrap {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show retries and progress details."),
    debug: bool = typer.Option(False, "--debug", help="Log at DEBUG and show tracebacks."),
    step_timeout: float | None = typer.Option(
        None,
        "--step-timeout",
        metavar="SECONDS",
        help="Every step's wall-clock limit (default: the target's step_timeout; PSWRAP_STEP_TIMEOUT).",
    ),
) -> None:
    if step_timeout is not None:
        from pswrap.workflows.inputs import check_seconds

        step_timeout = check_seconds(step_timeout, "--step-timeout")
        # The environment layer of the target's settings (pswrap.remote.target), so every session of
        # this run uses it; a command's own --step-timeout (`run`) still wins for its step.
        os.environ["PSWRAP_STEP_TIMEOUT"] = f"{step_timeout:g}"
    OPTIONS.debug = debug or bool(os.environ.get("PSWRAP_DEBUG"))
    OPTIONS.verbose = verbose or OPTIONS.debug
    level = logging.DEBUG if OPTIONS.debug else logging.INFO if OPTIONS.verbose else logging.WARNING
    logging.basicConfig(level=level, format="pswrap: %(message)s", stream=sys.stderr)
    # pypsrp logs message contents at DEBUG; keep it at WARNING whatever our own level is (docs/design.md).
    for noisy in ("pypsrp", "psrpcore", "spnego", "urllib3", "requests_credssp"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def run_app(the_app: typer.Typer, args: list[str] | None = None) -> int:
    """Run the CLI; a PswrapError becomes its message, its hint and its exit code, never a traceback.

    Typer's standalone mode handles usage errors (exit 2), --help and typer.Exit; pswrap's own errors
    propagate out of it and are rendered here.
    """
    try:
        the_app(args=args, prog_name="pswrap")
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except PswrapError as exc:
        if OPTIONS.debug:
            import traceback

            traceback.print_exc()
        typer.echo(f"pswrap: error: {exc}", err=True)
        if exc.hint:
            typer.echo(f"hint: {exc.hint}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        typer.echo("Interrupted.", err=True)
        return 130
    return 0
