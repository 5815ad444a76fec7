"""The read-back of every changing step: did it apply although its reply was lost?

A transient failure after a change was sent (a dropped connection, an HTTP 500, a lost reply) leaves its
outcome unknown. Instead of ending the run, the runner asks the server with one read step declared here
beside each change and continues with what it found (applied), or sends the change again (not applied).
Each judgement looks for *our* change: the identity we asked for with the values we asked for, never
merely "something with that name".
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from pswrap.steps.model import ReadBack


def _get(params: Mapping[str, Any], name: str) -> Any:
    """A parameter by its PowerShell name, case-insensitively (PowerShell's own rule)."""
    for key, value in params.items():
        if key.lower() == name.lower():
            return value
    return None


def _same(a: Any, b: Any) -> bool:
    return str(a or "").casefold() == str(b or "").casefold()


# --- exo/new-mailbox: a mailbox with our alias and primary address -----------------------------------


def _mailbox_inputs(_c: Mapping[str, str], p: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    return {}, {"Identity": _get(p, "Alias")}


def _mailbox_applied(found: Any, p: Mapping[str, Any], _sent: datetime) -> Any:
    box = getattr(found, "mailbox", None) if getattr(found, "found", False) else None
    if box is None or not _same(box.alias, _get(p, "Alias")):
        return None
    return box if _same(box.primary_smtp_address, _get(p, "PrimarySmtpAddress")) else None


NEW_MAILBOX = ReadBack("exo/find-mailbox", _mailbox_inputs, _mailbox_applied)


# --- hybrid/new-remote-mailbox: a remote mailbox with our alias and address ----------------------------


def _remote_inputs(_c: Mapping[str, str], p: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    params = {"Identity": _get(p, "Alias")}
    if _get(p, "DomainController"):
        params["DomainController"] = _get(p, "DomainController")
    return {}, params


def _remote_applied(found: Any, p: Mapping[str, Any], _sent: datetime) -> Any:
    box = getattr(found, "remote_mailbox", None) if getattr(found, "found", False) else None
    if box is None or not _same(box.primary_smtp_address, _get(p, "PrimarySmtpAddress")):
        return None
    return box


NEW_REMOTE_MAILBOX = ReadBack("hybrid/find-remote-mailbox", _remote_inputs, _remote_applied)


# --- ad/new-user and ad/move-user: the account by sAMAccountName / objectGUID ---------------------------


def _user_inputs(_c: Mapping[str, str], p: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    return {"by": "sam"}, {"Value": _get(p, "SamAccountName")}


def _user_applied(found: Any, p: Mapping[str, Any], _sent: datetime) -> Any:
    user = getattr(found, "user", None) if getattr(found, "found", False) else None
    if user is None or not _same(user.user_principal_name, _get(p, "UserPrincipalName")):
        return None
    return user


NEW_USER = ReadBack("ad/find-user", _user_inputs, _user_applied)


def _moved_inputs(_c: Mapping[str, str], p: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    return {"by": "guid"}, {"Value": str(_get(p, "Identity"))}


def _moved_applied(found: Any, p: Mapping[str, Any], _sent: datetime) -> Any:
    from pswrap.dn import parent_of

    user = getattr(found, "user", None) if getattr(found, "found", False) else None
    if user is None:
        return None
    return user if _same(parent_of(user.distinguished_name), _get(p, "TargetPath")) else None


MOVE_USER = ReadBack("ad/find-user", _moved_inputs, _moved_applied)


# --- graph/set-user: the cloud user carries the values we set -----------------------------------------


def _cloud_inputs(_c: Mapping[str, str], p: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    return {}, {"UserId": _get(p, "UserId")}


def _cloud_applied(found: Any, p: Mapping[str, Any], _sent: datetime) -> Any:
    user = getattr(found, "user", None) if getattr(found, "found", False) else None
    if user is None:
        return None
    anchor, upn = _get(p, "OnPremisesImmutableId"), _get(p, "UserPrincipalName")
    if anchor is not None and user.on_premises_immutable_id != anchor:  # base64: case matters
        return None
    if upn is not None and not _same(user.user_principal_name, upn):
        return None
    return user


SET_CLOUD_USER = ReadBack("graph/get-user", _cloud_inputs, _cloud_applied)


# --- the sync server: scheduler state, leases, a cycle that started -----------------------------------


def _none(_c: Mapping[str, str], _p: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    return {}, {}


def _scheduler_applied(state: Any, p: Mapping[str, Any], _sent: datetime) -> Any:
    return state if bool(state.sync_cycle_enabled) == bool(_get(p, "SyncCycleEnabled")) else None


SET_SCHEDULER = ReadBack("sync/get-scheduler", _none, _scheduler_applied)


def _lease_there(leases: Any, p: Mapping[str, Any], _sent: datetime) -> Any:
    names = {lease.name for lease in leases.leases}
    return leases if _get(p, "LeaseName") in names else None


def _lease_gone(leases: Any, p: Mapping[str, Any], _sent: datetime) -> Any:
    names = {lease.name for lease in leases.leases}
    return leases if _get(p, "LeaseName") not in names else None


INSTALL_LEASE = ReadBack("sync/list-leases", _none, _lease_there)
REMOVE_LEASE = ReadBack("sync/list-leases", _none, _lease_gone)

def _recent_runs(_c: Mapping[str, str], _p: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    return {}, {"NumberRequested": 5}


def _cycle_started(runs: Any, _p: Mapping[str, Any], sent: datetime) -> Any:
    """A run that started at or after the moment the request was sent is the cycle we asked for.

    Conservative on purpose: a cycle still running is not in the run results yet, and a server clock
    behind ours hides our run; both read as "not applied", so the cycle is requested again, which the
    engine answers with "busy" while one runs (the workflow then waits for it and starts its own).
    Starting one delta cycle too many is harmless; following a cycle that is not ours is not.
    """
    from pswrap.results.models import CycleStarted

    since = sent.astimezone(timezone.utc)
    for run in runs.runs:
        start = run.start_date
        if start is not None and start.tzinfo is None:
            start = start.replace(tzinfo=timezone.utc)
        if start is not None and start >= since:
            return CycleStarted(result="Success")
    return None


START_CYCLE = ReadBack("sync/get-run-results", _recent_runs, _cycle_started)
