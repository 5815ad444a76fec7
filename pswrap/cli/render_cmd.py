"""`pswrap render` (show a step's script) and `pswrap immutableid` (convert an anchor).

Neither touches a server. Heavy modules (jinja2 through the renderer, pydantic through the step
registry's result models) are imported inside the commands, so `pswrap --version` and `--help` stay
fast (see benchmarks/startup.py).
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import typer

from pswrap.choices import Output, Profile
from pswrap.cli.app import app
from pswrap.cli.options import OUTPUT_OPT
from pswrap.errors import BadInput

if TYPE_CHECKING:
    from pswrap.render.script import Script
    from pswrap.steps.model import Param, Step

OUTPUTS = ("text", "json")
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def _check_output(output: str) -> str:
    if output not in OUTPUTS:
        raise BadInput(f"unknown output format {output!r}", hint="use --output text or --output json")
    return output


def _split_assignment(option: str, item: str) -> tuple[str, str]:
    name, sep, value = item.partition("=")
    name = name.strip()
    if not sep or not _NAME_RE.match(name):
        raise BadInput(
            f"{option} {item!r} is not NAME=VALUE",
            hint=f"write {option} NAME=VALUE, e.g. {option} Name=Room1 (quote the whole item for spaces)",
        )
    return name, value


def _choices(items: list[str]) -> dict[str, str]:
    choices: dict[str, str] = {}
    for item in items:
        name, value = _split_assignment("--var", item)
        if name in choices:
            raise BadInput(f"the choice {name} is given twice", hint="give each --var once")
        choices[name] = value
    return choices


def _params(step: Step, items: list[str]) -> dict[str, object]:
    """--param values by the step's parameter names; repeating a string[] parameter builds a list.

    A secret is never taken from the command line (shell history, the process list): `NAME=` with
    no value marks it as given, and the standalone script asks for it when it runs.
    """
    from pswrap.secrets import Secret

    values: dict[str, list[str]] = {}
    for item in items:
        raw_name, value = _split_assignment("--param", item)
        try:
            param = step.param(raw_name)
        except KeyError:
            listed = ", ".join(p.name for p in step.params) or "none"
            raise BadInput(
                f"step {step.id} has no parameter {raw_name!r}", hint=f"its parameters are: {listed}"
            ) from None
        if param.secret and value:
            raise BadInput(
                f"refusing the secret parameter {param.name} on the command line "
                "(it would stay in shell history and the process list)",
                hint=f"write --param {param.name}= with no value: the standalone script asks for it "
                "when it runs (Read-Host -AsSecureString)",
            )
        seen = values.setdefault(param.name, [])
        if seen and param.type != "string[]":
            raise BadInput(
                f"parameter {param.name} of step {step.id} is given twice",
                hint="only string[] parameters may be repeated (each --param adds one element)",
            )
        seen.append(value)
    params: dict[str, object] = {}
    for name, given in values.items():
        param = step.param(name)
        if param.secret:
            params[name] = Secret("")
        elif param.type == "string[]":
            params[name] = given
        else:
            params[name] = given[0]
    return params


# Reading a script needs no values: its text never contains one. What stands in for a missing
# mandatory value only lets the renderer check the rest; it is dropped before anything is shown.
_STAND_INS: dict[str, object] = {
    "string": "",
    "string[]": [],
    "int": 0,
    "bool": False,
    "switch": False,
    "guid": "00000000-0000-0000-0000-000000000000",
    "datetime": "2000-01-01T00:00:00Z",
}


def _stand_in(param: Param) -> object:
    from pswrap.secrets import Secret

    return Secret("") if param.secret else _STAND_INS[param.type]


def _default_profile(step: Step) -> str:
    """modern where the step exists there, else the step's only profile (legacy, hybrid-tools)."""
    return "modern" if "modern" in step.profiles else step.profiles[0]


def _step_json(step: Step) -> dict[str, Any]:
    retired = step.retired
    return {
        "id": step.id,
        "summary": step.summary,
        "profiles": list(step.profiles),
        "needs": step.needs,
        "changes": step.changes,
        "idempotent": step.idempotent,
        "choices": [
            {"name": c.name, "values": list(c.values), "default": c.default, "help": c.help}
            for c in step.choices
        ],
        "parameters": [
            {"name": p.name, "type": p.type, "mandatory": p.mandatory, "secret": p.secret, "help": p.help}
            for p in step.params
        ],
        "session_parameters": list(step.session_params),
        "retired": (
            None
            if retired is None
            else {"service": retired.service, "retired": retired.retired, "replacement": retired.replacement}
        ),
    }


def _shown(value: object) -> str:
    from pswrap.render.literals import to_literal

    try:
        return to_literal(value)
    except BadInput:
        return repr(value)


def _parameters_comment(script: Script, missing: list[str]) -> str:
    """What travels beside the script, for the admin's eyes (stderr), secrets masked."""
    from pswrap.secrets import MASK

    if not script.parameters and not script.secrets and not missing:
        return "# parameters: none\n"
    lines = ["# parameters (sent beside the script as PSRP parameters, never in its text):"]
    lines += [f"#   {name} = {_shown(value)}" for name, value in script.parameters.items()]
    lines += [f"#   {name} = {MASK} (secret, sent as a SecureString)" for name in script.secrets]
    lines += [f"#   {name} = <not given; mandatory to run: --param {name}=...>" for name in missing]
    return "\n".join(lines) + "\n"


def _script_json(script: Script) -> dict[str, Any]:
    from pswrap.secrets import MASK

    def plain(value: object) -> object:
        if isinstance(value, (str, int, bool)) or value is None:
            return value
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, Mapping):
            return {str(k): plain(v) for k, v in value.items()}
        isoformat = getattr(value, "isoformat", None)
        return isoformat() if callable(isoformat) else str(value)

    return {
        "step": script.step_id,
        "profile": script.profile,
        "choices": dict(script.choices),
        "text": script.text,
        "parameters": {name: plain(value) for name, value in script.parameters.items()},
        "secrets": {name: MASK for name in script.secrets},
    }


@app.command("render")
def render_command(
    step_id: str | None = typer.Argument(
        None, metavar="STEP_ID", help="The step to render, e.g. ad/new-user (see --list)."
    ),
    list_steps: bool = typer.Option(False, "--list", help="List the steps instead (ids, or --output json)."),
    output: Output = OUTPUT_OPT,
    profile: Profile | None = typer.Option(
        None, "--profile", help="The step's profile (default: modern, or the step's only profile)."
    ),
    var: list[str] = typer.Option(
        [], "--var", metavar="NAME=VALUE", help="A structural choice, e.g. type=room."
    ),
    param: list[str] = typer.Option(
        [], "--param", metavar="NAME=VALUE", help="A parameter value; repeat for string[] parameters."
    ),
    standalone: bool = typer.Option(
        False, "--standalone", help="Bind the values as literals so an admin can run the script by hand."
    ),
) -> None:
    """Print the PowerShell script pswrap would send for a step; nothing is run.

    Without --standalone: the script exactly as sent; its values, which travel beside it, on stderr.

    With --standalone: values bound as literals for running by hand; secrets asked for at run time.
    """
    import json

    from pswrap import steps
    from pswrap.steps.model import PROFILES

    _check_output(output)
    if list_steps:
        if step_id is not None or var or param or standalone or profile is not None:
            raise BadInput(
                "--list takes no step, --profile, --var, --param or --standalone",
                hint="run `pswrap render --list` alone, or `pswrap render STEP_ID ...`",
            )
        all_steps = steps.all_steps()
        if output == "json":
            typer.echo(json.dumps([_step_json(s) for s in all_steps], indent=2))
        else:
            for s in all_steps:
                typer.echo(s.id)
        return
    if step_id is None:
        raise BadInput("no step to render", hint="give a step id (`pswrap render --list` shows them)")
    step = steps.get(step_id)
    chosen = profile if profile is not None else _default_profile(step)
    if chosen not in PROFILES:
        raise BadInput(f"unknown profile {chosen!r}", hint=f"profiles: {', '.join(PROFILES)}")

    from pswrap.render.engine import render

    given = _params(step, param)
    # Without --standalone the admin reads the script: missing mandatory values are allowed (and
    # listed). A standalone script is for running, so there the renderer insists on every one.
    missing = [] if standalone else [p.name for p in step.params if p.mandatory and p.name not in given]
    stand_ins = {name: _stand_in(step.param(name)) for name in missing}
    script = render(
        step,
        profile=chosen,  # checked against PROFILES above
        choices=_choices(var),
        params={**given, **stand_ins},
    )
    if missing:
        script = dataclasses.replace(
            script,
            parameters={k: v for k, v in script.parameters.items() if k not in stand_ins},
            secrets={k: v for k, v in script.secrets.items() if k not in stand_ins},
        )
    if output == "json":
        data = _script_json(script)
        data["missing"] = missing
        if standalone:
            from pswrap.render.standalone import standalone as make_standalone

            data["standalone"] = make_standalone(script)
        typer.echo(json.dumps(data, indent=2))
        return
    if standalone:
        from pswrap.render.standalone import standalone as make_standalone

        sys.stdout.write(make_standalone(script))
    else:
        sys.stdout.write(script.text if script.text.endswith("\n") else script.text + "\n")
        sys.stderr.write(_parameters_comment(script, missing))


@app.command("immutableid")
def immutableid_command(
    value: str = typer.Argument(..., metavar="VALUE", help="A GUID, an ImmutableId (base64) or hex octets."),
    from_: str | None = typer.Option(
        None, "--from", help="guid, immutableid, hex or bytes ({164, 8, ...}) (default: detect)."
    ),
    output: Output = OUTPUT_OPT,
) -> None:
    """Convert a sourceAnchor between GUID, ImmutableId (base64) and hex (Guid.ToByteArray() order).

    32 hex digits are ambiguous (raw bytes, or a GUID without hyphens): pass --from hex or --from guid.
    """
    import json

    from pswrap.immutableid import FORMS, parse

    _check_output(output)
    if from_ is not None and from_ not in FORMS:
        raise BadInput(f"unknown form {from_!r} for --from", hint=f"use one of: {', '.join(FORMS)}")
    anchor = parse(value, from_)  # checked against FORMS above
    if output == "json":
        typer.echo(json.dumps(anchor.as_dict()))
        return
    guid = anchor.guid
    typer.echo(
        f"guid          {guid if guid is not None else f'(none: {len(anchor.raw)} bytes, not a GUID)'}"
    )
    typer.echo(f"immutable_id  {anchor.immutable_id}")
    typer.echo(f"hex           {anchor.hex}")
