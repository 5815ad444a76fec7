"""Run lab handlers directly (fast): a real `Store` on a temp file, an `Invocation` per call, one session
dict per simulated runspace pool, step faults through the lab's fault API. Used by test_world_* and
test_handlers_*."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pswrap.lab.handlers  # noqa: F401  (registers every handler)
from pswrap.lab import faults
from pswrap.lab.dispatch import HANDLERS, Invocation, PSError
from pswrap.lab.store import Store
from pswrap.lab.world import LAB_DEFAULTS, advance
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
