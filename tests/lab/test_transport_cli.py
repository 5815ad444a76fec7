"""`pswrap lab serve|show|reset` as a user runs them, with an unmodified pypsrp client on the served lab."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from pypsrp.exceptions import WSManFaultError
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.serializer import ObjectMeta

from tests.lab.conftest import LAB_PASSWORD, BackgroundPoll, ServedLab, pswrap_command, wsman_for


def pswrap(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(pswrap_command(*args), capture_output=True, text=True, timeout=60, env=env)


def test_serve_ntlm_with_encryption_and_stop_on_sigterm(lab_serve: Callable[..., ServedLab]) -> None:
    served = lab_serve("--auth", "ntlm")
    assert served.url.startswith("http://127.0.0.1:")
    assert "auth:   ntlm as lab-admin (password from --user/--password)" in served.banner
    assert LAB_PASSWORD not in served.banner
    assert "CA:     none (plain HTTP)" in served.banner
    endpoint = served.endpoint(auth="ntlm")
    with wsman_for(endpoint) as wsman, RunspacePool(wsman) as pool:
        assert wsman.transport.wrap_required  # pypsrp encrypts NTLM messages over HTTP
        pool.exchange_keys()
        ps = PowerShell(pool)
        ps.add_script("# pswrap-step: lab/echo\n").add_parameters(
            {"Secret": pool.serialize("pw", ObjectMeta("SS")), "Name": "x"}
        )
        assert json.loads(ps.invoke()[0])["params"] == {"Secret": "pw", "Name": "x"}
        failing = PowerShell(pool)
        failing.add_script("# pswrap-step: lab/fail\n").add_parameters({"Message": "nope", "ErrorId": "E1"})
        failing.invoke()
        assert failing.had_errors and str(failing.streams.error[0]) == "nope"
    code, rest = served.terminate()
    assert code == 0
    assert "pswrap lab stopped; request counts written" in rest
    counts = json.loads(served.state_path.read_text())["stats"]["requests"]
    assert counts["Create"] == 1 and counts["Command"] == 2 and counts["Delete"] == 1


@pytest.mark.parametrize("sigint_ignored", [False, True], ids=["foreground", "started-in-background"])
def test_serve_stops_cleanly_on_ctrl_c(lab_serve: Callable[..., ServedLab], sigint_ignored: bool) -> None:
    # Ctrl+C is SIGINT; a job started with `&` inherits SIGINT ignored and must still stop on it.
    served = lab_serve("--auth", "basic", sigint_ignored=sigint_ignored)
    with wsman_for(served.endpoint(auth="basic")) as wsman, RunspacePool(wsman) as pool:
        ps = PowerShell(pool)
        ps.add_script("# pswrap-step: lab/echo\n").add_parameters({"Before": "ctrl-c"})
        assert json.loads(ps.invoke()[0])["params"] == {"Before": "ctrl-c"}
    # a client still connected, its step running and its Receive (a long poll) sent, does not hold it up
    busy_wsman = wsman_for(served.endpoint(auth="basic"), operation_timeout=30, read_timeout=40)
    busy = RunspacePool(busy_wsman)
    busy.open()
    running = PowerShell(busy)
    running.add_script("# pswrap-step: lab/sleep\n").add_parameters({"Seconds": 60})
    running.begin_invoke()
    receive_sent = threading.Event()
    send = busy_wsman.transport.send

    def sending(message: bytes, **kwargs: Any) -> bytes:
        receive_sent.set()
        return send(message, **kwargs)  # type: ignore[no-any-return]

    busy_wsman.transport.send = sending
    poll = BackgroundPoll(running)
    assert receive_sent.wait(10)
    code, rest = served.terminate(signum=signal.SIGINT)
    assert code == 0, rest
    assert "Traceback" not in rest
    assert "pswrap lab stopped; request counts written" in rest
    assert json.loads(served.state_path.read_text())["stats"]["requests"]["Create"] == 2
    assert poll.join(30)  # the waiting client is told, not left hanging until its read timeout
    [told] = poll.errors  # the connection closed under it (or, in a race, the shell-not-found fault)
    assert isinstance(told, requests.exceptions.ConnectionError) or (
        isinstance(told, WSManFaultError) and told.code == 2150858843
    ), repr(told)


def test_serve_https_validated_against_the_printed_ca(lab_serve: Callable[..., ServedLab]) -> None:
    served = lab_serve("--https", "--auth", "ntlm")
    assert served.url.startswith("https://127.0.0.1:")
    assert served.ca_path is not None
    assert served.ca_path == served.state_path.with_name("world.ca.pem")
    assert served.ca_path.read_text().startswith("-----BEGIN CERTIFICATE-----")
    with wsman_for(served.endpoint(auth="ntlm")) as wsman, RunspacePool(wsman) as pool:
        ps = PowerShell(pool)
        ps.add_script("# pswrap-step: lab/echo\n").add_parameters({"Over": "tls"})
        assert json.loads(ps.invoke()[0])["params"] == {"Over": "tls"}
    assert served.terminate()[0] == 0


def test_serve_with_faults_and_generated_credentials(lab_serve: Callable[..., ServedLab],
                                                      lab_state: Path) -> None:
    served = lab_serve("--auth", "basic", "--fault", "http500:Command@1", "--user", "ops",
                       env={"PSWRAP_LAB_FAULTS": "slow:Get=0.1"})
    creds_file = lab_state.parent / "lab-credentials.json"
    assert f"generated and stored (0600) in {creds_file}" in served.banner
    assert "faults: http500:Command@1, slow:Get=0.1" in served.banner
    password = json.loads(creds_file.read_text())["password"]
    assert password not in served.banner
    endpoint = served.endpoint(auth="basic", username="ops", password=password)
    with wsman_for(endpoint) as wsman, RunspacePool(wsman) as pool:
        first = PowerShell(pool)
        first.add_script("# pswrap-step: lab/echo\n")
        with pytest.raises(WSManFaultError) as fired:  # the first Command gets the injected HTTP 500
            first.invoke()
        assert fired.value.code == 0x80004005 and "(fault http500)" in str(fired.value.reason)
        second = PowerShell(pool)
        second.add_script("# pswrap-step: lab/echo\n").add_parameters({"Try": 2})
        assert json.loads(second.invoke()[0])["params"] == {"Try": 2}  # @1: only the first fired
    code, _ = served.terminate()
    assert code == 0
    assert json.loads(served.state_path.read_text())["stats"]["requests"]["Command"] == 2


def test_serve_refuses_a_bad_fault_spec(lab_state: Path) -> None:
    result = pswrap("lab", "serve", "--state", str(lab_state), "--fault", "explode@1")
    assert result.returncode == 2
    assert "explode@1" in result.stderr and "lab serve --help" in result.stderr


def test_serve_help_documents_the_fault_grammar() -> None:
    result = pswrap("lab", "serve", "--help", env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "KIND[:TARGET][=ARG][@N[+] | %RATE]" in text
    for kind in ("http500", "drop", "slow=SECONDS", "kill-pool", "throttle", "sync-busy", "fail:STEP",
                 "error:STEP", "delay:STEP=SECONDS", "PSWRAP_LAB_FAULTS", "PSWRAP_LAB_SEED"):
        assert kind in text


def test_every_fault_kind_is_documented_in_help_and_the_lab_page() -> None:
    from pswrap.lab import faults

    help_text = pswrap("lab", "serve", "--help", env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"}).stdout
    docs = (Path(__file__).resolve().parents[2] / "docs" / "lab.md").read_text()
    for text in (" ".join(help_text.split()), docs):
        assert faults.GRAMMAR in text
        for kind in sorted(faults.KINDS):
            assert re.search(rf"(?<![\w-]){re.escape(kind)}(?![\w-])", text), kind


def test_show_and_reset(lab_state: Path) -> None:
    shown = pswrap("lab", "show")  # PSWRAP_LAB_STATE (from the fixture) names the file
    assert shown.returncode == 0, shown.stderr
    world = json.loads(shown.stdout)
    assert world["stats"]["requests"] == {}
    world["lab"] = {"changed": True}
    world["stats"]["requests"] = {"Create": 5}
    lab_state.write_text(json.dumps(world))
    assert json.loads(pswrap("lab", "show", "--state", str(lab_state)).stdout)["lab"] == {"changed": True}
    reset = pswrap("lab", "reset", "--state", str(lab_state))
    assert reset.returncode == 0 and str(lab_state) in reset.stdout
    after = json.loads(pswrap("lab", "show").stdout)
    assert "lab" not in after
    assert after["stats"]["requests"] == {}


def test_show_reports_an_unreadable_world(lab_state: Path) -> None:
    lab_state.parent.mkdir(parents=True, exist_ok=True)
    lab_state.write_text("{not json")
    result = pswrap("lab", "show")
    assert result.returncode == 2
    assert str(lab_state) in result.stderr and "pswrap lab reset" in result.stderr


def test_cli_module_imports_no_heavy_libraries() -> None:
    code = (
        "import sys, pswrap.cli.lab_cmd; "
        "heavy = ('pypsrp', 'psrpcore', 'spnego', 'cryptography', 'jinja2', 'pydantic'); "
        "print([m for m in heavy if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_serve_refuses_an_unreadable_world_and_bad_settings(lab_state: Path) -> None:
    lab_state.parent.mkdir(parents=True, exist_ok=True)
    lab_state.write_text("[1, 2]")
    result = pswrap("lab", "serve", "--state", str(lab_state))
    assert result.returncode == 2
    assert str(lab_state) in result.stderr and "pswrap lab reset" in result.stderr
    lab_state.unlink()
    result = pswrap("lab", "serve", "--state", str(lab_state), "--anchor", "employeeID")
    assert result.returncode == 2 and "--anchor" in result.stderr


def test_the_lab_benchmark_prints_invoke_open_and_the_ratio_to_two_bare_posts(lab_state: Path) -> None:
    """The issue's performance goal is read from this output; a few runs keep the test quick (the goal
    itself is not asserted here: two shared cores make single timings noisy)."""
    script = Path(__file__).resolve().parents[2] / "benchmarks" / "lab.py"
    done = subprocess.run([sys.executable, str(script), "--runs", "5", "--opens", "2"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    bare = re.search(r"^bare HTTP POST round trip, inprocess \(median of 5\): (\d+\.\d+) ms$", out, re.M)
    invoke = re.search(r"^lab invoke\(\) of lab/echo, http\+ntlm, inprocess \(median of 5\): (\d+\.\d+) ms$",
                       out, re.M)  # fmt: skip
    opened = re.search(r"^lab pool open, http\+ntlm, inprocess \(median of 2\): (\d+\.\d+) ms$", out, re.M)
    ratio = re.search(r"^ratio invoke / \(2 x bare POST\): (\d+\.\d+) \(goal <= 5\.0\)$", out, re.M)
    assert bare and invoke and opened and ratio, out
    bare_ms, invoke_ms, open_ms, shown = (float(m.group(1)) for m in (bare, invoke, opened, ratio))
    assert bare_ms > 0 and invoke_ms > 0 and open_ms > 0, out
    # the ratio a reader compares with the goal is the one the two printed medians give (0.01 ms rounding)
    slack = 0.005 + 0.005 * (invoke_ms + 2 * bare_ms) / (2 * bare_ms**2) + 1e-9
    assert abs(shown - invoke_ms / (2 * bare_ms)) <= slack, out
