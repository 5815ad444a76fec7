"""`pswrap lab serve|show|reset`: the simulated Windows endpoint on loopback (lab_world_cmd.py adds more).

Only typer and the standard library are imported here at import time; the server (psrpcore, spnego,
cryptography) is imported inside the commands.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Any

import typer

from pswrap.cli.app import app

FAULT_HELP = """\
Inject a fault (repeatable; also PSWRAP_LAB_FAULTS, comma- or semicolon-separated, and the world's
"faults" list, re-read when the state file changes).

SPEC := KIND[:TARGET][=ARG][@N[+] | %RATE]

@N fires on the Nth matching request or call only (1-based), @N+ on the Nth and every later one, %RATE at
random with probability RATE (0..1, seeded by PSWRAP_LAB_SEED), neither = every time.

Transport kinds (TARGET = a WSMan action: Create, Command, Send, Receive, Signal, Get, Delete):
http500 (HTTP 500 with a WSMan fault), drop (close the connection without a reply), slow=SECONDS
(delay the reply), kill-pool (the shell is gone: the client gets the unknown-shell fault),
access-denied (WinRM's "Access is denied." fault), quota (opening a shell exceeds the user's quota).

Step kinds (TARGET = a step id): throttle[:STEP], sync-busy, fail:STEP[=MESSAGE] (terminating),
error:STEP[=MESSAGE] (non-terminating), delay:STEP=SECONDS (the step runs that long; honours stop).

Examples: --fault http500@1  --fault drop:Command@2  --fault slow=2  --fault kill-pool:Get
--fault throttle:exo/new-mailbox@1  --fault 'fail:ad/new-user=Access is denied'  --fault sync-busy%0.5
"""

lab_app = typer.Typer(
    name="lab",
    help=(
        "The lab: a simulated Windows endpoint (WinRM/PSRP on loopback) with a simulated AD, sync server, "
        "Entra ID and Exchange Online, for trying and testing pswrap without a real server."
    ),
    no_args_is_help=True,
)
app.add_typer(lab_app, name="lab")


def _state_option() -> Any:
    return typer.Option(
        None,
        "--state",
        help="The world's JSON file (default: PSWRAP_LAB_STATE, else <user state dir>/lab/world.json).",
        show_default=False,
    )


def _state(path: Path | None) -> Path:
    from pswrap.lab.config import default_state_path

    return path if path is not None else default_state_path()


@lab_app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback by default)."),
    port: int = typer.Option(0, "--port", help="TCP port (0 = any free port; the URL printed says which)."),
    https: bool = typer.Option(False, "--https", help="Serve HTTPS (certificate from the lab's CA)."),
    auth: str = typer.Option(
        "ntlm", "--auth",
        help="basic, ntlm, negotiate (Kerberos or NTLM) or kerberos (Kerberos only); all but basic encrypt "
        "messages over HTTP. negotiate and kerberos accept tickets for the principals in --keytab.",
    ),
    keytab: Path | None = typer.Option(
        None, "--keytab",
        help="Keytab with the lab's service principal, HTTP/<the name clients use> (--auth kerberos needs "
        "it; --auth negotiate without it offers NTLM only).",
    ),
    user: str | None = typer.Option(None, "--user", help="Account (default: PSWRAP_LAB_USER or lab-admin)."),
    password: str | None = typer.Option(
        None, "--password", help="Password (default: PSWRAP_LAB_PASSWORD, else generated and stored 0600)."
    ),
    state: Path | None = _state_option(),
    fault: list[str] = typer.Option([], "--fault", help=FAULT_HELP, metavar="SPEC"),
    sync_seconds: float | None = typer.Option(
        None, "--sync-seconds", help="How long a simulated sync cycle takes (also PSWRAP_LAB_SYNC_SECONDS)."
    ),
    anchor: str | None = typer.Option(
        None, "--anchor", help="The sync server's sourceAnchor: mS-DS-ConsistencyGuid or objectGUID."
    ),
) -> None:
    """Serve the lab until Ctrl+C or SIGTERM (then write its request counts to the state file)."""
    from pswrap.errors import BadInput
    from pswrap.lab.config import LabInputError
    from pswrap.lab.embedded import build_server
    from pswrap.lab.faults import FaultSpecError
    from pswrap.lab.kerberos import KeytabError

    if auth not in ("basic", "ntlm", "negotiate", "kerberos"):
        raise BadInput(f"--auth {auth!r} is not supported by the lab",
                       hint="use --auth basic, ntlm, negotiate or kerberos")
    if anchor is not None and anchor not in ("mS-DS-ConsistencyGuid", "objectGUID"):
        raise BadInput(f"--anchor {anchor!r} is not a sourceAnchor attribute the lab simulates",
                       hint="use --anchor mS-DS-ConsistencyGuid or --anchor objectGUID")
    try:
        server, endpoint, _store, fault_set, source = build_server(
            _state(state), host=host, port=port, https=https, auth=auth, username=user, password=password,
            faults=fault, sync_seconds=sync_seconds, anchor=anchor, keytab=keytab,
        )
    except KeytabError as exc:
        raise BadInput(f"--keytab: {exc}", hint="see docs/authentication.md, the lab over Kerberos") from None
    except FaultSpecError as exc:
        raise BadInput(str(exc), hint="see `pswrap lab serve --help` for the fault grammar") from None
    except LabInputError:
        raise  # its own one line and hint (a bad fault spec, PSWRAP_LAB_SYNC_SECONDS, the state file)
    except OSError as exc:
        raise BadInput(f"the lab could not listen on {host}:{port}: {exc.strerror or exc}",
                       hint="choose another --port, or stop the process using it") from None
    except ValueError as exc:  # an unreadable world, or a setting the world refuses (--sync-seconds -1)
        raise BadInput(f"the lab could not start on {_state(state)}: {exc}",
                       hint="check the options, or run `pswrap lab reset` for a fresh world") from None
    from pswrap.lab.server import LabServer

    assert isinstance(server, LabServer)
    active = [f.spec for f in fault_set.active()]
    lines = [
        f"pswrap lab serving at {endpoint.url}",
        f"  auth:   {auth} as {endpoint.username} (password {source})"
        if auth != "kerberos" else "  auth:   kerberos",
        *([f"  keytab: {endpoint.keytab}"] if endpoint.keytab else []),
        f"  CA:     {endpoint.ca_path}" if endpoint.ca_path else "  CA:     none (plain HTTP)",
        f"  state:  {endpoint.state_path}",
        f"  faults: {', '.join(active) if active else 'none'}",
        "Press Ctrl+C to stop.",
    ]
    typer.echo("\n".join(lines))
    sys.stdout.flush()

    def _terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    # SIGINT explicitly too: a process started in the background (a runbook engine, `cmd &`) inherits
    # SIGINT ignored, and Python then never raises KeyboardInterrupt for Ctrl+C.
    stop_signals = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.signal(signum, _terminate) for signum in stop_signals}
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        for signum in stop_signals:  # a second Ctrl+C must not cut the shutdown short
            signal.signal(signum, signal.SIG_IGN)
        server.close_all()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        typer.echo(f"pswrap lab stopped; request counts written to {endpoint.state_path}")


@lab_app.command("show")
def show(state: Path | None = _state_option()) -> None:
    """Print the world as JSON (with stats.requests: HTTP requests by WSMan action). Safe while serving."""
    from pswrap.errors import ConfigError
    from pswrap.lab.store import Store
    from pswrap.lab.sync_engine import catch_up

    path = _state(state)
    try:
        # The world as of the lab's clock: cycles that ended finish, due leases fire (issue #4; the lab's
        # time is lazy, so catching up is written back like any handler's, under the store's lock).
        with Store(path).transaction() as world:
            catch_up(world)
    except (ValueError, OSError) as exc:
        raise ConfigError(f"cannot read the lab's world from {path}: {exc}",
                          hint="run `pswrap lab reset` to start from a fresh world") from None
    typer.echo(json.dumps(world, indent=2, sort_keys=True))


@lab_app.command("reset")
def reset(state: Path | None = _state_option()) -> None:
    """Replace the world with a fresh one (the lab's defaults; documented in the README)."""
    from pswrap.lab.store import Store

    path = _state(state)
    Store(path).reset()
    typer.echo(f"lab world reset: {path}")


__all__ = ["lab_app"]
