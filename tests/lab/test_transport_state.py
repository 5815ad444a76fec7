"""The lab's state file, its request counts, and the fault grammar.

A user relies on: `lab show` working while a lab serves, no lost or corrupted change when two processes
write the world, a restarted lab keeping its world, and faults firing exactly as specified.
"""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from pypsrp.powershell import PowerShell, RunspacePool

from pswrap.lab import faults
from pswrap.lab.config import resolve_credentials
from pswrap.lab.store import Store
from tests.lab.conftest import LabFactory, wsman_for


def test_two_processes_hammering_transactions_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "world.json"
    Store(path).reset()
    worker = textwrap.dedent(
        f"""
        from pathlib import Path
        from pswrap.lab.store import Store
        store = Store(Path({str(path)!r}))
        for _ in range(150):
            with store.transaction() as world:
                world["counter"] = world.get("counter", 0) + 1
                world.setdefault("writers", []).append(1)
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", worker]) for _ in range(2)]
    reader = Store(path)
    bad: list[Exception] = []
    while any(p.poll() is None for p in procs):
        try:
            reader.read()  # never sees a half-written file
        except Exception as exc:  # pragma: no cover - reported below
            bad.append(exc)
    assert [p.wait(60) for p in procs] == [0, 0]
    world = reader.read()
    assert world["counter"] == 300
    assert len(world["writers"]) == 300
    assert not bad
    assert not list(tmp_path.glob("*.tmp"))


def test_a_failed_transaction_changes_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path / "world.json")
    with store.transaction() as world:
        world["kept"] = 1
    with pytest.raises(RuntimeError), store.transaction() as world:
        world["kept"] = 2
        raise RuntimeError("handler failed mid-change")
    assert store.read()["kept"] == 1


def test_request_counts_are_merged_when_written_not_per_request(tmp_path: Path) -> None:
    store = Store(tmp_path / "world.json")
    store.reset()
    before = store.mtime_ns()
    store.count_request("Receive")
    store.count_request("Receive")
    store.count_request("Command")
    assert store.mtime_ns() == before  # counting does not write
    store.flush_stats()
    assert store.read()["stats"]["requests"] == {"Receive": 2, "Command": 1}
    store.count_request("Receive")
    with store.transaction() as world:
        world["x"] = 1
    assert store.read()["stats"]["requests"] == {"Receive": 3, "Command": 1}


def test_a_restarted_lab_keeps_its_world_and_counts(start_lab_factory: LabFactory, lab_state: Path) -> None:
    first = start_lab_factory(auth="basic")
    with wsman_for(first.endpoint) as wsman, RunspacePool(wsman) as pool:
        ps = PowerShell(pool)
        ps.add_script("# pswrap-step: lab/world-set\n").add_parameters({"Key": "room", "Value": "Room 42"})
        ps.invoke()
    first.stop()
    counts = json.loads(lab_state.read_text())["stats"]["requests"]
    assert counts["Create"] == 1 and counts["Command"] == 1 and counts["Delete"] == 1

    second = start_lab_factory(auth="basic")
    with wsman_for(second.endpoint) as wsman, RunspacePool(wsman) as pool:
        ps = PowerShell(pool)
        ps.add_script("# pswrap-step: lab/world-get\n").add_parameters({"Key": "room"})
        assert json.loads(ps.invoke()[0]) == "Room 42"
    second.stop()
    assert json.loads(lab_state.read_text())["stats"]["requests"]["Create"] == 2


def test_lab_show_while_serving_sees_the_world(start_lab_factory: LabFactory, lab_state: Path) -> None:
    lab = start_lab_factory(auth="ntlm")
    with wsman_for(lab.endpoint) as wsman, RunspacePool(wsman) as pool:
        ps = PowerShell(pool)
        ps.add_script("# pswrap-step: lab/world-set\n").add_parameters({"Key": "k", "Value": [1, 2]})
        ps.invoke()
        out = subprocess.run([sys.executable, "-m", "pswrap", "lab", "show", "--state", str(lab_state)],
                             capture_output=True, text=True, timeout=60, check=True).stdout
    world = json.loads(out)
    assert world["lab"] == {"k": [1, 2]}
    assert world["stats"]["requests"]["Command"] >= 1  # merged when the handler wrote the world


def test_generated_credentials_are_stored_private_and_reused(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PSWRAP_LAB_USER", raising=False)
    monkeypatch.delenv("PSWRAP_LAB_PASSWORD", raising=False)
    state = tmp_path / "lab" / "world.json"
    creds, source = resolve_credentials(state)
    stored = tmp_path / "lab" / "lab-credentials.json"
    assert "generated" in source and str(stored) in source
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    again, source2 = resolve_credentials(state)
    assert again == creds and "from" in source2
    monkeypatch.setenv("PSWRAP_LAB_USER", "ops")
    monkeypatch.setenv("PSWRAP_LAB_PASSWORD", "from-env")
    env_creds, env_source = resolve_credentials(state)
    assert (env_creds.username, env_creds.password) == ("ops", "from-env")
    assert "PSWRAP_LAB_PASSWORD" in env_source


# --- the fault grammar -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "kind", "target", "arg", "nth", "plus", "rate"),
    [
        ("http500", "http500", None, None, None, False, None),
        ("http500@1", "http500", None, None, 1, False, None),
        ("drop:Command@2+", "drop", "Command", None, 2, True, None),
        ("slow=1.5", "slow", None, "1.5", None, False, None),
        ("slow:Receive=2%0.25", "slow", "Receive", "2", None, False, 0.25),
        ("kill-pool", "kill-pool", None, None, None, False, None),
        ("throttle:exo/new-mailbox@1", "throttle", "exo/new-mailbox", None, 1, False, None),
        ("sync-busy%0.5", "sync-busy", None, None, None, False, 0.5),
        ("fail:ad/new-user=Access is denied", "fail", "ad/new-user", "Access is denied", None, False, None),
        ("error:exo/find-mailbox=gone@3", "error", "exo/find-mailbox", "gone", 3, False, None),
        ("delay:sync/start-cycle=30", "delay", "sync/start-cycle", "30", None, False, None),
    ],
)
def test_fault_specs_parse(spec: str, kind: str, target: str | None, arg: str | None, nth: int | None,
                           plus: bool, rate: float | None) -> None:
    fault = faults.parse(spec)
    assert (fault.kind, fault.target, fault.arg, fault.nth, fault.from_nth_on, fault.rate) == (
        kind, target, arg, nth, plus, rate)


@pytest.mark.parametrize("spec", ["boom", "http500@0", "slow", "slow=abc", "fail", "delay:x/y", "http500%2",
                                  "http500@x"])
def test_bad_fault_specs_are_refused_with_the_grammar(spec: str) -> None:
    with pytest.raises(faults.FaultSpecError) as info:
        faults.parse(spec)
    assert spec in str(info.value)


def test_nth_and_from_nth_counting() -> None:
    fs = faults.FaultSet(["throttle:exo/new-mailbox@2", "fail:ad/new-user@2+"])
    assert [bool(fs.take("throttle", "exo/new-mailbox")) for _ in range(4)] == [False, True, False, False]
    assert [bool(fs.take("fail", "ad/new-user")) for _ in range(4)] == [False, True, True, True]
    assert fs.take("throttle", "exo/other") is None  # another step does not count
    assert fs.fired == {"throttle:exo/new-mailbox@2": 1, "fail:ad/new-user@2+": 3}


def test_untargeted_step_fault_matches_every_step() -> None:
    fs = faults.FaultSet(["throttle"])
    assert fs.take("throttle", "exo/new-mailbox") is not None
    assert fs.take("throttle", "exo/set-mailbox") is not None
    assert fs.take("sync-busy", "sync/start-cycle") is None


def test_rate_is_reproducible_with_a_seed() -> None:
    def draws(seed: str) -> list[bool]:
        fs = faults.FaultSet(["sync-busy%0.5"], seed=seed)
        return [fs.take("sync-busy", "sync/start-cycle") is not None for _ in range(40)]

    assert draws("42") == draws("42")
    assert 5 < sum(draws("42")) < 35
    assert draws("42") != draws("43")


def test_handlers_take_step_faults_of_the_lab_running_them() -> None:
    assert faults.take("fail", "ad/new-user") is None  # outside a lab: never fires
    fs = faults.FaultSet(["fail:ad/new-user=denied@1"])
    seen: list[faults.Fault | None] = []

    def handler_thread() -> None:
        with faults.applied(fs):
            seen.append(faults.take("fail", "ad/new-user"))
            seen.append(faults.take("fail", "ad/new-user"))

    t = threading.Thread(target=handler_thread)
    t.start()
    t.join()
    assert seen[0] is not None and seen[0].arg == "denied"
    assert seen[1] is None


def test_a_restarted_https_lab_keeps_its_ca(start_lab_factory: LabFactory) -> None:
    # A client configured once with the CA path keeps validating the lab after a restart.
    first = start_lab_factory(auth="basic", https=True)
    assert first.endpoint.ca_path is not None
    ca = first.endpoint.ca_path.read_bytes()
    first.stop()
    second = start_lab_factory(auth="basic", https=True)
    assert second.endpoint.ca_path == first.endpoint.ca_path
    assert second.endpoint.ca_path.read_bytes() == ca
    with wsman_for(second.endpoint) as wsman, RunspacePool(wsman) as pool:
        ps = PowerShell(pool)
        ps.add_script("# pswrap-step: lab/echo\n").add_parameters({"Over": "tls"})
        assert json.loads(ps.invoke()[0])["params"] == {"Over": "tls"}
