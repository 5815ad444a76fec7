"""How long `mailbox create --wait` takes against the lab, split into facts / apply / wait, how late the
end of each sync cycle is noticed, and how many HTTP requests one mailbox costs (from the lab's own counts,
`stats.requests`).

Goals (issue #6, Performance), with the lab's sync cycle at S seconds:
- a create finishes within S + 2 seconds;
- the end of a cycle is noticed within 1 second (the cycle's end is the lab's run result `end_date`;
  "noticed" is when pswrap's poll saw the scheduler idle again).

    .venv/bin/python benchmarks/mailbox.py [--sync-seconds 2] [--count 3] [--hold anchor]

Timing is measured here and only here (never asserted in tests, where a loaded machine would make it
flaky). The exit status is 0 unless `--strict` is given and a goal was missed.
Everything runs in a temporary state directory; nothing of the user's is touched.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import answered, isolated_lab, world_of  # benchmarks/common.py, beside this file

NOTICE_LIMIT = 1.0
BUDGET_MARGIN = 2.0


def cycle_ends(world: dict[str, Any]) -> set[datetime]:
    """The end of every finished cycle the lab recorded (its run results' end_date, UTC)."""
    ends = set()
    for run in world.get("sync", {}).get("runs", []):
        if run.get("end_date"):
            ends.add(datetime.fromisoformat(str(run["end_date"]).replace("Z", "+00:00")))
    return ends


def watch_cycle_ends() -> list[datetime]:
    """Record the moment each wait for a cycle's end returns (the poll saw the scheduler idle)."""
    from pswrap.workflows import sync_wait

    noticed: list[datetime] = []
    original = sync_wait.wait_until_idle

    def timed(*args: Any, **kwargs: Any) -> Any:
        state = original(*args, **kwargs)
        noticed.append(datetime.now(timezone.utc))
        return state

    sync_wait.wait_until_idle = timed
    return noticed


def notice_lags(noticed: list[datetime], ends: set[datetime]) -> list[float]:
    """For each notice, how long after the latest cycle end before it (only ends this mailbox caused)."""
    lags = []
    for moment in noticed:
        before = [e for e in ends if e <= moment]
        if before:
            lags.append((moment - max(before)).total_seconds())
    return lags


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sync-seconds", type=float, default=2.0)
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("--hold", default="anchor", choices=["anchor", "staging-ou", "scheduler"])
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal is missed")
    args = parser.parse_args()

    lab_state = isolated_lab("pswrap-bench-", args.sync_seconds)

    import pswrap.api

    budget = args.sync_seconds + BUDGET_MARGIN
    with pswrap.api.connect("lab") as ps:
        ps.sync_status()  # the lab's world exists before anything is timed
    noticed = watch_cycle_ends()
    print(f"lab sync cycle S = {args.sync_seconds:g} s; goal: total <= S + 2 = {budget:g} s, cycle end "
          f"noticed within {NOTICE_LIMIT:g} s; hold {args.hold}")  # fmt: skip
    print(
        f"{'mailbox':<10} {'total':>7} {'facts':>7} {'apply':>7} {'wait':>7} {'wait-S':>7} "
        f"{'noticed':>8} {'requests':>9}"
    )
    totals: list[float] = []
    lags: list[float] = []
    requests: list[int] = []
    for n in range(args.count):
        alias = f"bench{n}"
        before = world_of(lab_state)
        ends_before = cycle_ends(before)
        noticed.clear()
        started = time.monotonic()
        # One connection per mailbox, as one CLI run would do; the lab flushes its counts at the end.
        with pswrap.api.connect("lab") as ps:
            result = ps.create_mailbox(f"Bench {n}", alias=alias, hold=args.hold)
        total = time.monotonic() - started
        after = world_of(lab_state)
        used = answered(after)[1] - answered(before)[1]
        lag = notice_lags(noticed, cycle_ends(after) - ends_before)
        t = result.timings
        shown_lag = f"{max(lag):8.2f}" if lag else f"{'-':>8}"
        print(
            f"{alias:<10} {total:7.2f} {t.get('facts', 0):7.2f} {t.get('apply', 0):7.2f} "
            f"{t.get('wait', 0):7.2f} {t.get('wait', 0) - args.sync_seconds:7.2f} {shown_lag} {used:9d}"
        )
        totals.append(total)
        lags.extend(lag)
        requests.append(used)
    worst = max(totals)
    worst_lag = max(lags) if lags else float("nan")
    print(
        f"total: median {statistics.median(totals):.2f} s, worst {worst:.2f} s = "
        f"{worst / budget:.2f} x the S + 2 = {budget:g} s goal: " + ("within" if worst <= budget else "OVER")
    )
    print(
        f"cycle end noticed: worst {worst_lag:.2f} s after it = {worst_lag / NOTICE_LIMIT:.2f} x the "
        f"{NOTICE_LIMIT:g} s limit: " + ("within" if lags and worst_lag <= NOTICE_LIMIT else "OVER")
    )
    print(f"HTTP requests per mailbox: median {statistics.median(requests):g}, max {max(requests)}")
    met = worst <= budget and bool(lags) and worst_lag <= NOTICE_LIMIT
    return 0 if met or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
