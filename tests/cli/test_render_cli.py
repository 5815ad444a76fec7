"""`pswrap render` and `pswrap immutableid` as an admin or a runbook engine calls them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pswrap import steps
from pswrap.cli import app
from pswrap.cli.app import run_app
from tests.render import psmodel_tokenizer as ps


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run_app(app, list(args))
    out, err = capsys.readouterr()
    return code, out, err


# --- immutableid ---------------------------------------------------------------------------------

DOTNET_GUID = "35918bc9-196d-40ea-9779-889d79b753f0"  # learn.microsoft.com Guid.ToByteArray example
DOTNET_HEX = "c98b91356d19ea409779889d79b753f0"


@pytest.mark.parametrize(
    "args",
    [
        [DOTNET_GUID],
        ["{" + DOTNET_GUID.upper() + "}"],
        ["yYuRNW0Z6kCXeYidebdT8A=="],
        [DOTNET_HEX, "--from", "hex"],
        ["C9 8B 91 35 6D 19 EA 40 97 79 88 9D 79 B7 53 F0", "--from", "hex"],
    ],
)
def test_immutableid_prints_all_three_forms(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    code, out, _ = run(capsys, "immutableid", *args)
    assert code == 0
    assert out.splitlines() == [
        f"guid          {DOTNET_GUID}",
        "immutable_id  yYuRNW0Z6kCXeYidebdT8A==",
        f"hex           {DOTNET_HEX}",
    ]


def test_immutableid_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "immutableid", "BpazOkLGm0iEtljAONPvOQ==", "--output", "json")
    assert code == 0
    assert json.loads(out) == {
        "guid": "3ab39606-c642-489b-84b6-58c038d3ef39",
        "immutable_id": "BpazOkLGm0iEtljAONPvOQ==",
        "hex": "0696b33a42c69b4884b658c038d3ef39",
    }


def test_immutableid_json_guid_is_null_when_not_16_bytes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "immutableid", "aGVsbG8=", "-o", "json")
    assert code == 0
    assert json.loads(out)["guid"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([DOTNET_HEX], "ambiguous"),
        (["not-an-id"], "neither a GUID nor an ImmutableId"),
        (["yYuRNW0Z6kCXeYidebdT8A==", "--from", "guid"], "is not a GUID"),
        (["xyz", "--from", "hex"], "not hex octets"),
        ([DOTNET_GUID, "--from", "base64"], "unknown form"),
    ],
)
def test_immutableid_bad_input_exits_2(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = run(capsys, "immutableid", *args)
    assert code == 2
    assert out == ""
    assert err.startswith("pswrap: error: ") and message in err
    assert "Traceback" not in err


def test_immutableid_ambiguity_hint_names_the_way_out(capsys: pytest.CaptureFixture[str]) -> None:
    _, _, err = run(capsys, "immutableid", DOTNET_HEX)
    assert "hint: pass --from hex" in err


# --- render --list -------------------------------------------------------------------------------


def test_render_list_prints_every_step_id(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "render", "--list")
    assert code == 0
    assert out.splitlines() == [s.id for s in steps.all_steps()]
    assert "ad/new-user" in out.splitlines()


def test_render_list_json_describes_each_step(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "render", "--list", "--output", "json")
    assert code == 0
    listed = {entry["id"]: entry for entry in json.loads(out)}
    assert set(listed) == {s.id for s in steps.all_steps()}
    mailbox = listed["exo/new-mailbox"]
    assert mailbox["profiles"] == ["modern"]
    assert mailbox["needs"] == "exo"
    assert mailbox["changes"] is True
    assert mailbox["choices"] == [
        {
            "name": "type",
            "values": ["room", "equipment", "shared"],
            "default": "room",
            "help": "kind of resource mailbox",
        }
    ]
    capacity = next(p for p in mailbox["parameters"] if p["name"] == "ResourceCapacity")
    assert {k: capacity[k] for k in ("type", "mandatory", "secret")} == {
        "type": "int",
        "mandatory": False,
        "secret": False,
    }
    password = next(p for p in listed["ad/new-user"]["parameters"] if p["name"] == "CredentialPassword")
    assert password["secret"] is True and password["type"] == "securestring"
    assert listed["legacy/connect-msol"]["retired"] == {
        "service": "MSOnline PowerShell",
        "retired": "2025-05-30",
        "replacement": "Connect-MgGraph app-only (graph/connect)",
    }
    assert listed["graph/get-user"]["changes"] is False and listed["graph/get-user"]["retired"] is None
    # The seed's prompts and connections change nothing; its service, AD and cloud steps do.
    legacy_changes = {i: e["changes"] for i, e in listed.items() if i.startswith("legacy/")}
    assert [i for i, changes in sorted(legacy_changes.items()) if not changes] == [
        "legacy/connect-exo",
        "legacy/connect-msol",
        "legacy/get-credential",
    ]


def test_render_list_refuses_a_step(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "render", "--list", "ad/new-user")
    assert code == 2 and "--list takes no step" in err


# --- render STEP_ID ------------------------------------------------------------------------------

# ad/get-ous: a string[] parameter, a mandatory one, and an optional secret (see pswrap/steps/preflight.py).
OUS = ["render", "ad/get-ous", "--param", "Server=dc1.contoso.com"]


def test_render_prints_the_script_and_lists_values_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *OUS, "--param", "Identity=OU=Rooms,DC=contoso,DC=com")
    assert code == 0
    assert out.splitlines()[0] == "# pswrap-step: ad/get-ous"
    assert "dc1.contoso.com" not in out and "OU=Rooms" not in out  # values never enter the text
    assert "#   Server = 'dc1.contoso.com'" in err
    assert "#   Identity = @('OU=Rooms,DC=contoso,DC=com')" in err


def test_reading_a_script_needs_no_values(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "render", "ad/get-ous")
    assert code == 0
    assert out.splitlines()[0] == "# pswrap-step: ad/get-ous"
    assert "#   Server = <not given; mandatory to run: --param Server=...>" in err
    code, out, _ = run(capsys, "render", "ad/get-ous", "--output", "json")
    data = json.loads(out)
    assert (data["parameters"], data["missing"]) == ({}, ["Server"])
    assert data["text"].startswith("# pswrap-step: ad/get-ous\n")


def test_repeated_param_builds_a_list(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, *OUS, "--param", "Identity=OU=A,DC=c", "--param", "Identity=OU=B,DC=c", "--output", "json"
    )
    assert code == 0
    assert json.loads(out)["parameters"] == {
        "Identity": ["OU=A,DC=c", "OU=B,DC=c"],
        "Server": "dc1.contoso.com",
    }


def test_repeating_a_scalar_param_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, *OUS, "--param", "Server=dc2")
    assert code == 2 and "given twice" in err


def test_a_secret_on_the_command_line_is_refused_without_echoing_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, *OUS, "--param", "CredentialPassword=Hunter2!")
    assert code == 2
    assert "Hunter2!" not in out + err
    assert "--param CredentialPassword=" in err


def test_standalone_binds_values_and_asks_for_the_secret(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        *OUS,
        "--param",
        "Identity=OU=O'Brien's rooms,DC=c",
        "--param",
        "CredentialUser=CONTOSO\\svc-pswrap",
        "--param",
        "CredentialPassword=",
        "--standalone",
    )
    assert code == 0
    assert out.splitlines()[0] == "# pswrap-step: ad/get-ous"
    start = out.index("$pswrapParameters = ") + len("$pswrapParameters = ")
    bound: Any = ps.evaluate_prefix(out, start)[0]
    assert bound == {
        "Identity": ["OU=O'Brien's rooms,DC=c"],
        "Server": "dc1.contoso.com",
        "CredentialUser": "CONTOSO\\svc-pswrap",
    }
    assert "Read-Host -AsSecureString -Prompt 'CredentialPassword'" in out
    assert out.rstrip().endswith("} @pswrapParameters")


def test_choices_are_validated(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "render", "exo/new-mailbox", "--var", "type=castle", "--param", "Name=x")
    assert code == 2 and "'castle' is not a value of type" in err
    code, _, err = run(capsys, "render", "exo/new-mailbox", "--var", "colour=blue")
    assert code == 2 and "no structural choice 'colour'" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["render", "ad/no-such-step"], "unknown step 'ad/no-such-step'"),
        (["render", "ad/get-ous", "--profile", "vintage"], "'vintage' is not one of 'modern'"),
        (["render", "ad/new-user", "--profile", "legacy"], "does not exist in the legacy profile"),
        ([*OUS, "--param", "Colour=blue"], "has no parameter 'Colour'"),
        ([*OUS, "--param", "Server"], "is not NAME=VALUE"),
        ([*OUS, "--param", "=value"], "is not NAME=VALUE"),
        ([*OUS, "--var", "nonsense"], "is not NAME=VALUE"),
        (["render"], "no step to render"),
        (["render", "ad/get-ous", "--standalone"], "missing the mandatory parameter(s): Server"),
    ],
)
def test_render_bad_input_exits_2(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2
    assert out == ""
    assert message in err
    assert "Traceback" not in err


def test_an_unknown_output_format_is_a_usage_error_naming_the_choices(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--output is a choice of the CLI library: refused with exit 2 before the command runs."""
    code, out, err = run(capsys, "immutableid", DOTNET_GUID, "--output", "yaml")
    assert code == 2 and out == ""
    assert "--output" in err and "'text'" in err and "'json'" in err
