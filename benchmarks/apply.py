"""What `mailbox apply` costs per mailbox against the lab, beside `mailbox create` in the same run:
pipelines (PSRP Command messages: one per step run, connect steps included) and HTTP requests (every
WSMan request), from the lab's own counts (`stats.requests`).

Measured, per mailbox:
- create:       `mailbox create` of a new room (the baseline);
- apply-create: `mailbox apply` of a full spec (identity + every calendar field) for a new room;
- apply-full:   the same full spec with every calendar field changed, on an existing room;
- apply-noop:   the same spec again (nothing to change).

Goal (issue #13, Performance): a no-op apply uses at most one read pipeline per area it manages
(identity and calendar: 2), plus the connect step of its one session.

    .venv/bin/python benchmarks/apply.py [--count 3] [--sync-seconds 0.5] [--strict]

Everything runs in a temporary state directory; nothing of the user's is touched. Exit status 0 unless
`--strict` is given and the goal was missed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import counts, isolated_lab  # benchmarks/common.py, beside this file

AREAS = 2
"""Areas a full spec manages: identity (exo/find-mailbox) and calendar (exo/get-calendar-processing)."""
CONNECTS = 1


def full_spec(alias: str, n: int, variant: int) -> dict[str, Any]:
    """Every calendar field; `variant` 0 or 1 gives two specs that differ in every field."""
    v = variant == 1
    return {
        "alias": alias,
        "name": f"Bench Room {n}",
        "type": "room",
        "calendar": {
            "automate_processing": "AutoUpdate" if v else "AutoAccept",
            "booking_window_days": 90 if v else 120,
            "max_duration_minutes": 240 if v else 480,
            "allow_conflicts": v,
            "allow_recurring_meetings": not v,
            "resource_delegates": ["delegate"] if v else [],
            "all_book_in_policy": not v,
            "book_in_policy": [] if v else ["delegate"],
            "add_organizer_to_subject": not v,
            "delete_comments": not v,
            "delete_subject": not v,
            "process_external_meeting_messages": v,
        },
    }


def measure(state: Path, call: Callable[[Any], Any]) -> tuple[int, int]:
    import pswrap.api

    before = counts(state)
    # One connection per mailbox and command, as one CLI run; the lab flushes its counts at the end.
    with pswrap.api.connect("lab") as ps:
        call(ps)
    after = counts(state)
    return after[0] - before[0], after[1] - before[1]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("--sync-seconds", type=float, default=0.5)
    parser.add_argument("--strict", action="store_true", help="exit 1 when the no-op goal is missed")
    args = parser.parse_args()

    state = isolated_lab("pswrap-bench-apply-", args.sync_seconds)

    def create(alias: str) -> Callable[[Any], Any]:
        return lambda ps: ps.create_mailbox(alias, alias=alias)

    def apply(spec: dict[str, Any]) -> Callable[[Any], Any]:
        def run(ps: Any) -> Any:
            out = ps.apply_mailbox(spec)
            return out

        return run

    measure(state, create("delegate"))  # the principal the full spec names
    rows: dict[str, list[tuple[int, int]]] = {
        "create": [],
        "apply-create": [],
        "apply-full": [],
        "apply-noop": [],
    }
    for n in range(args.count):
        rows["create"].append(measure(state, create(f"plain{n}")))
        rows["apply-create"].append(measure(state, apply(full_spec(f"full{n}", n, 0))))
        rows["apply-full"].append(measure(state, apply(full_spec(f"full{n}", n, 1))))
        rows["apply-noop"].append(measure(state, apply(full_spec(f"full{n}", n, 1))))

    print(f"per mailbox, median of {args.count} (lab sync cycle {args.sync_seconds:g} s)")
    print(f"{'operation':<14} {'pipelines':>10} {'requests':>10}")
    for name, values in rows.items():
        pipes = statistics.median(v[0] for v in values)
        reqs = statistics.median(v[1] for v in values)
        print(f"{name:<14} {pipes:>10g} {reqs:>10g}")
    create_reqs = statistics.median(v[1] for v in rows["create"])
    noop_pipes = max(v[0] for v in rows["apply-noop"])
    noop_reqs = statistics.median(v[1] for v in rows["apply-noop"])
    goal = AREAS + CONNECTS
    print(f"no-op apply: {noop_reqs / create_reqs:.2f} x the HTTP requests of mailbox create")
    print(
        f"no-op apply: at most {noop_pipes} pipelines = {noop_pipes / goal:.2f} x the goal of {goal} "
        f"(one read per area, {AREAS} areas, + {CONNECTS} connect): "
        + ("within" if noop_pipes <= goal else "OVER")
    )
    return 0 if noop_pipes <= goal or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
