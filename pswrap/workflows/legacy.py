"""The seed's 2014 runbook, as steps to render (never to run), and what replaced each of them.

An admin holding the old runbook wants to read it next to the modern one; pswrap prints it with
`--profile legacy --dry-run`, and refuses to run it with the date each service was retired.
"""

from __future__ import annotations

from typing import Any

LEGACY_ORDER: tuple[str, ...] = (
    "legacy/stop-dirsync",
    "legacy/new-aduser",
    "legacy/get-credential",
    "legacy/connect-exo",
    "legacy/new-mailbox",
    "legacy/connect-msol",
    "legacy/set-immutableid",
    "legacy/start-dirsync",
    "legacy/start-sync",
)
"""The seed's order: stop DirSync, New-ADUser, connect and New-Mailbox -Room, MSOnline link, restart."""


def retired_explanation() -> str:
    from pswrap.steps import get

    lines = []
    for step_id in LEGACY_ORDER:
        retired = get(step_id).retired
        if retired is None:
            continue
        when = f"retired {retired.retired}" if retired.retired != "-" else "still current"
        lines.append(f"  {step_id}: {retired.service}, {when} -> {retired.replacement}")
    return "\n".join(lines)


def legacy_params(
    *, name: str, alias: str, ou: str, sam: str, upn: str, display_name: str, email: str, proxy: list[str]
) -> dict[str, dict[str, Any]]:
    """The values the seed's steps would carry for this mailbox (the seed left them blank)."""
    return {
        "legacy/new-aduser": {
            "Name": name,
            "Path": ou,
            "SamAccountName": sam,
            "UserPrincipalName": upn,
            "DisplayName": display_name,
            "EmailAddress": email,
            "ProxyAddresses": proxy,
        },
        "legacy/connect-exo": {"ConnectionUri": "https://ps.outlook.com/powershell/"},
        "legacy/new-mailbox": {"Name": alias, "DisplayName": display_name},
        "legacy/set-immutableid": {
            "UserPrincipalName": f"{alias}@<tenant>.onmicrosoft.com",
            "NewUserPrincipalName": upn,
            "ImmutableId": "<base64 of the new account's objectGUID>",
        },
    }
