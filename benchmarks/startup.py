"""How much slower `pswrap --version` starts than a bare one-command Typer app (goal: ratio <= 1.5).

Runbook engines call pswrap many times, so start-up is the cost every call pays. The baseline is the
least a Typer CLI can do: one command and an eager --version option, run the same way (a fresh
interpreter per run). Runs alternate between the two so that machine load hits both alike; the
median of each is compared.

Both run with byte-code caching on (PYTHONDONTWRITEBYTECODE removed from their environment), as an
installed package does: pip compiles a wheel's modules at install time, so compiling pswrap's own
modules on every run would measure the development checkout, not what users run.

    python benchmarks/startup.py [--runs 40] [--check]

--check exits 1 when the ratio is above the goal.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL = 1.5

BARE_APP = '''
import typer

app = typer.Typer(add_completion=False)


def _version(value: bool) -> None:
    if value:
        typer.echo("bare 0.0.0")
        raise typer.Exit()


@app.command()
def main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True),
) -> None:
    """Do nothing."""


app()
'''


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _time_once(argv: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, env=ENV, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    return elapsed


def measure(runs: int) -> tuple[float, float]:
    """Median seconds of `pswrap --version` and of the bare app's `--version`."""
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "bare_app.py"
        bare.write_text(BARE_APP)
        pswrap_argv = [sys.executable, "-m", "pswrap", "--version"]
        bare_argv = [sys.executable, str(bare), "--version"]
        for argv in (pswrap_argv, bare_argv):  # warm the OS caches and .pyc files
            _time_once(argv)
        ours: list[float] = []
        theirs: list[float] = []
        for _ in range(runs):
            ours.append(_time_once(pswrap_argv))
            theirs.append(_time_once(bare_argv))
    return statistics.median(ours), statistics.median(theirs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--check", action="store_true", help=f"exit 1 if the ratio is above {GOAL}")
    args = parser.parse_args()
    ours, bare = measure(args.runs)
    ratio = ours / bare
    print(f"pswrap --version   median {ours * 1000:7.1f} ms over {args.runs} runs")
    print(f"bare Typer app     median {bare * 1000:7.1f} ms over {args.runs} runs")
    print(f"ratio              {ratio:.2f} (goal <= {GOAL})")
    return 1 if args.check and ratio > GOAL else 0


if __name__ == "__main__":
    sys.exit(main())
