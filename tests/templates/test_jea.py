"""Every rendered template runs inside the JEA endpoint `pswrap jea` generates: each command it calls is
visible, with only parameters the role capability allows, the modules it imports and the providers it
reads are allowed, and every helper function it calls exists in the session. The generated files are read
back as text (what an admin registers), not from the Python objects that wrote them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pswrap.cli import app
from pswrap.cli.app import run_app
from pswrap.render import jea
from pswrap.render.engine import render
from pswrap.steps import all_steps
from tests.templates.catalogue_check import load_catalogue, syntax_errors
from tests.templates.surface import script_surface
from tests.templates.variants import refusal, variants

SPECIAL = {("Import-Module", "Name"), ("Add-PSSnapin", "Name")}
"""Checked separately: module names from the script's Import-Module lines, the snap-in from its template."""

OPTIONS = jea.EndpointOptions(allowed_groups=("CORP\\pswrap-operators",))
ENTRY = re.compile(r"^    @\{ Name = '([^']+)'; Parameters = (.*) \}$|^    '([^']+)'$")
PARAM = re.compile(r"@\{ Name = '([^']+)'(?:; ValidateSet = ((?:'[^']*'(?:, )?)+))? \}")


@dataclass
class Endpoint:
    """The role capability as registered: visible commands (None: any parameter), sets, functions."""

    commands: dict[str, dict[str, set[str] | None] | None] = field(default_factory=dict)
    functions: set[str] = field(default_factory=set)
    providers: set[str] = field(default_factory=set)


def read_back(psrc: str) -> Endpoint:
    endpoint = Endpoint()
    section = ""
    for line in psrc.splitlines():
        if re.match(r"^\w+ = ", line):
            section = line.split(" ", 1)[0]
            if section == "VisibleProviders":
                endpoint.providers = set(re.findall(r"'([^']+)'", line))
            continue
        if section == "FunctionDefinitions":
            m = re.match(r"^    @\{ Name = '([^']+)'; ScriptBlock = \{$", line)
            if m:
                endpoint.functions.add(m.group(1))
            continue
        if section not in ("VisibleCmdlets", "VisibleFunctions"):
            continue
        m = ENTRY.match(line)
        if not m:
            continue
        if m.group(3):
            endpoint.commands[m.group(3)] = None
            continue
        params: dict[str, set[str] | None] = {}
        for pm in PARAM.finditer(m.group(2)):
            params[pm.group(1)] = set(re.findall(r"'([^']*)'", pm.group(2))) if pm.group(2) else None
        endpoint.commands[m.group(1)] = params
    return endpoint


def violations(text: str, endpoint: Endpoint) -> list[str]:
    """What in one rendered script the endpoint would refuse."""
    found = script_surface(text, load_catalogue())
    out = []
    for name, params in found["commands"].items():
        if name not in endpoint.commands:
            out.append(f"{name} is not visible")
            continue
        allowed = endpoint.commands[name]
        if allowed is None:
            continue
        out.extend(f"{name} -{p} is not allowed" for p in sorted(params - set(allowed)))
        for param, choices in allowed.items():
            if choices is None or param not in params or (name, param) in SPECIAL:
                continue
            given = found["values"][name].get(param)
            if given is None:
                out.append(f"{name} -{param} is given a value the endpoint's ValidateSet cannot know")
            else:
                out.extend(
                    f"{name} -{param} {v!r} is not in the ValidateSet" for v in sorted(given - choices)
                )
    for module in found["modules"]:
        choices = (endpoint.commands.get("Import-Module") or {}).get("Name")
        if choices is None or module not in choices:
            out.append(f"Import-Module {module} is not in the endpoint's ValidateSet")
    out.extend(f"provider {p} is not visible" for p in sorted(found["providers"] - endpoint.providers))
    defined = set(re.findall(r"^function ([\w-]+) \{", text, re.MULTILINE))
    out.extend(f"function {f} is defined nowhere" for f in found["functions"] - endpoint.functions - defined)
    return out


@pytest.fixture(scope="module")
def endpoint() -> Endpoint:
    return read_back(jea.role_capability(OPTIONS))


RUNNABLE = [s for s in all_steps() if not s.is_legacy]


@pytest.mark.parametrize("step", RUNNABLE, ids=[s.id for s in RUNNABLE])
def test_every_rendered_variant_uses_only_what_the_endpoint_allows(step: object, endpoint: Endpoint) -> None:
    problems = []
    for variant in variants(step):  # type: ignore[arg-type]
        if refusal(variant) is not None:
            continue
        script = render(
            variant.step, profile=variant.profile, choices=variant.choices, params=variant.params()
        )
        problems += [f"{variant.label}: {p}" for p in violations(script.text, endpoint)]
    assert not problems, "\n".join(problems)


def test_the_check_fails_for_what_the_endpoint_leaves_out() -> None:
    """Without the scheduler hold the endpoint cannot register tasks, so the lease steps are refused."""
    narrow = read_back(
        jea.role_capability(jea.EndpointOptions(allowed_groups=("C\\g",), scheduler_hold=False))
    )
    install = next(s for s in all_steps() if s.id == "sync/install-lease")
    variant = next(v for v in variants(install) if refusal(v) is None)
    text = render(install, profile=variant.profile, choices=variant.choices, params=variant.params()).text
    assert any("Register-ScheduledTask is not visible" in p for p in violations(text, narrow))
    tampered = text.replace("-ErrorAction Stop", "-ErrorAction Stop -Verbose", 1) + "\nfunction Get-Foo { }\n"
    assert violations(tampered, read_back(jea.role_capability(OPTIONS))) == []  # common parameters pass
    full = read_back(jea.role_capability(OPTIONS))
    extra = text + "\nRemove-ADUser -Identity x -ErrorAction Stop\n"
    assert "Remove-ADUser is not visible" in violations(extra, full)
    other = text.replace("-Execute 'powershell.exe'", "-Execute 'cmd.exe'")
    assert (
        other != text
        and "New-ScheduledTaskAction -Execute 'cmd.exe' is not in the ValidateSet" in violations(other, full)
    )


def test_the_generated_files_parse_as_powershell() -> None:
    for text in (
        jea.role_capability(OPTIONS),
        jea.session_configuration(OPTIONS),
        jea.registration_script(OPTIONS),
    ):
        assert syntax_errors(text) == []
        assert text.isascii()


def test_the_session_runs_as_a_virtual_or_managed_account_with_transcripts() -> None:
    pssc = jea.session_configuration(OPTIONS)
    assert "SessionType = 'RestrictedRemoteServer'" in pssc
    assert "RunAsVirtualAccount = $true" in pssc
    assert "TranscriptDirectory = 'C:\\ProgramData\\pswrap\\Transcripts'" in pssc
    assert "'CORP\\pswrap-operators' = @{ RoleCapabilities = 'PswrapOperator' }" in pssc
    assert "LanguageMode = 'ConstrainedLanguage'" in pssc
    gmsa = jea.session_configuration(
        jea.EndpointOptions(allowed_groups=("C\\g",), group_managed_account="C\\gmsa-pswrap$")
    )
    assert "GroupManagedServiceAccount = 'C\\gmsa-pswrap$'" in gmsa and "RunAsVirtualAccount" not in gmsa


def test_unrestricted_commands_only_read() -> None:
    """A command called without parameters is listed by name (any parameter): only readers may be."""
    endpoint = read_back(jea.role_capability(OPTIONS))
    open_ended = sorted(n for n, p in endpoint.commands.items() if p is None)
    assert open_ended and all(n.startswith("Get-") for n in open_ended), open_ended


def test_helper_functions_are_the_templates_code() -> None:
    """The endpoint defines the same helper functions the scripts define (FunctionDefinitions)."""
    helpers = jea.helper_functions()
    step = next(s for s in all_steps() if s.id == "ad/find-user")
    variant = next(v for v in variants(step) if refusal(v) is None)
    text = render(step, profile=variant.profile, choices=variant.choices, params=variant.params()).text
    for name in ("Write-PswrapResult", "ConvertTo-PswrapValue", "ConvertTo-PswrapAdUser"):
        assert f"function {name} {{\n{helpers[name]}\n}}" in text
    assert set(helpers) >= read_back(jea.role_capability(OPTIONS)).functions


def test_the_snapin_allowed_is_the_one_hybrid_connect_adds() -> None:
    template = Path(__file__).resolve().parents[2] / "ps_templates" / "hybrid" / "connect.ps1.j2"
    assert f"$snapIn = '{jea.SNAPINS[0]}'" in template.read_text(encoding="utf-8")


def test_cli_writes_the_three_files(tmp_path: Path) -> None:
    args = [
        "jea",
        "--group",
        "CORP\\ops",
        "--name",
        "pswrap-sync",
        "--needs",
        "ad,adsync",
        "-o",
        str(tmp_path),
    ]
    assert run_app(app, args) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["PswrapOperator.psrc", "pswrap-sync.pssc", "register.ps1"]
    psrc = (tmp_path / "PswrapOperator.psrc").read_text(encoding="ascii")
    assert "Get-ADSyncScheduler" in psrc and "Connect-MgGraph" not in psrc


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--group", "ops"],
        ["--group", "C\\ops", "--needs", "ad,web"],
        ["--group", "C\\ops", "--gmsa", "C\\svc"],
        ["--group", "C\\ops", "--language-mode", "NoLanguage"],
        ["--group", "C\\ops", "--name", "bad name"],
    ],
)
def test_cli_refuses_bad_input_with_exit_2(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_app(app, ["jea", "-o", str(tmp_path), *args]) == 2
    assert not list(tmp_path.iterdir())
    err = capsys.readouterr().err
    assert err.startswith("pswrap: error: ") and "Traceback" not in err
