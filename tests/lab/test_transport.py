"""The unmodified pypsrp client against the lab, in every transport and auth mode.

What a user relies on: pswrap (and any PSRP script) gets from the lab what a Windows endpoint delivers —
output, non-terminating errors on the error stream of a Completed pipeline, terminating errors as a
Failed pipeline with the ErrorRecord's message, FullyQualifiedErrorId, category and target.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from pypsrp.powershell import PowerShell, PSInvocationState, RunspacePool
from pypsrp.serializer import ObjectMeta

from pswrap.lab import psrp_host
from pswrap.lab.embedded import RunningLab
from tests.lab.conftest import LabFactory, wsman_for

MODES = [("basic", False), ("ntlm", False), ("basic", True), ("ntlm", True)]
MODE_IDS = ["http-basic", "http-ntlm-encrypted", "https-basic", "https-ntlm"]


def run(
    pool: RunspacePool, script: str, params: dict[str, Any] | None = None
) -> tuple[PowerShell, list[Any]]:
    ps = PowerShell(pool)
    ps.add_script(script)
    if params:
        ps.add_parameters(params)
    output = ps.invoke()
    return ps, output


@pytest.fixture(params=MODES, ids=MODE_IDS)
def any_lab(request: pytest.FixtureRequest, start_lab_factory: LabFactory) -> RunningLab:
    auth, https = request.param
    return start_lab_factory(auth=auth, https=https)


def test_pool_open_script_with_parameters_and_close(any_lab: RunningLab) -> None:
    with wsman_for(any_lab.endpoint) as wsman, RunspacePool(wsman) as pool:
        ps, output = run(pool, "# pswrap-step: lab/echo type=room\nparam($Name, $Count)\n",
                         {"Name": "Room 1", "Count": 3, "List": ["a", "b"], "Flag": True})
        assert not ps.had_errors
        assert ps.state == PSInvocationState.COMPLETED
        assert json.loads(output[0]) == {
            "params": {"Name": "Room 1", "Count": 3, "List": ["a", "b"], "Flag": True},
            "choices": {"type": "room"},
        }
        assert len(output) == 1
        assert pool.is_alive()
        shell_id = pool.shell.id
    assert shell_id not in any_lab.server.pools  # Delete closed it on the server


def test_secure_string_after_key_exchange(any_lab: RunningLab) -> None:
    with wsman_for(any_lab.endpoint) as wsman, RunspacePool(wsman) as pool:
        pool.exchange_keys()
        secret = pool.serialize("S3cret-value", ObjectMeta("SS"))
        _, output = run(pool, "# pswrap-step: lab/echo\n", {"Password": secret})
        assert json.loads(output[0])["params"]["Password"] == "S3cret-value"


def test_non_terminating_error_completes_the_pipeline(any_lab: RunningLab) -> None:
    with wsman_for(any_lab.endpoint) as wsman, RunspacePool(wsman) as pool:
        ps, output = run(pool, "# pswrap-step: lab/error\n",
                         {"Message": "soft problem", "ErrorId": "Soft,Lab", "Category": "InvalidData"})
        assert ps.state == PSInvocationState.COMPLETED
        assert ps.had_errors is False  # pypsrp sets it only for a failed pipeline
        assert json.loads(output[0]) == {"ok": True}
        [error] = ps.streams.error
        assert str(error) == "soft problem"
        assert error.fq_error == "Soft,Lab"
        assert error.category == 6  # InvalidData
        assert error.message == "InvalidData: (:) [], RuntimeException"


def test_terminating_error_fails_the_pipeline_with_its_error_record(any_lab: RunningLab) -> None:
    with wsman_for(any_lab.endpoint) as wsman, RunspacePool(wsman) as pool:
        ps, output = run(pool, "# pswrap-step: lab/fail\n", {
            "Message": "The object already exists.", "ErrorId": "AlreadyExists,Lab.NewThing",
            "Category": "ResourceExists", "Target": "room1",
        })
        assert output == []
        assert ps.had_errors is True
        assert ps.state == PSInvocationState.FAILED
        [error] = ps.streams.error
        assert str(error) == "The object already exists."
        assert error.exception.adapted_properties["Message"] == "The object already exists."
        assert error.fq_error == "AlreadyExists,Lab.NewThing"
        assert error.target_name == "room1"
        assert error.target_object == "room1"
        assert error.target_type == "String"
        assert error.category == 20  # [System.Management.Automation.ErrorCategory]::ResourceExists
        assert error.reason == "InvalidOperationException"
        assert error.message == "ResourceExists: (room1:String) [], InvalidOperationException"
        assert error.exception.types == [
            "System.InvalidOperationException", "System.SystemException", "System.Exception", "System.Object",
        ]
        # the pool survives a failed pipeline
        ps, output = run(pool, "# pswrap-step: lab/echo\n", {"X": 1})
        assert json.loads(output[0])["params"] == {"X": 1}


def test_unknown_step_and_unmarked_script_get_command_not_found(lab: RunningLab) -> None:
    # docs/sources.md §7b item 1: Windows PowerShell 5.1's CommandNotFoundException.
    expected = (
        "The term '{0}' is not recognized as the name of a cmdlet, function, script file, or operable "
        "program. Check the spelling of the name, or if a path was included, verify that the path is "
        "correct and try again."
    )
    with wsman_for(lab.endpoint) as wsman, RunspacePool(wsman) as pool:
        ps, _ = run(pool, "# pswrap-step: exo/no-such-step\nparam([string]$Name)\n"
                          "Set-StrictMode -Version 2\nGet-Thing -Name $Name\n")
        assert ps.had_errors
        [error] = ps.streams.error
        assert str(error) == expected.format("Set-StrictMode")
        assert error.fq_error == "CommandNotFoundException"
        assert error.category == 13  # ObjectNotFound
        assert error.message == "ObjectNotFound: (Set-StrictMode:String) [], CommandNotFoundException"
        assert error.exception.types[:2] == [
            "System.Management.Automation.CommandNotFoundException",
            "System.Management.Automation.RuntimeException",
        ]

        ps, _ = run(pool, "<# no marker #>\n$x = 1\nConnect-ExchangeOnline -Organization x")
        assert str(ps.streams.error[0]) == expected.format("Connect-ExchangeOnline")

        ps, _ = run(pool, "# pswrap-step: exo/nothing-here\n# only comments\n")
        assert str(ps.streams.error[0]) == expected.format("exo/nothing-here")


def test_python_exception_in_a_handler_fails_the_pipeline_and_the_server_goes_on(lab: RunningLab) -> None:
    with wsman_for(lab.endpoint) as wsman, RunspacePool(wsman) as pool:
        ps, _ = run(pool, "# pswrap-step: lab/raise\n", {"Message": "handler bug"})
        assert ps.had_errors
        assert str(ps.streams.error[0]) == "handler bug"
        ps, output = run(pool, "# pswrap-step: lab/session\n")
        assert json.loads(output[0]) == {"calls": 1}


def test_session_state_is_per_pool_and_kept_between_pipelines(lab: RunningLab) -> None:
    with wsman_for(lab.endpoint) as w1, RunspacePool(w1) as pool1, \
            wsman_for(lab.endpoint) as w2, RunspacePool(w2) as pool2:
        calls = [json.loads(run(pool1, "# pswrap-step: lab/session\n")[1][0])["calls"] for _ in range(3)]
        assert calls == [1, 2, 3]
        assert json.loads(run(pool2, "# pswrap-step: lab/session\n")[1][0])["calls"] == 1


def _pipeline_states(pool: RunspacePool, ps: PowerShell) -> list[int]:
    """The PipelineState messages the server has for this pipeline (one Receive, as a client would send)."""
    from pypsrp.messages import MessageType

    raw = pool.shell.receive("stdout", command_id=ps._command_id, timeout=5)[2]["stdout"]
    return [m.data.state for m in pool._fragmenter.defragment(raw)
            if m.message_type == MessageType.PIPELINE_STATE]


def _server_pipeline(lab: RunningLab, pool: RunspacePool, ps: PowerShell) -> Any:
    return lab.server.pools[pool.shell.id.upper()].runs[uuid.UUID(str(ps.id))]


def test_stop_ends_a_running_pipeline(lab: RunningLab) -> None:
    with wsman_for(lab.endpoint) as wsman, RunspacePool(wsman) as pool:
        ps = PowerShell(pool)
        ps.add_script("# pswrap-step: lab/sleep\n").add_parameters({"Seconds": 30})
        ps.begin_invoke()
        server_run = _server_pipeline(lab, pool, ps)
        deadline = time.monotonic() + 10
        while server_run.pipe.state.name != "Running":  # the handler is running
            assert time.monotonic() < deadline
            time.sleep(0.01)
        ps.stop()
        assert ps.state == PSInvocationState.STOPPED
        assert server_run.stop_event.is_set()  # the handler was told (lab/sleep returns at once)
        assert _pipeline_states(pool, ps) == [PSInvocationState.STOPPED]
        # the pool is usable afterwards
        _, output = run(pool, "# pswrap-step: lab/echo\n", {"After": "stop"})
        assert json.loads(output[0])["params"] == {"After": "stop"}


def test_stop_before_the_pipeline_started_still_ends_it_stopped(
    lab: RunningLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ctrl+C can reach the server before its worker took the pipeline; hold the worker to get there.
    held: list[Callable[[], None]] = []
    monkeypatch.setattr(psrp_host, "_WORKERS", type("Held", (), {"submit": staticmethod(held.append)})())
    with wsman_for(lab.endpoint) as wsman, RunspacePool(wsman) as pool:
        ps = PowerShell(pool)
        ps.add_script("# pswrap-step: lab/echo\n")
        ps.begin_invoke()
        ps.stop()
        [job] = held
        job()  # the worker comes late: it must not run the step
        assert _server_pipeline(lab, pool, ps).pipe.state.name == "Stopped"
        assert _pipeline_states(pool, ps) == [PSInvocationState.STOPPED]


def test_poll_invoke_sees_completion_of_a_slow_step(lab: RunningLab) -> None:
    with wsman_for(lab.endpoint) as wsman, RunspacePool(wsman) as pool:
        ps = PowerShell(pool)
        ps.add_script("# pswrap-step: lab/sleep\n").add_parameters({"Seconds": 0.3})
        ps.begin_invoke()
        ps.poll_invoke()
        output = ps.end_invoke()
        assert json.loads(output[0]) == {"completed": True}


@pytest.mark.parametrize(("auth", "https"), MODES[:2], ids=MODE_IDS[:2])
def test_large_script_and_large_output_span_several_envelopes(
    auth: str, https: bool, start_lab_factory: LabFactory
) -> None:
    running = start_lab_factory(auth=auth, https=https)
    filler = "# " + ("x" * 200) + "\n"
    script = "# pswrap-step: lab/emit\n" + filler * 2000  # ~400 KB: several Send fragments
    with wsman_for(running.endpoint, max_envelope_size=51200) as wsman, RunspacePool(wsman) as pool:
        ps, output = run(pool, script, {"Count": 30, "Size": 20000})  # ~600 KB out
        assert not ps.had_errors
        assert json.loads(output[0]) == {"items": ["x" * 20000] * 30}
    requests = running.store.pending_requests()
    assert requests["Send"] >= 2
    assert requests["Receive"] >= 3


def test_two_clients_at_once(lab: RunningLab) -> None:
    results: dict[int, Any] = {}
    errors: list[BaseException] = []

    def client(n: int) -> None:
        try:
            with wsman_for(lab.endpoint) as wsman, RunspacePool(wsman) as pool:
                script = "# pswrap-step: lab/echo\n"
                outs = [json.loads(run(pool, script, {"N": n, "I": i})[1][0]) for i in range(5)]
                results[n] = [o["params"] for o in outs]
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    # one client holds a slow pipeline while the others run theirs
    with wsman_for(lab.endpoint) as wsman, RunspacePool(wsman) as pool:
        slow = PowerShell(pool)
        slow.add_script("# pswrap-step: lab/sleep\n").add_parameters({"Seconds": 1})
        slow.begin_invoke()
        threads = [threading.Thread(target=client, args=(n,)) for n in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        slow.end_invoke()
        assert json.loads(slow.output[0]) == {"completed": True}
    assert not errors
    assert results == {n: [{"N": n, "I": i} for i in range(5)] for n in range(2)}


def test_pipelines_of_one_pool_run_at_once(lab: RunningLab) -> None:
    with wsman_for(lab.endpoint) as wsman, RunspacePool(wsman, max_runspaces=2) as pool:
        slow = PowerShell(pool)
        slow.add_script("# pswrap-step: lab/sleep\n").add_parameters({"Seconds": 60})
        slow.begin_invoke()
        quick = PowerShell(pool)
        quick.add_script("# pswrap-step: lab/echo\n").add_parameters({"While": "slow runs"})
        quick.begin_invoke()
        quick.end_invoke()  # does not wait for the 60 s step
        assert json.loads(quick.output[0])["params"] == {"While": "slow runs"}
        assert _server_pipeline(lab, pool, slow).pipe.state.name == "Running"
        slow.stop()


def test_pool_liveness(lab: RunningLab) -> None:
    with wsman_for(lab.endpoint) as wsman:
        pool = RunspacePool(wsman)
        pool.open()
        assert pool.is_alive() is True
        lab.server.kill(pool.shell.id)
        assert pool.is_alive() is False


def test_execute_ps_style_invoke_expression_is_dispatched(lab: RunningLab) -> None:
    from pypsrp.client import Client

    ep = lab.endpoint
    client = Client(ep.host, port=ep.port, username=ep.username, password=ep.password, auth="ntlm", ssl=False,
                    path="wsman", operation_timeout=5)
    # pypsrp's execute_ps sends `Invoke-Expression -Command <script> | Out-String -Stream`
    output, _streams, had_errors = client.execute_ps("# pswrap-step: lab/session\n")
    assert had_errors is False
    assert json.loads(output) == {"calls": 1}


def test_closing_a_pipeline_forgets_it_on_the_server(lab: RunningLab) -> None:
    with wsman_for(lab.endpoint) as wsman, RunspacePool(wsman) as pool:
        with PowerShell(pool) as ps:  # close() sends the Terminate signal
            ps.add_script("# pswrap-step: lab/echo\n")
            ps.invoke()
            assert len(lab.server.pools[pool.shell.id].runs) == 1
        assert lab.server.pools[pool.shell.id].runs == {}


def test_receive_long_poll_times_out_and_pypsrp_polls_again(start_lab_factory: LabFactory) -> None:
    # WinRM answers a Receive that has nothing to deliver within OperationTimeout with the timeout fault
    # (2150858793); pypsrp silently sends another Receive (docs/sources.md, WS-Management notes).
    lab = start_lab_factory(auth="basic")
    with wsman_for(lab.endpoint, operation_timeout=1) as wsman, RunspacePool(wsman) as pool:
        before = lab.store.pending_requests().get("Receive", 0)
        _, output = run(pool, "# pswrap-step: lab/sleep\n", {"Seconds": 2.5})
        assert json.loads(output[0]) == {"completed": True}
        assert lab.store.pending_requests()["Receive"] - before >= 3


@pytest.mark.parametrize(("exception_type", "expected"), [
    ("System.Exception", ["System.Exception", "System.Object"]),
    ("System.ArgumentException",
     ["System.ArgumentException", "System.SystemException", "System.Exception", "System.Object"]),
    ("System.Management.Automation.RuntimeException",
     ["System.Management.Automation.RuntimeException", "System.SystemException", "System.Exception",
      "System.Object"]),
    ("System.Management.Automation.ParameterBindingException",
     ["System.Management.Automation.ParameterBindingException",
      "System.Management.Automation.RuntimeException", "System.SystemException", "System.Exception",
      "System.Object"]),
])
def test_error_records_carry_the_exception_type_hierarchy_of_net(
    exception_type: str, expected: list[str], lab: RunningLab
) -> None:
    # A client that checks `-is [System.Management.Automation.RuntimeException]` must get .NET's answer.
    with wsman_for(lab.endpoint) as wsman, RunspacePool(wsman) as pool:
        ps, _ = run(pool, "# pswrap-step: lab/fail\n", {"Message": "m", "ExceptionType": exception_type})
        assert ps.streams.error[0].exception.types == expected
