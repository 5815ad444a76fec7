"""How long `mailbox create --wait` takes against the lab, split into facts / apply / wait, and how many
HTTP requests one mailbox costs (from the lab's own counts, `stats.requests`).

Goal (issue #6): with the lab's sync cycle at S seconds, a create finishes within S + 2 seconds.

    .venv/bin/python benchmarks/mailbox.py [--sync-seconds 2] [--count 3] [--hold anchor]

Everything runs in a temporary state directory; nothing of the user's is touched.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def requests_total(state: Path) -> int:
    from pswrap.lab.store import Store

    world = Store(state).read()
    return int(sum(world.get("stats", {}).get("requests", {}).values()))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sync-seconds", type=float, default=2.0)
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("--hold", default="anchor", choices=["anchor", "staging-ou", "scheduler"])
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="pswrap-bench-"))
    os.environ.update(
        {
            "PSWRAP_STATE_DIR": str(tmp),
            "PSWRAP_LAB_STATE": str(tmp / "lab.json"),
            "PSWRAP_LAB_SYNC_SECONDS": str(args.sync_seconds),
            "XDG_CONFIG_HOME": str(tmp / "config"),
        }
    )
    for name in ("PSWRAP_TARGET", "PSWRAP_CONFIG", "PSWRAP_LAB_FAULTS"):
        os.environ.pop(name, None)

    import pswrap.api

    budget = args.sync_seconds + 2.0
    print(f"lab sync cycle S = {args.sync_seconds:g} s; budget S + 2 = {budget:g} s; hold {args.hold}")
    print(f"{'mailbox':<10} {'total':>7} {'facts':>7} {'apply':>7} {'wait':>7} {'requests':>9}")
    totals: list[float] = []
    for n in range(args.count):
        alias = f"bench{n}"
        before = requests_total(tmp / "lab.json") if (tmp / "lab.json").exists() else 0
        started = time.monotonic()
        # One connection per mailbox, as one CLI run would do; the lab flushes its counts at the end.
        with pswrap.api.connect("lab") as ps:
            result = ps.create_mailbox(f"Bench {n}", alias=alias, hold=args.hold)
        total = time.monotonic() - started
        used = requests_total(tmp / "lab.json") - before
        t = result.timings
        print(
            f"{alias:<10} {total:7.2f} {t.get('facts', 0):7.2f} {t.get('apply', 0):7.2f} "
            f"{t.get('wait', 0):7.2f} {used:9d}"
        )
        totals.append(total)
    worst = max(totals)
    print(
        f"median {statistics.median(totals):.2f} s, worst {worst:.2f} s: "
        + ("within" if worst <= budget else "OVER")
        + f" the S + 2 = {budget:g} s budget"
    )
    return 0 if worst <= budget else 1


if __name__ == "__main__":
    sys.exit(main())
