"""Values never enter a script's text: they travel as parameters, secrets apart from them."""

from __future__ import annotations

import uuid

import pytest

from pswrap.render.engine import render
from pswrap.secrets import Secret
from pswrap.steps import all_steps
from tests.templates.variants import refusal, variants

# Text PowerShell treats specially, so that a value pasted into the script would change its meaning.
NASTY = [
    'O\'Brien \u2019quote\u2019 "double"',
    "$(Remove-Item C:\\ -Recurse)",
    "`n`$env:PATH ${x} @(1) @{a=1}",
    "line one\nline two\r\n# comment <# block #>",
    "; Stop-Service ADSync; '",
]


def _values(marker: str, index: int) -> dict[str, object]:
    text = f"zq{marker}{index}{NASTY[index % len(NASTY)]}"
    return {
        "string": text,
        "string[]": [text + "-a", text + "-b"],
        "int": 700_000 + index,
        "bool": True,
        "switch": True,
        "guid": str(uuid.UUID(int=0xABCDEF0000 + index)),
        "securestring": Secret(f"secret-{marker}-{index}-'$(x)"),
        "datetime": f"2031-0{1 + index % 9}-1{index % 10}T0{index % 10}:17:43Z",
    }


@pytest.mark.parametrize("step_id", [s.id for s in all_steps()])
def test_no_value_appears_in_the_text(step_id: str) -> None:
    step = next(s for s in all_steps() if s.id == step_id)
    for index, variant in enumerate(v for v in variants(step) if refusal(v) is None):
        values = _values(step_id.replace("/", "-"), index)
        script = render(step, profile=variant.profile, choices=variant.choices, params=variant.params(values))
        for name, value in {**script.parameters}.items():
            shown = value if isinstance(value, list) else [value]
            for item in shown:
                if isinstance(item, str) and len(item) > 3:
                    assert item not in script.text, (variant.label, name)
                    assert item[:12] not in script.text, (variant.label, name)
        for secret_name, secret in script.secrets.items():
            assert isinstance(secret, Secret)
            assert secret.reveal() not in script.text
            assert secret_name not in script.parameters
            assert all(secret.reveal() not in str(v) for v in script.parameters.values())
        declared_secret = {p.name for p in step.params if p.secret}
        assert set(script.secrets) == declared_secret & (set(script.secrets) | set(script.parameters))
        assert not declared_secret & set(script.parameters)
        # ints and dates too: the marker digits must not appear as literals
        assert str(values["int"]) not in script.text
        assert str(values["datetime"])[:10] not in script.text
