"""Turn a step, a profile, its structural choices and its values into a `Script`.

Jinja decides the script's structure only. Values never reach the template: the template context holds
the profile, the effective choices and the *names* of the parameters that were given, so no value can
end up in the text by accident; values travel beside the text as PSRP parameters (`Script.parameters`)
and secrets apart from them (`Script.secrets`). Every `{{ }}` goes through a `finalize` hook that makes
its result a PowerShell literal, so even a structural value cannot break out of the script's syntax.

All input problems raise `BadInput` before anything remote happens, naming the step and what to do.
"""

from __future__ import annotations

import importlib.resources
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from functools import cache
from typing import NoReturn

import jinja2

from pswrap import steps
from pswrap.errors import BadInput
from pswrap.render import literals
from pswrap.render.script import Script
from pswrap.secrets import Secret
from pswrap.steps.model import PROFILES, Param, Profile, Step

TEMPLATE_PACKAGE = "ps_templates"
MARKER_PREFIX = "# pswrap-step: "

_TRUE = {"true", "1", "yes", "$true", "on"}
_FALSE = {"false", "0", "no", "$false", "off"}
_INT_RE = re.compile(r"^[+-]?\d+$")


class _PackageLoader(jinja2.BaseLoader):
    """Load templates from the installed `ps_templates` package, never from the working directory.

    Why not jinja2.PackageLoader: it insists on a sub-folder and on a filesystem path; this reads through
    importlib.resources, so a zipped wheel works too.
    """

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        parts = [p for p in template.split("/") if p]
        if not parts or any(p in (".", "..") for p in parts):
            raise jinja2.TemplateNotFound(template)
        resource = importlib.resources.files(TEMPLATE_PACKAGE).joinpath(*parts)
        if not resource.is_file():
            raise jinja2.TemplateNotFound(template)
        source = resource.read_text(encoding="utf-8")
        return source, None, lambda: True


def _finalize(value: object) -> str:
    """Every `{{ }}` result becomes one PowerShell literal (a structural value cannot break out)."""
    return literals.to_literal(value)


def _fail(message: str) -> NoReturn:
    """Templates call `fail(msg)` to refuse a combination of inputs only the template knows about."""
    raise BadInput(message)


@cache
def environment() -> jinja2.Environment:
    """The one Jinja environment (StrictUndefined: a misspelt name in a template is an error, not '')."""
    env = jinja2.Environment(
        loader=_PackageLoader(),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_finalize,
    )
    env.globals["fail"] = _fail
    return env


# --- values -------------------------------------------------------------------------------------------


def _type_error(param: Param, value: object, expected: str) -> BadInput:
    shown = "a secret" if param.secret else f"{type(value).__name__} {value!r}"
    return BadInput(
        f"parameter {param.name} must be {expected}, got {shown}",
        hint=f"give {param.name} as {expected}",
    )


def _coerce_bool(param: Param, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise _type_error(param, value, "a boolean (true/false, 1/0, yes/no)")


def _coerce_datetime(param: Param, value: object) -> datetime:
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise _type_error(param, value, "an ISO 8601 date and time (e.g. 2026-11-27T12:00:00Z)") from None
        value = parsed
    if not isinstance(value, datetime):
        raise _type_error(param, value, "an ISO 8601 date and time (e.g. 2026-11-27T12:00:00Z)")
    if value.tzinfo is None or value.utcoffset() is None:
        raise BadInput(
            f"parameter {param.name} has no time zone: {value.isoformat()}",
            hint="give it in UTC with a Z or an offset, e.g. 2026-11-27T12:00:00Z",
        )
    return value.astimezone(timezone.utc)


def coerce(param: Param, value: object) -> object:
    """A CLI string or a Python value as the Python type pypsrp serializes to the param's PowerShell type.

    string -> str, string[] -> list[str], int -> int, bool/switch -> bool, guid -> canonical str
    (PowerShell casts it to [guid]), datetime -> aware UTC datetime, securestring -> Secret.
    """
    kind = param.type
    if kind == "securestring":
        if isinstance(value, Secret):
            return value
        if isinstance(value, str):
            return Secret(value)
        raise _type_error(param, value, "a secret string")
    if kind == "string":
        if isinstance(value, str):
            return value
        raise _type_error(param, value, "a string")
    if kind == "string[]":
        if isinstance(value, str):
            return [value]
        if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
            return list(value)
        raise _type_error(param, value, "a string or a list of strings")
    if kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _INT_RE.match(value.strip()):
            return int(value.strip())
        raise _type_error(param, value, "a whole number")
    if kind in ("bool", "switch"):
        return _coerce_bool(param, value)
    if kind == "guid":
        if isinstance(value, uuid.UUID):
            return str(value)
        if isinstance(value, str):
            try:
                return str(uuid.UUID(value.strip()))
            except ValueError:
                pass
        raise _type_error(param, value, "a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)")
    if kind == "datetime":
        return _coerce_datetime(param, value)
    raise AssertionError(f"unhandled parameter type {kind!r}")  # pragma: no cover - ParamType is closed


# --- choices and parameters ---------------------------------------------------------------------------


def _effective_choices(step: Step, given: Mapping[str, str]) -> dict[str, str]:
    known = {c.name: c for c in step.choices}
    for name in given:
        if name not in known:
            listed = ", ".join(known) or "none"
            raise BadInput(
                f"step {step.id} has no structural choice {name!r}; its choices: {listed}",
                hint="set a choice with --var NAME=VALUE",
            )
    effective: dict[str, str] = {}
    for choice in step.choices:
        value = given.get(choice.name, choice.default)
        if value is None:
            raise BadInput(
                f"step {step.id} needs the choice {choice.name}: one of {', '.join(choice.values)}",
                hint=f"give --var {choice.name}=VALUE",
            )
        if value not in choice.values:
            raise BadInput(
                f"{value!r} is not a value of {choice.name} for step {step.id}; "
                f"allowed: {', '.join(choice.values)}",
                hint=f"give --var {choice.name}=VALUE with an allowed value",
            )
        effective[choice.name] = value
    return effective


def _bind_params(step: Step, given: Mapping[str, object]) -> tuple[dict[str, object], dict[str, Secret]]:
    parameters: dict[str, object] = {}
    secrets: dict[str, Secret] = {}
    for raw_name, value in given.items():
        try:
            param = step.param(raw_name)
        except KeyError:
            listed = ", ".join(p.name for p in step.params) or "none"
            raise BadInput(
                f"step {step.id} has no parameter {raw_name!r}; its parameters: {listed}",
                hint="`pswrap render --list --output json` shows each step's parameters",
            ) from None
        if value is None:  # None means "not given" for Python callers
            continue
        if param.name in parameters or param.name in secrets:
            raise BadInput(f"parameter {param.name} of step {step.id} is given twice")
        coerced = coerce(param, value)
        if isinstance(coerced, Secret):
            secrets[param.name] = coerced
        else:
            parameters[param.name] = coerced
    bound = parameters.keys() | secrets.keys()
    missing = [p.name for p in step.params if p.mandatory and p.name not in bound]
    if missing:
        raise BadInput(
            f"step {step.id} is missing the mandatory parameter(s): {', '.join(missing)}",
            hint="give each with --param NAME=VALUE",
        )
    return parameters, secrets


def _marker(step: Step, text: str, choices: Mapping[str, str]) -> str:
    first, sep, rest = text.partition("\n")
    expected = MARKER_PREFIX + step.id
    if first.rstrip("\r") != expected:
        raise RuntimeError(
            f"template {step.template} must start with {expected!r}, it starts with {first[:80]!r}"
        )
    line = expected + "".join(f" {name}={choices[name]}" for name in choices)
    if step.retired is not None:
        line += "\n" + "\n".join(f"# {text}" for text in _retired_header(step))
    return line + sep + rest


def _retired_header(step: Step) -> list[str]:
    """What a legacy script says about itself, from the declaration (one source of truth)."""
    assert step.retired is not None
    retired = step.retired

    def one_line(text: str) -> str:
        return " ".join(text.split())

    return [
        "LEGACY, render only: the 2014 runbook's step as the seed wrote it. pswrap refuses to run it.",
        f"Retired service: {one_line(retired.service)} (retired {one_line(retired.retired)}).",
        f"Replaced by: {one_line(retired.replacement)}.",
    ]


def render(
    step: str | Step,
    *,
    profile: Profile = "modern",
    choices: Mapping[str, str] | None = None,
    params: Mapping[str, object] | None = None,
) -> Script:
    """Render one step: the text (marker line first, with the choices), its parameters, its secrets."""
    resolved = steps.get(step) if isinstance(step, str) else step
    if profile not in PROFILES:
        raise BadInput(f"unknown profile {profile!r}; profiles: {', '.join(PROFILES)}", hint="give --profile")
    if profile not in resolved.profiles:
        exists = ", ".join(resolved.profiles)
        raise BadInput(
            f"step {resolved.id} does not exist in the {profile} profile; it exists in: {exists}",
            hint=f"render it with --profile {resolved.profiles[0]}",
        )
    effective = _effective_choices(resolved, choices or {})
    parameters, secrets = _bind_params(resolved, params or {})
    given = frozenset(parameters) | frozenset(secrets)
    template = environment().get_template(resolved.template)
    text = template.render(profile=profile, choices=effective, given=given, step=resolved.id)
    return Script(
        step=resolved,
        profile=profile,
        choices=effective,
        text=_marker(resolved, text, effective),
        parameters=parameters,
        secrets=secrets,
    )


__all__ = ["coerce", "environment", "render"]
