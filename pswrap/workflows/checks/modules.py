"""Judgements on the PowerShell modules (and snap-in) each host needs: present, recent enough, by
Microsoft, and no look-alike or retired module beside them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pswrap.steps.model import Need
from pswrap.workflows.checks.model import Check, failed, passed, version_tuple, warned

MIN_EXO_VERSION = (3, 0, 0)
GRAPH_IMPORT_RISK = (2, 34)
"""Microsoft.Graph 2.34+ can fail at import on Windows PowerShell 5.1 (docs/sources.md §7b item 4,
community)."""

RECIPIENT_SNAPIN = "Microsoft.Exchange.Management.PowerShell.RecipientManagement"
EXO_MODULE = "ExchangeOnlineManagement"
LOOK_ALIKES = ("Exchange-OnlineManagement", "ExchangeOnlineManagment", "ExchangeOnlineMangement")
"""Published to the PowerShell Gallery on 2026-08-16 (docs/sources.md, look-alike modules, supply chain)."""
RETIRED_MODULES = {
    "MSOnline": "MSOnline is retired since 2025-05-30",
    "AzureAD": "AzureAD PowerShell was retired in 2025 (it ran on Azure AD Graph, gone 2025-07-01)",
    "AzureADPreview": "AzureADPreview was retired with AzureAD in 2025 (Azure AD Graph is gone)",
}

REQUIRED_MODULES: dict[Need, tuple[str, ...]] = {
    "ad": ("ActiveDirectory",),
    "adsync": ("ADSync",),
    "exo": (EXO_MODULE,),
    "graph": (
        "Microsoft.Graph.Authentication",
        "Microsoft.Graph.Users",
        "Microsoft.Graph.Identity.DirectoryManagement",
        "Microsoft.Graph.Identity.Governance",
    ),
    "hybrid": (),
}
MODULE_HOW: dict[str, str] = {
    "ActiveDirectory": "install the RSAT AD PowerShell feature on this host (Install-WindowsFeature "
    "RSAT-AD-PowerShell), or point hosts.ad of the target at a host that has it (docs/sources.md §0)",
    "ADSync": "point hosts.adsync of the target at the Entra Connect Sync server: the ADSync module is "
    "installed with Entra Connect, nowhere else (docs/sources.md §2)",
    EXO_MODULE: "Install-Module ExchangeOnlineManagement -Scope AllUsers (3.x, docs/sources.md §1.4)",
    "Microsoft.Graph.Authentication": "Install-Module Microsoft.Graph.Authentication -Scope AllUsers "
    "(docs/sources.md §1.5)",
    "Microsoft.Graph.Users": "Install-Module Microsoft.Graph.Users -Scope AllUsers (docs/sources.md §1.5)",
    "Microsoft.Graph.Identity.DirectoryManagement": "Install-Module "
    "Microsoft.Graph.Identity.DirectoryManagement -Scope AllUsers (docs/sources.md §3, tenant switches)",
    "Microsoft.Graph.Identity.Governance": "Install-Module Microsoft.Graph.Identity.Governance -Scope "
    "AllUsers (role assignments and PIM eligibility of the mailbox's user, docs/sync.md)",
}

MODULE_PATTERNS: tuple[str, ...] = (
    "ActiveDirectory",
    "ADSync",
    "*Exchang*",
    "*Onlin*Man*",
    "Microsoft.Graph.Authentication",
    "Microsoft.Graph.Users",
    "Microsoft.Graph.Identity.DirectoryManagement",
    "Microsoft.Graph.Identity.Governance",
    *RETIRED_MODULES,
)
"""What the module steps ask Get-Module -ListAvailable for: the modules used, and wide enough patterns to
catch look-alikes of ExchangeOnlineManagement."""


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def is_look_alike(name: str) -> bool:
    """A module name that imitates ExchangeOnlineManagement without being it (docs/sources.md, look-alike
    modules).

    The three names published in 2026 are listed; any other name within two edits of it (ignoring case
    and punctuation) is treated the same way, since the next one will differ by a letter again.
    """
    if name == EXO_MODULE:
        return False
    if name.lower() in (n.lower() for n in LOOK_ALIKES):
        return True
    return _edit_distance(_norm(name), _norm(EXO_MODULE)) <= 2


def _versions(inventory: Any, name: str) -> list[str]:
    found = [m.version for m in inventory.modules if m.name.lower() == name.lower()]
    return sorted(found, key=version_tuple, reverse=True)


def _not_by_microsoft(inventory: Any, name: str) -> list[str]:
    """Installed copies of `name` whose manifest names another company: the name alone proves nothing
    (docs/sources.md, look-alike modules: pin exact names and verify the publisher). A manifest without
    CompanyName is
    not judged."""
    return [
        f"{m.version} by {m.company_name} in {m.path or 'an unknown folder'}"
        for m in inventory.modules
        if m.name.lower() == name.lower() and m.company_name and "microsoft" not in m.company_name.lower()
    ]


def judge_modules(host: str, needs: Sequence[Need], inventory: Any) -> list[Check]:
    """The modules (and snap-in) the needs mapped to this host use, the look-alikes and the retired ones."""
    checks: list[Check] = []
    for need in needs:
        for module in REQUIRED_MODULES[need]:
            check_id = f"modules.{host}.{module}"
            name = f"module {module} on {host}"
            versions = _versions(inventory, module)
            if not versions:
                checks.append(
                    failed(check_id, name, "not installed", MODULE_HOW.get(module, f"install {module}"))
                )
                continue
            found = "installed: " + ", ".join(versions)
            strangers = _not_by_microsoft(inventory, module) if module == EXO_MODULE else []
            if strangers:
                checks.append(
                    failed(
                        check_id,
                        name,
                        found + " (" + "; ".join(strangers) + ": not Microsoft's module under its name)",
                        f"Uninstall-Module {module} -AllVersions, then Install-Module {module} "
                        "-Scope AllUsers -Repository PSGallery and check it says CompanyName Microsoft "
                        "Corporation: look-alike modules were published to the PowerShell Gallery in 2026 "
                        "(docs/sources.md, look-alike modules)",
                    )
                )
                continue
            if module == EXO_MODULE and version_tuple(versions[0]) < MIN_EXO_VERSION:
                checks.append(
                    failed(
                        check_id,
                        name,
                        found + " (before 3.0.0: remote PowerShell, turned off in October 2023)",
                        "Install-Module ExchangeOnlineManagement -Scope AllUsers -MinimumVersion 3.0.0 "
                        "(3.x is REST-based; docs/sources.md §1.4)",
                    )
                )
                continue
            if module.startswith("Microsoft.Graph.") and version_tuple(versions[0]) >= GRAPH_IMPORT_RISK:
                checks.append(
                    warned(
                        check_id,
                        name,
                        found + " (2.34 and later can fail to load in Windows PowerShell 5.1)",
                        "if graph/connect fails with a TypeLoadException or 'could not be loaded', install "
                        "a version before 2.34 of every Microsoft.Graph module (docs/sources.md §7b item 4)",
                    )
                )
                continue
            checks.append(passed(check_id, name, found))
        if need == "hybrid":
            snapins = [s for s in inventory.snapins if s.name.lower() == RECIPIENT_SNAPIN.lower()]
            check_id = f"modules.{host}.{RECIPIENT_SNAPIN}"
            name = f"snap-in RecipientManagement on {host}"
            if snapins:
                version = snapins[0].version or "version unknown"
                checks.append(passed(check_id, name, f"registered ({version})"))
            else:
                checks.append(
                    failed(
                        check_id,
                        name,
                        f"{RECIPIENT_SNAPIN} is not registered",
                        "install the Exchange Server 2019 CU12+ (or SE) management tools on this host "
                        "(docs/sources.md §5)",
                    )
                )
    impostors = sorted({m.name for m in inventory.modules if is_look_alike(m.name)})
    check_id = f"modules.{host}.look-alikes"
    name = f"no look-alike of {EXO_MODULE} on {host}"
    if impostors:
        where = "; ".join(
            f"{m.name} {m.version} in {m.path or 'an unknown folder'}"
            for m in inventory.modules
            if m.name in impostors
        )
        checks.append(
            failed(
                check_id,
                name,
                f"installed: {where}",
                "remove it (Uninstall-Module " + ", ".join(impostors) + " -AllVersions) and check the "
                "host: look-alike modules were published to the PowerShell Gallery in 2026 "
                "(docs/sources.md, look-alike modules); pswrap uses only ExchangeOnlineManagement",
            )
        )
    else:
        checks.append(passed(check_id, name, "none installed"))
    retired = [(n, why) for n, why in RETIRED_MODULES.items() if _versions(inventory, n)]
    check_id = f"modules.{host}.retired"
    name = f"no retired MSOnline/AzureAD module on {host}"
    if retired:
        found = "; ".join(f"{n} {', '.join(_versions(inventory, n))} ({why})" for n, why in retired)
        checks.append(
            warned(
                check_id,
                name,
                f"installed: {found}",
                "uninstall " + " and ".join(n for n, _ in retired) + " (Uninstall-Module -AllVersions): "
                "their cmdlets no longer work and scripts that still call them fail; pswrap uses "
                "Microsoft Graph instead (docs/sources.md §1.1)",
            )
        )
    else:
        checks.append(passed(check_id, name, "none installed"))
    return checks
