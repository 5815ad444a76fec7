"""Check a rendered PowerShell script against the cmdlet catalogue, statically.

No PowerShell engine exists where pswrap is built, so this is the test that a template calls real
cmdlets the way their documentation allows: it parses the script with tree-sitter's PowerShell grammar,
finds every command it invokes, resolves each `-Parameter` (given directly, or through a hashtable that
is splatted with `@name` and whose keys are written in the same script), and checks that

- the script parses with no ERROR or MISSING node;
- every command is a function defined in the script or a cmdlet in the catalogue;
- every parameter exists on that cmdlet (full name or alias, case-insensitive; common parameters too);
- the parameters used, plus the positional arguments, fit at least one parameter set: all used names
  in the set, the positional arguments bound to the set's positional parameters, every mandatory
  parameter of the set present;
- every catalogue cmdlet is called with `-ErrorAction Stop` (the Graph and Exchange Online cmdlets are
  script-module functions that `$ErrorActionPreference` does not reach).

The catalogue's shape: {cmdlet: {"parameter_sets": {set: {param: {type, mandatory, positional,
position, aliases}}}, "parameter_details": {param: {aliases}}, "supports_common_parameters": bool}}.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from tree_sitter_language_pack import get_parser

CATALOGUE_PATH = Path(__file__).resolve().parent.parent / "data" / "cmdlets.json"

# PowerShell's common parameters (about_CommonParameters) and which of them take no value.
COMMON_PARAMETERS = {
    "verbose": ("Verbose", True),
    "vb": ("Verbose", True),
    "debug": ("Debug", True),
    "db": ("Debug", True),
    "erroraction": ("ErrorAction", False),
    "ea": ("ErrorAction", False),
    "warningaction": ("WarningAction", False),
    "wa": ("WarningAction", False),
    "informationaction": ("InformationAction", False),
    "infa": ("InformationAction", False),
    "errorvariable": ("ErrorVariable", False),
    "ev": ("ErrorVariable", False),
    "warningvariable": ("WarningVariable", False),
    "wv": ("WarningVariable", False),
    "informationvariable": ("InformationVariable", False),
    "iv": ("InformationVariable", False),
    "outvariable": ("OutVariable", False),
    "ov": ("OutVariable", False),
    "outbuffer": ("OutBuffer", False),
    "ob": ("OutBuffer", False),
    "pipelinevariable": ("PipelineVariable", False),
    "pv": ("PipelineVariable", False),
}

# Node types that only wrap an expression (the grammar nests one per precedence level).
_WRAPPERS = {
    "pipeline",
    "pipeline_chain",
    "logical_expression",
    "bitwise_expression",
    "comparison_expression",
    "additive_expression",
    "multiplicative_expression",
    "format_expression",
    "range_expression",
    "array_literal_expression",
    "unary_expression",
    "expression_with_unary_operator",
    "cast_expression",
    "parenthesized_expression",
}


@cache
def load_catalogue(path: Path = CATALOGUE_PATH) -> dict[str, dict[str, Any]]:
    """The catalogue keyed by lower-case cmdlet name."""
    data: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return {name.lower(): {"name": name, **entry} for name, entry in data.items()}


@dataclass
class Argument:
    """One parameter as written: its name and how a value followed it.

    `value` is "colon" (`-Name:value`), "next" (the next argument; for a switch that argument is
    positional after all) or "none".
    """

    name: str
    value: str = "none"
    text: str = ""
    """The value as written."""


@dataclass
class CommandUse:
    name: str
    line: int
    parameters: list[Argument] = field(default_factory=list)
    splats: list[str] = field(default_factory=list)
    positional: int = 0
    piped: bool = False
    """The command receives pipeline input (it is not the first element of its pipeline)."""


def _text(node: Any, source: bytes) -> str:
    return source[node.start_byte : node.end_byte].decode("utf-8")


def parse(text: str) -> tuple[Any, bytes]:
    source = text.encode("utf-8")
    return get_parser("powershell").parse(source), source


def _walk(node: Any) -> Iterator[Any]:
    yield node
    for child in node.children:
        yield from _walk(child)


def syntax_errors(text: str) -> list[str]:
    tree, source = parse(text)
    problems = []
    for node in _walk(tree.root_node):
        if node.type == "ERROR" or node.is_missing:
            line = node.start_point[0] + 1
            problems.append(
                f"line {line}: {'missing' if node.is_missing else 'syntax error at'} "
                f"{_text(node, source)[:60]!r}"
            )
    return problems


def defined_functions(tree: Any, source: bytes) -> set[str]:
    names = set()
    for node in _walk(tree.root_node):
        if node.type == "function_statement":
            for child in node.children:
                if child.type == "function_name":
                    names.add(_text(child, source).lower())
    return names


def unwrap(node: Any) -> Any:
    """The first node below `node` that is not an expression wrapper (or the last wrapper)."""
    while node.type in _WRAPPERS:
        named = [c for c in node.children if c.is_named and c.type != "type_literal"]
        if len(named) != 1:
            return node
        node = named[0]
    return node


def _key_text(node: Any, source: bytes) -> str:
    text = _text(node, source).strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]
    return text


def _variable_name(node: Any, source: bytes) -> str | None:
    if node.type != "variable":
        return None
    text = _text(node, source)
    if text[:1] not in "$@":
        return None
    name = text[1:]
    if ":" in name:  # $script:name
        name = name.split(":", 1)[1]
    return name.lower()


def hashtable_keys(tree: Any, source: bytes) -> dict[str, set[str]]:
    """Keys written into each variable that holds a hashtable: `$v = @{K = ...}`, `$v['K'] =`, `$v.K =`."""
    keys: dict[str, set[str]] = {}
    for node in _walk(tree.root_node):
        if node.type != "assignment_expression":
            continue
        left = next((c for c in node.children if c.type == "left_assignment_expression"), None)
        right = node.children[-1]
        if left is None:
            continue
        target = unwrap(left.children[0]) if left.children else None
        if target is None:
            continue
        if target.type == "variable":
            name = _variable_name(target, source)
            literal = unwrap(right)
            if name and literal.type == "hash_literal_expression":
                entries = keys.setdefault(name, set())
                for body in literal.children:
                    if body.type != "hash_literal_body":
                        continue
                    for entry in body.children:
                        if entry.type == "hash_entry":
                            key = next(c for c in entry.children if c.type == "key_expression")
                            entries.add(_key_text(key, source))
        elif target.type in ("member_access", "element_access"):
            base = target.children[0]
            name = _variable_name(base, source)
            if not name:
                continue
            if target.type == "member_access":
                member = next(c for c in target.children if c.type == "member_name")
                keys.setdefault(name, set()).add(_key_text(member, source))
            else:
                index = [c for c in target.children if c.is_named][1]
                keys.setdefault(name, set()).add(_key_text(unwrap(index), source))
    return keys


def commands(tree: Any, source: bytes) -> list[CommandUse]:
    uses = []
    for node in _walk(tree.root_node):
        if node.type != "command":
            continue
        name_node = next((c for c in node.children if c.type == "command_name"), None)
        foreach = next((c for c in node.children if c.type == "foreach_command"), None)
        if name_node is not None:
            use = CommandUse(_text(name_node, source), node.start_point[0] + 1)
        elif foreach is not None:
            use = CommandUse("ForEach-Object", node.start_point[0] + 1)
        else:
            use = CommandUse("<dynamic invocation>", node.start_point[0] + 1)
        prev = node.prev_sibling
        use.piped = prev is not None and prev.type == "|"
        elements = next((c for c in node.children if c.type == "command_elements"), None)
        children = list(elements.children) if elements is not None else []
        if foreach is not None:
            children = [c for c in foreach.children if c.type != "foreach-object"]
            use.positional = sum(1 for c in children if c.is_named)
            uses.append(use)
            continue
        pending: Argument | None = None
        for child in children:
            if child.type == "command_argument_sep":
                if pending is not None and ":" in _text(child, source):
                    pending.value = "colon"  # -Name:value: the next argument is the parameter's value
                continue
            if child.type == "command_parameter":
                argument = Argument(_text(child, source).lstrip("-").rstrip(":"))
                use.parameters.append(argument)
                pending = argument
                continue
            inner = unwrap(child)
            variable = inner if inner.type == "variable" else None
            if variable is not None and _text(variable, source).startswith("@"):
                name = _variable_name(variable, source)
                if name:
                    use.splats.append(name)
                pending = None
                continue
            if pending is not None and pending.value in ("none", "colon"):
                if pending.value == "none":
                    pending.value = "next"
                pending.text = _text(child, source)
                pending = None
                continue
            pending = None
            use.positional += 1
        uses.append(use)
    return uses


@dataclass
class _Cmdlet:
    name: str
    sets: dict[str, dict[str, dict[str, Any]]]
    canonical: dict[str, str]
    switches: set[str]
    common: bool


def _cmdlet(entry: dict[str, Any]) -> _Cmdlet:
    sets: dict[str, dict[str, dict[str, Any]]] = entry.get("parameter_sets", {})
    canonical: dict[str, str] = {}
    switches: set[str] = set()
    for params in sets.values():
        for pname, info in params.items():
            canonical[pname.lower()] = pname
            for alias in info.get("aliases", []) or []:
                canonical.setdefault(alias.lower(), pname)
            if str(info.get("type", "")).lower() in ("switchparameter", "switch"):
                switches.add(pname)
    for pname, details in (entry.get("parameter_details") or {}).items():
        if pname.lower() in canonical:
            for alias in details.get("aliases", []) or []:
                canonical.setdefault(alias.lower(), pname)
    return _Cmdlet(entry["name"], sets, canonical, switches, entry.get("supports_common_parameters", True))


def _position(info: dict[str, Any], order: int) -> tuple[int, int]:
    pos = info.get("position")
    try:
        return (int(pos), order)
    except (TypeError, ValueError):
        return (10_000, order)


def _fits(cmdlet: _Cmdlet, used: set[str], positional: int, piped: bool) -> tuple[bool, str]:
    """Does some parameter set accept these named parameters and this many positional arguments?"""
    reasons = []
    shared = cmdlet.sets.get("__AllParameterSets", {})
    for set_name, params in cmdlet.sets.items():
        allowed = {**shared, **params}
        outside = sorted(used - set(allowed))
        if outside:
            reasons.append(f"{set_name}: has no {', '.join(outside)}")
            continue
        free_positional = [
            name
            for order, (name, info) in enumerate(allowed.items())
            if (info.get("positional") or info.get("position") is not None) and name not in used
        ]
        free_positional.sort(key=lambda n: _position(allowed[n], list(allowed).index(n)))
        if positional > len(free_positional):
            reasons.append(f"{set_name}: {positional} positional argument(s), {len(free_positional)} slot(s)")
            continue
        bound = used | set(free_positional[:positional])
        missing = sorted(
            name for name, info in allowed.items() if info.get("mandatory") and name not in bound
        )
        if piped and missing:
            missing = [m for m in missing if m.lower() != "inputobject"]
        if missing:
            reasons.append(f"{set_name}: lacks mandatory {', '.join(missing)}")
            continue
        return True, set_name
    return False, "; ".join(reasons)


@dataclass
class Problem:
    line: int
    command: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.command}: {self.message}"


def check_script(
    text: str,
    catalogue: dict[str, dict[str, Any]] | None = None,
    *,
    may_prompt: Iterable[str] = (),
    platform: str | None = None,
) -> list[Problem]:
    """Every problem the catalogue check finds in one rendered script (empty list: it passes).

    `platform`: where the Exchange cmdlets run ("Exchange Online", "Exchange Server 2019"); the Exchange
    docs list per cmdlet and per parameter where each applies (`applicable`), and a script must use only
    what applies where it runs (e.g. New-Mailbox -UserPrincipalName is on-premises only).

    `may_prompt`: cmdlets allowed to leave a mandatory parameter for PowerShell to prompt for (only the
    legacy `Get-Credential`, which the seed calls bare; the catalogue notes that it prompts).
    """
    catalogue = catalogue if catalogue is not None else load_catalogue()
    prompting = {name.lower() for name in may_prompt}
    problems = [Problem(0, "<parse>", p) for p in syntax_errors(text)]
    tree, source = parse(text)
    local = defined_functions(tree, source)
    hashtables = hashtable_keys(tree, source)
    for use in commands(tree, source):
        key = use.name.lower()
        if key in local:
            continue
        entry = catalogue.get(key)
        if entry is None:
            problems.append(Problem(use.line, use.name, "not in the cmdlet catalogue"))
            continue
        cmdlet = _cmdlet(entry)
        if platform is not None and entry.get("applicable") and platform not in entry["applicable"]:
            problems.append(Problem(use.line, use.name, f"does not apply to {platform}"))
        used: set[str] = set()
        has_error_action_stop = False
        positional = use.positional
        for argument in use.parameters:
            lowered = argument.name.lower()
            if lowered in cmdlet.canonical:
                canonical = cmdlet.canonical[lowered]
                used.add(canonical)
                is_switch = canonical in cmdlet.switches
            elif cmdlet.common and lowered in COMMON_PARAMETERS:
                canonical, is_switch = COMMON_PARAMETERS[lowered]
                if canonical == "ErrorAction" and argument.text.strip("'\"").lower() == "stop":
                    has_error_action_stop = True
            else:
                problems.append(Problem(use.line, use.name, f"has no parameter -{argument.name}"))
                continue
            if is_switch and argument.value == "next":
                positional += 1  # a switch takes no value: the argument after it is positional
            elif not is_switch and argument.value == "none":
                problems.append(Problem(use.line, use.name, f"-{argument.name} has no value"))
        for splat in use.splats:
            if splat not in hashtables:
                problems.append(
                    Problem(use.line, use.name, f"splats @{splat}, not a hashtable of this script")
                )
                continue
            for hkey in hashtables[splat]:
                lowered = hkey.lower()
                if lowered in cmdlet.canonical:
                    used.add(cmdlet.canonical[lowered])
                elif cmdlet.common and lowered in COMMON_PARAMETERS:
                    if COMMON_PARAMETERS[lowered][0] == "ErrorAction":
                        has_error_action_stop = True
                else:
                    problems.append(
                        Problem(use.line, use.name, f"has no parameter {hkey} (splatted from @{splat})")
                    )
        if platform is not None:
            details = entry.get("parameter_details") or {}
            for name in sorted(used):
                applicable = (details.get(name) or {}).get("applicable")
                if applicable and platform not in applicable:
                    problems.append(Problem(use.line, use.name, f"-{name} does not apply to {platform}"))
        ok, detail = _fits(cmdlet, used, positional, use.piped)
        if not ok and key in prompting:
            ok = _fits_when_prompted(cmdlet, used, positional)
        if not ok:
            problems.append(Problem(use.line, use.name, f"fits no parameter set ({detail})"))
        if not has_error_action_stop:
            problems.append(Problem(use.line, use.name, "is called without -ErrorAction Stop"))
    return problems


def _fits_when_prompted(cmdlet: _Cmdlet, used: set[str], positional: int) -> bool:
    shared = cmdlet.sets.get("__AllParameterSets", {})
    return any(not (used - set({**shared, **params})) and positional == 0 for params in cmdlet.sets.values())


def invoked_commands(text: str) -> list[CommandUse]:
    """The commands a script invokes (functions it defines included), for tests that look for cmdlets."""
    tree, source = parse(text)
    return commands(tree, source)
