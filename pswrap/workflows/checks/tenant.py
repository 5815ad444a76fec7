"""Judgements on the tenant side: the app certificate, the app-only connects, and the match blocks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pswrap.steps.model import Need
from pswrap.workflows.checks.model import Check, aware, failed, passed, warned

CERT_WARN_DAYS = 30


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
                "(pswrap passes it from there; docs/sources.md §7b item 14)",
            )
        return failed(
            check_id,
            name,
            f"no certificate with thumbprint {thumb}",
            "import the app registration's certificate (.pfx, with its private key) into "
            "Cert:\\LocalMachine\\My on this host, or fix certificate_thumbprint (docs/sources.md §7b item "
            "14)",
        )
    subject = cert.subject or "(no subject)"
    if not cert.has_private_key:
        return failed(
            check_id,
            name,
            f"{subject} ({thumb}) has no private key on this host",
            "re-import it from the .pfx (the .cer has only the public key) into LocalMachine\\My "
            "(docs/sources.md §7b item 14)",
        )
    if not cert.private_key_usable:
        detail = f": {cert.private_key_error}" if cert.private_key_error else ""
        return failed(
            check_id,
            name,
            f"{subject} ({thumb}): the remoting account cannot use its private key{detail}",
            "grant the remoting account Read on the private key (certlm.msc > the certificate > All Tasks > "
            "Manage Private Keys); the connect fails with 'Keyset does not exist' (docs/sources.md §7b item "
            "14)",
        )
    if cert.not_after is None:
        return warned(check_id, name, f"{subject} ({thumb}): expiry unknown", "check NotAfter in certlm.msc")
    not_after = aware(cert.not_after)
    if not_after <= now:
        return failed(
            check_id,
            name,
            f"{subject} ({thumb}) expired on {not_after:%Y-%m-%d}",
            "create a new certificate, upload it to the app registration and import it into "
            "LocalMachine\\My; Graph skips expired certificates (docs/sources.md §7b item 14)",
        )
    days = (not_after - now).days
    if not_after - now < timedelta(days=CERT_WARN_DAYS):
        return warned(
            check_id,
            name,
            f"{subject} ({thumb}) expires on {not_after:%Y-%m-%d}, in {days} days",
            "renew it now: upload the new certificate to the app registration, import it into "
            "LocalMachine\\My and change certificate_thumbprint (docs/sources.md §1.4)",
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
            "be the tenant's .onmicrosoft.com domain (docs/sources.md §1.4)"
        )
    else:
        fix = (
            "check the app registration: Graph application permissions User.ReadWrite.All and "
            "OnPremDirectorySynchronization.Read.All with admin consent; tenant_id and app_id of the "
            "target (docs/sources.md §1.5, §3)"
        )
    return failed(check_id, name, message, fix)


def _switch_command(feature: str, on: bool) -> str:
    """The documented way to flip a tenant sync feature (docs/sources.md §3), ready to paste."""
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
        + " (docs/sources.md §3)",
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
            + " (docs/sources.md §3)",
        )
    return passed(check_id, name, "off: the hard match can link the AD account to the cloud mailbox")
