"""The lab world's facts about the Windows host itself, which the preflight (`pswrap doctor`) reads.

The embedded lab is one endpoint, so it simulates one Windows server that holds every role (the sync
server with the AD tools, the cloud modules and the Exchange management tools): every need of the lab
target maps to it. Its facts, each a `pswrap lab show` path that `pswrap lab set` stages:

- `host.computer_name`
- `host.modules`: what `Get-Module -ListAvailable` finds, a list of {name, version, path, company_name,
  author}; replace the whole list to install or remove one (e.g. add a look-alike of
  ExchangeOnlineManagement, or MSOnline), or set `host.modules.N.version`.
- `host.snapins`: what `Get-PSSnapin -Registered` finds, a list of {name, version}.
- `certs.local_machine_my.N.private_key_usable` (beside the world's `has_private_key`, `not_after`):
  whether the remoting account may open the private key; `certs.current_user_my`: the remoting
  account's own store (the wrong store for pswrap).
- `grants.graph_permissions`, `grants.exchange_roles`, `grants.server_account`, `grants.server_groups`:
  what the admin granted the app registration and the remoting account (docs/permissions.md).
- OUs and their sync scope are the world's `ad.ous` (`dn`, `in_sync_scope`); the pinned DC answers when
  it is one of `ad.domain.domain_controllers`.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

RECIPIENT_SNAPIN = "Microsoft.Exchange.Management.PowerShell.RecipientManagement"
_MODULES = "C:\\Program Files\\WindowsPowerShell\\Modules"
_SYSTEM = "C:\\Windows\\system32\\WindowsPowerShell\\v1.0\\Modules"
GRAPH_VERSION = "2.32.0"
"""Below 2.34, which can fail to import on Windows PowerShell 5.1 (docs/sources.md §7b item 4)."""


def _module(name: str, version: str, base: str, company: str = "Microsoft Corporation") -> dict[str, Any]:
    return {
        "name": name,
        "version": version,
        "path": f"{base}\\{name}\\{version}" if base == _MODULES else f"{base}\\{name}",
        "company_name": company,
        "author": "Microsoft Corporation",
    }


def default_modules(connect_version: str) -> list[dict[str, Any]]:
    """A healthy 2026 server: current modules, nothing retired, no look-alike."""
    return [
        _module("ActiveDirectory", "1.0.1.0", _SYSTEM),
        {
            "name": "ADSync",
            "version": connect_version,
            "path": "C:\\Program Files\\Microsoft Azure AD Sync\\Bin\\ADSync",
            "company_name": "Microsoft Corporation",
            "author": "Microsoft Corporation",
        },
        # 3.10.1 is the current release (docs/sources.md §1.4).
        _module("ExchangeOnlineManagement", "3.10.1", _MODULES),
        _module("Microsoft.Graph.Authentication", GRAPH_VERSION, _MODULES),
        _module("Microsoft.Graph.Users", GRAPH_VERSION, _MODULES),
        _module("Microsoft.Graph.Identity.DirectoryManagement", GRAPH_VERSION, _MODULES),
        # Role assignments and PIM eligibility of a cloud user (graph/_user.ps1.j2, docs/sync.md).
        _module("Microsoft.Graph.Identity.Governance", GRAPH_VERSION, _MODULES),
    ]


def look_alike_module(name: str = "ExchangeOnlineManagment") -> dict[str, Any]:
    """One of the names published to the PowerShell Gallery on 2026-08-16 (docs/sources.md, look-alike
    modules): v1.0.0."""
    return {
        "name": name,
        "version": "1.0.0",
        "path": f"{_MODULES}\\{name}\\1.0.0",
        "company_name": "Unknown",
        "author": "helpers",
    }


def add_default_facts(world: dict[str, Any]) -> dict[str, Any]:
    """Add the host facts to a fresh world (in place; returned for chaining)."""
    settings = world.get("sync", {}).get("settings", {})
    world["host"] = {
        "computer_name": str(settings.get("server", "sync1")).split(".", 1)[0].upper(),
        "modules": default_modules(str(settings.get("connect_version") or "2.5.79.0")),
        # Exchange Server 2019 CU12+ management tools (docs/sources.md §5), for the hybrid-tools profile.
        "snapins": [{"name": RECIPIENT_SNAPIN, "version": "15.2.1544.4"}],
    }
    certs = world.setdefault("certs", {})
    issued = datetime.now(timezone.utc) - timedelta(days=1)
    for cert in certs.setdefault("local_machine_my", []):
        cert.setdefault("private_key_usable", bool(cert.get("has_private_key", True)))
        cert.setdefault("not_before", issued.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    certs.setdefault("current_user_my", [])
    # What the admin granted pswrap's identities (docs/permissions.md); `pswrap lab set` takes one away.
    world["grants"] = default_grants(world["host"]["computer_name"])
    return world


def default_grants(computer_name: str) -> dict[str, Any]:
    """What a correctly set-up tenant and server grant: every permission and role pswrap's steps need
    (pswrap.steps.permissions), and the server groups of docs/permissions.md."""
    from pswrap.steps import permissions

    graph = sorted({p for s in permissions.step_ids("graph") for p in permissions.graph_permissions(s)})
    roles = sorted({r for s in permissions.step_ids("exo") for r in permissions.exchange_roles(s).values()})
    return {
        "graph_permissions": graph,
        "exchange_roles": roles,
        "server_account": "LAB\\lab-admin",
        "server_groups": [
            "BUILTIN\\Administrators",
            "BUILTIN\\Remote Management Users",
            f"{computer_name}\\ADSyncAdmins",
        ],
    }
