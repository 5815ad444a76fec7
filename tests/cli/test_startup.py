"""`pswrap --version` and `--help` stay fast: they import none of the heavy dependencies.

Runbook engines call pswrap many times; jinja2, pypsrp, pydantic and cryptography belong inside the
commands that use them (benchmarks/startup.py measures the result).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("pypsrp", "psrpcore", "jinja2", "pydantic", "cryptography", "spnego")

PROBE = """
import json, runpy, sys
args, heavy = json.loads(sys.argv[1]), set(json.loads(sys.argv[2]))
sys.argv = ["pswrap", *args]
code = 0
try:
    runpy.run_module("pswrap", run_name="__main__")
except SystemExit as exc:
    code = exc.code
loaded = sorted({name.split(".")[0] for name in sys.modules} & heavy)
print("PROBE " + json.dumps({"code": code, "loaded": loaded}))
"""


@pytest.mark.parametrize("args", [["--version"], ["--help"]])
def test_version_and_help_import_no_heavy_dependency(args: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    probe = next(line for line in done.stdout.splitlines() if line.startswith("PROBE "))
    result = json.loads(probe[len("PROBE ") :])
    assert result["code"] in (0, None), done.stderr
    assert result["loaded"] == [], f"pswrap {' '.join(args)} imported {result['loaded']}"
    if args == ["--version"]:
        assert done.stdout.startswith("pswrap ")


def test_the_startup_benchmark_prints_the_ratio_to_a_bare_typer_app() -> None:
    """The issue's performance goal is read from this output; one run of each keeps the test quick."""
    script = Path(__file__).resolve().parents[2] / "benchmarks" / "startup.py"
    done = subprocess.run(
        [sys.executable, str(script), "--runs", "1"], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    ratio = re.search(r"^ratio\s+(\d+\.\d+) \(goal <= 1\.5\)$", done.stdout, re.MULTILINE)
    assert ratio is not None, done.stdout
    assert float(ratio.group(1)) > 0
    assert re.search(r"^pswrap --version\s+median\s+\d+\.\d ms", done.stdout, re.MULTILINE), done.stdout
    assert re.search(r"^bare Typer app\s+median\s+\d+\.\d ms", done.stdout, re.MULTILINE), done.stdout
