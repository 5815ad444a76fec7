"""What pswrap adds to one step, next to a raw pypsrp pipeline of the same script (goal: ratio <= 1.2).

Both sides run against the same lab in the same run, over the same transport (NTLM with message
encryption over HTTP, pypsrp's default), in a pool that is already open:

- raw: `with PowerShell(pool) as ps: ps.add_script(text); ps.add_parameters(params); ps.invoke()` and
  `json.loads` of the output — the usage pypsrp 0.9 recommends (the pipeline is closed after use);
- pswrap: `Session.step(step_id, params=...)` — render (Jinja), session parameters, the wall-clock
  limit's begin_invoke/poll loop, the error-stream check, retry wrapper and the pydantic model.

Interleaved rounds (raw, pswrap, raw, pswrap ...) so drift on a shared machine hits both alike.

    python benchmarks/step_overhead.py [--runs 200] [--step sync/get-settings] [--check]

--check exits 1 when the ratio of medians is above the goal.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

GOAL = 1.2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--step", default="sync/get-settings")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()

    from pypsrp.powershell import PowerShell

    from pswrap.lab.embedded import start_lab
    from pswrap.remote.session import open_session
    from pswrap.remote.target import load_target

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["PSWRAP_CONFIG"] = str(Path(tmp) / "config.toml")
        os.environ["PSWRAP_BENCH_PW"] = "Bench-Passw0rd"
        with start_lab(Path(tmp) / "world.json", username="bench", password="Bench-Passw0rd") as lab:
            ep = lab.endpoint
            Path(os.environ["PSWRAP_CONFIG"]).write_text(
                f'[targets.bench]\nhost = "{ep.host}"\nport = {ep.port}\nscheme = "http"\nauth = "ntlm"\n'
                'username = "bench"\npassword_env = "PSWRAP_BENCH_PW"\n'
            )
            with open_session(load_target("bench")) as session:
                script = session.script(args.step)
                session.step(args.step)  # opens the pool (and connects its need) outside the timing
                pool = session._pools.get(script.step.needs or "adsync").pool

                def raw() -> object:
                    with PowerShell(pool) as ps:
                        ps.add_script(script.text)
                        if script.parameters:
                            ps.add_parameters(dict(script.parameters))
                        output = ps.invoke()
                        if ps.had_errors or ps.streams.error:
                            raise RuntimeError("raw pipeline failed")
                    return json.loads("\n".join(str(o) for o in output))

                def wrapped() -> object:
                    return session.step(args.step)

                raw_times: list[float] = []
                pswrap_times: list[float] = []
                for _ in range(5):  # warm-up both paths
                    raw()
                    wrapped()
                for _ in range(args.runs):
                    t0 = time.perf_counter()
                    raw()
                    t1 = time.perf_counter()
                    wrapped()
                    t2 = time.perf_counter()
                    raw_times.append(t1 - t0)
                    pswrap_times.append(t2 - t1)

    raw_median = statistics.median(raw_times)
    pswrap_median = statistics.median(pswrap_times)
    ratio = pswrap_median / raw_median
    print(f"step: {args.step}  runs: {args.runs}  transport: NTLM + message encryption over HTTP (lab)")
    print(f"raw pypsrp invoke(): median {raw_median * 1000:.2f} ms")
    print(f"pswrap Session.step: median {pswrap_median * 1000:.2f} ms")
    print(f"ratio: {ratio:.2f} (goal <= {GOAL})")
    return 1 if args.check and ratio > GOAL else 0


if __name__ == "__main__":
    sys.exit(main())
