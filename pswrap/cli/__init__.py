"""The `pswrap` command line: a thin layer over the public API.

Start-up matters (runbook engines call pswrap many times): this module and the command modules it
registers import only typer and the standard library at import time; jinja2, pypsrp, pydantic and
cryptography are imported inside the commands that use them.
"""

from __future__ import annotations

import sys

from pswrap.cli import (  # noqa: F401  (importing a module registers its commands)
    desired_cmd,
    doctor_cmd,
    jea_cmd,
    lab_cmd,
    lab_world_cmd,
    mailbox_cmd,
    ops_cmd,
    render_cmd,
    run_cmd,
    sync_cmd,
)
from pswrap.cli.app import app
from pswrap.cli.examples import attach

attach(app)  # every command's --help ends with its examples (pswrap/cli/examples.py)


def main() -> None:
    """Console entry point: run the app, turning pswrap's errors into one or two lines and an exit code."""
    from pswrap.cli.app import run_app

    sys.exit(run_app(app))


__all__ = ["app", "main"]
