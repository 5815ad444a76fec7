"""Transport faults, authentication failures and bad requests, as an unmodified pypsrp client sees them.

Deterministic faults (`@N`) let pswrap's retry tests count attempts; these tests pin down what each
fault looks like from the client side, and that the lab goes on serving afterwards.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from pathlib import Path

import pytest
import requests
from pypsrp.exceptions import AuthenticationError, WSManFaultError
from pypsrp.powershell import PowerShell, RunspacePool

from pswrap.lab.embedded import RunningLab
from tests.lab.conftest import BackgroundPoll, LabFactory, wsman_for

ECHO = "# pswrap-step: lab/echo\n"


def invoke(pool: RunspacePool, script: str = ECHO, **params: object) -> list[object]:
    ps = PowerShell(pool)
    ps.add_script(script)
    if params:
        ps.add_parameters(params)
    return list(ps.invoke())


def echoed(pool: RunspacePool, **params: object) -> object:
    """The parameters lab/echo received: the reply to this very call, not merely some output."""
    return json.loads(str(invoke(pool, **params)[0]))["params"]


def test_http500_on_the_first_request_fails_pool_open_once(start_lab_factory: LabFactory) -> None:
    lab = start_lab_factory(auth="basic", faults=["http500@1"])
    with wsman_for(lab.endpoint) as wsman:
        with pytest.raises(WSManFaultError) as info:
            RunspacePool(wsman).open()
        assert "http500" in str(info.value.reason)
        with RunspacePool(wsman) as pool:  # the retry succeeds
            assert json.loads(invoke(pool, X=1)[0])["params"] == {"X": 1}
    assert lab.faults.fired == {"http500@1": 1}
    assert lab.store.pending_requests()["Create"] == 2


def test_http500_on_the_nth_command_from_then_on(start_lab_factory: LabFactory) -> None:
    lab = start_lab_factory(auth="ntlm", faults=["http500:Command@2+"])
    with wsman_for(lab.endpoint) as wsman, RunspacePool(wsman) as pool:
        assert echoed(pool, Call="ok") == {"Call": "ok"}
        for _ in range(2):
            with pytest.raises(WSManFaultError):
                invoke(pool)
    assert lab.faults.fired == {"http500:Command@2+": 2}


def test_drop_closes_the_connection_without_a_reply(start_lab_factory: LabFactory) -> None:
    lab = start_lab_factory(auth="basic", faults=["drop:Command@1"])
    with wsman_for(lab.endpoint) as wsman, RunspacePool(wsman) as pool:
        with pytest.raises(requests.exceptions.ConnectionError):
            invoke(pool)
        # basic auth re-authenticates on a new connection: the next call works
        assert json.loads(invoke(pool, After="drop")[0])["params"] == {"After": "drop"}
    assert lab.faults.fired == {"drop:Command@1": 1}


def test_slow_delays_the_reply(start_lab_factory: LabFactory) -> None:
    lab = start_lab_factory(auth="basic", faults=["slow:Command=0.8@1"])
    with wsman_for(lab.endpoint) as wsman, RunspacePool(wsman) as pool:
        started = time.monotonic()
        invoke(pool)
        slow = time.monotonic() - started
        invoke(pool)
    assert slow >= 0.8
    assert lab.faults.fired == {"slow:Command=0.8@1": 1}  # the second call was not delayed


def test_slow_beyond_the_client_read_timeout_is_a_timeout(start_lab_factory: LabFactory) -> None:
    lab = start_lab_factory(auth="basic", faults=["slow:Command=3@1"])
    with wsman_for(lab.endpoint) as wsman, RunspacePool(wsman) as pool:
        pool.shell.wsman.transport.read_timeout = 1
        with pytest.raises(requests.exceptions.ReadTimeout):
            invoke(pool)


def test_kill_pool_makes_the_shell_unknown(start_lab_factory: LabFactory) -> None:
    lab = start_lab_factory(auth="ntlm", faults=["kill-pool:Command@2"])
    with wsman_for(lab.endpoint) as wsman:
        pool = RunspacePool(wsman)
        pool.open()
        assert echoed(pool, Call="ok") == {"Call": "ok"}
        with pytest.raises(WSManFaultError) as info:
            invoke(pool)
        # the fault Windows gives for a shell it does not know (ERROR_WSMAN... 0x8033805B)
        assert info.value.code == 2150858843
        assert "the shell was not found on the server" in str(info.value.reason)
        assert pool.is_alive() is False
    assert lab.server.pools == {}


def test_kill_pool_on_liveness_check(start_lab_factory: LabFactory) -> None:
    lab = start_lab_factory(auth="basic", faults=["kill-pool:Get@1"])
    with wsman_for(lab.endpoint) as wsman:
        pool = RunspacePool(wsman)
        pool.open()
        assert pool.is_alive() is False
        with pytest.raises(WSManFaultError):
            invoke(pool)  # the shell is gone for every later request too


def test_random_faults_at_rate_one_always_fire(start_lab_factory: LabFactory) -> None:
    lab = start_lab_factory(auth="basic", faults=["http500:Command%1.0"])
    with wsman_for(lab.endpoint) as wsman, RunspacePool(wsman) as pool:
        for _ in range(3):
            with pytest.raises(WSManFaultError):
                invoke(pool)
    assert lab.faults.fired == {"http500:Command%1.0": 3}


def test_faults_from_the_environment(
    start_lab_factory: LabFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PSWRAP_LAB_FAULTS", "http500:Command@1; kill-pool:Get@1")
    lab = start_lab_factory(auth="basic")
    with wsman_for(lab.endpoint) as wsman:
        pool = RunspacePool(wsman)
        pool.open()
        with pytest.raises(WSManFaultError):
            invoke(pool)
        assert pool.is_alive() is False
    assert lab.faults.fired == {"http500:Command@1": 1, "kill-pool:Get@1": 1}


def test_faults_in_the_world_apply_to_a_running_lab(start_lab_factory: LabFactory) -> None:
    lab = start_lab_factory(auth="basic")
    with wsman_for(lab.endpoint) as wsman, RunspacePool(wsman) as pool:
        assert echoed(pool, Call="ok") == {"Call": "ok"}
        with lab.store.transaction() as world:
            world["faults"] = ["http500:Command@1"]
        with pytest.raises(WSManFaultError):
            invoke(pool)
        assert echoed(pool, Call="ok") == {"Call": "ok"}  # @1 fired once


def test_wrong_password_is_401(start_lab_factory: LabFactory) -> None:
    for auth in ("basic", "ntlm"):
        lab = start_lab_factory(auth=auth)
        with wsman_for(lab.endpoint, password="wrong") as wsman, pytest.raises(AuthenticationError):
            RunspacePool(wsman).open()
        with wsman_for(lab.endpoint, username="someone-else") as wsman, pytest.raises(AuthenticationError):
            RunspacePool(wsman).open()


def test_wrong_password_is_http_401_for_a_plain_client(start_lab_factory: LabFactory) -> None:
    lab = start_lab_factory(auth="basic")
    reply = requests.post(lab.endpoint.url, data=b"<x/>", auth=("lab-admin", "wrong"), timeout=5)
    assert reply.status_code == 401
    assert reply.headers["WWW-Authenticate"].startswith("Basic")


def test_negotiate_client_default_falls_back_to_ntlm(lab: RunningLab) -> None:
    # pypsrp's default auth is "negotiate"; without Kerberos it negotiates NTLM, as against Windows.
    with wsman_for(lab.endpoint, auth="negotiate") as wsman, RunspacePool(wsman) as pool:
        assert json.loads(invoke(pool, X="n")[0])["params"] == {"X": "n"}


def test_https_without_the_ca_is_refused(start_lab_factory: LabFactory) -> None:
    lab = start_lab_factory(auth="basic", https=True)
    assert lab.endpoint.ca_path is not None and lab.endpoint.ca_path.exists()
    with wsman_for(lab.endpoint, cert_validation=True) as wsman, pytest.raises(requests.exceptions.SSLError):
        RunspacePool(wsman).open()
    with wsman_for(lab.endpoint) as wsman, RunspacePool(wsman) as pool:  # with the CA: fine
        assert echoed(pool, Call="ok") == {"Call": "ok"}


def test_invalid_wsman_body_gets_a_fault_and_the_server_goes_on(start_lab_factory: LabFactory) -> None:
    lab = start_lab_factory(auth="basic")
    auth = ("lab-admin", lab.endpoint.password)
    headers = {"Content-Type": "application/soap+xml;charset=UTF-8"}
    for body in (b"<not xml", b"<a>plain xml, not SOAP</a>", base64.b64encode(b"junk")):
        reply = requests.post(lab.endpoint.url, data=body, auth=auth, headers=headers, timeout=5)
        assert reply.status_code == 500
        assert "WSManFault" in reply.text
        assert 'Code="2150858817"' in reply.text
    with wsman_for(lab.endpoint) as wsman, RunspacePool(wsman) as pool:
        assert echoed(pool, Call="ok") == {"Call": "ok"}


def test_request_for_an_unknown_shell_gets_the_shell_not_found_fault(lab: RunningLab) -> None:
    with wsman_for(lab.endpoint) as wsman:
        pool = RunspacePool(wsman)
        pool.open()
        lab.server.kill(pool.shell.id)
        with pytest.raises(WSManFaultError) as info:
            invoke(pool)
        assert info.value.code == 2150858843


def test_two_ntlm_labs_in_one_process_keep_their_own_passwords(
    start_lab_factory: LabFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pyspnego's NTLM acceptor reads its account from the process-wide NTLM_USER_FILE; each lab must
    # still accept only its own password for the same user name, whichever lab authenticated first.
    monkeypatch.delenv("NTLM_USER_FILE", raising=False)
    first = start_lab_factory(auth="ntlm", password="first-Passw0rd", state_path=tmp_path / "a" / "w.json")
    second = start_lab_factory(auth="ntlm", password="second-Passw0rd", state_path=tmp_path / "b" / "w.json")
    assert first.endpoint.username == second.endpoint.username
    for lab in (second, first, second):
        with wsman_for(lab.endpoint) as wsman, RunspacePool(wsman) as pool:
            assert echoed(pool, Call="ok") == {"Call": "ok"}
    for lab, other in ((first, second), (second, first)):
        with wsman_for(lab.endpoint, password=other.endpoint.password) as wsman, \
                pytest.raises(AuthenticationError):
            RunspacePool(wsman).open()
    third = start_lab_factory(auth="ntlm", username="other-admin", password="third-Passw0rd",
                              state_path=tmp_path / "c" / "w.json")
    with wsman_for(first.endpoint, username="other-admin", password="third-Passw0rd") as wsman, \
            pytest.raises(AuthenticationError):
        RunspacePool(wsman).open()  # another lab's account is not this lab's
    with wsman_for(third.endpoint) as wsman, RunspacePool(wsman) as pool:
        assert echoed(pool, Call="ok") == {"Call": "ok"}
    assert "NTLM_USER_FILE" not in os.environ  # set only for the length of one acceptor step


def test_two_ntlm_labs_authenticating_at_the_same_time(start_lab_factory: LabFactory, tmp_path: Path) -> None:
    labs = [
        start_lab_factory(auth="ntlm", password=f"Passw0rd-{n}", state_path=tmp_path / str(n) / "w.json")
        for n in range(2)
    ]
    failures: list[BaseException] = []

    def client(lab: RunningLab) -> None:
        try:
            for _ in range(3):  # a new connection, hence a new NTLM handshake, each time
                with wsman_for(lab.endpoint) as wsman, RunspacePool(wsman) as pool:
                    assert echoed(pool, Call="ok") == {"Call": "ok"}
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=client, args=(lab,)) for lab in labs for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures
    assert all(lab.store.pending_requests()["Create"] == 6 for lab in labs)


def test_a_receive_waiting_on_a_shell_that_goes_away_gets_the_fault_at_once(lab: RunningLab) -> None:
    with wsman_for(lab.endpoint, operation_timeout=30, read_timeout=40) as wsman:
        pool = RunspacePool(wsman)
        pool.open()
        ps = PowerShell(pool)
        ps.add_script(ECHO.replace("lab/echo", "lab/sleep")).add_parameters({"Seconds": 60})
        ps.begin_invoke()
        receives = lab.store.pending_requests().get("Receive", 0)
        started = time.monotonic()
        poll = BackgroundPoll(ps)
        deadline = started + 10
        while lab.store.pending_requests().get("Receive", 0) == receives:  # the long poll has arrived
            assert time.monotonic() < deadline
            time.sleep(0.01)
        lab.server.kill(pool.shell.id.upper())
        assert poll.join(20)
        # woken by the kill, not by the end of its 30 s OperationTimeout
        assert time.monotonic() - started < 15
        [error] = poll.errors
        assert isinstance(error, WSManFaultError) and error.code == 2150858843
