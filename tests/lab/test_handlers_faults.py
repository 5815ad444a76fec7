"""Step faults (the lab's fault grammar, pswrap.lab.faults): Exchange throttling, sync busy, a step failing
fatally or with a non-terminating error, a step running N seconds (honouring stop); deterministic on the
Nth call, or at a rate."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.lab.world_harness import Harness, step_faults


@pytest.fixture
def lab(tmp_path: Path) -> Harness:
    harness = Harness(tmp_path / "world.json")
    harness.connect_exo()
    harness.connect_graph()
    return harness


def test_exo_throttle_on_the_nth_call(lab: Harness) -> None:
    """§7b item 7, CLOSEST only (no verbatim surfaced 429): the EXO REST error envelope of
    office-docs-powershell#4333 with HttpStatusCode=429 and code TooManyRequests, category ProtocolError."""
    with step_faults("throttle:exo/find-mailbox@2") as faults:
        assert lab.run("exo/find-mailbox", {"Identity": "x"}, pool="exo")["found"] is False
        error = lab.fails("exo/find-mailbox", {"Identity": "x"}, pool="exo")
        assert lab.run("exo/find-mailbox", {"Identity": "x"}, pool="exo")["found"] is False
    assert error.message.startswith("Error while querying REST service. HttpStatusCode=429 ErrorMessage=")
    assert '"code":"TooManyRequests"' in error.message
    assert error.category == "ProtocolError"
    assert error.fqid.endswith("Microsoft.Exchange.Management.RestApiClient.GetExoMailbox")
    assert faults.fired == {"throttle:exo/find-mailbox@2": 1}


def test_throttle_without_step_hits_every_cloud_step_and_graph_too(lab: Harness) -> None:
    """`throttle` with no step throttles Exchange Online and Graph steps (Graph: 429 TooManyRequests in the
    SDK layout of §7b items 10/11, closest), never the connect or on-prem steps."""
    with step_faults("throttle"):
        assert "HttpStatusCode=429" in lab.fails("exo/find-recipients", {"Alias": "a"}, pool="exo").message
        graph = lab.fails("graph/get-user", {"UserId": "x"}, pool="graph")
        assert "Status: 429 (TooManyRequests)" in graph.message
        assert graph.fqid == "TooManyRequests,Microsoft.Graph.PowerShell.Cmdlets.GetMgUser_Get"
        assert lab.connect_exo()["already_connected"] is True
        assert lab.run("sync/get-settings", pool="sync")["staging_mode"] is False


def test_sync_busy_fault(lab: Harness) -> None:
    """§7b item 12 (verbatim, easy365manager.com): "Connector: <tenant>.onmicrosoft.com - AAD is busy."."""
    with step_faults("sync-busy@1"):
        error = lab.fails("sync/start-cycle", pool="sync", policy="delta")
        assert lab.run("sync/start-cycle", pool="sync", policy="delta") == {"result": "Success"}
    assert error.message.startswith(
        "System.InvalidOperationException: Connector: labtenant.onmicrosoft.com - AAD is busy.\r\n"
        "   at Microsoft.MetadirectoryServices.Scheduler.Scheduler.StartSyncCycle"
    )
    assert error.exception_type == "System.InvalidOperationException"


def test_fail_step_with_and_without_message(lab: Harness) -> None:
    """`fail:STEP[=MESSAGE]`: a terminating error; the world is not changed."""
    with step_faults("fail:exo/new-mailbox=Access is denied.@1"):
        error = lab.fails(
            "exo/new-mailbox",
            {"Name": "r", "Alias": "r", "DisplayName": "r", "PrimarySmtpAddress": "r@lab.example"},
            pool="exo",
            type="room",
        )
    assert error.message == "Access is denied."
    assert lab.world()["exo"]["mailboxes"] == []
    with step_faults("fail:ad/get-domain"):
        default = lab.fails("ad/get-domain", pool="ad")
    assert "injected failure in step ad/get-domain" in default.message


def test_error_step_is_non_terminating(lab: Harness) -> None:
    """`error:STEP[=MESSAGE]`: a non-terminating error on the error stream; the step still completes."""
    with step_faults("error:sync/get-settings=Something odd"):
        settings = lab.run("sync/get-settings", pool="sync")
    assert settings["anchor_attribute"] == "mS-DS-ConsistencyGuid"
    (error,) = lab.errors
    assert error.message == "Something odd" and error.terminating is False


def test_delay_runs_the_step_that_long(lab: Harness) -> None:
    """`delay:STEP=SECONDS`: the step takes that long, then completes."""
    with step_faults("delay:sync/get-scheduler=0.3"):
        started = time.monotonic()
        lab.run("sync/get-scheduler", pool="sync")
        assert time.monotonic() - started >= 0.3


def test_delay_honours_stop(lab: Harness) -> None:
    """A stopped pipeline ends the delay early with PowerShell's "The pipeline has been stopped."."""
    with step_faults("delay:sync/get-scheduler=30"):
        started = time.monotonic()
        error = lab.fails("sync/get-scheduler", pool="sync", stopped=lambda: time.monotonic() - started > 0.1)
    # Only a stop ends a 30 s delay with this record; an unstopped delay would complete without error.
    assert error.message == "The pipeline has been stopped."


def test_rate_faults_are_random_but_seeded(lab: Harness) -> None:
    """`%RATE`: at random with that probability (seeded); rate 1 always fires, 0 never."""
    with step_faults("throttle:exo/find-mailbox%1", "throttle:graph/get-user%0"):
        assert "HttpStatusCode=429" in lab.fails("exo/find-mailbox", {"Identity": "x"}, pool="exo").message
        assert lab.run("graph/get-user", {"UserId": "x"}, pool="graph")["found"] is False
