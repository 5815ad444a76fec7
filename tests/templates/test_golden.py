"""Golden fixtures: the exact script of every step and choice combination (all optional parameters
given), so reviewers read what an admin will run. Regenerate with PSWRAP_REGEN_FIXTURES=1."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pswrap.render.engine import render
from pswrap.steps import all_steps
from tests.templates.variants import Variant, refusal, variants

FIXTURES = Path(__file__).resolve().parent.parent / "data" / "rendered"


def _fixture_variants() -> dict[str, Variant]:
    chosen: dict[str, Variant] = {}
    for step in all_steps():
        for variant in variants(step):
            if variant.profile != step.profiles[0] or refusal(variant) is not None:
                continue
            name = step.id.replace("/", "__") + "".join(f"__{k}-{v}" for k, v in variant.choices.items())
            best = chosen.get(name)
            if best is None or len(variant.given) > len(best.given):
                chosen[name] = variant
    return chosen


CASES = _fixture_variants()


@pytest.mark.parametrize("name", sorted(CASES))
def test_rendered_script_matches_its_fixture(name: str) -> None:
    variant = CASES[name]
    script = render(variant.step, profile=variant.profile, choices=variant.choices, params=variant.params())
    path = FIXTURES / f"{name}.ps1"
    if os.environ.get("PSWRAP_REGEN_FIXTURES") == "1":
        FIXTURES.mkdir(parents=True, exist_ok=True)
        path.write_text(script.text, encoding="ascii", newline="\n")
    assert path.exists(), f"no fixture {path.name}: run with PSWRAP_REGEN_FIXTURES=1"
    assert script.text == path.read_text(encoding="ascii"), f"{path.name} differs: review, then regenerate"


def test_no_stale_fixtures() -> None:
    present = {p.stem for p in FIXTURES.glob("*.ps1")}
    assert present <= set(CASES), sorted(present - set(CASES))
