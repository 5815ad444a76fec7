"""The preflight: read-only checks that tell an admin, before anything changes, whether the runbook can work.

Admins hit most failures of this runbook before its first cmdlet: a retired module, an old sync engine,
the certificate in the wrong store, a tenant that blocks hard match. Each check here reads facts with
read-only steps (or, for the connection itself, what the client saw), then judges them; the judging
functions are pure so every outcome is testable from canned step results. Every outcome short of pass
carries the one thing to do about it and the documented source it rests on.

`pswrap doctor` prints all checks; `blocking_failures` is what `mailbox create` calls before it plans:
the failed checks that matter to the chosen profile and hold.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal, Protocol

from pswrap import errors as e
from pswrap.steps.model import Need, Profile
from pswrap.steps.preflight import CERTIFICATE_STEPS, MODULE_STEPS

Status = Literal["pass", "warn", "fail"]
STATUSES: tuple[Status, ...] = ("pass", "warn", "fail")

MIN_CONNECT_VERSION = (2, 5, 79, 0)
CONNECT_DEADLINE = "2026-09-30"
CERT_WARN_DAYS = 30
MIN_EXO_VERSION = (3, 0, 0)
GRAPH_IMPORT_RISK = (2, 34)
"""Microsoft.Graph 2.34+ can fail at import on Windows PowerShell 5.1 (domain.md §7b item 4, community)."""

RECIPIENT_SNAPIN = "Microsoft.Exchange.Management.PowerShell.RecipientManagement"
EXO_MODULE = "ExchangeOnlineManagement"
LOOK_ALIKES = ("Exchange-OnlineManagement", "ExchangeOnlineManagment", "ExchangeOnlineMangement")
"""Published to the PowerShell Gallery on 2026-08-16 (ecosystem.md §5.1, supply chain)."""
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
    ),
    "hybrid": (),
}
MODULE_HOW: dict[str, str] = {
    "ActiveDirectory": "install the RSAT AD PowerShell feature on this host (Install-WindowsFeature "
    "RSAT-AD-PowerShell), or point hosts.ad of the target at a host that has it (domain.md §0)",
    "ADSync": "point hosts.adsync of the target at the Entra Connect Sync server: the ADSync module is "
    "installed with Entra Connect, nowhere else (domain.md §2)",
    EXO_MODULE: "Install-Module ExchangeOnlineManagement -Scope AllUsers (3.x, domain.md §1.4)",
    "Microsoft.Graph.Authentication": "Install-Module Microsoft.Graph.Authentication -Scope AllUsers "
    "(domain.md §1.5)",
    "Microsoft.Graph.Users": "Install-Module Microsoft.Graph.Users -Scope AllUsers (domain.md §1.5)",
    "Microsoft.Graph.Identity.DirectoryManagement": "Install-Module "
    "Microsoft.Graph.Identity.DirectoryManagement -Scope AllUsers (domain.md §3, tenant switches)",
}

MODULE_PATTERNS: tuple[str, ...] = (
    "ActiveDirectory",
    "ADSync",
    "*Exchang*",
    "*Onlin*Man*",
    "Microsoft.Graph.Authentication",
    "Microsoft.Graph.Users",
    "Microsoft.Graph.Identity.DirectoryManagement",
    *RETIRED_MODULES,
)
"""What the module steps ask Get-Module -ListAvailable for: the modules used, and wide enough patterns to
catch look-alikes of ExchangeOnlineManagement."""

PROFILE_NEEDS: dict[Profile, tuple[Need, ...]] = {
    "modern": ("ad", "adsync", "exo", "graph"),
    "hybrid-tools": ("ad", "adsync", "hybrid"),
    "legacy": (),
}
NEED_ORDER: tuple[Need, ...] = ("adsync", "ad", "exo", "graph", "hybrid")
"""Which need's step probes a host that several needs map to: one without a connect step first."""


@dataclass(frozen=True)
class Check:
    """One line of the checklist. `fix` is the one thing to do, with its documented source."""

    id: str
    """Stable, for scripts and for `blocking_failures` (e.g. `sync.connect-version`)."""
    name: str
    status: Status
    found: str
    fix: str | None = None
    after: str | None = None
    """Set when the check could not run: the name of the failed check it waits for."""

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "status": self.status, "found": self.found, "fix": self.fix}


def passed(check_id: str, name: str, found: str) -> Check:
    return Check(check_id, name, "pass", found)


def warned(check_id: str, name: str, found: str, fix: str) -> Check:
    return Check(check_id, name, "warn", found, fix)


def failed(check_id: str, name: str, found: str, fix: str) -> Check:
    return Check(check_id, name, "fail", found, fix)


def not_checked(check_id: str, name: str, why: str, first: str) -> Check:
    """A check that could not run because the check named `first` failed. It fails too (nothing shows
    it would pass), and its one fix is that other check's."""
    return Check(check_id, name, "fail", f"not checked: {why}", f"fix the check '{first}' first", first)


def exit_status(checks: Iterable[Check]) -> int:
    """0 when nothing failed, 6 (needs a human) when something did."""
    return e.EXIT_NEEDS_HUMAN if any(c.status == "fail" for c in checks) else e.EXIT_OK


# --- 1. the connection ------------------------------------------------------------------------------


def judge_encryption(target: Any) -> Check:
    """What protects the conversation: TLS (HTTPS) or message encryption inside HTTP (NTLM/Kerberos/CredSSP).

    Basic authentication cannot encrypt messages (ecosystem.md §1.5), and `encryption = never` over HTTP
    sends every script and result in the clear.
    """
    name = "message encryption"
    scheme = getattr(target, "scheme", "https")
    auth = getattr(target, "auth", "negotiate")
    mode = getattr(target, "encryption", "auto")
    if scheme == "https":
        if not getattr(target, "cert_validation", True):
            return warned(
                "connection.encryption",
                name,
                "HTTPS (TLS) without checking the server's certificate: encrypted, to an unverified server",
                "set cert_validation = true and ca_bundle = the PEM of the CA that issued the WinRM "
                "listener's certificate (ecosystem.md §1.5)",
            )
        return passed("connection.encryption", name, f"HTTPS (TLS), {auth} authentication")
    if auth == "basic" or mode == "never":
        why = "Basic authentication cannot encrypt messages" if auth == "basic" else "encryption = never"
        return failed(
            "connection.encryption",
            name,
            f"HTTP with {auth} authentication: {why}, so scripts and results cross the network in the clear",
            'use scheme = "https", or auth = "ntlm"/"negotiate" with encryption = "auto" '
            "(pypsrp encrypts each message then; ecosystem.md §1.5)",
        )
    return passed(
        "connection.encryption", name, f"HTTP with {auth} message encryption (every message is sealed)"
    )


def judge_host_error(host: str, needs: Sequence[Need], error: Exception | None) -> Check:
    """Reachability and sign-in of one host, from what happened when the first step was sent to it."""
    name = f"reach and sign in to {host} ({', '.join(needs)})"
    check_id = f"connection.host.{host}"
    if error is None:
        return passed(check_id, name, "reached; the remoting account signed in and ran a script")
    if isinstance(error, e.AuthenticationError):
        return failed(
            check_id,
            name,
            f"the server refused the credentials: {error}",
            "check username and the password source of the target (`pswrap targets show`); the account "
            "must be allowed to use WinRM on the host (Remote Management Users or Administrators)",
        )
    if isinstance(error, e.TransportError):
        return failed(
            check_id,
            name,
            f"could not reach WinRM: {error}",
            f"check that {host} resolves and that WinRM listens (Test-WSMan {host} from a Windows box; "
            "port 5986 for HTTPS, 5985 for HTTP) and no firewall blocks it",
        )
    return passed(check_id, name, "reached and signed in (the first script failed; see the next checks)")


# --- 2. modules --------------------------------------------------------------------------------------


def _version_tuple(text: str | None) -> tuple[int, ...]:
    if not text:
        return ()
    parts = []
    for piece in text.strip().split("."):
        match = re.match(r"\d+", piece)
        parts.append(int(match.group(0)) if match else 0)
    return tuple(parts)


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
    """A module name that imitates ExchangeOnlineManagement without being it (ecosystem.md §5.1).

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
    return sorted(found, key=_version_tuple, reverse=True)


def _not_by_microsoft(inventory: Any, name: str) -> list[str]:
    """Installed copies of `name` whose manifest names another company: the name alone proves nothing
    (ecosystem.md §5.1: pin exact names and verify the publisher). A manifest without CompanyName is
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
                        "(ecosystem.md §5.1)",
                    )
                )
                continue
            if module == EXO_MODULE and _version_tuple(versions[0]) < MIN_EXO_VERSION:
                checks.append(
                    failed(
                        check_id,
                        name,
                        found + " (before 3.0.0: remote PowerShell, turned off in October 2023)",
                        "Install-Module ExchangeOnlineManagement -Scope AllUsers -MinimumVersion 3.0.0 "
                        "(3.x is REST-based; domain.md §1.4)",
                    )
                )
                continue
            if module.startswith("Microsoft.Graph.") and _version_tuple(versions[0]) >= GRAPH_IMPORT_RISK:
                checks.append(
                    warned(
                        check_id,
                        name,
                        found + " (2.34 and later can fail to load in Windows PowerShell 5.1)",
                        "if graph/connect fails with a TypeLoadException or 'could not be loaded', install "
                        "a version before 2.34 of every Microsoft.Graph module (domain.md §7b item 4)",
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
                        "(domain.md §5)",
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
                "(ecosystem.md §5.1); pswrap uses only ExchangeOnlineManagement",
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
                "Microsoft Graph instead (domain.md §1.1)",
            )
        )
    else:
        checks.append(passed(check_id, name, "none installed"))
    return checks


# --- 3. the sync engine ------------------------------------------------------------------------------


def judge_connect_version(settings: Any) -> Check:
    name = "Entra Connect Sync version"
    version = getattr(settings, "connect_version", None)
    if not version:
        return warned(
            "sync.connect-version",
            name,
            "the sync server did not report its version",
            f"check it in the Synchronization Service Manager (Help > About); {CONNECT_DEADLINE} made "
            "2.5.79.0 the minimum (domain.md §1.3)",
        )
    if _version_tuple(version) < MIN_CONNECT_VERSION:
        return failed(
            "sync.connect-version",
            name,
            f"{version}: below 2.5.79.0, synchronization stopped for it after {CONNECT_DEADLINE}",
            "upgrade Entra Connect Sync to 2.5.79.0 or later (the .msi is in the Entra admin center; "
            "domain.md §1.3)",
        )
    return passed("sync.connect-version", name, f"{version} (2.5.79.0 or later is required)")


def default_hold(anchor_attribute: str | None) -> str:
    """The hold `mailbox create` picks when none is given (the rule of `workflows.inputs.choose_hold`):
    the anchor hold where the anchor is mS-DS-ConsistencyGuid, else the staging OU. The doctor judges
    that hold's prerequisites when `--hold` is left out, so it fails where the command would refuse.
    """
    return "anchor" if str(anchor_attribute or "").lower() == "ms-ds-consistencyguid" else "staging-ou"


def judge_anchor(settings: Any, hold: str | None = None) -> Check:
    """`hold` None: none chosen, so `mailbox create` takes `default_hold` of this anchor."""
    name = "sourceAnchor attribute"
    anchor = str(getattr(settings, "anchor_attribute", "") or "")
    if anchor.lower() == "ms-ds-consistencyguid":
        return passed(
            "sync.anchor",
            name,
            "mS-DS-ConsistencyGuid: new accounts can be created with their anchor already set (the anchor "
            "hold, mailbox create's default here)",
        )
    if anchor.lower() == "objectguid":
        if hold == "anchor":
            return failed(
                "sync.anchor",
                name,
                "objectGUID: the anchor hold cannot work (a new account's objectGUID cannot be chosen in "
                "advance)",
                "leave --hold out (mailbox create then uses the staging OU here) or use --hold staging-ou; "
                "the anchor attribute is chosen when Entra Connect is installed (domain.md §3)",
            )
        if hold is not None:
            return passed(
                "sync.anchor", name, f"objectGUID: the {hold} hold does not need the anchor chosen in advance"
            )
        return warned(
            "sync.anchor",
            name,
            "objectGUID (DirSync heritage): mailbox create holds new accounts in the staging OU "
            "(its default here); the anchor hold is unavailable",
            "keep staging_ou set to an OU outside sync scope (checked under Active Directory below); only "
            "a server installed with mS-DS-ConsistencyGuid as its anchor allows the anchor hold "
            "(domain.md §3)",
        )
    return failed(
        "sync.anchor",
        name,
        f"unexpected value {anchor!r}",
        "read Microsoft.SynchronizationOption.AnchorAttribute from Get-ADSyncGlobalSettings on the sync "
        "server; pswrap knows objectGUID and mS-DS-ConsistencyGuid (domain.md §3)",
    )


def judge_staging_mode(settings: Any) -> Check:
    name = "sync server not in staging mode"
    if getattr(settings, "staging_mode", False):
        return failed(
            "sync.staging-mode",
            name,
            "staging mode is on: this server imports and synchronizes but never exports, so no account "
            "it sees ever reaches Entra ID",
            "point the target's adsync host at the active sync server (domain.md §7b item 12)",
        )
    return passed("sync.staging-mode", name, "active server (staging mode off)")


def judge_scheduler(scheduler: Any, hold: str | None = None) -> Check:
    name = "sync scheduler"
    if getattr(scheduler, "scheduler_suspended", False):
        why = "SchedulerSuspended is set (Connect sets it during an upgrade, and while its wizard is open)"
        fix = "close the Entra Connect wizard or finish the upgrade on the sync server (domain.md §2)"
        if hold == "scheduler":
            return failed("sync.scheduler", name, why + "; the scheduler hold refuses to run", fix)
        return warned("sync.scheduler", name, why + ": no cycle runs until it is cleared", fix)
    if not getattr(scheduler, "sync_cycle_enabled", True):
        return warned(
            "sync.scheduler",
            name,
            "SyncCycleEnabled is $false: no scheduled cycle runs (pswrap starts its own; nothing else syncs)",
            "if no pswrap lease holds it (next check), resume it: Set-ADSyncScheduler -SyncCycleEnabled "
            "$true on the sync server (domain.md §2)",
        )
    return passed("sync.scheduler", name, "enabled, not suspended")


def judge_cycle(scheduler: Any) -> Check:
    name = "no sync cycle in progress"
    if getattr(scheduler, "sync_cycle_in_progress", False):
        return warned(
            "sync.cycle",
            name,
            "a cycle is running now",
            "nothing to do: pswrap waits for it to end before it starts its own (a cycle past its import "
            "would miss the change; domain.md §2)",
        )
    return passed("sync.cycle", name, "idle")


def judge_leases(leases: Any, now: datetime) -> Check:
    """Leases never fail the preflight: each ends by itself (its one-shot task) or with `pswrap resume`."""
    name = "no pswrap lease left on the scheduler"
    items = list(getattr(leases, "leases", []) or [])
    if not items:
        return passed("sync.leases", name, "none")
    stale = [lease for lease in items if _aware(lease.deadline_utc) <= now]
    listing = ", ".join(
        f"{lease.name} (until {_aware(lease.deadline_utc):%Y-%m-%d %H:%M} UTC)" for lease in items
    )
    if stale:
        return warned(
            "sync.leases",
            name,
            f"{listing}; past its deadline: its restore task has not run, the scheduler may stay paused",
            "run `pswrap resume` for that operation (it ends the lease and restores the scheduler), or "
            "run the task of that name in Task Scheduler on the sync server",
        )
    return warned(
        "sync.leases",
        name,
        f"{listing}: an operation holds the scheduler paused",
        "let it finish, or `pswrap resume` it if it was interrupted; at the deadline the lease restores "
        "the scheduler by itself",
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# --- 4. the tenant -----------------------------------------------------------------------------------


def judge_certificate(host: str, cert: Any, now: datetime) -> Check:
    name = f"app certificate in LocalMachine\\My on {host}"
    check_id = f"tenant.certificate.{host}"
    thumb = cert.thumbprint
    if not cert.found:
        if cert.in_current_user_store:
            return failed(
                check_id,
                name,
                f"{thumb} is in CurrentUser\\My of the remoting account, not in LocalMachine\\My",
                "import the certificate with its private key into Cert:\\LocalMachine\\My on this host "
                "(pswrap passes it from there; domain.md §7b item 14)",
            )
        return failed(
            check_id,
            name,
            f"no certificate with thumbprint {thumb}",
            "import the app registration's certificate (.pfx, with its private key) into "
            "Cert:\\LocalMachine\\My on this host, or fix certificate_thumbprint (domain.md §7b item 14)",
        )
    subject = cert.subject or "(no subject)"
    if not cert.has_private_key:
        return failed(
            check_id,
            name,
            f"{subject} ({thumb}) has no private key on this host",
            "re-import it from the .pfx (the .cer has only the public key) into LocalMachine\\My "
            "(domain.md §7b item 14)",
        )
    if not cert.private_key_usable:
        detail = f": {cert.private_key_error}" if cert.private_key_error else ""
        return failed(
            check_id,
            name,
            f"{subject} ({thumb}): the remoting account cannot use its private key{detail}",
            "grant the remoting account Read on the private key (certlm.msc > the certificate > All Tasks > "
            "Manage Private Keys); the connect fails with 'Keyset does not exist' (domain.md §7b item 14)",
        )
    if cert.not_after is None:
        return warned(check_id, name, f"{subject} ({thumb}): expiry unknown", "check NotAfter in certlm.msc")
    not_after = _aware(cert.not_after)
    if not_after <= now:
        return failed(
            check_id,
            name,
            f"{subject} ({thumb}) expired on {not_after:%Y-%m-%d}",
            "create a new certificate, upload it to the app registration and import it into "
            "LocalMachine\\My; Graph skips expired certificates (domain.md §7b item 14)",
        )
    days = (not_after - now).days
    if not_after - now < timedelta(days=CERT_WARN_DAYS):
        return warned(
            check_id,
            name,
            f"{subject} ({thumb}) expires on {not_after:%Y-%m-%d}, in {days} days",
            "renew it now: upload the new certificate to the app registration, import it into "
            "LocalMachine\\My and change certificate_thumbprint (domain.md §1.4)",
        )
    return passed(
        check_id, name, f"{subject} ({thumb}), private key usable, valid until {not_after:%Y-%m-%d}"
    )


def connect_check_name(need: Need) -> str:
    service = "Exchange Online" if need == "exo" else "Microsoft Graph"
    return f"{service} connects app-only with the certificate"


def judge_connect(
    need: Need,
    result: Any | None,
    error: Exception | None,
    cert_ok: bool,
    modules_failed: Sequence[str] = (),
) -> Check:
    """A failed connect's fix names the check it follows from: a module the connect imports (failed
    above, on that host), else the certificate it reads, else the app registration."""
    check_id = f"tenant.connect.{need}"
    name = connect_check_name(need)
    if error is None and result is not None and getattr(result, "connected", False):
        detail = getattr(result, "detail", None)
        return passed(check_id, name, f"connected{f' ({detail})' if detail else ''}")
    message = str(error) if error is not None else "the connect step reported it is not connected"
    if modules_failed:
        fix = f"fix the module check above first ({', '.join(modules_failed)}): the connect imports it"
    elif not cert_ok:
        fix = "fix the certificate check above first; the connect reads that certificate"
    elif need == "exo":
        fix = (
            "check the app registration: application permission Exchange.ManageAsApp with admin consent "
            "and an Entra role (e.g. Exchange Administrator) for its service principal; organization must "
            "be the tenant's .onmicrosoft.com domain (domain.md §1.4)"
        )
    else:
        fix = (
            "check the app registration: Graph application permissions User.ReadWrite.All and "
            "OnPremDirectorySynchronization.Read.All with admin consent; tenant_id and app_id of the "
            "target (domain.md §1.5, §3)"
        )
    return failed(check_id, name, message, fix)


def _switch_command(feature: str, on: bool) -> str:
    """The documented way to flip a tenant sync feature (domain.md §3), ready to paste."""
    return (
        f"$s = Get-MgDirectoryOnPremiseSynchronization; $s.Features.{feature} = ${str(on).lower()}; "
        "Update-MgDirectoryOnPremiseSynchronization -OnPremisesDirectorySynchronizationId $s.Id "
        "-Features $s.Features"
    )


def judge_soft_match(features: Any) -> Check:
    name = "BlockSoftMatch"
    if features.block_soft_match:
        return passed("tenant.block-soft-match", name, "on (soft match cannot take over cloud objects)")
    return warned(
        "tenant.block-soft-match",
        name,
        "off: a new synced account can soft-match any cloud object by SMTP address or UPN",
        "turn it on (Microsoft advises both blocks on outside a matching window), in a Graph session "
        "with OnPremDirectorySynchronization.ReadWrite.All: "
        + _switch_command("BlockSoftMatchEnabled", True)
        + " (domain.md §3)",
    )


def judge_hard_match(features: Any) -> Check:
    """Only the modern profile reads the tenant (its runbook needs the hard match)."""
    name = "BlockCloudObjectTakeoverThroughHardMatch"
    check_id = "tenant.block-hard-match"
    if features.block_hard_match_takeover:
        return failed(
            check_id,
            name,
            "on: the sync engine cannot link the new AD account to the cloud mailbox; the export "
            "fails with InvalidHardMatch",
            "turn it off for the matching window, run the mailbox command, then turn it back on ($true); "
            "in a Graph session with OnPremDirectorySynchronization.ReadWrite.All: "
            + _switch_command("BlockCloudObjectTakeoverThroughHardMatchEnabled", False)
            + " (domain.md §3)",
        )
    return passed(check_id, name, "off: the hard match can link the AD account to the cloud mailbox")


# --- 5. Active Directory -----------------------------------------------------------------------------


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
        "the ad host; for a second hop configure ad_credential_user or delegation (DESIGN.md: second hop)",
    )


def in_scope(dn: str, scopes: Iterable[Any]) -> bool:
    """Is a DN inside an AD connector's OU filtering? The most specific inclusion or exclusion wins.

    Connect's OU filtering selects containers (inclusions) and deselects sub-containers (exclusions);
    an object is in scope under its nearest selected or deselected ancestor.
    """
    target = dn.lower().replace(" ", "")
    best: tuple[int, bool] | None = None
    for scope in scopes:
        for container, included in [
            *((c, True) for c in scope.inclusions),
            *((c, False) for c in scope.exclusions),
        ]:
            c = container.lower().replace(" ", "")
            if target == c or target.endswith("," + c):
                depth = c.count(",")
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
            "(DESIGN.md: holds)"
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
                    "objects in scope reach Entra ID (domain.md §6.2)",
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
        "OU outside sync scope (DESIGN.md: holds)"
    )
    if hold == "staging-ou":
        checks.append(failed(scope_id, scope_name, found, fix))
    else:
        checks.append(warned(scope_id, scope_name, found, fix))
    return checks


# --- running the checks against a session --------------------------------------------------------------


class DoctorSession(Protocol):
    """What the preflight needs from `pswrap.remote.session.Session`."""

    target: Any

    def step(
        self,
        step_id: str,
        *,
        choices: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any: ...


Progress = Callable[[str], None]


def _quiet(_message: str) -> None:
    return None


def hosts_for(target: Any, needs: Sequence[Need]) -> dict[str, list[Need]]:
    """The distinct hosts the needs map to, each with its needs in probing order."""
    mapping: Mapping[str, str] = getattr(target, "hosts", {}) or {}
    hosts: dict[str, list[Need]] = {}
    for need in NEED_ORDER:
        if need in needs:
            host = str(mapping.get(need) or getattr(target, "host", None) or "the target")
            hosts.setdefault(host, []).append(need)
    return hosts


@dataclass
class _Run:
    session: DoctorSession
    profile: Profile
    hold: str | None
    now: datetime
    progress: Progress
    checks: list[Check] = field(default_factory=list)
    effective_hold: str | None = None
    """The hold whose prerequisites the AD checks judge: the one chosen, else mailbox create's default
    for the sync server's anchor (`default_hold`), once the settings are read."""
    down: set[str] = field(default_factory=set)
    host_checks: dict[str, str] = field(default_factory=dict)
    """The name of each host's reach-and-sign-in check, which that host's other checks wait for."""
    """Hosts that could not be reached or refused the sign-in: nothing more is sent to them."""
    known: Mapping[str, Any] = field(default_factory=dict)
    """Results of parameterless read steps the caller made in this same run, by step id: not read twice."""

    def step(self, step_id: str, **params: Any) -> tuple[Any | None, Exception | None]:
        if not params and self.known.get(step_id) is not None:
            return self.known[step_id], None
        try:
            return self.session.step(step_id, params=params or None), None
        except e.BadInput:
            raise
        except e.PswrapError as exc:
            return None, exc

    def not_checked(self, check_id: str, name: str, host: str) -> Check:
        return not_checked(
            check_id,
            name,
            f"{host} could not be reached or refused the sign-in",
            self.host_checks.get(host, f"reach and sign in to {host}"),
        )


def run_checks(
    session: DoctorSession,
    *,
    profile: Profile = "modern",
    hold: str | None = None,
    now: datetime | None = None,
    progress: Progress = _quiet,
    known: Mapping[str, Any] | None = None,
) -> list[Check]:
    """Every check that applies to the profile, in checklist order (connection, modules, sync, tenant, AD).

    `known`: what the caller already read in this run (`sync/get-settings`, `graph/get-sync-features`...,
    by step id), judged as read instead of asking the server a second time.
    """
    target = session.target
    run = _Run(
        session,
        profile,
        hold,
        now or datetime.now(timezone.utc),
        progress,
        effective_hold=hold,
        known=known or {},
    )
    needs = PROFILE_NEEDS[profile]
    hosts = hosts_for(target, needs)
    run.checks.append(judge_encryption(target))
    module_checks: list[Check] = []
    for host, host_needs in hosts.items():
        progress(f"listing modules on {host}")
        inventory, error = run.step(MODULE_STEPS[host_needs[0]], Name=list(MODULE_PATTERNS))
        host_check = judge_host_error(host, host_needs, error)
        run.host_checks[host] = host_check.name
        run.checks.append(host_check)
        if isinstance(error, e.TransportError):
            run.down.add(host)
            module_checks.append(run.not_checked(f"modules.{host}", f"modules on {host}", host))
        elif error is not None:
            module_checks.append(
                failed(
                    f"modules.{host}",
                    f"modules on {host}",
                    f"could not list them: {error}",
                    "the endpoint must let the remoting account run scripts with Get-Module and "
                    "Get-PSSnapin (a constrained JEA endpoint cannot); check configuration_name of the "
                    f"target, then `pswrap run {MODULE_STEPS[host_needs[0]]} --param Name=*`",
                )
            )
        else:
            module_checks.extend(judge_modules(host, host_needs, inventory))
    run.checks.extend(module_checks)
    _sync_checks(run, hosts)
    if profile == "modern":
        _tenant_checks(run, hosts)
    _ad_checks(run, hosts)
    from pswrap.workflows.permission_checks import add_permission_checks

    add_permission_checks(run, hosts, profile=profile)
    return run.checks


def _host_of(hosts: Mapping[str, list[Need]], need: Need) -> str | None:
    return next((h for h, ns in hosts.items() if need in ns), None)


def _sync_checks(run: _Run, hosts: Mapping[str, list[Need]]) -> None:
    host = _host_of(hosts, "adsync")
    if host is None:
        return
    names = {
        "sync.connect-version": "Entra Connect Sync version",
        "sync.anchor": "sourceAnchor attribute",
        "sync.staging-mode": "sync server not in staging mode",
        "sync.scheduler": "sync scheduler",
        "sync.cycle": "no sync cycle in progress",
        "sync.leases": "no pswrap lease left on the scheduler",
    }
    if host in run.down:
        run.checks.extend(run.not_checked(i, n, host) for i, n in names.items())
        return
    run.progress("reading the sync server")
    settings, error = run.step("sync/get-settings")
    if settings is not None and run.profile == "modern" and run.hold is None:
        run.effective_hold = default_hold(settings.anchor_attribute)
    if settings is not None:
        anchor = (
            judge_anchor(settings, run.hold)
            if run.profile == "modern"
            else passed(
                "sync.anchor", names["sync.anchor"], f"{settings.anchor_attribute} (no hard match here)"
            )
        )
        run.checks += [judge_connect_version(settings), anchor, judge_staging_mode(settings)]
    else:
        run.checks += [_unread(i, names[i], "sync/get-settings", error) for i in list(names)[:3]]
    scheduler, error = run.step("sync/get-scheduler")
    if scheduler is not None:
        run.checks += [judge_scheduler(scheduler, run.hold), judge_cycle(scheduler)]
    else:
        run.checks += [
            _unread(i, names[i], "sync/get-scheduler", error) for i in ("sync.scheduler", "sync.cycle")
        ]
    if run.profile == "modern":
        leases, error = run.step("sync/list-leases")
        run.checks.append(
            judge_leases(leases, run.now)
            if leases is not None
            else _unread("sync.leases", names["sync.leases"], "sync/list-leases", error)
        )


def _unread(check_id: str, name: str, step_id: str, error: Exception | None) -> Check:
    return failed(
        check_id,
        name,
        f"could not be read ({step_id}): {error}",
        "fix the module check of that host first; if it passes, `pswrap run "
        f"{step_id}` runs that step alone and shows its whole error",
    )


def _tenant_checks(run: _Run, hosts: Mapping[str, list[Need]]) -> None:
    target = run.session.target
    thumbprint = getattr(target, "certificate_thumbprint", None)
    cert_ok = True
    cert_hosts: dict[str, Need] = {}
    cloud: tuple[Need, ...] = ("exo", "graph")
    for need in cloud:
        host = _host_of(hosts, need)
        if host is not None:
            cert_hosts.setdefault(host, need)
    for host, need in cert_hosts.items():
        check_id, name = f"tenant.certificate.{host}", f"app certificate in LocalMachine\\My on {host}"
        if host in run.down:
            run.checks.append(run.not_checked(check_id, name, host))
            cert_ok = False
            continue
        if not thumbprint:
            run.checks.append(
                failed(
                    check_id,
                    name,
                    "certificate_thumbprint is not configured",
                    "set certificate_thumbprint "
                    "(and app_id, organization, tenant_id) in the target: app-only auth (domain.md §1.4)",
                )
            )
            cert_ok = False
            continue
        run.progress(f"reading the app certificate on {host}")
        cert, error = run.step(CERTIFICATE_STEPS[need], CertificateThumbprint=thumbprint)
        check = (
            judge_certificate(host, cert, run.now)
            if cert is not None
            else _unread(check_id, name, CERTIFICATE_STEPS[need], error)
        )
        cert_ok = cert_ok and check.status != "fail"
        run.checks.append(check)
    features_read = False
    connects: tuple[tuple[Need, str], ...] = (("exo", "exo/connect"), ("graph", "graph/connect"))
    for need, connect_step in connects:
        host = _host_of(hosts, need)
        if host is None:
            continue
        svc = "Exchange Online" if need == "exo" else "Microsoft Graph"
        if host in run.down:
            run.checks.append(run.not_checked(f"tenant.connect.{need}", connect_check_name(need), host))
            continue
        run.progress(f"connecting to {svc}")
        result, error = run.step(connect_step)
        modules_failed = [
            c.name
            for c in run.checks
            if c.status == "fail"
            and c.id in {f"modules.{host}", *(f"modules.{host}.{m}" for m in REQUIRED_MODULES[need])}
        ]
        check = judge_connect(need, result, error, cert_ok, modules_failed)
        run.checks.append(check)
        if need == "graph" and check.status == "pass":
            features, error = run.step("graph/get-sync-features")
            if features is not None:
                run.checks += [judge_soft_match(features), judge_hard_match(features)]
                features_read = True
            else:
                run.checks += [
                    _unread("tenant.block-soft-match", "BlockSoftMatch", "graph/get-sync-features", error),
                    _unread(
                        "tenant.block-hard-match",
                        "BlockCloudObjectTakeoverThroughHardMatch",
                        "graph/get-sync-features",
                        error,
                    ),
                ]
                features_read = True
    if not features_read and _host_of(hosts, "graph") is not None:
        why = "Microsoft Graph did not connect (the tenant's switches are read through Graph)"
        first = connect_check_name("graph")
        run.checks += [
            not_checked("tenant.block-soft-match", "BlockSoftMatch", why, first),
            not_checked("tenant.block-hard-match", "BlockCloudObjectTakeoverThroughHardMatch", why, first),
        ]


def _ad_checks(run: _Run, hosts: Mapping[str, list[Need]]) -> None:
    target = run.session.target
    host = _host_of(hosts, "ad")
    if host is None:
        return
    server: str | None = getattr(target, "domain_controller", None)
    ous = {"resource": getattr(target, "resource_ou", None)}
    if run.profile == "modern":  # only the modern profile's staging-ou hold uses a staging OU
        ous["staging"] = getattr(target, "staging_ou", None)
    if host in run.down:
        run.checks.append(run.not_checked("ad.dc", dc_check_name(server), host))
        for role in ous:
            run.checks.append(run.not_checked(f"ad.ou.{role}", f"{role} OU", host))
        return
    run.progress("asking the pinned domain controller for the OUs")
    wanted = [dn for dn in ous.values() if dn]
    report: Any | None = None
    error: Exception | None = None
    try:
        # Pinning reads the PDC emulator (ad/get-domain) when the target names no DC: a failure there
        # is this check's failure too.
        server = getattr(run.session, "pinned_dc", None) or server
    except e.PswrapError as exc:
        error = exc
    if error is None:
        report, error = run.step("ad/get-ous", Identity=wanted)
    if report is not None:
        server = report.server
    dc_check = judge_dc(server, report, error)
    run.checks.append(dc_check)
    scope = None
    sync_host = _host_of(hosts, "adsync")
    if wanted and sync_host is not None and sync_host not in run.down:
        scope, _ = run.step("sync/get-scope")
    for role, dn in ous.items():
        run.checks.extend(judge_ou(role, dn, report, scope, run.effective_hold, dc_check.name))  # type: ignore[arg-type]


# --- what `mailbox create` calls -----------------------------------------------------------------------

BLOCKING_PREFIXES: dict[Profile, tuple[str, ...]] = {
    "modern": ("connection.", "modules.", "sync.", "tenant.", "ad."),
    "hybrid-tools": ("connection.", "modules.", "sync.connect-version", "sync.staging-mode", "ad."),
    "legacy": (),
}
JUDGED_BY_THE_WORKFLOW = ("tenant.block-hard-match",)
"""Failures the mailbox workflow judges itself, with what it knows and the doctor does not (the match
mode: a soft match does not care about the hard-match block), and refuses with its own message."""


def blocking_failures(
    session: DoctorSession, *, profile: Profile, hold: str | None, known: Mapping[str, Any] | None = None
) -> list[Check]:
    """The failed checks that would make `mailbox create` fail or leave a half-done mailbox.

    A workflow refuses to start (exit 6) when this is not empty. Warnings never block; the hold is
    passed so its own prerequisites (anchor attribute, staging OU, scheduler state) count as failures
    only when that hold is the one chosen. A session that carries no `target` (the workflow's in-memory
    test doubles) is not checked: the checks need the target's hosts and tenant settings.
    """
    if profile == "legacy" or getattr(session, "target", None) is None:
        return []
    checks = run_checks(session, profile=profile, hold=hold, known=known)
    return [
        c
        for c in checks
        if c.status == "fail"
        and c.id.startswith(BLOCKING_PREFIXES[profile])
        and c.id not in JUDGED_BY_THE_WORKFLOW
    ]


def describe_blocking(checks: Sequence[Check]) -> str:
    """The NeedsHuman message a workflow raises with the blocking checks."""
    lines = [f"{len(checks)} preflight check(s) failed:"]
    for check in checks:
        lines.append(f"  [FAIL] {check.name}: {check.found}")
        if check.fix:
            lines.append(f"         fix: {check.fix}")
    return "\n".join(lines)


def refuse_when_blocked(
    session: Any, *, profile: str, hold: str | None, known: Mapping[str, Any] | None = None
) -> None:
    """Raise NeedsHuman (exit 6) listing each blocking failure with its fix; the workflow's one call.

    `session` is any step session; without a `target` (a test double) nothing is checked. `known`: the
    workflow's own reads of this run (see `run_checks`).
    """
    if profile not in ("modern", "hybrid-tools") or getattr(session, "target", None) is None:
        return
    blocking = blocking_failures(session, profile=profile, hold=hold, known=known)  # type: ignore[arg-type]
    if blocking:
        raise e.NeedsHuman(
            describe_blocking(blocking),
            hint="nothing was changed; `pswrap doctor` shows every check, with what passed",
        )


@contextmanager
def explained_by_preflight(session: Any, *, profile: str, hold: str | None) -> Iterator[None]:
    """Around a workflow's fact reads: when one fails (a missing module, an unusable certificate, a DC
    that does not answer), refuse with the preflight's checklist (NeedsHuman, exit 6) if a check
    explains it, else let that step's own error through. Bad input is never second-guessed.

    Without it the admin sees one step's error (exit 5) where the preflight would have named the cause
    and its fix; with `hold` None the checks judge the hold the workflow would pick (`default_hold`).
    """
    try:
        yield
    except e.BadInput:
        raise
    except e.PswrapError:
        refuse_when_blocked(session, profile=profile, hold=hold)
        raise


__all__ = [
    "STATUSES",
    "Check",
    "blocking_failures",
    "describe_blocking",
    "exit_status",
    "explained_by_preflight",
    "refuse_when_blocked",
    "run_checks",
]
