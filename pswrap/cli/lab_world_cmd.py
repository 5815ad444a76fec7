"""`pswrap lab set` and `pswrap lab advance`: staging scenarios in the simulated world (registered on
the `lab` group defined in lab_cmd.py).

Both change the state file through the lab's store (a short lock and an atomic write), so they are safe
while a lab serves from the same file: the next step the lab runs sees the change.
"""

from __future__ import annotations

from pathlib import Path

import typer

from pswrap.cli.lab_cmd import _state, _state_option, lab_app


@lab_app.command("set")
def set_setting(
    assignments: list[str] = typer.Argument(
        ...,
        metavar="PATH=VALUE...",
        help=(
            "A `pswrap lab show` path with dots and a value (JSON when it parses, else text), e.g. "
            "cloud.features.block_hard_match_takeover=true, sync.settings.staging_mode=true, "
            "sync.settings.connect_version=2.4.18.0, sync.scheduler.suspended=true."
        ),
    ),
    state: Path | None = _state_option(),
) -> None:
    """Change settings of the lab's world, to stage a scenario (all or nothing)."""
    import json

    from pswrap.errors import BadInput
    from pswrap.lab.store import Store
    from pswrap.lab.sync_engine import catch_up
    from pswrap.lab.world import UnknownPath, parse_value, set_path

    parsed: list[tuple[str, object]] = []
    for item in assignments:
        path, sep, raw = item.partition("=")
        if not sep or not path.strip():
            raise BadInput(
                f"{item!r} is not PATH=VALUE",
                hint="e.g. `pswrap lab set sync.settings.staging_mode=true` (paths as `lab show` prints)",
            )
        parsed.append((path.strip(), parse_value(raw)))
    for path, value in parsed:
        if path == "faults":
            _check_faults(value)
    store = Store(_state(state))
    changes: list[str] = []
    try:
        with store.transaction() as world:
            catch_up(world)
            for path, value in parsed:
                old = set_path(world, path, value)
                changes.append(f"{path}: {json.dumps(old)} -> {json.dumps(value)}")
    except UnknownPath as exc:
        raise BadInput(
            f"cannot set {exc}; nothing was changed",
            hint="`pswrap lab show` prints the world; use its paths with dots (list items by index)",
        ) from None
    except ValueError as exc:
        raise BadInput(f"cannot set it: {exc}; nothing was changed") from None
    typer.echo("\n".join(changes))


def _check_faults(value: object) -> None:
    from pswrap.errors import BadInput
    from pswrap.lab.faults import FaultSpecError, parse

    if not isinstance(value, list):
        raise BadInput(
            "faults must be a JSON list of fault specs, e.g. faults='[\"throttle:exo/new-mailbox@1\"]'"
        )
    for spec in value:
        try:
            parse(str(spec))
        except FaultSpecError as exc:
            raise BadInput(str(exc), hint="see `pswrap lab serve --help` for the fault grammar") from None


@lab_app.command("advance")
def advance_clock(
    seconds: float = typer.Argument(..., help="How many seconds to move the lab's clock forward."),
    state: Path | None = _state_option(),
) -> None:
    """Move the lab's clock forward: running cycles finish, due leases fire, due scheduled cycles start."""
    from pswrap.errors import BadInput
    from pswrap.lab.store import Store
    from pswrap.lab.sync_engine import catch_up
    from pswrap.lab.world import advance, iso, now

    if seconds < 0:
        raise BadInput(f"cannot move the lab's clock back ({seconds} seconds)", hint="give a positive number")
    store = Store(_state(state))
    with store.transaction() as world:
        advance(world, seconds)
        catch_up(world)
        scheduler = world["sync"]["scheduler"]
        lines = [
            f"lab time: {iso(now(world))} (offset {world['clock']['offset_seconds']:g} s)",
            f"sync cycle in progress: {str(scheduler['sync_cycle_in_progress']).lower()}",
            f"leases: {len(world['sync']['leases'])}",
        ]
    typer.echo("\n".join(lines))
