"""Many mailboxes at once (issue #15), against the embedded lab with realistic latencies, in one run.

1. 50 room mailboxes with calendar settings in one file, lab sync cycle 30 s, PSWRAP_LAB_LATENCY=realistic:
   `mailbox apply FILE` at the default parallelism (P = what the server's default shell quota fits, 6
   with every need on one server; pswrap.desired.batch_quota) against 50 sequential `mailbox create ...
   --auto-accept --booking-window-days N` runs (5 measured in the same run and scaled by 10: each pays
   the same cycle). Goal: at least 20x faster, and within 1.5x of the floor = one cycle + ceil(50 / P) x
   one mailbox's own step latencies (the modeled seconds of the steps the batch ran for its mailboxes,
   divided by 50; the connect steps and the batch's own steps, run once for all, excluded: its sync
   steps and its bulk reads of the mailboxes, cloud users and accounts).
2. A no-op re-apply of the 50: pipelines and HTTP requests per mailbox (goal: fewer than 2 pipelines).
3. 1,000 specs planned (--dry-run) against 50: peak memory of the planning (tracemalloc, the embedded lab
   in the same process included), goal at most 2x. Without latencies (memory is what is measured).

    .venv/bin/python benchmarks/batch.py [--parallel N] [--sequential 5] [--also-parallel N]

About 8.5 minutes on 2 cores (2 more with --also-parallel).

Everything runs in a temporary state directory. Exit 1 with --strict when a goal is missed.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import NOT_INHERITED, counts, isolated_lab  # benchmarks/common.py, beside this file

COUNT = 50
BATCH_LEVEL = ("connect", "sync/", "exo/list-mailboxes", "graph/get-users", "ad/list-users")
"""Step ids (a suffix, a prefix, then whole ids) that are the batch's, run once for all, not one
mailbox's."""


def cli(*args: str) -> int:
    from pswrap.cli import app
    from pswrap.cli.app import run_app

    devnull = open(os.devnull, "w")  # noqa: SIM115
    saved = sys.stdout
    sys.stdout = devnull
    try:
        return run_app(app, list(args))
    finally:
        sys.stdout = saved
        devnull.close()


def write_csv(path: Path, prefix: str, count: int) -> Path:
    lines = ["alias,name,type,capacity,calendar.automate_processing,calendar.booking_window_days"]
    lines += [
        f"{prefix}{n},Bench Room {prefix}{n},room,{4 + n % 20},AutoAccept,{30 + n % 300}"
        for n in range(count)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def peak_rss(plan: Path) -> int:
    """Peak resident memory (bytes) of a fresh process planning `plan` (Linux: ru_maxrss in kB)."""
    command = [sys.executable, "-m", "pswrap", "mailbox", "apply", str(plan), "--dry-run", "-o", "jsonl"]
    with open(os.devnull, "wb") as sink:
        proc = subprocess.Popen(command, stdout=sink, stderr=sink)
        _pid, status, usage = os.wait4(proc.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, command
    return int(usage.ru_maxrss) * 1024


def one_batch(
    rooms: Path, parallel: int, sync_seconds: float, sequential: float, *, default: bool = False
) -> tuple[float, float]:
    """Apply the file; print its time, the speed-up against sequential creates and against the floor.
    `default`: run without --parallel (pswrap chooses `parallel` itself)."""
    from pswrap.lab import latency

    latency.spent.clear()
    started = time.monotonic()
    chosen = [] if default else ["--parallel", str(parallel)]
    code = cli("mailbox", "apply", str(rooms), "--yes", *chosen, "-o", "json")
    batch = time.monotonic() - started
    assert code == 0, f"mailbox apply exited {code}"
    per_mailbox = own_seconds() / COUNT
    floor = sync_seconds + math.ceil(COUNT / parallel) * per_mailbox
    speedup = sequential * COUNT / batch
    how = f"default --parallel, {parallel}" if default else f"--parallel {parallel}"
    print(f"mailbox apply of {COUNT} ({how}): {batch:.1f} s")
    scaled = sequential * COUNT
    print(f"  vs {COUNT} sequential creates ({scaled:.0f} s, scaled): {speedup:.1f}x (goal >= 20x)")
    print(f"  floor: {sync_seconds:g} s cycle + ceil({COUNT}/{parallel}) x {per_mailbox:.2f} s "
          f"= {floor:.1f} s; apply / floor = {batch / floor:.2f} (goal <= 1.5)")  # fmt: skip
    return speedup, batch / floor


def own_seconds() -> float:
    from pswrap.lab import latency

    return sum(
        v
        for k, v in latency.spent.items()
        if not (k.endswith("/connect") or k.startswith(BATCH_LEVEL[1]) or k in BATCH_LEVEL[2:])
    )


def default_parallel() -> int:
    """What pswrap chooses without --parallel for the embedded lab (every need on one host)."""
    from pswrap.desired.batch_quota import default_parallel as chosen
    from pswrap.remote.target import load_target

    return chosen(load_target(None))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--parallel", type=int, default=0,
        help="the batch's --parallel (default: none given, pswrap's default for the lab's layout)",
    )  # fmt: skip
    parser.add_argument("--sync-seconds", type=float, default=30.0)
    parser.add_argument("--sequential", type=int, default=5)
    parser.add_argument("--big", type=int, default=1000)
    parser.add_argument("--strict", action="store_true")
    parser.add_argument(
        "--also-parallel", type=int, default=0,
        help="also measure at this --parallel (above 6 the lab must not enforce a shell quota; adds about "
        "2 minutes)",
    )  # fmt: skip
    parser.add_argument("--memory-only", action="store_true", help="only the planning memory (part 3)")
    args = parser.parse_args()

    state = isolated_lab(
        "pswrap-bench-batch-",
        args.sync_seconds,
        {"PSWRAP_LAB_LATENCY": "realistic"},
        unset=(*NOT_INHERITED, "PSWRAP_LAB_BUDGET"),
    )
    tmp = state.parent

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )
    print(f"lab: sync cycle {args.sync_seconds:g} s, latencies realistic (pswrap/lab/latency.py)")

    ok = True
    if not args.memory_only:
        # 1a. sequential creates, each a CLI run of its own (connects, its own cycle)
        started = time.monotonic()
        for n in range(args.sequential):
            code = cli("mailbox", "create", f"Seq Room {n}", "--alias", f"seq{n}", "--yes",
                       "--auto-accept", "--booking-window-days", str(30 + n))  # fmt: skip
            assert code == 0, f"mailbox create exited {code}"
        sequential = (time.monotonic() - started) / args.sequential
        print(f"mailbox create, sequential: {sequential:.1f} s per mailbox ({args.sequential} measured)")

        # 1b. the batch, at pswrap's default parallelism (or --parallel), and optionally another
        rooms = write_csv(tmp / "rooms.csv", "room", COUNT)
        parallel = args.parallel or default_parallel()
        speedup, over_floor = one_batch(
            rooms, parallel, args.sync_seconds, sequential, default=not args.parallel
        )
        if args.also_parallel and args.also_parallel != parallel:
            also = write_csv(tmp / "also.csv", "also", COUNT)
            one_batch(also, args.also_parallel, args.sync_seconds, sequential)

        # 2. no-op re-apply
        before = counts(state)
        started = time.monotonic()
        code = cli("mailbox", "apply", str(rooms), "--yes", "--parallel", str(parallel), "-o", "json")
        noop = time.monotonic() - started
        after = counts(state)
        pipes, reqs = after[0] - before[0], after[1] - before[1]
        print(f"no-op re-apply of {COUNT}: {noop:.1f} s, {pipes} pipelines ({pipes / COUNT:.2f} per mailbox, "
              f"goal < 2), {reqs} HTTP requests ({reqs / COUNT:.2f} per mailbox)")  # fmt: skip

        ok = speedup >= 20 and over_floor <= 1.5 and pipes / COUNT < 2
    # 3. memory of planning 1,000 vs 50 (no latencies: memory is what is measured). The goal is on the
    # process's peak (what an admin sees: ru_maxrss of a fresh `pswrap mailbox apply --dry-run` process);
    # what planning itself allocates (tracemalloc, in this process, the embedded lab included) is printed
    # beside it, to show the growth per mailbox.
    os.environ.pop("PSWRAP_LAB_LATENCY")
    rss: dict[int, int] = {}
    traced: dict[int, int] = {}
    warm = write_csv(tmp / "warm.csv", "warm", 2)  # imports and connections before measuring
    cli("mailbox", "apply", str(warm), "--dry-run", "-o", "jsonl")
    for count in (COUNT, args.big):
        plan = write_csv(tmp / f"plan{count}.csv", f"p{count}x", count)
        rss[count] = peak_rss(plan)
        tracemalloc.start()
        cli("mailbox", "apply", str(plan), "--dry-run", "--parallel", "4", "-o", "jsonl")
        traced[count] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    ratio = rss[args.big] / rss[COUNT]
    print(f"plan of {COUNT}: peak RSS {rss[COUNT] / 1e6:.1f} MB; plan of {args.big}: peak RSS "
          f"{rss[args.big] / 1e6:.1f} MB; ratio {ratio:.2f} (goal <= 2)")  # fmt: skip
    growth = (traced[args.big] - traced[COUNT]) / (args.big - COUNT)
    print(f"  allocated while planning (tracemalloc): {traced[COUNT] / 1e6:.1f} MB for {COUNT}, "
          f"{traced[args.big] / 1e6:.1f} MB for {args.big} ({growth / 1e3:.1f} kB per mailbox)")  # fmt: skip
    ok = ok and ratio <= 2
    print("all goals met" if ok else "a goal was missed")
    return 0 if ok or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
