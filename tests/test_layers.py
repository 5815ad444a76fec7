"""The pipeline's direction: cli -> api -> workflows -> remote/render -> steps -> results, with no import
running back up (the project charter). Every import of a pswrap module counts, wherever it is written: at
the top, inside a function (the lazy imports that keep start-up quick) or under TYPE_CHECKING.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "pswrap"

LAYERS: dict[str, int] = {
    # 0: the command line
    "__main__": 0,
    "cli": 0,
    # 1: the Python API (api.py and its api_* mixins) and the vocabulary it shares with the CLI
    "api": 1,
    "choices": 1,
    # 2: the workflows; the desired-state engine runs on them (mailbox apply, show, list)
    "workflows": 2,
    "desired": 2,
    # 3: running and rendering a step; the embedded lab is the endpoint a session starts when no target is
    # configured, and the audit log records what a session runs
    "remote": 3,
    "render": 3,
    "lab": 3,
    "audit": 3,
    # 4, 5: what a step is, and what it returns
    "steps": 4,
    "results": 5,
    # 6: plain helpers every layer may use; they import no layer above
    "__init__": 6,
    "__version__": 6,
    "errors": 6,
    "secrets": 6,
    "journal": 6,
    "immutableid": 6,
    "dn": 6,
    "mastering": 6,
}
"""The layer of each part of the package (a sub-package or a top-level module), highest first. A module
may import its own layer and any layer below it."""


def _part(module: str) -> str:
    """`pswrap.api_lifecycle` -> `api`, `pswrap.remote.session` -> `remote`, `pswrap` -> `__init__`."""
    parts = module.split(".")
    if len(parts) == 1:
        return "__init__"
    return "api" if parts[1] == "api" or parts[1].startswith("api_") else parts[1]


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(rel[:-1] if rel[-1] == "__init__" else rel)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported module) for every absolute import of a pswrap module in the file."""
    out: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "pswrap":  # `from pswrap import x`: x is the module imported
                out.extend((node.lineno, f"pswrap.{alias.name}") for alias in node.names)
            else:
                out.append((node.lineno, node.module))
        elif isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}:{node.lineno}: a relative import; pswrap imports absolutely")
    return [(line, name) for line, name in out if name == "pswrap" or name.startswith("pswrap.")]


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_part_of_the_package_has_a_layer() -> None:
    unplaced = sorted({_part(_module_name(path)) for path in _sources()} - set(LAYERS))
    assert not unplaced, f"give each a layer in tests/test_layers.py LAYERS: {unplaced}"


def test_no_import_runs_back_up_the_pipeline() -> None:
    upward = []
    for path in _sources():
        module = _module_name(path)
        own = LAYERS.get(_part(module))
        if own is None:
            continue  # reported by the test above
        for line, imported in _imports(path):
            theirs = LAYERS.get(_part(imported))
            if theirs is not None and theirs < own:
                upward.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {module} imports {imported}")
    assert not upward, "imports running back up the pipeline:\n" + "\n".join(upward)


@pytest.mark.parametrize(
    ("source", "imported", "upward"),
    [
        ("from pswrap.workflows.mailbox import MailboxWorkflow\n", "steps", True),
        ("def f():\n    import pswrap.cli.app\n", "remote", True),
        ("from pswrap import api\n", "workflows", True),
        ("from pswrap.results import models\n", "steps", False),
        ("from pswrap.errors import BadInput\n", "results", False),
    ],
)
def test_the_check_sees_an_upward_import(tmp_path: Path, source: str, imported: str, upward: bool) -> None:
    """The checker itself: an upward import is found at the top, in a function, and as `from pswrap
    import x`; a downward one is not."""
    path = tmp_path / "probe.py"
    path.write_text(source, encoding="utf-8")
    own = LAYERS[imported]
    found = [name for _, name in _imports(path) if LAYERS[_part(name)] < own]
    assert bool(found) is upward
