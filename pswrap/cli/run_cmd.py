"""`pswrap run STEP_ID` (one step on a target, typed result) and `pswrap targets list|show`.

`run` is the building block for admins' own runbooks: it runs exactly one step, with the connect step
its need requires, and prints the parsed result (text, or the model's JSON for a runbook engine).
Heavy modules (pypsrp, pydantic, jinja2) are imported inside the commands.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer

from pswrap.choices import Output, Profile
from pswrap.cli.app import OPTIONS, app
from pswrap.cli.options import OLD_TIMEOUT_OPT, OUTPUT_OPT, STEP_TIMEOUT_OPT, TARGET_OPT, renamed_timeout
from pswrap.errors import BadInput

if TYPE_CHECKING:
    from pswrap.remote.target import Target
    from pswrap.results.base import PSModel
    from pswrap.steps.model import Step

OUTPUTS = ("text", "json")

targets_app = typer.Typer(
    name="targets", help="Show the configured targets (secrets masked).", no_args_is_help=True
)
app.add_typer(targets_app, name="targets")


def _check_output(output: str) -> str:
    if output not in OUTPUTS:
        raise BadInput(f"unknown output format {output!r}", hint="use --output text or --output json")
    return output


def _run_params(step: Step, items: list[str]) -> dict[str, object]:
    """--param values; a secret is never taken from the command line: `NAME=` prompts for it."""
    import sys

    from pswrap.cli.render_cmd import _params
    from pswrap.secrets import Secret

    params = _params(step, items)
    for name, value in list(params.items()):
        if isinstance(value, Secret):
            if not sys.stdin.isatty():
                raise BadInput(
                    f"the secret parameter {name} needs a terminal to be asked for",
                    hint="configure the secret on the target (e.g. ad_credential_password_env) instead",
                )
            import getpass

            params[name] = Secret(getpass.getpass(f"{name}: "))
    return params


def _text(model: PSModel) -> str:
    lines = []
    for key, value in model.model_dump(mode="json").items():
        shown = value if isinstance(value, (str, int, float, bool)) or value is None else json.dumps(value)
        lines.append(f"{key}: {shown}")
    return "\n".join(lines)


@app.command("run")
def run_command(
    step_id: str = typer.Argument(..., metavar="STEP_ID", help="The step to run, e.g. exo/find-mailbox."),
    profile: Profile | None = typer.Option(
        None, "--profile", help="The step's profile (default: the target's; legacy is never run)."
    ),
    var: list[str] = typer.Option(
        [], "--var", metavar="NAME=VALUE", help="A structural choice, e.g. type=room."
    ),
    param: list[str] = typer.Option(
        [], "--param", metavar="NAME=VALUE", help="A parameter value; repeat for string[] parameters."
    ),
    target: str | None = TARGET_OPT,
    output: Output = typer.Option("text", "--output", "-o", help="How to print the typed result."),
    step_timeout: float | None = STEP_TIMEOUT_OPT,
    old_timeout: float | None = OLD_TIMEOUT_OPT,
) -> None:
    """Run one step on a target, with the connect step it needs, and print its typed result."""
    from pswrap import steps
    from pswrap.cli.render_cmd import _choices
    from pswrap.remote.session import open_session, refuse_legacy
    from pswrap.steps.model import PROFILES

    _check_output(output)
    timeout = renamed_timeout("--step-timeout", step_timeout, old_timeout)
    step = steps.get(step_id)
    if profile is not None and profile not in PROFILES:
        raise BadInput(f"unknown profile {profile!r}", hint=f"profiles: {', '.join(PROFILES)}")
    if profile is not None and profile not in step.profiles and not step.is_legacy:
        raise BadInput(
            f"step {step.id} does not exist in the {profile} profile",
            hint=f"it exists in: {', '.join(step.profiles)}",
        )
    refuse_legacy(step)  # before anything is asked for (a secret parameter prompts)
    choices = _choices(var)
    params = _run_params(step, param)
    with open_session(target, profile=profile, verbose=OPTIONS.verbose) as session:
        result = session.step(step.id, choices=choices, params=params, timeout=timeout)
    if output == "json":
        typer.echo(result.model_dump_json(indent=2))
    else:
        typer.echo(_text(result))


# --- targets ---------------------------------------------------------------------------------------


SHOWN_KEYS = (
    "host", "port", "scheme", "auth", "username", "password", "cert_validation", "ca_bundle", "profile",
    "hosts.ad", "hosts.adsync", "hosts.exo", "hosts.graph", "hosts.hybrid", "domain_controller",
    "ad_credential_user", "ad_credential_password", "organization", "tenant_id", "app_id",
    "certificate_thumbprint", "staging_ou", "resource_ou", "upn_suffix", "allow_basic_over_http",
    "step_timeout", "encryption", "connection_timeout", "read_timeout", "operation_timeout",
    "configuration_name", "client_certificate", "client_certificate_key",
    "keytab", "spn_service",
)  # fmt: skip


def _effective(t: Target) -> dict[str, Any]:
    """Every setting as shown: a password is its source's description, masked, never its value."""
    from pswrap.secrets import MASK

    shown: dict[str, Any] = {}
    for key in SHOWN_KEYS:
        if key.startswith("hosts."):
            shown[key] = t.hosts.get(key.split(".", 1)[1])  # type: ignore[call-overload]
        elif key in ("password", "ad_credential_password"):
            src = t.password_source if key == "password" else t.ad_credential_password_source
            if src is None and (key != "password" or not t.is_lab):
                shown[key] = None
            elif src is not None and src.unset:
                shown[key] = f"unset ({src.describe()})"  # no mask: there is no value to hide
            else:
                shown[key] = f"{MASK} ({_describe(src, t)})"
        else:
            shown[key] = getattr(t, key)
    if t.is_lab:
        shown["port"] = "ephemeral (chosen when the lab starts)"
    return shown


def _describe(src: Any, t: Target) -> str:
    if src is None:
        return "generated for each run of the embedded lab" if t.is_lab else "none"
    return str(src.describe())


@targets_app.command("list")
def targets_list(
    output: Output = OUTPUT_OPT,
) -> None:
    """List the configured targets (and the embedded `lab`); * marks the one a run would use."""
    from pswrap.remote.target import list_targets, select_target

    _check_output(output)
    chosen = select_target(None).name
    targets = list_targets()
    if output == "json":
        rows = [
            {
                "name": t.name,
                "default": t.name == chosen,
                "host": t.host,
                "scheme": t.scheme,
                "auth": t.auth,
                "profile": t.profile,
                "is_lab": t.is_lab,
            }
            for t in targets
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    for t in targets:
        where = "embedded lab (loopback, ephemeral port)" if t.is_lab else f"{t.scheme}://{t.host}:{t.port}"
        mark = "*" if t.name == chosen else " "
        typer.echo(f"{mark} {t.name:<16} {where:<44} auth={t.auth} profile={t.profile}")


@targets_app.command("show")
def targets_show(
    name: str | None = typer.Argument(None, metavar="NAME", help="The target (default: the one a run uses)."),
    output: Output = OUTPUT_OPT,
) -> None:
    """Print a target's effective settings, where each came from, with secrets masked."""
    from pswrap.remote.target import load_target

    _check_output(output)
    t = load_target(name)
    shown = _effective(t)
    if output == "json":
        typer.echo(
            json.dumps(
                {"name": t.name, "config_file": t.config_path, "settings": shown, "sources": dict(t.sources)},
                indent=2,
                default=str,
            )
        )
        return
    typer.echo(f"target {t.name}" + (f" (from {t.config_path})" if t.config_path else ""))
    for key, value in shown.items():
        src = t.sources.get(key, "")
        typer.echo(f"  {key:<24} {'' if value is None else value!s:<48} {src}")
