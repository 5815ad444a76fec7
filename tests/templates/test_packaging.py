"""The templates ship inside the wheel and are found through the package, so an installed pswrap renders
from any working directory (issue #2, item 1). Building a wheel here would need the build backend from
the network; these check what decides the wheel's content instead."""

from __future__ import annotations

import importlib.resources
import re
import sys
from pathlib import Path

from pswrap.render.engine import TEMPLATE_PACKAGE
from pswrap.steps import all_steps

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

ROOT = Path(__file__).resolve().parents[2]
INCLUDE = re.compile(r"""\{%-?\s*include\s+["']([^"']+)["']""")


def test_the_wheel_packages_the_templates() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = config["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    assert TEMPLATE_PACKAGE in packages and "pswrap" in packages
    # importlib.resources finds data through an importable package.
    assert (ROOT / TEMPLATE_PACKAGE / "__init__.py").is_file()


def test_every_template_and_include_resolves_through_the_package() -> None:
    package = importlib.resources.files(TEMPLATE_PACKAGE)
    pending = [step.template for step in all_steps()]
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        resource = package.joinpath(*name.split("/"))
        assert resource.is_file(), f"{name} is not in the {TEMPLATE_PACKAGE} package"
        pending.extend(INCLUDE.findall(resource.read_text(encoding="utf-8")))
    on_disk = {
        str(p.relative_to(ROOT / TEMPLATE_PACKAGE)).replace("\\", "/")
        for p in (ROOT / TEMPLATE_PACKAGE).rglob("*.j2")
    }
    assert on_disk == seen, f"templates no step uses: {sorted(on_disk - seen)}"
