"""Run lab steps two ways with one API: `Harness` calls the handlers directly (fast: a real `Store` on a temp
file, an `Invocation` per call, one session dict per simulated runspace pool, step faults through the lab's
fault API); `WireHarness` renders pswrap's own template for the step and sends it with the unmodified
pypsrp client to an in-process lab, one runspace pool per pool name (issue #4 item 6: behaviours tested
through the client). Used by test_world_* and test_handlers_*; `harness(request)` picks by the fixture's
parameter ("direct" or "wire")."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest

import pswrap.lab.handlers  # noqa: F401  (registers every handler)
from pswrap.lab import faults
from pswrap.lab.dispatch import HANDLERS, Invocation, PSError
from pswrap.lab.store import Store
from pswrap.lab.world import LAB_DEFAULTS, advance, immutable_id
from pswrap.steps import get


class Harness:
    def __init__(self, path: Path) -> None:
        self.store = Store(path)
        self.sessions: dict[str, dict[str, Any]] = {}
        self.errors: list[PSError] = []
        """Non-terminating errors of the last call."""

    def run(
        self,
        step_id: str,
        params: dict[str, Any] | None = None,
        *,
        pool: str = "main",
        stopped: Callable[[], bool] = lambda: False,
        **choices: str,
    ) -> Any:
        """Run a step's handler; its output is validated against the step's result model (exact keys)."""
        inv = Invocation(
            step_id=step_id,
            choices=dict(choices),
            params=dict(params or {}),
            session=self.sessions.setdefault(pool, {}),
            world=self.store,
            stopped=stopped,
        )
        result = HANDLERS[step_id](inv)
        self.errors = list(inv.errors)
        model = get(step_id).result
        if model is not None:
            assert set(result) == set(model.model_fields), f"{step_id} keys differ from {model.__name__}"
            model.model_validate(result)
        return result

    def fails(self, step_id: str, params: dict[str, Any] | None = None, **kwargs: Any) -> PSError:
        """Run a step that must end in a terminating PowerShell error; return that error."""
        try:
            self.run(step_id, params, **kwargs)
        except PSError as exc:
            assert exc.terminating
            return exc
        raise AssertionError(f"{step_id} did not fail")

    def world(self) -> dict[str, Any]:
        return self.store.read()

    @contextmanager
    def edit(self) -> Iterator[dict[str, Any]]:
        with self.store.transaction() as world:
            yield world

    def advance(self, seconds: float) -> None:
        with self.store.transaction() as world:
            advance(world, seconds)

    # --- the steps a workflow runs, with the lab's defaults -------------------------------------

    def connect_exo(self, pool: str = "exo") -> Any:
        return self.run(
            "exo/connect",
            {
                "AppId": LAB_DEFAULTS.app_id,
                "Organization": LAB_DEFAULTS.tenant_domain,
                "CertificateThumbprint": LAB_DEFAULTS.certificate_thumbprint,
            },
            pool=pool,
        )

    def connect_graph(self, pool: str = "graph") -> Any:
        return self.run(
            "graph/connect",
            {
                "ClientId": LAB_DEFAULTS.app_id,
                "TenantId": LAB_DEFAULTS.tenant_id,
                "CertificateThumbprint": LAB_DEFAULTS.certificate_thumbprint,
            },
            pool=pool,
        )

    def new_ad_user(self, sam: str, *, ou: str = LAB_DEFAULTS.resource_ou, **extra: Any) -> Any:
        params: dict[str, Any] = {
            "Name": extra.pop("Name", sam),
            "Path": ou,
            "SamAccountName": sam,
            "UserPrincipalName": f"{sam}@{LAB_DEFAULTS.upn_suffix}",
            "DisplayName": f"Room {sam}",
            "EmailAddress": f"{sam}@{LAB_DEFAULTS.upn_suffix}",
            "ProxyAddresses": [f"SMTP:{sam}@{LAB_DEFAULTS.upn_suffix}"],
            "MailNickname": sam,
            "Server": LAB_DEFAULTS.domain_controller,
        }
        params.update(extra)
        return self.run("ad/new-user", params, pool="ad")

    def new_mailbox(self, alias: str, kind: str = "room", **extra: Any) -> Any:
        params: dict[str, Any] = {
            "Name": alias,
            "Alias": alias,
            "DisplayName": f"Room {alias}",
            "PrimarySmtpAddress": f"{alias}@{LAB_DEFAULTS.upn_suffix}",
        }
        params.update(extra)
        return self.run("exo/new-mailbox", params, pool="exo", type=kind)

    def remote_mailbox_params(self, alias: str, **extra: Any) -> dict[str, Any]:
        """New-RemoteMailbox's values for `alias` in the resource OU (a test changes one with `extra`)."""
        name = alias.replace("conf", "Conf ")
        params: dict[str, Any] = {
            "Name": name,
            "Alias": alias,
            "DisplayName": name,
            "PrimarySmtpAddress": f"{alias}@{LAB_DEFAULTS.upn_suffix}",
            "UserPrincipalName": f"{alias}@{LAB_DEFAULTS.upn_suffix}",
            "SamAccountName": alias,
            "OnPremisesOrganizationalUnit": LAB_DEFAULTS.resource_ou,
        }
        params.update(extra)
        return params

    def stamp_immutable_id(self, cloud_id: str, guid: str) -> Any:
        """Update-MgUser -OnPremisesImmutableId Base64(guid) on a cloud user (the `anchor` hold's step)."""
        value = immutable_id(guid)
        return self.run("graph/set-user", {"UserId": cloud_id, "OnPremisesImmutableId": value}, pool="graph")

    def sync_cycle(self) -> None:
        """Start a delta cycle and move the clock past its end (no sleeping)."""
        assert self.run("sync/start-cycle", pool="sync", policy="delta") == {"result": "Success"}
        self.advance(float(self.world()["sync"]["scheduler"]["cycle_seconds"]) + 1)
        assert self.run("sync/get-scheduler", pool="sync")["sync_cycle_in_progress"] is False

    def cloud_user(self, upn: str) -> dict[str, Any] | None:
        for user in self.world()["cloud"]["users"]:
            if user["user_principal_name"].lower() == upn.lower():
                return dict(user)
        return None

    def export_errors(self) -> list[dict[str, Any]]:
        runs = self.run("sync/get-run-results", {"NumberRequested": 10}, pool="sync")["runs"]
        return [e for run in runs for e in run["export_errors"]]


@contextmanager
def step_faults(*specs: str) -> Iterator[faults.FaultSet]:
    """Make these fault specs active for handlers run in this block (as a lab does per pipeline)."""
    fault_set = faults.FaultSet(list(specs), seed="7")
    with faults.applied(fault_set):
        yield fault_set


class WireHarness(Harness):
    """The same calls over WinRM/PSRP: pswrap renders the step (marker, choices, typed param() block) and
    the unmodified pypsrp client runs it with the values as PSRP parameters (secrets as SecureStrings), as
    pswrap's runner does. A failed pipeline's error record comes back as a `PSError` with the fields a
    client sees (message, FullyQualifiedErrorId, category, activity, exception type)."""

    def __init__(self, lab: Any) -> None:
        super().__init__(lab.endpoint.state_path)
        self.lab = lab
        self.pools: dict[str, Any] = {}
        self._stack = ExitStack()

    def close(self) -> None:
        self._stack.close()

    def _pool(self, name: str) -> Any:
        from pypsrp.powershell import RunspacePool

        from tests.lab.conftest import wsman_for

        if name not in self.pools:
            wsman = self._stack.enter_context(wsman_for(self.lab.endpoint))
            self.pools[name] = self._stack.enter_context(RunspacePool(wsman))
        return self.pools[name]

    def run(
        self,
        step_id: str,
        params: dict[str, Any] | None = None,
        *,
        pool: str = "main",
        stopped: Callable[[], bool] = lambda: False,
        **choices: str,
    ) -> Any:
        from pypsrp.complex_objects import ObjectMeta, PSInvocationState
        from pypsrp.powershell import PowerShell

        from pswrap.remote.invoke import wire_value
        from pswrap.render.engine import render

        step = get(step_id)
        declared = {p.name for p in step.params}
        given = {k: v for k, v in (params or {}).items() if k in declared}
        script = render(step, profile=step.profiles[0], choices=choices, params=given)
        runspace = self._pool(pool)
        values: dict[str, Any] = {k: wire_value(v) for k, v in script.parameters.items()}
        if script.secrets:
            runspace.exchange_keys()
            for name, secret in script.secrets.items():
                values[name] = runspace.serialize(secret.reveal(), ObjectMeta("SS"))
        ps = PowerShell(runspace)
        ps.add_script(script.text)
        if values:
            ps.add_parameters(values)
        ps.invoke()
        records = [_ps_error(e, terminating=False) for e in ps.streams.error]
        if ps.state != PSInvocationState.COMPLETED:
            error = records[-1] if records else PSError(f"{step_id} ended {ps.state}", fqid="")
            error.terminating = True
            raise error
        self.errors = records
        (text,) = ps.output
        result = json.loads(text)
        model = step.result
        if model is not None:
            assert set(result) == set(model.model_fields), f"{step_id} keys differ from {model.__name__}"
            model.model_validate(result)
        return result


def _ps_error(record: Any, *, terminating: bool) -> PSError:
    """A client-side ErrorRecord (pypsrp) as the handler's PSError fields."""
    from psrpcore.types import ErrorCategory

    types = list(getattr(record.exception, "types", None) or [])
    exception_type = types[0].removeprefix("Deserialized.") if types else ""
    # $_.Exception.Message, what the handlers' messages are (the record's ToString is another rendering).
    message = getattr(record.exception, "adapted_properties", {}).get("Message")
    return PSError(
        str(message if message is not None else record),
        fqid=str(record.fq_error or ""),
        category=ErrorCategory(int(record.category)).name,
        target=str(record.target_name or ""),
        exception_type=exception_type,
        activity=str(record.activity or ""),
        terminating=terminating,
    )


def harness(request: pytest.FixtureRequest, path: Path) -> Iterator[Harness]:
    """For a `lab` fixture parametrized with "direct" / "wire": the harness of that kind (wire: a basic-auth
    in-process lab on a loopback port, its state file the harness's store)."""
    if request.param == "direct":
        yield Harness(path)
        return
    factory = request.getfixturevalue("start_lab_factory")
    wire = WireHarness(factory(auth="basic"))
    try:
        yield wire
    finally:
        wire.close()
