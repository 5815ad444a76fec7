"""Judgements on Active Directory: the pinned domain controller, the OUs, and where they sit in sync scope."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pswrap.workflows.checks.model import Check, failed, not_checked, passed, warned


def dc_check_name(server: str | None) -> str:
    """None: no DC configured and pinning it failed (the run pins the PDC emulator the domain names)."""
    return f"pinned domain controller {server or '(the PDC emulator)'} answers"


def judge_dc(server: str | None, report: Any | None, error: Exception | None) -> Check:
    name = dc_check_name(server)
    if error is None and report is not None:
        return passed("ad.dc", name, f"{report.server} answered for {report.domain or 'the domain'}")
    return failed(
        "ad.dc",
        name,
        f"no answer: {error}",
        "set domain_controller to a DC that runs Active Directory Web Services (port 9389) reachable from "
        "the ad host; for a second hop configure ad_credential_user or delegation (docs/design.md: second "
        "hop)",
    )


def in_scope(dn: str, scopes: Iterable[Any]) -> bool:
    """Is a DN inside an AD connector's OU filtering? The most specific inclusion or exclusion wins.

    Connect's OU filtering selects containers (inclusions) and deselects sub-containers (exclusions);
    an object is in scope under its nearest selected or deselected ancestor.
    """
    from pswrap.dn import is_within, split_rdns

    best: tuple[int, bool] | None = None
    for scope in scopes:
        for container, included in [
            *((c, True) for c in scope.inclusions),
            *((c, False) for c in scope.exclusions),
        ]:
            if is_within(dn, container):
                depth = len(split_rdns(container))
                if best is None or depth > best[0]:
                    best = (depth, included)
    return bool(best and best[1])


def judge_ou(
    role: Literal["resource", "staging"],
    dn: str | None,
    report: Any | None,
    scope: Any | None,
    hold: str | None,
    dc_check: str = "pinned domain controller answers",
) -> list[Check]:
    """`dc_check`: the name of the DC check, which an OU check waits for when the DC did not answer."""
    name = f"{role} OU"
    check_id = f"ad.ou.{role}"
    key = f"{role}_ou"
    if dn is None:
        if role == "resource":
            return [
                warned(
                    check_id,
                    name,
                    "not configured",
                    f"set {key} in the target (or give --ou to each mailbox command): the OU, in sync "
                    "scope, where resource accounts live",
                )
            ]
        status_fix = (
            f"set {key} to an OU outside sync scope: the staging-ou hold creates accounts there first "
            "(docs/design.md: holds)"
        )
        if hold == "staging-ou":
            return [failed(check_id, name, "not configured, and the staging-ou hold needs it", status_fix)]
        return [warned(check_id, name, "not configured: the staging-ou hold is unavailable", status_fix)]
    if report is None:
        return [not_checked(check_id, name, f"the pinned domain controller did not answer ({dn})", dc_check)]
    entry = next((o for o in report.ous if o.distinguished_name.lower() == dn.lower()), None)
    if entry is None or not entry.exists:
        return [
            failed(
                check_id,
                name,
                f"{dn} does not exist on {report.server}",
                f"create it (New-ADOrganizationalUnit) or correct {key} in the target",
            )
        ]
    checks = [passed(check_id, name, f"{dn} exists")]
    scope_id = f"ad.scope.{role}"
    scope_name = f"{role} OU {'in' if role == 'resource' else 'outside'} sync scope"
    if scope is None:
        checks.append(
            warned(
                scope_id,
                scope_name,
                "the sync server's OU filtering could not be read",
                "check the ADSync module on the sync server (module check above)",
            )
        )
        return checks
    inside = in_scope(dn, scope.connectors)
    if role == "resource":
        if inside:
            checks.append(passed(scope_id, scope_name, f"{dn} is in sync scope"))
        else:
            checks.append(
                failed(
                    scope_id,
                    scope_name,
                    f"{dn} is outside sync scope: accounts there never reach Entra ID, so no hard match",
                    "select the OU in the Entra Connect wizard (Customize synchronization options > "
                    "Domain and OU filtering), or set resource_ou to an OU that is selected: only "
                    "objects in scope reach Entra ID (docs/sources.md §6.2)",
                )
            )
        return checks
    if not inside:
        checks.append(passed(scope_id, scope_name, f"{dn} is outside sync scope"))
        return checks
    found = (
        f"{dn} is in sync scope: an account created there syncs before its cloud object carries the anchor"
    )
    fix = (
        "deselect this OU in the Entra Connect wizard's Domain and OU filtering, or set staging_ou to an "
        "OU outside sync scope (docs/design.md: holds)"
    )
    if hold == "staging-ou":
        checks.append(failed(scope_id, scope_name, found, fix))
    else:
        checks.append(warned(scope_id, scope_name, found, fix))
    return checks
