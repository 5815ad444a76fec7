"""The preflight's permission reads: run the steps that tell what the identities were granted, after the
connection checks they depend on, and judge them (`pswrap.workflows.checks.permissions`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from pswrap.workflows.checks.model import Check, failed, not_checked
from pswrap.workflows.checks.permissions import (
    ACCOUNT_CHECK,
    EXCHANGE_CHECK,
    GRAPH_CHECK,
    PAGE,
    judge_account_groups,
    judge_exchange_roles,
    judge_graph_permissions,
    needed_exchange_cmdlets,
    needed_graph_permissions,
)


class DoctorRun(Protocol):
    """What these checks need from the doctor's run (`pswrap.workflows.preflight`)."""

    checks: list[Check]
    down: set[str]
    effective_hold: str | None

    def step(self, step_id: str, **params: Any) -> tuple[Any | None, Exception | None]: ...

    def not_checked(self, check_id: str, name: str, host: str) -> Check: ...


def add_permission_checks(run: DoctorRun, hosts: Mapping[str, Sequence[str]], *, profile: str) -> None:
    """Append the permission checks to `run.checks`, after the connection checks they depend on."""

    def host_of(need: str) -> str | None:
        return next((h for h, ns in hosts.items() if need in ns), None)

    def connect_passed(need: str) -> str | None:
        """None when the need's connect check passed, else that check's name (what to fix first)."""
        check = next((c for c in run.checks if c.id == f"tenant.connect.{need}"), None)
        if check is None:
            return f"connect to {'Exchange Online' if need == 'exo' else 'Microsoft Graph'}"
        return None if check.status == "pass" else check.name

    sync_host = host_of("adsync")
    if sync_host is not None:
        check_id, name = ACCOUNT_CHECK
        if sync_host in run.down:
            run.checks.append(run.not_checked(check_id, name, sync_host))
        else:
            account, error = run.step("sync/get-account")
            run.checks.append(
                judge_account_groups(account, sync_host, run.effective_hold)
                if account is not None
                else failed(check_id, name, f"could not be read (sync/get-account): {error}", f"see {PAGE}")
            )
    if profile != "modern":
        return
    for need, (check_id, name), step_id in (
        ("exo", EXCHANGE_CHECK, "exo/get-commands"),
        ("graph", GRAPH_CHECK, "graph/get-permissions"),
    ):
        if host_of(need) is None:
            continue
        first = connect_passed(need)
        if first is not None:
            run.checks.append(not_checked(check_id, name, "it is read in a connected session", first))
            continue
        if need == "exo":
            cmdlets = needed_exchange_cmdlets()
            result, error = run.step(step_id, Name=list(cmdlets))
            check = judge_exchange_roles(result, cmdlets) if result is not None else None
        else:
            result, error = run.step(step_id)
            check = (
                judge_graph_permissions(result, needed_graph_permissions()) if result is not None else None
            )
        run.checks.append(
            check
            if check is not None
            else failed(check_id, name, f"could not be read ({step_id}): {error}", f"see {PAGE}")
        )
