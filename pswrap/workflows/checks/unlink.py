"""Judgements for `mailbox unlink` (the user source-of-authority switch): what it needs from the sync
engine and from the app's Graph permissions. `mailbox unlink` refuses when one fails; `pswrap doctor`
shows them as warnings (only unlink needs them).

Source: Learn, "Configure User Source of Authority (SOA) in Microsoft Entra ID" (preview): prerequisites
Entra Connect Sync 2.5.76.0 or later and the permission User-OnPremisesSyncBehavior.ReadWrite.All. Whether
the preview is available to a tenant cannot be read with an application permission (no documented
property says so): the first switch tells.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pswrap.workflows.checks.model import Check, Status, version_tuple

SOA_PERMISSION = "User-OnPremisesSyncBehavior.ReadWrite.All"
SOA_MIN_CONNECT = (2, 5, 76, 0)
SYNC_MIN_CONNECT = (2, 5, 79, 0)
"""What every sync needs since 2026-09-30 (the sync checks' minimum)."""
PAGE = "Learn: 'Configure User Source of Authority (SOA) in Microsoft Entra ID', prerequisites"


def judge_soa_engine(connect_version: str | None, severity: Status = "fail") -> Check:
    name = "Entra Connect version for unlink"
    if not connect_version:
        return Check(
            "unlink.connect-version", name, "warn", "the sync server did not report its version", PAGE
        )
    if version_tuple(connect_version) < SOA_MIN_CONNECT:
        return Check(
            "unlink.connect-version",
            name,
            severity,
            f"{connect_version}: the source-of-authority switch needs 2.5.76.0 or later",
            f"upgrade Entra Connect Sync ({PAGE})",
        )
    return Check("unlink.connect-version", name, "pass", f"{connect_version} (2.5.76.0 or later)")


def judge_soa_permission(scopes: Iterable[str] | None, severity: Status = "fail") -> Check:
    name = f"Graph permission {SOA_PERMISSION}"
    granted = {str(s).lower() for s in scopes or []}
    if SOA_PERMISSION.lower() in granted:
        return Check("unlink.permission", name, "pass", "granted to the app registration")
    return Check(
        "unlink.permission",
        name,
        severity,
        "not among the app's application permissions (Get-MgContext Scopes)",
        f"grant the application permission {SOA_PERMISSION} to pswrap's app registration and give admin "
        f"consent ({PAGE})",
    )


def unlink_checks(
    step: Callable[..., tuple[Any | None, Exception | None]], graph_connected: bool
) -> list[Check]:
    """The doctor's hook: read the engine version and the app's permissions; warnings, never failures."""
    settings, _ = step("sync/get-settings")
    version = getattr(settings, "connect_version", None)
    checks: list[Check] = []
    # An unreadable or retired version (below 2.5.79.0, above unlink's 2.5.76.0) fails the sync checks
    # already: reported once, there.
    if version and version_tuple(version) >= SYNC_MIN_CONNECT:
        checks.append(judge_soa_engine(version, severity="warn"))
    if graph_connected:
        context, error = step("graph/get-context")
        if context is not None:
            checks.append(judge_soa_permission(context.scopes, severity="warn"))
        else:
            checks.append(
                Check(
                    "unlink.permission",
                    f"Graph permission {SOA_PERMISSION}",
                    "warn",
                    f"not read: {error}",
                    PAGE,
                )
            )
    return checks
