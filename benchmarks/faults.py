"""How many `mailbox create` runs finish on their own on a bad network (issue #12, section 1).

Two scenarios against the embedded lab, each `--count` creates (30 by default), with a fixed random seed
per run (`--seed` + run number, so a rerun injects the same faults):

- `500+drop`: 10% of requests answered HTTP 500 and 10% of connections dropped (20% in all);
- `kill+slow`: 5% of requests find their shell killed and 10% of replies are 1 s late.

For each run: the exit code, and whether the world is right afterwards — the mailbox, the AD account and
the cloud user exist exactly once, and the cloud user carries the account's anchor (nothing created or
applied twice). Goal: 100% exit 0 with a correct world. A benchmark, not a test: it takes minutes;
`tests/remote/test_reliability.py` runs the small deterministic version (a fault on every Nth request).

    .venv/bin/python benchmarks/faults.py [--count 30] [--seed 12] [--scenario 500+drop|kill+slow|both]

Everything runs in a temporary state directory; nothing of the user's is touched.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import isolated_lab, world_of  # benchmarks/common.py, beside this file

SCENARIOS = {
    "500+drop": "http500%0.1,drop%0.1",
    "kill+slow": "kill-pool%0.05,slow=1%0.1",
}


def correct(world: dict[str, Any], alias: str) -> str:
    """ "" when the world holds one of each object for `alias`, linked; else what is wrong."""
    users = [u for u in world["ad"]["users"] if str(u.get("sam_account_name", "")).lower() == alias]
    boxes = [b for b in world["exo"]["mailboxes"] if str(b.get("alias", "")).lower() == alias]
    cloud = [u for u in world["cloud"]["users"]
             if str(u.get("user_principal_name", "")).lower().startswith(alias + "@")]  # fmt: skip
    if (len(users), len(boxes), len(cloud)) != (1, 1, 1):
        return f"objects ad={len(users)} exo={len(boxes)} cloud={len(cloud)}"
    if not cloud[0].get("on_premises_immutable_id"):
        return "cloud user has no ImmutableId"
    return ""


def run_create(alias: str, faults: str, seed: int) -> tuple[int, float]:
    from pswrap.cli import app
    from pswrap.cli.app import run_app

    os.environ["PSWRAP_LAB_FAULTS"] = faults
    os.environ["PSWRAP_LAB_SEED"] = str(seed)
    started = time.monotonic()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = run_app(app, ["mailbox", "create", f"Room {alias}", "--alias", alias, "--yes"])
    return code, time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--scenario", default="both", choices=[*SCENARIOS, "both"])
    parser.add_argument("--sync-seconds", type=float, default=0.3)
    args = parser.parse_args()

    lab_state = isolated_lab(
        "pswrap-faults-",
        args.sync_seconds,
        {
            # Short waits between tries keep the benchmark quick; the bound is still the step deadline.
            "PSWRAP_RETRY_INITIAL": "0.05",
            "PSWRAP_RETRY_MAX_WAIT": "0.5",
        },
        unset=("PSWRAP_TARGET", "PSWRAP_CONFIG", "PSWRAP_RETRY_ATTEMPTS", "PSWRAP_RETRY_MAX_TIME"),
    )
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    print(f"machine: {machine}, {platform.system()} {platform.release()}; seed {args.seed}")
    print(f"lab sync cycle {args.sync_seconds:g} s")
    chosen = list(SCENARIOS) if args.scenario == "both" else [args.scenario]
    all_ok = True
    for number, name in enumerate(chosen):
        faults = SCENARIOS[name]
        ok = 0
        times: list[float] = []
        problems: list[str] = []
        for i in range(args.count):
            alias = f"f{number}x{i}"
            code, took = run_create(alias, faults, args.seed * 1000 + number * 100 + i)
            times.append(took)
            wrong = correct(world_of(lab_state), alias)
            if code == 0 and not wrong:
                ok += 1
            else:
                problems.append(f"{alias}: exit {code} {wrong}".strip())
        rate = ok / args.count
        all_ok = all_ok and ok == args.count
        print(f"{name:<10} faults {faults:<28} finished {ok}/{args.count} = {rate:.0%} "
              f"(goal 100%), median {sorted(times)[len(times) // 2]:.1f} s per create")  # fmt: skip
        for problem in problems:
            print(f"  {problem}")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
