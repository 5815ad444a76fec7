"""The API is typed for its users: py.typed ships, every public method returns a model (never Any or a
bare dict), the closed sets of values are Literals, and a runbook on it passes `mypy --strict`."""

from __future__ import annotations

import importlib.resources
import inspect
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import pytest

import pswrap.api
from pswrap.api import Pswrap

ROOT = Path(__file__).resolve().parents[2]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]


def test_py_typed_ships_in_the_package_and_the_wheel() -> None:
    assert importlib.resources.files("pswrap").joinpath("py.typed").is_file()
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    # The wheel packages the whole pswrap directory; nothing in .gitignore (which hatch honours) drops it.
    assert "pswrap" in config["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert not any(p in ("py.typed", "*.typed", "pswrap/py.typed") for p in ignored)


def _hints(func: Any) -> dict[str, Any]:
    from pswrap.desired.apply import ApplyResult
    from pswrap.desired.spec import MailboxSpec
    from pswrap.desired.batch import BatchResult
    from pswrap.desired.batch_load import Row
    from pswrap.remote.target import Target

    names = {
        "Target": Target, "ApplyResult": ApplyResult, "MailboxSpec": MailboxSpec, "BatchResult": BatchResult,
        "Row": Row,
    }  # fmt: skip
    return typing.get_type_hints(func, localns={**names, **vars(pswrap.api)})


def _public_methods() -> list[tuple[str, Any]]:
    return [
        (name, member)
        for name, member in inspect.getmembers(Pswrap, inspect.isfunction)
        if not name.startswith("_")
    ]


def _mentions(annotation: Any, bad: object) -> bool:
    if annotation is bad or get_origin(annotation) is bad:
        return True
    return any(_mentions(arg, bad) for arg in get_args(annotation))


def test_every_public_method_returns_a_typed_model() -> None:
    methods = _public_methods()
    assert {"create_mailbox", "link_mailbox", "resume", "sync_status", "doctor", "operation"} <= {
        name for name, _ in methods
    }
    for name, method in methods:
        returns = _hints(method).get("return")
        assert returns is not None, f"Pswrap.{name} has no return annotation"
        assert not _mentions(returns, Any), f"Pswrap.{name} returns Any"
        assert not _mentions(returns, dict), f"Pswrap.{name} returns a bare dict"
    assert not _mentions(_hints(pswrap.api.connect)["return"], Any)


@pytest.mark.parametrize(
    ("method", "param", "values"),
    [
        ("create_mailbox", "type", ("room", "equipment", "shared")),
        ("create_mailbox", "profile", ("modern", "legacy", "hybrid-tools")),
        ("create_mailbox", "hold", ("anchor", "staging-ou", "scheduler", "none")),
        ("create_mailbox", "match", ("hard", "soft")),
        ("link_mailbox", "hold", ("anchor", "staging-ou", "scheduler", "none")),
        ("doctor", "profile", ("modern", "hybrid-tools")),
    ],
)
def test_closed_sets_of_values_are_literals(method: str, param: str, values: tuple[str, ...]) -> None:
    annotation = _hints(getattr(Pswrap, method))[param]
    literals = [a for a in (annotation, *get_args(annotation)) if get_origin(a) is Literal]
    assert literals, f"{method}({param}=...) is {annotation}, not a Literal"
    assert get_args(literals[0]) == values


def test_a_runbook_on_the_api_passes_mypy_strict_and_a_typo_does_not(tmp_path: Path) -> None:
    example = ROOT / "tests" / "api" / "runbook_example.py"
    typo = tmp_path / "typo_runbook.py"
    typo.write_text(
        "import pswrap.api\n"
        "with pswrap.api.connect('lab') as ps:\n"
        "    ps.create_mailbox('Room', alias='room', type='rom')\n"
        "    checks: int = ps.doctor()\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", str(example), str(typo)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if ": error:" in line]
    assert not [line for line in lines if "runbook_example.py" in line], done.stdout
    assert any("typo_runbook.py:3" in line and "create_mailbox" in line for line in lines), done.stdout
    assert any("typo_runbook.py:4" in line and "Checklist" in line for line in lines), done.stdout


def test_the_example_runbook_runs_against_the_lab(env: dict[str, str]) -> None:
    from tests.api import runbook_example

    results = runbook_example.provision("lab", runbook_example.rooms_for_floor(3, 2))
    assert runbook_example.summary(results) == {"completed": 2}
    assert all(r.immutable_id and r.operation for r in results)
