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


# --- who masters what (issue #11): addresses, the Exchange stamp, the authority, sign-in ----------------


def _ad_by_guid(_c: Mapping[str, str], p: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    params = {"Value": str(_get(p, "Identity"))}
    if _get(p, "Server"):
        params["Server"] = _get(p, "Server")  # the same domain controller the change went to
    return {"by": "guid"}, params


def _addresses_applied(found: Any, p: Mapping[str, Any], _sent: datetime) -> Any:
    """Every address we added is on the account (proxyAddresses compares without case, as the step does)."""
    user = getattr(found, "user", None) if getattr(found, "found", False) else None
    if user is None:
        return None
    have = {str(a).casefold() for a in user.proxy_addresses}
    return user if all(str(a).casefold() in have for a in _get(p, "Addresses") or []) else None


ADD_ADDRESSES = ReadBack("ad/find-user", _ad_by_guid, _addresses_applied)


def _anchor_inputs(_c: Mapping[str, str], p: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    params = {"Identity": str(_get(p, "Identity"))}
    if _get(p, "Server"):
        params["Server"] = _get(p, "Server")
    return {}, params


def _stamp_unseen(_found: Any, _p: Mapping[str, Any], _sent: datetime) -> Any:
    """No read step returns the msExch* values, so the stamp is never judged applied: it is sent again.
    That is safe because the stamp is a Set-ADUser -Replace of fixed values: writing them a second time
    leaves the account exactly as one write would. The read (the account by its objectGUID) still fails
    the step plainly when the account is gone, instead of re-sending a change to nothing."""
    return None


STAMP_EXCHANGE = ReadBack("ad/get-anchor", _anchor_inputs, _stamp_unseen)


def _exo_identity(_c: Mapping[str, str], p: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    return {}, {"Identity": _get(p, "Identity")}


def _cloud_managed(found: Any, _p: Mapping[str, Any], _sent: datetime) -> Any:
    return found if getattr(found, "is_exchange_cloud_managed", None) is True else None


SET_CLOUD_MANAGED = ReadBack("exo/get-exchange-authority", _exo_identity, _cloud_managed)


def _address_key(address: Any) -> tuple[str, str]:
    """`SMTP:` (upper case) marks the primary; any other prefix and the address compare without case."""
    prefix, _, rest = str(address).partition(":")
    return (prefix if prefix == "SMTP" else prefix.casefold(), rest.casefold())


def _mailbox_set_applied(found: Any, p: Mapping[str, Any], _sent: datetime) -> Any:
    """The mailbox carries every value we set. HiddenFromAddressListsEnabled is not in what exo/find-mailbox
    returns: a change that sets it is never judged applied (Set-Mailbox is sent again, which is safe)."""
    box = getattr(found, "mailbox", None) if getattr(found, "found", False) else None
    if box is None or _get(p, "HiddenFromAddressListsEnabled") is not None:
        return None
    name, capacity, addresses = (_get(p, k) for k in ("DisplayName", "ResourceCapacity", "EmailAddresses"))
    if name is not None and box.display_name != name:  # a change of case is a change
        return None
    if capacity is not None and box.resource_capacity != int(capacity):
        return None
    if _get(p, "Name") is not None and box.name != _get(p, "Name"):
        return None
    if addresses is not None and {_address_key(a) for a in addresses} != {
        _address_key(a) for a in box.email_addresses
    }:
        return None
    return box


SET_MAILBOX = ReadBack("exo/find-mailbox", _exo_identity, _mailbox_set_applied)


def _account_enabled_applied(found: Any, p: Mapping[str, Any], _sent: datetime) -> Any:
    """The cloud account's sign-in is as we asked. What it was before is unknown after a lost reply (the
    step writes only when it differs), so the result says None there rather than guess."""
    from pswrap.results.models import SignInChange

    user = getattr(found, "user", None) if getattr(found, "found", False) else None
    wanted = bool(_get(p, "AccountEnabled"))
    if user is None or user.account_enabled is None or bool(user.account_enabled) != wanted:
        return None
    return SignInChange(
        id=user.id, user_principal_name=user.user_principal_name, account_enabled_before=None,
        account_enabled=wanted,
    )  # fmt: skip


SET_ACCOUNT_ENABLED = ReadBack("graph/get-user", _cloud_inputs, _account_enabled_applied)


# --- exo/set-calendar-processing (desired state): every setting we sent has our value ------------------

_CALENDAR_FIELDS = {
    "AutomateProcessing": "automate_processing",
    "BookingWindowInDays": "booking_window_in_days",
    "MaximumDurationInMinutes": "maximum_duration_in_minutes",
    "AllowConflicts": "allow_conflicts",
    "AllowRecurringMeetings": "allow_recurring_meetings",
    "AllBookInPolicy": "all_book_in_policy",
    "AddOrganizerToSubject": "add_organizer_to_subject",
    "DeleteComments": "delete_comments",
    "DeleteSubject": "delete_subject",
    "ProcessExternalMeetingMessages": "process_external_meeting_messages",
    "ResourceDelegates": "resource_delegates",
    "BookInPolicy": "book_in_policy",
}


def _principals_match(found: Any, wanted: Any) -> bool:
    """The same recipients: each we sent (a primary SMTP address, or as named) is one of those listed."""
    names = [str(w).casefold() for w in wanted or []]
    listed = [{str(v).casefold() for v in (x.primary_smtp_address, x.identity, x.alias) if v} for x in found]
    return len(names) == len(listed) and all(any(n in known for known in listed) for n in names)


def _calendar_applied(found: Any, p: Mapping[str, Any], _sent: datetime) -> Any:
    """Every setting we sent reads back with our value; then it is reported applied, none refused. A
    setting the service refused reads back otherwise, so the call is sent again and reports the refusal."""
    from pswrap.results.desired import CalendarSet

    calendar = getattr(found, "calendar", None) if getattr(found, "found", False) else None
    if calendar is None:
        return None
    sent = [name for name in _CALENDAR_FIELDS if _get(p, name) is not None]
    for name in sent:
        have, wanted = getattr(calendar, _CALENDAR_FIELDS[name]), _get(p, name)
        if name in ("ResourceDelegates", "BookInPolicy"):
            if not _principals_match(have, wanted):
                return None
        elif isinstance(have, str):
            if not _same(have, wanted):
                return None
        elif have != wanted:
            return None
    return CalendarSet(applied=sent, refused=[])


SET_CALENDAR = ReadBack("exo/get-calendar-processing", _exo_identity, _calendar_applied)


# --- the lifecycle (issue #16): an account deleted, retired or restored; the authority switched ---------


def _removed_applied(found: Any, p: Mapping[str, Any], _sent: datetime) -> Any:
    """Our account (its objectGUID) is no longer a live object: deleted (a deleted object or tombstone)
    or gone entirely. The workflow sends the deletion only for an account it has just read, so the
    result says it existed and the removal is reported."""
    from pswrap.results.lifecycle import AdRemoval

    if getattr(found, "live", True):
        return None
    return AdRemoval(object_guid=str(_get(p, "Identity")), existed=True)


REMOVE_USER = ReadBack("ad/find-deleted-user", _anchor_inputs, _removed_applied)


def _retired_applied(found: Any, p: Mapping[str, Any], _sent: datetime) -> Any:
    """Our account is in the retired OU we asked for and disabled: both halves of the step."""
    from pswrap.dn import parent_of

    user = getattr(found, "user", None) if getattr(found, "found", False) else None
    if user is None or user.enabled is not False:
        return None
    return user if _same(parent_of(user.distinguished_name), _get(p, "TargetPath")) else None


RETIRE_USER = ReadBack("ad/find-user", _ad_by_guid, _retired_applied)


def _reinstated_applied(found: Any, p: Mapping[str, Any], _sent: datetime) -> Any:
    """Our account is back in the OU we asked for, with the enabled state we asked for."""
    from pswrap.dn import parent_of

    user = getattr(found, "user", None) if getattr(found, "found", False) else None
    if user is None or user.enabled is not bool(_get(p, "Enabled")):
        return None
    return user if _same(parent_of(user.distinguished_name), _get(p, "TargetPath")) else None


REINSTATE_USER = ReadBack("ad/find-user", _ad_by_guid, _reinstated_applied)


def _restored_applied(found: Any, p: Mapping[str, Any], _sent: datetime) -> Any:
    """The account with our objectGUID is live again: Restore-ADObject keeps the objectGUID, and a new
    account never has it, so a live object with that GUID can only be the restored one."""
    user = getattr(found, "user", None) if getattr(found, "found", False) else None
    if user is None or not _same(user.object_guid, _get(p, "Identity")):
        return None
    return user


RESTORE_USER = ReadBack("ad/find-user", _ad_by_guid, _restored_applied)


def _cloud_managed_user(found: Any, p: Mapping[str, Any], _sent: datetime) -> Any:
    """The user's source of authority is the cloud. What it was before is unknown after a lost reply, so
    the result says None there (the workflow then reports the switch it sent) rather than guess."""
    from pswrap.results.lifecycle import SyncBehavior

    if getattr(found, "is_cloud_managed", None) is not True or not _same(found.id, _get(p, "UserId")):
        return None
    return SyncBehavior(id=found.id, is_cloud_managed=True, is_cloud_managed_before=None)


SET_SYNC_BEHAVIOR = ReadBack("graph/get-sync-behavior", _cloud_inputs, _cloud_managed_user)
