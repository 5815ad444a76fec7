"""Every template, in every profile and variant, is a script an admin would trust: it parses, calls only
catalogued cmdlets with documented parameters in a real parameter set, declares exactly the values it
uses, and writes the keys of its step's model."""

from __future__ import annotations

import re
import typing
from functools import cache

import pytest

from pswrap.errors import BadInput
from pswrap.render.engine import render
from pswrap.render.script import Script
from pswrap.results.base import PSModel
from pswrap.steps import all_steps
from pswrap.steps.model import Step
from tests.templates.catalogue_check import check_script, hashtable_keys, parse, unwrap
from tests.templates.variants import Variant, refusal, variants

STEP_IDS = [s.id for s in all_steps()]

# Where each area's Exchange cmdlets run: Exchange Online, or the Exchange 2019 CU12+ management tools.
PLATFORM = {
    "exo": "Exchange Online",
    "hybrid": "Exchange Server 2019",
    "legacy/new-mailbox": "Exchange Online",
}

PS_TYPES = {
    "string": "string",
    "string[]": "string[]",
    "int": "int",
    "bool": "bool",
    "switch": "switch",
    "guid": "guid",
    "securestring": "securestring",
    "datetime": "datetime",
}


@cache
def _rendered(step_id: str) -> list[tuple[Variant, Script]]:
    out = []
    for variant in variants(_step(step_id)):
        if refusal(variant) is None:
            out.append(
                (
                    variant,
                    render(
                        variant.step,
                        profile=variant.profile,
                        choices=variant.choices,
                        params=variant.params(),
                    ),
                )
            )
    return out


def _step(step_id: str) -> Step:
    return next(s for s in all_steps() if s.id == step_id)


@pytest.mark.parametrize("step_id", STEP_IDS)
def test_refused_exactly_where_the_template_says_so(step_id: str) -> None:
    for variant in variants(_step(step_id)):
        reason = refusal(variant)
        if reason is None:
            render(variant.step, profile=variant.profile, choices=variant.choices, params=variant.params())
        else:
            with pytest.raises(BadInput, match=re.escape(reason.split(" or ")[0][:20])):
                render(
                    variant.step, profile=variant.profile, choices=variant.choices, params=variant.params()
                )


@pytest.mark.parametrize("step_id", STEP_IDS)
def test_every_variant_passes_the_catalogue_check(step_id: str) -> None:
    step = _step(step_id)
    # The seed calls Get-Credential bare and PowerShell prompts for it (catalogue note); nothing else may.
    may_prompt = ["Get-Credential"] if step.is_legacy else []
    failures = []
    for variant, script in _rendered(step_id):
        for problem in check_script(
            script.text, may_prompt=may_prompt, platform=PLATFORM.get(step.id, PLATFORM.get(step.area))
        ):
            failures.append(f"{variant.label}: {problem}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("step_id", STEP_IDS)
def test_every_variant_is_ascii_without_write_host(step_id: str) -> None:
    for variant, script in _rendered(step_id):
        assert script.text.isascii(), variant.label
        assert "write-host" not in script.text.lower(), variant.label
        assert "\t" not in script.text, variant.label


def _declared_parameters(text: str) -> dict[str, str]:
    """The script's param() block: name -> declared type (lower case)."""
    tree, source = parse(text)
    declared: dict[str, str] = {}
    block = next(n for n in tree.root_node.children if n.type == "param_block")
    for node in _descendants(block):
        if node.type != "script_parameter":
            continue
        variable = next(c for c in node.children if c.type == "variable")
        types = [
            source[t.start_byte : t.end_byte].decode() for t in _descendants(node) if t.type == "type_literal"
        ]
        declared[source[variable.start_byte + 1 : variable.end_byte].decode()] = (
            types[-1][1:-1].lower() if types else ""
        )
    return declared


def _descendants(node: typing.Any) -> typing.Iterator[typing.Any]:
    for child in node.children:
        yield child
        yield from _descendants(child)


@pytest.mark.parametrize("step_id", STEP_IDS)
def test_param_block_declares_exactly_the_values_sent(step_id: str) -> None:
    for variant, script in _rendered(step_id):
        declared = _declared_parameters(script.text)
        sent = {**script.parameters, **script.secrets}
        assert set(declared) == set(sent), variant.label
        for param in variant.step.params:
            if param.name in declared:
                assert declared[param.name] == PS_TYPES[param.type], (
                    variant.label,
                    param.name,
                )


def _model_fields(model: type[PSModel]) -> tuple[set[str], set[str]]:
    """(fields of the model itself, fields of it and every model nested in it)."""
    own = set(model.model_fields)
    everything = set(own)
    for info in model.model_fields.values():
        for arg in _type_args(info.annotation):
            if isinstance(arg, type) and issubclass(arg, PSModel):
                everything |= _model_fields(arg)[1]
    return own, everything


def _type_args(annotation: typing.Any) -> typing.Iterator[typing.Any]:
    yield annotation
    for arg in typing.get_args(annotation):
        yield from _type_args(arg)


def _ordered_keys(text: str) -> set[str]:
    """Keys of every `[ordered]@{...}` literal: the documents the emitter writes are built from them."""
    tree, source = parse(text)
    keys: set[str] = set()
    for node in _descendants(tree.root_node):
        if node.type != "cast_expression":
            continue
        cast = source[node.start_byte : node.end_byte].decode()
        if not cast.lower().startswith("[ordered]"):
            continue
        operands = [unwrap(c) for c in node.children if c.type != "type_literal"]
        literal = next((c for c in operands if c.type == "hash_literal_expression"), None)
        if literal is None:
            continue
        for body in literal.children:
            for entry in body.children if body.type == "hash_literal_body" else []:
                if entry.type == "hash_entry":
                    key = next(c for c in entry.children if c.type == "key_expression")
                    keys.add(source[key.start_byte : key.end_byte].decode())
    return keys


@pytest.mark.parametrize("step_id", [s.id for s in all_steps() if s.result is not None])
def test_output_keys_are_the_models_fields(step_id: str) -> None:
    step = _step(step_id)
    assert step.result is not None
    own, everything = _model_fields(step.result)
    for variant, script in _rendered(step_id):
        keys = _ordered_keys(script.text)
        assert own <= keys, (variant.label, sorted(own - keys))
        assert keys <= everything, (variant.label, sorted(keys - everything))
        assert script.text.count("Write-PswrapResult") >= 2, variant.label  # defined once, called


@pytest.mark.parametrize("step_id", STEP_IDS)
def test_marker_and_prologue(step_id: str) -> None:
    for variant, script in _rendered(step_id):
        lines = script.text.splitlines()
        expected = "# pswrap-step: " + step_id + "".join(f" {k}={v}" for k, v in variant.choices.items())
        assert lines[0] == expected
        for needed in (
            "Set-StrictMode -Version 2",
            "$ErrorActionPreference = 'Stop'",
            "$ProgressPreference = 'SilentlyContinue'",
            "function Write-PswrapResult",
        ):
            assert needed in script.text, (variant.label, needed)
        assert script.text.count("function Write-PswrapResult") == 1


def test_splatted_hashtables_are_built_inside_the_script() -> None:
    """Keys the checker sees for ad/new-user: New-ADUser's own, plus the session's Server and Credential."""
    script = render(
        "ad/new-user",
        params={
            **{p: "x" for p in ("Name", "Path", "SamAccountName", "UserPrincipalName", "DisplayName")},
            "EmailAddress": "x",
            "ProxyAddresses": ["SMTP:x@example.com"],
            "MailNickname": "x",
            "Server": "dc1",
            "CredentialUser": "u",
            "CredentialPassword": "p",
            "ConsistencyGuid": "35918bc9-196d-40ea-9779-889d79b753f0",
        },
    )
    tree, source = parse(script.text)
    keys = hashtable_keys(tree, source)
    assert keys["newuser"] == {
        "Name",
        "Path",
        "SamAccountName",
        "UserPrincipalName",
        "DisplayName",
        "EmailAddress",
        "OtherAttributes",
        "Enabled",  # always given: a resource account is created disabled unless it must sign in
    }
    assert keys["adconnection"] == {"Server", "Credential"}
    assert keys["otherattributes"] == {"proxyAddresses", "mailNickname", "mS-DS-ConsistencyGuid"}
    assert "[string[]]$ProxyAddresses" in script.text
    assert "([guid]$ConsistencyGuid).ToByteArray()" in script.text
