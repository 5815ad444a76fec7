"""How fast the lab answers an unmodified pypsrp client, next to a bare HTTP POST (goal: invoke <= 5 x 2).

A normal `invoke()` costs exactly two HTTP requests (Command and Receive; docs/sources.md, WS-Management
notes), so
the floor for any WinRM server written in Python is two keep-alive POST round trips to a plain
`http.server` on the same machine, measured here in the same run. The lab's overhead on top of that is
WSMan parsing, NTLM sealing, PSRP (de)serialization and the handler dispatch, plus pypsrp's own work.

--server inprocess (default) runs both servers in this process, as pswrap's embedded `lab` target does
(client and server share one interpreter lock); --server subprocess runs both in their own processes
(`pswrap lab serve`), as a lab another process serves.

    python benchmarks/lab.py [--runs 200] [--opens 20] [--auth ntlm|basic] [--https]
                             [--server inprocess|subprocess] [--check]

--check exits 1 when the ratio is above the goal.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

GOAL = 5.0


class _Bare(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body = b"<ok/>"
        self.send_response(200)
        self.send_header("Content-Type", "application/soap+xml;charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _serve_bare_forever() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Bare)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


@contextlib.contextmanager
def bare_server(in_process: bool) -> Iterator[Callable[[], float]]:
    """A plain http.server; yields a function timing one keep-alive POST round trip."""
    import requests

    proc = None
    server = None
    if in_process:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Bare)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        port = int(server.server_address[1])
    else:
        here = str(Path(__file__).parent)
        code = f"import sys; sys.path.insert(0, {here!r}); import lab; lab._serve_bare_forever()"
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
    url = f"http://127.0.0.1:{port}/wsman"
    payload = b"<s:Envelope>" + b"x" * 1500 + b"</s:Envelope>"
    headers = {"Content-Type": "application/soap+xml;charset=UTF-8"}
    try:
        with requests.Session() as session:
            session.post(url, data=payload, headers=headers)

            def post() -> float:
                start = time.perf_counter()
                session.post(url, data=payload, headers=headers)
                return time.perf_counter() - start

            yield post
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        if server is not None:
            server.shutdown()
            server.server_close()


@contextlib.contextmanager
def lab_endpoint(auth: str, https: bool, in_process: bool) -> Iterator[tuple[str, int, str | None]]:
    """(host, port, CA path) of a lab serving with user `bench`."""
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "world.json"
        if in_process:
            from pswrap.lab.embedded import start_lab

            with start_lab(state, auth=auth, https=https, username=USER, password=PASSWORD) as lab:
                ep = lab.endpoint
                yield ep.host, ep.port, str(ep.ca_path) if ep.ca_path else None
            return
        cmd = [sys.executable, "-m", "pswrap", "lab", "serve", "--port", "0", "--state", str(state),
               "--auth", auth, "--user", USER, "--password", PASSWORD, *(["--https"] if https else [])]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        banner = ""
        while "Press Ctrl+C" not in banner:
            line = proc.stdout.readline()
            if not line:
                raise SystemExit(f"pswrap lab serve did not start:\n{banner}")
            banner += line
        try:
            port = int(re.search(r":(\d+)/wsman", banner).group(1))  # type: ignore[union-attr]
            ca = re.search(r"CA:\s+(/\S+)", banner)
            yield "127.0.0.1", port, ca.group(1) if ca else None
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=20)


USER, PASSWORD = "bench", "Bench-pass1"


def measure(runs: int, opens: int, auth: str, https: bool, in_process: bool) -> tuple[float, float, float]:
    """Medians of (bare POST, invoke, pool open); bare and lab runs alternate so load hits both alike."""
    from pypsrp.powershell import PowerShell, RunspacePool
    from pypsrp.wsman import WSMan

    with bare_server(in_process) as post, lab_endpoint(auth, https, in_process) as (host, port, ca):
        kwargs: dict[str, Any] = {
            "port": port, "username": USER, "password": PASSWORD, "auth": auth, "ssl": https,
        }
        if https:
            kwargs["cert_validation"] = ca
        elif auth == "basic":
            kwargs["encryption"] = "never"
        bare_times: list[float] = []
        open_times = []
        for _ in range(opens):
            with WSMan(host, **kwargs) as wsman:
                bare_times.append(post())
                start = time.perf_counter()
                pool = RunspacePool(wsman)
                pool.open()
                open_times.append(time.perf_counter() - start)
                pool.close()
        invoke_times = []
        with WSMan(host, **kwargs) as wsman, RunspacePool(wsman) as pool:
            for i in range(runs + 5):
                bare_times.append(post())
                ps = PowerShell(pool)
                ps.add_script("# pswrap-step: lab/echo\n").add_parameters({"N": i})
                start = time.perf_counter()
                ps.invoke()
                elapsed = time.perf_counter() - start
                if i >= 5:  # warm-up
                    invoke_times.append(elapsed)
    return statistics.median(bare_times), statistics.median(invoke_times), statistics.median(open_times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--opens", type=int, default=20)
    parser.add_argument("--auth", choices=["ntlm", "basic"], default="ntlm")
    parser.add_argument("--https", action="store_true")
    parser.add_argument("--server", choices=["inprocess", "subprocess"], default="inprocess")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()

    in_process = args.server == "inprocess"
    bare, invoke, pool_open = measure(args.runs, args.opens, args.auth, args.https, in_process)
    ratio = invoke / (2 * bare)
    mode = f"{'https' if args.https else 'http'}+{args.auth}, {args.server}"
    print(f"bare HTTP POST round trip, {args.server} (median of {args.runs}): {bare * 1000:.2f} ms")
    print(f"lab invoke() of lab/echo, {mode} (median of {args.runs}): {invoke * 1000:.2f} ms")
    print(f"lab pool open, {mode} (median of {args.opens}): {pool_open * 1000:.2f} ms")
    print(f"ratio invoke / (2 x bare POST): {ratio:.2f} (goal <= {GOAL})")
    if args.check and ratio > GOAL:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
