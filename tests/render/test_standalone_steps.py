"""Every step, in every profile and structural variant, gives a standalone script that parses, binds its
values so the spec model reads them back, and never contains a secret."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

import pytest

from pswrap import steps
from pswrap.errors import BadInput
from pswrap.render.engine import render
from pswrap.render.standalone import PARAMETERS_VARIABLE, standalone
from pswrap.secrets import Secret
from pswrap.steps.model import Param, Step
from tests.render import psmodel_tokenizer as ps
from tests.templates.catalogue_check import check_script

SECRET = "S3cret-'$(Get-Date)`\u2019-never-written"
TRICKY = 'O\'Brien \u2018Room\u2019 "$env:USERNAME" `n #x; }) @{'


def _value(param: Param) -> object:
    return {
        "string": TRICKY,
        "string[]": ["SMTP:one@contoso.com", TRICKY],
        "int": 12,
        "bool": True,
        "switch": True,
        "guid": "35918bc9-196d-40ea-9779-889d79b753f0",
        "datetime": "2026-11-27T12:00:00Z",
        "securestring": Secret(SECRET),
    }[param.type]


def _variants() -> list[tuple[Step, str, dict[str, str]]]:
    out = []
    for step in steps.all_steps():
        for profile in step.profiles:
            names = [c.name for c in step.choices]
            for values in itertools.product(*(c.values for c in step.choices)):
                out.append((step, profile, dict(zip(names, values, strict=True))))
    return out


VARIANTS = _variants()


def _plain(value: object) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


@pytest.mark.parametrize(
    ("step", "profile", "choices"),
    VARIANTS,
    ids=[f"{s.id}-{p}-" + "-".join(c.values()) for s, p, c in VARIANTS],
)
def test_standalone_of_every_variant(step: Step, profile: str, choices: dict[str, str]) -> None:
    params = {p.name: _value(p) for p in step.params}
    try:
        script = render(step, profile=profile, choices=choices, params=params)  # type: ignore[arg-type]
    except BadInput:
        # A template may refuse a combination (e.g. a room-only parameter); then only the mandatory ones.
        params = {p.name: _value(p) for p in step.params if p.mandatory}
        script = render(step, profile=profile, choices=choices, params=params)  # type: ignore[arg-type]
    out = standalone(script)

    assert SECRET not in out
    for name in script.secrets:
        assert f"Read-Host -AsSecureString -Prompt '{name}'" in out
    start = out.index(f"{PARAMETERS_VARIABLE} = ") + len(f"{PARAMETERS_VARIABLE} = ")
    bound = ps.evaluate_prefix(out, start)[0]
    assert bound == {k: _plain(v) for k, v in script.parameters.items()}
    assert out.splitlines()[0] == script.marker

    ts = pytest.importorskip("tree_sitter_language_pack")
    tree = ts.get_parser("powershell").parse(out.encode())
    assert not tree.root_node.has_error, out

    # The preamble keeps the template contract too (-ErrorAction Stop on every call; catalogued cmdlets);
    # the one call the checker cannot name is `& { <template> }`, the template itself, checked elsewhere.
    invoke_line = out.splitlines().index("& {") + 1
    problems = [
        str(p)
        for p in check_script(out, may_prompt=["Get-Credential"])
        if not str(p).startswith(f"line {invoke_line}: <dynamic invocation>")
    ]
    assert problems == [], problems
