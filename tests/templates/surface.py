"""What each step's scripts call: commands, the parameters bound on them, helper functions, providers.

Computed from every rendered variant of every step that can run (legacy steps never run), by parsing the
scripts with the same tree-sitter PowerShell grammar the catalogue check uses. The result is committed as
`pswrap/steps/commands.json`, which `pswrap jea` and the permissions table read at run time (tree-sitter
is a test dependency only); `tests/templates/test_command_surface.py` keeps the two equal.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from pswrap.render.engine import render
from pswrap.steps import all_steps
from tests.templates.catalogue_check import (
    COMMON_PARAMETERS,
    _cmdlet,
    _position,
    commands,
    defined_functions,
    hashtable_keys,
    load_catalogue,
    parse,
)
from tests.templates.variants import refusal, variants

SURFACE_PATH = Path(__file__).resolve().parents[2] / "pswrap" / "steps" / "commands.json"

IMPORTED = re.compile(
    r"^\s*(?:\$null\s*=\s*)?Import-Module\s+(?:-Name\s+)?'?([A-Za-z][\w.]*)'?", re.MULTILINE
)
"""`Import-Module <name>` as the templates write it: the names the endpoint lets Import-Module load."""

PROVIDER_PREFIXES = {"cert:": "Certificate"}
"""Drive prefixes a script reads through a provider, and the provider JEA must make visible."""


def _positional_names(entry: dict[str, Any], count: int) -> set[str]:
    """The parameters the first `count` positional arguments bind to.

    PowerShell binds positional arguments in the set it selects; for the plain values the templates pass
    (a module name, a type name, a path) that is the cmdlet's default set. Listing every set's positional
    parameter instead would allow, say, Import-Module -Assembly in the endpoint.
    """
    sets: dict[str, dict[str, Any]] = entry.get("parameter_sets") or {}
    default = entry.get("default_parameter_set")
    chosen = [sets[default]] if default in sets else list(sets.values())
    names: set[str] = set()
    for params in chosen:
        ordered = sorted(
            ((name, info) for name, info in params.items() if info.get("position") not in (None, "named")),
            key=lambda item: _position(item[1], 0),
        )
        names.update(name for name, _ in ordered[:count])
    return names


LITERAL = re.compile(r"'([^']*)'|([A-Za-z][\w.\\:-]*|\d+)")
"""A value written as a constant: a single-quoted string without quotes inside, a bare word, a number."""


def _literal(text: str) -> str | None:
    m = LITERAL.fullmatch(text.strip())
    if m is None:
        return None
    return m.group(1) if m.group(1) is not None else m.group(2)


def script_surface(text: str, catalogue: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Commands and parameters one script uses; `values` holds, per command and parameter, the constant
    values it is given, or None when any use passes something else (a variable, an expression, a splat)."""
    tree, source = parse(text)
    local = defined_functions(tree, source)
    tables = hashtable_keys(tree, source)
    used: dict[str, set[str]] = defaultdict(set)
    values: dict[str, dict[str, set[str] | None]] = defaultdict(dict)
    functions: set[str] = set()

    def seen(command: str, param: str, value: str | None) -> None:
        known = values[command].get(param, set())
        values[command][param] = None if value is None or known is None else known | {value}

    for use in commands(tree, source):
        key = use.name.lower()
        if key in local:
            functions.add(use.name)
            continue
        entry = catalogue.get(key)
        if entry is None:  # not in the catalogue (the catalogue check fails on it): listed as written
            used[use.name].update(a.name for a in use.parameters if a.name.lower() not in COMMON_PARAMETERS)
            continue
        cmdlet = _cmdlet(entry)
        name = entry["name"]
        bound = used[name]
        positional = use.positional
        for argument in use.parameters:
            lowered = argument.name.lower()
            if lowered in COMMON_PARAMETERS:
                continue
            canonical = cmdlet.canonical[lowered]
            bound.add(canonical)
            if canonical in cmdlet.switches:
                if argument.value == "next":
                    positional += 1
                continue
            seen(name, canonical, _literal(argument.text))
        for splat in use.splats:
            for hkey in tables.get(splat, set()):
                if hkey.lower() not in COMMON_PARAMETERS:
                    canonical = cmdlet.canonical[hkey.lower()]
                    bound.add(canonical)
                    if canonical not in cmdlet.switches:
                        seen(name, canonical, None)
        if positional:
            for param in _positional_names(entry, positional):
                bound.add(param)
                seen(name, param, None)
    providers = {p for prefix, p in PROVIDER_PREFIXES.items() if prefix in text.lower()}
    modules = set(IMPORTED.findall(text))
    return {
        "commands": used,
        "values": values,
        "functions": functions,
        "providers": providers,
        "modules": modules,
    }


def compute() -> dict[str, Any]:
    """The surface of every runnable step, over all its variants (the union)."""
    catalogue = load_catalogue()
    steps: dict[str, Any] = {}
    command_modules: dict[str, str] = {}
    for step in all_steps():
        if step.is_legacy:
            continue
        cmds: dict[str, set[str]] = defaultdict(set)
        values: dict[str, dict[str, set[str] | None]] = defaultdict(dict)
        functions: set[str] = set()
        providers: set[str] = set()
        modules: set[str] = set()
        for variant in variants(step):
            if refusal(variant) is not None:
                continue
            script = render(step, profile=variant.profile, choices=variant.choices, params=variant.params())
            found = script_surface(script.text, catalogue)
            for name, params in found["commands"].items():
                cmds[name].update(params)
                command_modules[name] = catalogue[name.lower()]["module"]
            for name, by_param in found["values"].items():
                for param, given in by_param.items():
                    known = values[name].get(param, set())
                    values[name][param] = None if given is None or known is None else known | given
            functions |= found["functions"]
            providers |= found["providers"]
            modules |= found["modules"]
        steps[step.id] = {
            "needs": step.needs,
            "commands": {name: sorted(cmds[name]) for name in sorted(cmds)},
            "constants": {
                name: {p: sorted(v) for p, v in sorted(values[name].items()) if v is not None}
                for name in sorted(values)
                if any(v is not None for v in values[name].values())
            },
            "functions": sorted(functions),
            "providers": sorted(providers),
            "modules": sorted(modules),
        }
    return {
        "about": "Generated by tests/templates/surface.py from the rendered templates; do not edit. "
        "Regenerate: PSWRAP_REGEN_FIXTURES=1 .venv/bin/pytest tests/templates/test_command_surface.py",
        "steps": steps,
        "command_modules": dict(sorted(command_modules.items())),
    }


def dumps(surface: dict[str, Any]) -> str:
    return json.dumps(surface, indent=1, sort_keys=True) + "\n"
