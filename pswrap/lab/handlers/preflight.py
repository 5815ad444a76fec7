"""The preflight steps of `pswrap doctor`, read from the world's host facts (pswrap.lab.facts).

Read-only, like the templates they imitate. The lab is one Windows server holding every role, so each
need's module and certificate step reads the same host.
"""

from __future__ import annotations

import fnmatch
import re
from datetime import datetime
from typing import Any

from pswrap.dn import rdn_value
from pswrap.lab.dispatch import Invocation, PSError
from pswrap.lab.handlers import records
from pswrap.lab.handlers.pipeline import step
from pswrap.steps.preflight import CERTIFICATE_STEPS, MODULE_STEPS

_THUMBPRINT = re.compile(r"^[0-9A-Fa-f]{40}$")


def _host(world: dict[str, Any]) -> dict[str, Any]:
    host = world.get("host")
    return host if isinstance(host, dict) else {}


def _installed(world: dict[str, Any], name: str) -> bool:
    return any(str(m.get("name", "")).lower() == name.lower() for m in _host(world).get("modules", []))


def _require_module(world: dict[str, Any], module: str, cmdlet: str) -> None:
    """Without the module its cmdlets do not exist: CommandNotFoundException (docs/sources.md §7b item 1)."""
    if not _installed(world, module):
        raise records.command_not_found(cmdlet)


def module_inventory(inv: Invocation, world: dict[str, Any], _at: datetime) -> dict[str, Any]:
    """Get-Module -ListAvailable -Name <patterns> (wildcards as PowerShell's, case-insensitive; a pattern
    that matches nothing is no error) and Get-PSSnapin -Registered."""
    raw = inv.params.get("Name") or []
    patterns = [str(p).lower() for p in (raw if isinstance(raw, list) else [raw])]
    host = _host(world)
    modules = [
        {key: m.get(key) for key in ("name", "version", "path", "company_name", "author")}
        for m in host.get("modules", [])
        if m and m.get("version") and any(fnmatch.fnmatchcase(str(m["name"]).lower(), p) for p in patterns)
    ]
    snapins = [{"name": s.get("name"), "version": s.get("version")} for s in host.get("snapins", []) if s]
    return {"computer_name": host.get("computer_name"), "modules": modules, "snapins": snapins}


for _step_id in MODULE_STEPS.values():
    step(_step_id)(module_inventory)


def _find(store: list[dict[str, Any]], thumbprint: str) -> dict[str, Any] | None:
    return next((c for c in store if str(c.get("thumbprint", "")).upper() == thumbprint.upper()), None)


def certificate(inv: Invocation, world: dict[str, Any], _at: datetime) -> dict[str, Any]:
    """Test-Path/Get-Item on Cert:\\LocalMachine\\My\\<thumbprint>, and the private key opened as the
    remoting account: without the right, "Keyset does not exist" (docs/sources.md §7b item 14)."""
    thumbprint = str(inv.params.get("CertificateThumbprint") or "")
    if not _THUMBPRINT.match(thumbprint):
        # Not in docs/sources.md: PowerShell's ValidatePattern failure (ParameterBindingValidationException).
        pattern = _THUMBPRINT.pattern
        raise PSError(
            f"Cannot validate argument on parameter 'CertificateThumbprint'. The argument \"{thumbprint}\" "
            f'does not match the "{pattern}" pattern. Supply an argument that matches "{pattern}" and try '
            "the command again.",
            fqid="ParameterArgumentValidationError",
            category="InvalidData",
            target=thumbprint,
            exception_type="System.Management.Automation.ParameterBindingValidationException",
        )
    certs = world.get("certs", {})
    machine = _find(certs.get("local_machine_my", []), thumbprint)
    result: dict[str, Any] = {
        "thumbprint": thumbprint.upper(),
        "found": machine is not None,
        "in_current_user_store": _find(certs.get("current_user_my", []), thumbprint) is not None,
        "subject": None,
        "not_before": None,
        "not_after": None,
        "has_private_key": False,
        "private_key_usable": False,
        "private_key_error": None,
    }
    if machine is None:
        return result
    has_key = bool(machine.get("has_private_key"))
    usable = has_key and bool(machine.get("private_key_usable", True))
    result.update(
        subject=machine.get("subject"),
        not_before=machine.get("not_before"),
        not_after=machine.get("not_after"),
        has_private_key=has_key,
        private_key_usable=usable,
        private_key_error=None if usable or not has_key else "Keyset does not exist",
    )
    return result


for _step_id in CERTIFICATE_STEPS.values():
    step(_step_id)(certificate)


@step("ad/get-ous")
def get_ous(inv: Invocation, world: dict[str, Any], _at: datetime) -> dict[str, Any]:
    """Get-ADDomain -Server, then Get-ADOrganizationalUnit -Identity <dn> -Server for each OU; a -Server
    that is not one of the domain's DCs gets ADServerDownException, a missing OU ADIdentityNotFound
    (docs/sources.md §7b item 6), which the template catches and reports as not found."""
    _require_module(world, "ActiveDirectory", "Get-ADDomain")
    ad = world.get("ad", {})
    domain = ad.get("domain", {})
    server = str(inv.params.get("Server") or "")
    controllers = [str(dc).lower() for dc in domain.get("domain_controllers", [])]
    if server.lower() not in controllers:
        raise records.ad_server_down("Get-ADDomain")
    credential = ad.get("credential")
    if (
        isinstance(credential, dict)
        and inv.params.get("CredentialUser") is not None
        and (
            str(inv.params.get("CredentialUser")).lower() != str(credential.get("user", "")).lower()
            or inv.params.get("CredentialPassword") != credential.get("password")
        )
    ):
        raise records.ad_bad_credential("Get-ADDomain")
    known = {str(ou.get("dn", "")).lower(): ou for ou in ad.get("ous", []) if ou}
    raw = inv.params.get("Identity") or []
    ous = []
    for dn in raw if isinstance(raw, list) else [raw]:
        if not dn:
            continue
        ou = known.get(str(dn).lower())
        name = rdn_value(str(ou["dn"])) if ou else None
        ous.append({"distinguished_name": ou["dn"] if ou else dn, "exists": ou is not None, "name": name})
    return {"server": server, "domain": domain.get("distinguished_name"), "ous": ous}


@step("sync/get-scope")
def get_scope(inv: Invocation, world: dict[str, Any], _at: datetime) -> dict[str, Any]:
    """Get-ADSyncConnector's AD connector with its partition's OU filtering. The lab's OU list says per OU
    whether it is in scope: each OU is an explicit inclusion or exclusion of the one AD connector."""
    _require_module(world, "ADSync", "Get-ADSyncConnector")
    ad = world.get("ad", {})
    domain = ad.get("domain", {})
    ous = [ou for ou in ad.get("ous", []) if ou]
    return {
        "connectors": [
            {
                "connector": domain.get("dns_root", "lab.example"),
                "partition": domain.get("distinguished_name"),
                "inclusions": [ou["dn"] for ou in ous if ou.get("in_sync_scope")],
                "exclusions": [ou["dn"] for ou in ous if not ou.get("in_sync_scope")],
            }
        ]
    }
