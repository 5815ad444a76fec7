"""`--emit-ps1 FILE`: a plan as ONE Windows PowerShell 5.1 script an admin reviews and runs by hand.

What pswrap sends over PSRP, step by step, becomes one file a change approval board can read:

- every value is bound as a PowerShell literal by `pswrap.render.literals` (the encoder `render
  --standalone` uses), in a `$pswrapParameters` hashtable splatted into the step's own script block, so
  the step runs exactly the template pswrap would send (same param() block, same checks, same JSON);
- secrets are never written: the script asks for each once, with `Read-Host -AsSecureString`, before
  anything runs, and hands the SecureString to the process that needs it;
- a value known only at run time (the id of the cloud user the new mailbox gets, the new account's
  objectGUID) is read from the JSON output of the earlier step that produces it (`RUNTIME_VALUES`);
- the steps run in stages: consecutive steps with the same need (exo, graph, ad, adsync, hybrid) run in
  their own child `powershell.exe` (Exchange Online and Microsoft Graph load conflicting assemblies and
  must not share one Windows PowerShell 5.1 process), each stage connecting first, like a pswrap pool.
  A child is started with a script block and `-args` (Learn, "about_PowerShell_exe", -Command: "You
  can specify a script block only when running PowerShell.exe in Windows PowerShell. The results of
  the script block are returned to the parent shell as deserialized XML objects"); the earlier steps'
  results go in as one JSON string argument, and each step's JSON comes back as a line
  `<step number><TAB><json>`, which the parent prints and keeps. A stage that fails stops the script
  (its exit code is checked);
- after pausing the scheduler (the scheduler hold) the script waits, as pswrap does, until no cycle is
  running before anything changes (at most `wait_seconds`).

The plan was made from the facts read when the file was written: if they may have changed, emit again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from pswrap import __version__
from pswrap.errors import BadInput
from pswrap.render.excerpt import prologue, split
from pswrap.render.literals import quote_string, to_literal
from pswrap.workflows.mailbox_dryrun import DryRun
from pswrap.workflows.mailbox_plan import PlannedStep

NEED_TITLES = {
    "exo": "Exchange Online",
    "graph": "Microsoft Graph",
    "ad": "Active Directory",
    "adsync": "the sync server (ADSync)",
    "hybrid": "Exchange Server management tools",
}

RUNTIME_VALUES: dict[tuple[str, str], tuple[str, tuple[str, ...], str]] = {
    # (step, parameter) -> (the earlier step whose JSON has it, its fields (first set wins), transform)
    # Graph's /users/{id | userPrincipalName} takes either form (Learn: "Get user", HTTP request).
    ("graph/set-user", "UserId"): (
        "exo/new-mailbox",
        ("external_directory_object_id", "user_principal_name"),
        "",
    ),
    ("graph/set-account-enabled", "UserId"): (
        "exo/new-mailbox",
        ("external_directory_object_id", "user_principal_name"),
        "",
    ),
    ("graph/set-user", "OnPremisesImmutableId"): ("ad/new-user", ("object_guid",), "anchor"),
    ("ad/move-user", "Identity"): ("ad/new-user", ("object_guid",), ""),
    ("ad/stamp-exchange-attributes", "Identity"): ("ad/new-user", ("object_guid",), ""),
    # The new account carries the new mailbox's addresses (pswrap.workflows.mailbox_mastering.keep_addresses).
    ("ad/new-user", "ProxyAddresses"): (
        "exo/new-mailbox",
        ("email_addresses", "legacy_exchange_dn"),
        "addresses",
    ),
}
"""How an emitted script finds each parameter the plan defers to run time."""

PLACEHOLDER_OPERATION = "<operation>"

WAIT_IDLE = """# The scheduler is paused: wait until a cycle that was already running has ended.
Import-Module ADSync -ErrorAction Stop
$pswrapWaitUntil = (Get-Date -ErrorAction Stop).AddSeconds({seconds})
while (Get-PswrapProperty (Get-ADSyncScheduler -ErrorAction Stop) 'SyncCycleInProgress') {{
    if ((Get-Date -ErrorAction Stop) -gt $pswrapWaitUntil) {{
        throw 'a sync cycle is still running after {seconds} seconds; nothing was changed yet'
    }}
    Start-Sleep -Seconds 10 -ErrorAction Stop
}}"""

HELPERS = """function Get-PswrapEarlier {
    # A value an earlier step of this plan returned in its JSON output: the first of the fields that is set.
    param([string] $Step, [string[]] $Fields)
    foreach ($field in $Fields) {
        $value = Get-PswrapProperty $pswrapResults[$Step] $field
        if ($null -ne $value -and [string]$value -ne '') { return $value }
    }
    throw ('step ' + $Step + ' of this plan returned none of: ' + ($Fields -join ', '))
}
function Get-PswrapKeptAddresses {
    # What a new account carries so the link loses nothing (as pswrap computes it): pswrap's addresses
    # (the primary first), then the new mailbox's other SMTP and X500 addresses, then X500:<its
    # LegacyExchangeDN>, each once (compared without case).
    param([string[]] $Planned, [string] $Step)
    $mailbox = $pswrapResults[$Step]
    $candidates = @($Planned) + @(Get-PswrapProperty $mailbox 'email_addresses')
    $legacy = Get-PswrapProperty $mailbox 'legacy_exchange_dn'
    if ($null -ne $legacy -and [string]$legacy -ne '') { $candidates += ('X500:' + [string]$legacy) }
    $kept = New-Object -TypeName 'System.Collections.Generic.List[string]' -ErrorAction Stop
    $seen = @{}
    foreach ($address in $candidates) {
        $text = [string]$address
        $colon = $text.IndexOf(':')
        if ($colon -lt 1) { continue }
        $prefix = $text.Substring(0, $colon).ToLowerInvariant()
        $rest = $text.Substring($colon + 1)
        if ($prefix -ne 'smtp' -and $prefix -ne 'x500') { continue }
        $key = $prefix + ':' + $rest.ToLowerInvariant()
        if ($seen.ContainsKey($key)) { continue }
        $seen[$key] = $true
        if ($kept.Count -eq 0) { $kept.Add($text) }
        elseif ($prefix -eq 'smtp') { $kept.Add('smtp:' + $rest) }
        else { $kept.Add('X500:' + $rest) }
    }
    return ,([string[]]$kept.ToArray())
}
$pswrapResults = @{}
$pswrapEarlier = ConvertFrom-Json -InputObject $PswrapEarlierJson -ErrorAction Stop
foreach ($pswrapProperty in @($pswrapEarlier.PSObject.Properties)) {
    $pswrapResults[$pswrapProperty.Name] = $pswrapProperty.Value
}
"""


@dataclass(frozen=True)
class Entry:
    key: str
    """`1`, `2`, ... for the plan's steps; `then1`... for what follows them."""
    step: PlannedStep | None
    script: Any
    why: str

    @property
    def need(self) -> str:
        return str(self.script.step.needs)


@dataclass(frozen=True)
class Stage:
    need: str
    entries: list[Entry]


def stages(plan: DryRun) -> list[Stage]:
    """The plan's steps grouped into runs of one need, in order (one child process each)."""
    entries = [Entry(str(n), step, script, step.why) for n, (step, script) in enumerate(plan.scripts, 1)]
    entries += [Entry(f"then{n}", None, script, why) for n, (why, script) in enumerate(plan.wait, 1)]
    out: list[Stage] = []
    for entry in entries:
        if out and out[-1].need == entry.need:
            out[-1].entries.append(entry)
        else:
            out.append(Stage(entry.need, [entry]))
    return out


def emit_ps1(
    plan: DryRun, *, operation: str | None = None, now: datetime | None = None, wait_seconds: float = 600.0
) -> str:
    """The whole plan as one script. `operation` names the lease of a scheduler hold (default: a new id);
    `wait_seconds` bounds the wait for a running cycle after the scheduler is paused."""
    if plan.legacy or plan.plan is None:
        raise BadInput(
            "--emit-ps1 writes a plan that can run; the legacy profile's services are retired",
            hint="use --dry-run to read the old runbook, or --profile modern for the script",
        )
    from pswrap.journal import new_operation_id

    op = operation or f"emitted-{new_operation_id()}"
    when = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    r = plan.plan.resolved
    groups = stages(plan)
    secrets = _secret_names(groups, plan)
    lines = [
        f"# pswrap-plan: {r.type} mailbox {r.alias} ({r.profile} profile, hold {plan.plan.hold})",
        f"# Generated by pswrap {__version__} at {when} from the facts read then; if they may have changed,",
        "# write it again (`--emit-ps1`). Run it in Windows PowerShell 5.1 on a machine with the modules of",
        "# every stage. Each stage runs in its own powershell.exe (Exchange Online and Microsoft Graph must",
        "# not share a process); values are PowerShell literals, secrets are asked for, never written.",
        "#Requires -Version 5.1",
        "#Requires -PSEdition Desktop",
        "Set-StrictMode -Version 2 -ErrorAction Stop",
        "$ErrorActionPreference = 'Stop'",
        "",
        "# Stages (one child process each): " + "; ".join(_describe(n, g) for n, g in enumerate(groups, 1)),
        "$pswrapPowerShell = Join-Path -Path $PSHOME -ChildPath 'powershell.exe' -ErrorAction Stop",
        "$pswrapResults = @{}",
        "$pswrapSecrets = @{}",
    ]
    for name in secrets:
        lines.append(
            f"$pswrapSecrets[{quote_string(name)}] = Read-Host -AsSecureString "
            f"-Prompt {quote_string(name)} -ErrorAction Stop"
        )
    for n, group in enumerate(groups, 1):
        lines.append("")
        lines.extend(_stage(n, len(groups), group, plan, op, max(1, round(wait_seconds))))
    lines.append("")
    lines.append("Write-Output -InputObject 'pswrap: every stage of the plan ran.' -ErrorAction Stop")
    if plan.wait:
        lines.append(
            "Write-Output -InputObject ('pswrap: the link completes when the sync cycle ends; the same "
            "pswrap command with --dry-run then shows nothing to change.') -ErrorAction Stop"
        )
    return "\n".join(lines) + "\n"


def _describe(n: int, group: Stage) -> str:
    return f"{n}. {group.need} ({', '.join(e.script.step_id for e in group.entries)})"


def _secret_names(groups: Sequence[Stage], plan: DryRun) -> list[str]:
    names: list[str] = []
    scripts = [e.script for g in groups for e in g.entries] + list(plan.connects.values())
    for script in scripts:
        for name in script.secrets:
            if name not in names:
                names.append(name)
    return names


def _stage(n: int, total: int, group: Stage, plan: DryRun, op: str, wait_seconds: int) -> list[str]:
    title = NEED_TITLES.get(group.need, group.need)
    keys = ", ".join(e.key for e in group.entries)
    lines = [
        f"# ---- stage {n} of {total}: {group.need} ({title}), step(s) {keys}, in its own powershell.exe",
        "$pswrapInput = ConvertTo-Json -InputObject $pswrapResults -Depth 16 -Compress -ErrorAction Stop",
        "$pswrapOutput = & $pswrapPowerShell -NoProfile -NonInteractive -Command {",
        "param([string] $PswrapEarlierJson, [hashtable] $PswrapSecrets)",
        prologue().rstrip("\n"),
        HELPERS.rstrip("\n"),
    ]
    connect = plan.connects.get(group.need)
    if connect is not None:
        lines.append("")
        lines.append(f"# [connect] {connect.step_id}: connect this process to {title}")
        lines.extend(_call(connect, None, op, earlier={}, plan=plan))
        lines.append("$null = $pswrapJson")
    made: dict[str, str] = {}
    for entry in _earlier(plan, group):
        made[entry.script.step_id] = entry.key
    for entry in group.entries:
        lines.append("")
        lines.append(f"# [{entry.key}] {entry.script.step_id}: {' '.join(entry.why.split())}")
        lines.extend(_call(entry.script, entry.step, op, earlier=made, plan=plan))
        lines.append(
            f"$pswrapResults[{quote_string(entry.key)}] = "
            "ConvertFrom-Json -InputObject $pswrapJson -ErrorAction Stop"
        )
        tagged = f"({quote_string(entry.key)} + [char]9 + $pswrapJson)"
        lines.append(f"Write-Output -InputObject {tagged} -ErrorAction Stop")
        made[entry.script.step_id] = entry.key
        if entry.script.step_id == "sync/install-lease":
            lines.append(WAIT_IDLE.format(seconds=wait_seconds))
    lines += [
        "} -args $pswrapInput, $pswrapSecrets",
        "if ($LASTEXITCODE -ne 0) {",
        f"    throw {quote_string(f'stage {n} ({group.need}) failed: the stages after it did not run')}",
        "}",
        "foreach ($pswrapLine in @($pswrapOutput)) {",
        "    $pswrapParts = ([string]$pswrapLine).Split([char]9, 2)",
        "    $pswrapResults[$pswrapParts[0]] = "
        "ConvertFrom-Json -InputObject $pswrapParts[1] -ErrorAction Stop",
        "    Write-Output -InputObject ('[' + $pswrapParts[0] + '] ' + $pswrapParts[1]) -ErrorAction Stop",
        "}",
    ]
    return lines


def _earlier(plan: DryRun, group: Stage) -> list[Entry]:
    """The entries of the stages before `group` (their results arrive as JSON)."""
    out: list[Entry] = []
    for g in stages(plan):
        if g.entries[0].key == group.entries[0].key:
            break
        out.extend(g.entries)
    return out


def _call(
    script: Any, step: PlannedStep | None, op: str, *, earlier: dict[str, str], plan: DryRun
) -> list[str]:
    """Bind the parameters, then run the step's own script block (its prologue is the stage's)."""
    deferred = step.deferred if step is not None else {}
    lines = ["$pswrapParameters = @{}"]
    for name, value in script.parameters.items():
        bound = _value(script.step_id, name, value, deferred, op, earlier, plan)
        lines.append(f"$pswrapParameters[{quote_string(name)}] = {bound}")
    for name in script.secrets:
        lines.append(f"$pswrapParameters[{quote_string(name)}] = $PswrapSecrets[{quote_string(name)}]")
    parts = split(script.text)
    lines.append("$pswrapJson = & {")
    lines.append(parts.marker)
    if parts.param_block:
        lines.append(parts.param_block)
    lines.append(parts.body.rstrip("\n"))
    lines.append("} @pswrapParameters")
    return lines


def _value(
    step_id: str,
    name: str,
    value: object,
    deferred: dict[str, Any],
    op: str,
    earlier: dict[str, str],
    plan: DryRun,
) -> str:
    runtime = RUNTIME_VALUES.get((step_id, name))
    if name in deferred or (runtime is not None and _is_placeholder(value)):
        if runtime is None:
            raise BadInput(
                f"cannot write {step_id} -{name} into a script: its value is known only at run time"
            )
        source, fields, transform = runtime
        key = earlier.get(source)
        if key is None:
            raise BadInput(
                f"cannot write {step_id} -{name} into a script: it comes from {source}, which the plan does "
                "not run",
                hint="run the command itself, or with --dry-run to see the plan",
            )
        if transform == "addresses":  # the planned addresses, and the new mailbox's
            planned = list(plan.plan.resolved.proxy_addresses) if plan.plan is not None else []
            return f"(Get-PswrapKeptAddresses {to_literal(planned)} {quote_string(key)})"
        expression = f"(Get-PswrapEarlier {quote_string(key)} {to_literal(list(fields))})"
        if transform == "anchor":  # the ImmutableId form of an objectGUID: base64 of Guid.ToByteArray()
            expression = f"[System.Convert]::ToBase64String(([guid]{expression}).ToByteArray())"
        return expression
    if isinstance(value, str) and PLACEHOLDER_OPERATION in value:
        value = value.replace(PLACEHOLDER_OPERATION, op)
    if _is_placeholder(value):
        raise BadInput(
            f"cannot write {step_id} -{name} into a script: its value ({value}) is known only at run time",
            hint="run the command itself, or with --dry-run to see the plan",
        )
    return to_literal(value)


def _is_placeholder(value: object) -> bool:
    from pswrap.workflows.mailbox_dryrun import NIL_GUID

    return value == NIL_GUID or (isinstance(value, str) and value.startswith("<") and value.endswith(">"))


__all__ = ["RUNTIME_VALUES", "Stage", "emit_ps1", "stages"]
