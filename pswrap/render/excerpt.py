"""A rendered script cut into what a reviewer reads: the prologue every step shares (once), and each
step's own lines (its param() block and the helper functions it defines left out).

The prologue is `ps_templates/_prologue.ps1.j2`, which every template includes whole at its top level,
so its rendered text appears verbatim in every script; `split` finds it there rather than guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

_FUNCTION_RE = re.compile(r"^\s*function\s+[A-Za-z][\w-]*\s*(\{|$)", re.IGNORECASE)


@cache
def prologue() -> str:
    """The shared prologue as rendered into every step (strict mode, error preference, JSON helpers)."""
    from pswrap.render.engine import environment

    return environment().get_template("_prologue.ps1.j2").render()


@dataclass(frozen=True)
class Parts:
    marker: str
    """The `# pswrap-step: ...` line."""
    param_block: str
    """`param(...)`, or empty when the step takes no parameter."""
    body: str
    """Everything after the param block, without the shared prologue."""
    has_prologue: bool


def split(text: str) -> Parts:
    marker, _, rest = text.partition("\n")
    param_block = ""
    stripped = rest.lstrip("\n")
    if stripped.startswith("param("):
        depth = 0
        for index, char in enumerate(stripped):
            if char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
                if depth == 0:
                    param_block = stripped[: index + 1]
                    rest = stripped[index + 1 :]
                    break
    shared = prologue()
    has_prologue = shared in rest
    body = rest.replace(shared, "", 1) if has_prologue else rest
    return Parts(marker, param_block, body.strip("\n") + "\n", has_prologue)


def without_functions(body: str) -> list[str]:
    """The body's lines minus helper function definitions (braces counted) and runs of blank lines."""
    kept: list[str] = []
    depth = 0
    opened = False
    inside = False
    for line in body.split("\n"):
        if not inside and _FUNCTION_RE.match(line):
            inside, depth, opened = True, 0, False
        if inside:
            depth += line.count("{") - line.count("}")
            opened = opened or "{" in line
            if opened and depth <= 0:
                inside = False
            continue
        if not line.strip() and (not kept or not kept[-1].strip()):
            continue
        kept.append(line.rstrip())
    while kept and not kept[-1].strip():
        kept.pop()
    return kept


def step_lines(text: str) -> list[str]:
    """The lines of one step that matter to a reviewer: its own statements, in order."""
    return without_functions(split(text).body)


__all__ = ["Parts", "prologue", "split", "step_lines", "without_functions"]
