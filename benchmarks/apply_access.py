"""What `mailbox apply` of part 2's fields (permissions, place data, room lists, visibility) costs per
mailbox against the lab, beside `mailbox create` in the same run: pipelines and HTTP requests, from the
lab's own counts, with the same measuring as benchmarks/apply.py.

Measured, per mailbox (a synced room, as `mailbox create` leaves it):
- create:      `mailbox create` of a new room (the baseline);
- apply-full:  every part-2 field (FullAccess, SendAs, send-on-behalf in AD, calendar rights, every
  Exchange Online place field and the AD address, a room list created and joined, visibility);
- apply-noop:  the same spec again (nothing to change).

Goal (issue #14): a no-op apply reads each area it manages once, in one pipeline per system: identity,
permissions, place and room lists in Exchange Online, the address and publicDelegates in AD (5), plus the
connect step.

    .venv/bin/python benchmarks/apply_access.py [--count 3] [--sync-seconds 0.5] [--strict]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from apply import measure  # benchmarks/apply.py, beside this file
from common import isolated_lab  # benchmarks/common.py, beside this file

READS = 5
CONNECTS = 1


def full_spec(alias: str, n: int) -> dict[str, Any]:
    return {
        "alias": alias,
        "permissions": {
            "full_access": ["delegate"],
            "automapping": False,
            "send_as": ["delegate"],
            "send_on_behalf": ["delegate"],
            "calendar_permissions": {"Default": "LimitedDetails", "delegate": "Editor"},
        },
        "place": {
            "building": "HQ",
            "floor": n,
            "floor_label": f"Floor {n}",
            "capacity": 10,
            "tags": ["Whiteboard", "Projector"],
            "is_wheelchair_accessible": True,
            "audio_device_name": "PolyCom",
            "video_device_name": "Logitech",
            "display_device_name": "Samsung",
            "city": "Oslo",
            "street": "1 Main St",
        },
        "room_lists": ["Bench Rooms"],
        "create_room_lists": True,
        "hidden_from_address_lists": False,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("--sync-seconds", type=float, default=0.5)
    parser.add_argument("--strict", action="store_true", help="exit 1 when the no-op goal is missed")
    args = parser.parse_args()

    state = isolated_lab("pswrap-bench-apply-access-", args.sync_seconds)

    measure(state, lambda ps: ps.create_mailbox("delegate", alias="delegate"))
    rows: dict[str, list[tuple[int, int]]] = {"create": [], "apply-full": [], "apply-noop": []}
    for n in range(args.count):
        rows["create"].append(measure(state, lambda ps, n=n: ps.create_mailbox(f"room{n}", alias=f"room{n}")))
        spec = full_spec(f"room{n}", n)
        rows["apply-full"].append(measure(state, lambda ps, s=spec: ps.apply_mailbox(s)))
        rows["apply-noop"].append(measure(state, lambda ps, s=spec: ps.apply_mailbox(s)))

    print(f"per mailbox, median of {args.count} (lab sync cycle {args.sync_seconds:g} s)")
    print(f"{'operation':<14} {'pipelines':>10} {'requests':>10}")
    for name, values in rows.items():
        print(
            f"{name:<14} {statistics.median(v[0] for v in values):>10g} "
            f"{statistics.median(v[1] for v in values):>10g}"
        )
    create_reqs = statistics.median(v[1] for v in rows["create"])
    noop_pipes = max(v[0] for v in rows["apply-noop"])
    noop_reqs = statistics.median(v[1] for v in rows["apply-noop"])
    goal = READS + CONNECTS
    print(f"no-op apply: {noop_reqs / create_reqs:.2f} x the HTTP requests of mailbox create")
    print(
        f"no-op apply: at most {noop_pipes} pipelines = {noop_pipes / goal:.2f} x the goal of {goal} "
        f"(one read per area and system, {READS}, + {CONNECTS} connect): "
        + ("within" if noop_pipes <= goal else "OVER")
    )
    return 0 if noop_pipes <= goal or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
