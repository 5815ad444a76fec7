"""A Just Enough Administration endpoint that lets the remoting account run pswrap's steps and nothing else.

`pswrap jea` writes two PowerShell data files: a role capability file (.psrc) that makes visible exactly
the commands, parameters, helper functions and providers pswrap's templates use, and a session
configuration file (.pssc) that runs the session as a virtual or group-managed service account and keeps
transcripts. What the templates use is read from `pswrap/steps/commands.json`, generated from the rendered
templates by the test suite (tree-sitter parses every variant of every step), so the endpoint follows the
code. Microsoft's reference: "JEA Role Capabilities", "JEA Session Configurations",
New-PSRoleCapabilityFile, New-PSSessionConfigurationFile, Register-PSSessionConfiguration.
"""

from __future__ import annotations

import importlib.resources
import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pswrap.errors import BadInput
from pswrap.steps.model import NEEDS, Need

ROLE_NAME = "PswrapOperator"
"""The role capability's name: the .psrc file name, and the RoleDefinitions entry that refers to it."""

LANGUAGE_MODES = ("ConstrainedLanguage", "FullLanguage")
"""pswrap sends scripts (values travel as their parameters), which NoLanguage, JEA's default, refuses."""

SNAPINS = ("Microsoft.Exchange.Management.PowerShell.RecipientManagement",)
"""The only snap-in a template adds (hybrid/connect): Add-PSSnapin -Name is limited to it."""

FUNCTION_MODULES = frozenset({"ScheduledTasks", "ExchangeOnlineManagement", "ExchangePowerShell"})
"""Modules whose commands are (or may be) functions rather than cmdlets: the ScheduledTasks module is
CDXML, and Exchange Online's commands come from script modules (the connection module and the temporary
module Connect-ExchangeOnline generates). Their commands are listed as visible functions too."""

LEASE_STEPS = ("sync/install-lease", "sync/remove-lease")
"""The `scheduler` hold's steps: they register a scheduled task that runs as SYSTEM."""

_FUNCTION = re.compile(r"^function ([A-Za-z][\w-]*) \{\n.*?^\}\n", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class EndpointOptions:
    """What the admin chooses; every other setting follows from pswrap's steps."""

    allowed_groups: tuple[str, ...]
    """Who may connect (e.g. `CORP\\pswrap-operators`): RoleDefinitions maps them to the role."""

    name: str = "pswrap"
    """The session configuration's name: the target's `configuration_name`."""

    group_managed_account: str | None = None
    """Run as this gMSA (`CORP\\gmsa-pswrap$`) instead of a virtual account."""

    virtual_account_groups: tuple[str, ...] = ()
    """Local groups the virtual account joins instead of Administrators (RunAsVirtualAccountGroups)."""

    transcript_directory: str = "C:\\ProgramData\\pswrap\\Transcripts"
    language_mode: str = "ConstrainedLanguage"
    needs: tuple[Need, ...] = NEEDS
    scheduler_hold: bool = True
    """False leaves out the lease steps, so the endpoint cannot register tasks running as SYSTEM."""

    module_directory: str = "C:\\Program Files\\WindowsPowerShell\\Modules\\PswrapJea"


@dataclass
class Allowed:
    """What the endpoint makes visible."""

    commands: dict[str, set[str]] = field(default_factory=dict)
    """Command name -> the parameters it may be called with (empty set: called without parameters)."""

    functions: dict[str, str] = field(default_factory=dict)
    """pswrap's helper functions, name -> body, defined by the endpoint itself (FunctionDefinitions)."""

    providers: set[str] = field(default_factory=set)
    modules: set[str] = field(default_factory=set)
    """Module names Import-Module may load."""

    constants: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    """Command -> parameter -> the only values the templates ever pass it (written as constants): the
    endpoint allows those values alone (ValidateSet). A parameter given a variable anywhere is absent."""

    steps: list[str] = field(default_factory=list)


@cache
def _commands_json() -> dict[str, Any]:
    text = importlib.resources.files("pswrap.steps").joinpath("commands.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def surface() -> dict[str, Any]:
    """`pswrap/steps/commands.json`: what each runnable step's scripts call."""
    steps: dict[str, Any] = _commands_json()["steps"]
    return steps


@cache
def helper_functions() -> dict[str, str]:
    """Every `function Name { ... }` the templates define at the start of a line, with its body.

    They are plain PowerShell (no Jinja inside), so the endpoint can define the same code.
    """
    root = importlib.resources.files("ps_templates")
    found: dict[str, str] = {}
    pending: list[Any] = [root]
    while pending:
        node = pending.pop()
        for child in node.iterdir():
            if child.is_dir():
                pending.append(child)
            elif child.name.endswith(".ps1.j2"):
                for m in _FUNCTION.finditer(child.read_text(encoding="utf-8")):
                    body = m.group(0).split("{", 1)[1].rsplit("}", 1)[0]
                    found[m.group(1)] = body.strip("\n")
    return found


def allowed(options: EndpointOptions) -> Allowed:
    """The union of what the chosen steps use."""
    result = Allowed()
    helpers = helper_functions()
    for step_id, info in sorted(surface().items()):
        if info["needs"] not in options.needs:
            continue
        if not options.scheduler_hold and step_id in LEASE_STEPS:
            continue
        result.steps.append(step_id)
        for name, params in info["commands"].items():
            result.commands.setdefault(name, set()).update(params)
        for name, by_param in info["constants"].items():
            for param, values in by_param.items():
                result.constants.setdefault(name, {}).setdefault(param, set()).update(values)
        for name in info["functions"]:
            result.functions[name] = helpers[name]
        result.providers.update(info["providers"])
        result.modules.update(info["modules"])
    for name, by_param in info_dynamic(result).items():
        for param in by_param:
            result.constants.get(name, {}).pop(param, None)
    if not result.steps:
        raise BadInput("no step of pswrap runs under the needs given", hint=f"needs are: {', '.join(NEEDS)}")
    return result


def info_dynamic(result: Allowed) -> dict[str, set[str]]:
    """Parameters some chosen step passes a variable to (not listed among its constants)."""
    dynamic: dict[str, set[str]] = {}
    for step_id in result.steps:
        info = surface()[step_id]
        for name, params in info["commands"].items():
            constant = info["constants"].get(name, {})
            dynamic.setdefault(name, set()).update(p for p in params if p not in constant)
    return {name: params & set(result.constants.get(name, {})) for name, params in dynamic.items()}


def _quote(value: str) -> str:
    """A PowerShell single-quoted literal (quotes doubled): the data files are read as PowerShell."""
    return "'" + value.replace("'", "''") + "'"


def _list(values: Iterable[str]) -> str:
    return ", ".join(_quote(v) for v in values)


def _restriction(name: str, got: Allowed) -> str:
    """One VisibleCmdlets / VisibleFunctions entry, on one line."""
    params = got.commands[name]
    if not params:
        return _quote(name)
    sets = dict(got.constants.get(name, {}))
    if name == "Import-Module":
        sets["Name"] = got.modules
    if name == "Add-PSSnapin":
        sets["Name"] = set(SNAPINS)
    entries = []
    for p in sorted(params):
        if p in sets:
            entries.append(f"@{{ Name = {_quote(p)}; ValidateSet = {_list(sorted(sets[p]))} }}")
        else:
            entries.append(f"@{{ Name = {_quote(p)} }}")
    return f"@{{ Name = {_quote(name)}; Parameters = {', '.join(entries)} }}"


def _module_of(name: str) -> str | None:
    """The module a command comes from, as the cmdlet catalogue records it."""
    modules: dict[str, str] = _commands_json()["command_modules"]
    return modules.get(name)


def role_capability(options: EndpointOptions) -> str:
    """The .psrc text."""
    got = allowed(options)
    functions = sorted(n for n in got.commands if _module_of(n) in FUNCTION_MODULES)
    lines = [
        "# pswrap role capability: the commands and parameters pswrap's steps use, nothing else.",
        f"# Generated by `pswrap jea` for the needs {', '.join(options.needs)}"
        + ("" if options.scheduler_hold else ", without the scheduler hold's lease steps")
        + ". Steps:",
        *(f"#   {s}" for s in got.steps),
        "@{",
        f"GUID = {_quote(str(uuid.uuid5(uuid.NAMESPACE_URL, 'pswrap-jea/' + options.name)))}",
        "Author = 'pswrap'",
        "Description = 'Runs the steps of pswrap (https://learn.microsoft.com/powershell/scripting/"
        "security/remoting/jea/role-capabilities)'",
        "VisibleCmdlets = @(",
        *(f"    {_restriction(n, got)}" for n in sorted(got.commands)),
        ")",
        "# Commands of script and CDXML modules are functions: listed here as well.",
        "VisibleFunctions = @(",
        *(f"    {_restriction(n, got)}" for n in functions),
        ")",
        f"VisibleProviders = {_list(sorted(got.providers)) or '@()'}",
        "# pswrap's helper functions, the same code its templates define.",
        "FunctionDefinitions = @(",
    ]
    for name in sorted(got.functions):
        lines.append(f"    @{{ Name = {_quote(name)}; ScriptBlock = {{")
        lines.extend(got.functions[name].split("\n"))
        lines.append("    } }")
    lines += [")", "}", ""]
    return "\n".join(lines)


def session_configuration(options: EndpointOptions) -> str:
    """The .pssc text."""
    if options.language_mode not in LANGUAGE_MODES:
        raise BadInput(
            f"language mode {options.language_mode!r} cannot run pswrap's scripts",
            hint=f"use one of: {', '.join(LANGUAGE_MODES)}",
        )
    if not options.allowed_groups:
        raise BadInput("name at least one group allowed to connect", hint="--group CORP\\pswrap-operators")
    role = f"@{{ RoleCapabilities = {_quote(ROLE_NAME)} }}"
    lines = [
        "# pswrap session configuration (JEA endpoint). Register it with Register-PSSessionConfiguration;",
        f"# a target selects it with configuration_name = {_quote(options.name)}.",
        "@{",
        "SchemaVersion = '2.0.0.0'",
        f"GUID = {_quote(str(uuid.uuid5(uuid.NAMESPACE_URL, 'pswrap-jea-session/' + options.name)))}",
        "Author = 'pswrap'",
        "SessionType = 'RestrictedRemoteServer'",
        f"LanguageMode = {_quote(options.language_mode)}",
        f"TranscriptDirectory = {_quote(options.transcript_directory)}",
    ]
    if options.group_managed_account:
        lines.append(f"GroupManagedServiceAccount = {_quote(options.group_managed_account)}")
    else:
        lines.append("RunAsVirtualAccount = $true")
        if options.virtual_account_groups:
            lines.append(f"RunAsVirtualAccountGroups = {_list(options.virtual_account_groups)}")
    lines.append("RoleDefinitions = @{")
    lines.extend(f"    {_quote(group)} = {role}" for group in options.allowed_groups)
    lines += ["}", "}", ""]
    return "\n".join(lines)


def registration_script(options: EndpointOptions) -> str:
    """What an admin runs on the server, in an elevated Windows PowerShell, next to the two files."""
    module = options.module_directory
    return "\n".join(
        [
            "# Run in an elevated Windows PowerShell 5.1 on the server, in the folder holding the two files.",
            f"$module = {_quote(module)}",
            "$null = New-Item -ItemType Directory -Force -Path (Join-Path $module 'RoleCapabilities')",
            f"Copy-Item -Path '.\\{ROLE_NAME}.psrc' -Destination (Join-Path $module 'RoleCapabilities')",
            "New-ModuleManifest -Path (Join-Path $module 'PswrapJea.psd1')",
            f"Test-PSSessionConfigurationFile -Path '.\\{options.name}.pssc'",
            f"Register-PSSessionConfiguration -Name {_quote(options.name)} "
            f"-Path '.\\{options.name}.pssc' -Force",
            "",
        ]
    )
