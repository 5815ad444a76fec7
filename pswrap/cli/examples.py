"""The examples at the end of every command's `--help`: one table, attached to the commands in one place.

`attach(app)` walks the command tree once (after every command module has registered) and sets each
command's epilog from `EXAMPLES`; tests/cli/test_conventions.py checks that every command has two or
three. A command added later gets its examples by adding a row here.
"""

from __future__ import annotations

import typer

EXAMPLES: dict[str, tuple[str, ...]] = {
    "mailbox create": (
        'pswrap mailbox create "Meeting Room 1" --alias room1 --capacity 10 --yes',
        'pswrap mailbox create "Projector 2" --alias projector2 --type equipment --dry-run',
        'pswrap mailbox create "Facilities" --alias facilities --type shared --emit-ps1 facilities.ps1',
    ),
    "mailbox link": (
        "pswrap mailbox link room7 --ad-user room7 --yes",
        "pswrap mailbox link lobby --create-ad-user --ou 'OU=Resources,DC=corp,DC=example' --dry-run",
        "pswrap mailbox link hall2 --ad-user hall2 --add-addresses --exchange-attributes cloud",
    ),
    "mailbox apply": (
        "pswrap mailbox apply rooms.yaml --dry-run --diff",
        "pswrap mailbox apply rooms.csv --output jsonl --sync-timeout 1200",
        "pswrap mailbox show room1 -o yaml | pswrap mailbox apply -",
    ),
    "mailbox show": ("pswrap mailbox show room1", "pswrap mailbox show room1 -o yaml > room1.yaml"),
    "mailbox list": ("pswrap mailbox list --type room", "pswrap mailbox list --drift -o json"),
    "mailbox schema": ("pswrap mailbox schema", "pswrap mailbox schema > mailbox.schema.json"),
    "resume": (
        "pswrap resume 20261207-010203-ab12cd",
        "pswrap resume 20261207-010203-ab12cd --sync-timeout 1800 --output json",
    ),
    "sync status": ("pswrap sync status", "pswrap sync status --target prod --output json"),
    "sync start": ("pswrap sync start", "pswrap sync start --initial"),
    "sync wait": ("pswrap sync wait", "pswrap sync wait --sync-timeout 300 --output json"),
    "ops list": ("pswrap ops list", "pswrap ops list --limit 5 --output json"),
    "ops show": ("pswrap ops show 20261207-010203-ab12cd", "pswrap ops show 20261207-010203-ab12cd -o json"),
    "jea": (
        "pswrap jea --group 'CORP\\pswrap-operators' --output-dir jea",
        "pswrap jea --group 'CORP\\pswrap-operators' --gmsa 'CORP\\pswrap-gmsa$' --no-scheduler-hold "
        "--output-dir jea",
    ),
    "doctor": (
        "pswrap doctor",
        "pswrap doctor --target prod --hold staging-ou",
        "pswrap doctor --output json",
    ),
    "run": (
        "pswrap run exo/find-mailbox --param Identity=room1",
        "pswrap run sync/get-scheduler --output json --step-timeout 60",
    ),
    "render": (
        "pswrap render --list",
        "pswrap render exo/new-mailbox --var type=room --param Name='Room 1' --param Alias=room1",
        "pswrap render ad/new-user --standalone --param SamAccountName=room1",
    ),
    "immutableid": (
        "pswrap immutableid 0a1b2c3d-0000-4000-8000-00000000abcd",
        "pswrap immutableid PSwbCgAAAECAAAAAAACrzQ== --output json",
    ),
    "targets list": ("pswrap targets list", "pswrap targets list --output json"),
    "targets show": ("pswrap targets show", "pswrap targets show prod --output json"),
    "lab serve": ("pswrap lab serve", "pswrap lab serve --https --port 5986"),
    "lab show": ("pswrap lab show", "pswrap lab show | jq .sync.scheduler"),
    "lab reset": ("pswrap lab reset", "pswrap lab reset --state ./world.json"),
    "lab set": (
        "pswrap lab set sync.settings.staging_mode=true",
        "pswrap lab set cloud.features.block_hard_match_takeover=true",
    ),
    "lab advance": ("pswrap lab advance 60", "pswrap lab advance 1800"),
}


def epilog(lines: tuple[str, ...]) -> str:
    """The examples as an epilog block (blank lines keep Typer from joining them into one paragraph)."""
    return "Examples:\n\n" + "\n\n".join(f"  $ {line}" for line in lines)


def commands(app: typer.Typer, prefix: str = "") -> dict[str, typer.models.CommandInfo]:
    """Every command of the tree by its full name (e.g. `mailbox create`)."""
    found: dict[str, typer.models.CommandInfo] = {}
    for info in app.registered_commands:
        name = info.name or (info.callback.__name__ if info.callback else "")
        found[f"{prefix}{name}"] = info
    for group in app.registered_groups:
        sub = group.typer_instance
        if sub is None:
            continue
        name = group.name or sub.info.name or ""
        found.update(commands(sub, f"{prefix}{name} "))
    return found


def attach(app: typer.Typer) -> None:
    for name, info in commands(app).items():
        lines = EXAMPLES.get(name)
        if lines and info.epilog is None:
            info.epilog = epilog(lines)
