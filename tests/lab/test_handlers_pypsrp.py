"""The simulated world through the wire: pswrap's rendered templates sent by the unmodified pypsrp client
to an in-process lab (start_lab), as a real Windows endpoint would receive them. A handful of the
behaviours tested directly in test_handlers_* / test_world_*, end to end."""

from __future__ import annotations

import json
import uuid
from typing import Any

from pypsrp.powershell import PowerShell, PSInvocationState, RunspacePool

from pswrap.lab.embedded import RunningLab
from pswrap.lab.world import LAB_DEFAULTS, advance, immutable_id
from pswrap.remote.invoke import wire_value
from pswrap.render.engine import render
from pswrap.steps import get
from tests.lab.conftest import LabFactory, wsman_for

DC = LAB_DEFAULTS.domain_controller
EXO_CONNECT = {
    "AppId": LAB_DEFAULTS.app_id,
    "Organization": LAB_DEFAULTS.tenant_domain,
    "CertificateThumbprint": LAB_DEFAULTS.certificate_thumbprint,
}
GRAPH_CONNECT = {
    "ClientId": LAB_DEFAULTS.app_id,
    "TenantId": LAB_DEFAULTS.tenant_id,
    "CertificateThumbprint": LAB_DEFAULTS.certificate_thumbprint,
}


def call(
    pool: RunspacePool, step_id: str, params: dict[str, Any] | None = None, **choices: str
) -> PowerShell:
    """Render the step's real template and run it with its values as PSRP parameters."""
    script = render(step_id, choices=choices, params=params or {})
    ps = PowerShell(pool)
    ps.add_script(script.text)
    if script.parameters:
        # As pswrap's runner sends them (a DateTime as ISO 8601 text: pypsrp cannot serialize one).
        ps.add_parameters({name: wire_value(value) for name, value in script.parameters.items()})
    ps.invoke()
    return ps


def result(ps: PowerShell, step_id: str) -> Any:
    """The step's one JSON document, parsed by its result model."""
    assert ps.state == PSInvocationState.COMPLETED, [str(e) for e in ps.streams.error]
    (text,) = ps.output
    model = get(step_id).result
    assert model is not None
    return model.model_validate(json.loads(text))


def test_exo_session_rules_over_the_wire(lab: RunningLab) -> None:
    """§7b item 2: New-Mailbox before Connect-ExchangeOnline is CommandNotFoundException; after connecting it
    creates the room (§4); §7b item 4: Connect-MgGraph in that same pool fails with the MSAL clash."""
    with wsman_for(lab.endpoint) as wsman, RunspacePool(wsman) as pool:
        params = {
            "Name": "conf1",
            "Alias": "conf1",
            "DisplayName": "Conf 1",
            "PrimarySmtpAddress": "conf1@lab.example",
            "ResourceCapacity": 6,
        }
        before = call(pool, "exo/new-mailbox", params, type="room")
        assert before.state == PSInvocationState.FAILED
        (error,) = before.streams.error
        assert str(error).startswith("The term 'New-Mailbox' is not recognized as the name of a cmdlet")
        assert error.fq_error == "CommandNotFoundException"

        assert result(call(pool, "exo/connect", EXO_CONNECT), "exo/connect").already_connected is False
        assert result(call(pool, "exo/connect", EXO_CONNECT), "exo/connect").already_connected is True
        mailbox = result(call(pool, "exo/new-mailbox", params, type="room"), "exo/new-mailbox")
        assert mailbox.recipient_type_details == "RoomMailbox"
        assert mailbox.resource_capacity == 6
        assert mailbox.user_principal_name == f"conf1@{LAB_DEFAULTS.tenant_domain}"

        clash = call(pool, "graph/connect", GRAPH_CONNECT)
        assert clash.state == PSInvocationState.FAILED
        assert "WithTenantIdFromAuthority" in str(clash.streams.error[0])


def test_hard_match_end_to_end(lab: RunningLab) -> None:
    """The runbook's `anchor` hold through the wire (docs/design.md, docs/sources.md §3): the cloud room
    gets the
    ImmutableId of a chosen GUID, the AD account is born with that mS-DS-ConsistencyGuid, one cycle later
    the cloud room is synced; a second start during the cycle gets the §7b item 12 busy error."""
    anchor = str(uuid.uuid4())
    with (
        wsman_for(lab.endpoint) as w1,
        RunspacePool(w1) as exo,
        wsman_for(lab.endpoint) as w2,
        RunspacePool(w2) as graph,
        wsman_for(lab.endpoint) as w3,
        RunspacePool(w3) as server,
    ):
        call(exo, "exo/connect", EXO_CONNECT)
        mailbox = result(
            call(
                exo,
                "exo/new-mailbox",
                {
                    "Name": "conf2",
                    "Alias": "conf2",
                    "DisplayName": "Conf 2",
                    "PrimarySmtpAddress": "conf2@lab.example",
                },
                type="room",
            ),
            "exo/new-mailbox",
        )
        call(graph, "graph/connect", GRAPH_CONNECT)
        linked = result(
            call(
                graph,
                "graph/set-user",
                {
                    "UserId": mailbox.external_directory_object_id,
                    "OnPremisesImmutableId": immutable_id(anchor),
                },
            ),
            "graph/set-user",
        )
        assert linked.on_premises_immutable_id == immutable_id(anchor)
        user = result(
            call(
                server,
                "ad/new-user",
                {
                    "Name": "conf2",
                    "Path": LAB_DEFAULTS.resource_ou,
                    "SamAccountName": "conf2",
                    "UserPrincipalName": "conf2@lab.example",
                    "DisplayName": "Conf 2",
                    "EmailAddress": "conf2@lab.example",
                    "ProxyAddresses": ["SMTP:conf2@lab.example"],
                    "MailNickname": "conf2",
                    "ConsistencyGuid": anchor,
                    "Server": DC,
                },
            ),
            "ad/new-user",
        )
        assert user.consistency_guid == immutable_id(anchor)
        assert (
            result(call(server, "sync/start-cycle", policy="delta"), "sync/start-cycle").result == "Success"
        )
        busy = call(server, "sync/start-cycle", policy="delta")
        assert busy.state == PSInvocationState.FAILED
        assert "Sync is already running. Cannot start a new run till this one completes." in str(
            busy.streams.error[0]
        )
        with lab.store.transaction() as world:
            advance(world, LAB_DEFAULTS.sync_cycle_seconds + 1)
        assert (
            result(call(server, "sync/get-scheduler"), "sync/get-scheduler").sync_cycle_in_progress is False
        )
        runs = result(
            call(server, "sync/get-run-results", {"NumberRequested": 5}), "sync/get-run-results"
        ).runs
        assert all(not run.export_errors for run in runs)
        cloud = result(
            call(graph, "graph/get-user", {"UserId": mailbox.external_directory_object_id}), "graph/get-user"
        )
        assert cloud.found and cloud.user is not None
        assert cloud.user.on_premises_sync_enabled is True
        assert cloud.user.user_principal_name == "conf2@lab.example"


def test_step_fault_over_the_wire(start_lab_factory: LabFactory) -> None:
    """A lab started with `--fault throttle:exo/find-mailbox@1`: the first Get-Mailbox is throttled (§7b item
    7, closest text), the retry answers."""
    running = start_lab_factory(faults=["throttle:exo/find-mailbox@1"])
    with wsman_for(running.endpoint) as wsman, RunspacePool(wsman) as pool:
        call(pool, "exo/connect", EXO_CONNECT)
        first = call(pool, "exo/find-mailbox", {"Identity": "nobody"})
        assert first.state == PSInvocationState.FAILED
        assert "HttpStatusCode=429" in str(first.streams.error[0])
        assert (
            result(call(pool, "exo/find-mailbox", {"Identity": "nobody"}), "exo/find-mailbox").found is False
        )


def test_delay_fault_can_be_stopped_over_the_wire(start_lab_factory: LabFactory) -> None:
    """`delay:STEP=SECONDS` keeps the pipeline running (for time limits); Stop ends it and the pool lives."""
    running = start_lab_factory(faults=["delay:sync/get-settings=30@1"])
    with wsman_for(running.endpoint) as wsman, RunspacePool(wsman) as pool:
        script = render("sync/get-settings")
        ps = PowerShell(pool)
        ps.add_script(script.text)
        ps.begin_invoke()
        ps.stop()
        assert ps.state == PSInvocationState.STOPPED
        settings = result(call(pool, "sync/get-settings"), "sync/get-settings")
        assert settings.anchor_attribute == "mS-DS-ConsistencyGuid"


def test_lease_over_the_wire_fires_at_its_deadline(lab: RunningLab) -> None:
    """docs/design.md `scheduler` hold: install-lease pauses the scheduler with a deadline (a DateTime
    parameter
    over PSRP); when the lab's clock passes it, the lease fires and restores the recorded state."""
    from datetime import datetime, timedelta, timezone

    deadline = datetime.now(timezone.utc) + timedelta(minutes=10)
    with wsman_for(lab.endpoint) as wsman, RunspacePool(wsman) as pool:
        leased = result(
            call(pool, "sync/install-lease", {"LeaseName": "pswrap-lease-op1", "DeadlineUtc": deadline}),
            "sync/install-lease",
        )
        assert leased.sync_cycle_enabled is False and leased.prior_sync_cycle_enabled is True
        assert abs((leased.leases[0].deadline_utc - deadline).total_seconds()) < 1
        with lab.store.transaction() as world:
            advance(world, 601)
        after = result(call(pool, "sync/list-leases"), "sync/list-leases")
        assert after.leases == [] and after.sync_cycle_enabled is True
