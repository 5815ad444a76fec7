"""The legacy profile renders the seed's 2014 runbook with its own cmdlets and parameter names
(seed/000_650fe54a519f435e.txt), values still passed as parameters, and says what replaced each step."""

from __future__ import annotations

import pytest

from pswrap.errors import BadInput
from pswrap.render.engine import render
from pswrap.steps import all_steps
from tests.templates.catalogue_check import invoked_commands

# step -> (cmdlet, parameters the seed passes by name) in the order the seed calls them
SEED: dict[str, list[tuple[str, set[str]]]] = {
    "legacy/get-credential": [("Get-Credential", set())],
    "legacy/stop-dirsync": [("Stop-Service", set())],
    "legacy/new-aduser": [("Import-Module", set()), ("New-ADUser", {"PassThru"})],
    "legacy/connect-exo": [
        ("Get-Credential", set()),
        (
            "New-PSSession",
            {"ConfigurationName", "ConnectionUri", "Credential", "Authentication", "AllowRedirection"},
        ),
        ("Import-PSSession", {"Session"}),
    ],
    "legacy/new-mailbox": [("New-Mailbox", {"Room"})],
    "legacy/connect-msol": [("Import-Module", set()), ("Connect-MsolService", set())],
    "legacy/set-immutableid": [
        ("Import-Module", set()),
        ("Set-MsolUserPrincipalName", {"UserPrincipalName", "NewUserPrincipalName", "ImmutableId"}),
    ],
    "legacy/start-dirsync": [("Start-Service", set())],
    "legacy/start-sync": [("Import-Module", set()), ("Start-OnlineCoexistenceSync", {"FullSync"})],
}

# Lines of the seed that must appear as written (values replaced by parameters where the seed had them).
SEED_TEXT = {
    "legacy/get-credential": ["$O365cred = Get-Credential"],
    "legacy/stop-dirsync": ["Stop-Service MSOnlineSyncScheduler"],
    "legacy/new-aduser": [
        "Import-Module ActiveDirectory",
        "$ADUserProperties = @{",
        "OtherAttributes = @{",
        "ProxyAddresses = [string[]]$ProxyAddresses",
        "$ADUser = New-ADUser @ADUserProperties -PassThru",
    ],
    "legacy/connect-exo": [
        "$O365sess = New-PSSession -ConfigurationName Microsoft.Exchange -ConnectionUri $ConnectionUri "
        "-Credential $O365cred -Authentication Basic -AllowRedirection",
    ],
    "legacy/new-mailbox": [
        "$O365UserProperties = @{",
        "$RoomMailbox = New-Mailbox @O365UserProperties -Room",
    ],
    "legacy/connect-msol": ["Import-Module MSOnline", "Connect-MsolService"],
    "legacy/set-immutableid": [
        "Import-Module MSOnline",
        "Set-MsolUserPrincipalName -UserPrincipalName $UserPrincipalName "
        "-NewUserPrincipalName $NewUserPrincipalName -ImmutableId $ImmutableId",
    ],
    "legacy/start-dirsync": ["Start-Service MSOnlineSyncScheduler"],
    "legacy/start-sync": ["Import-Module DirSync", "Start-OnlineCoexistenceSync -FullSync"],
}

LEGACY = [s for s in all_steps() if s.is_legacy]


def test_every_legacy_step_is_covered() -> None:
    assert {s.id for s in LEGACY} == set(SEED)


@pytest.mark.parametrize("step", LEGACY, ids=lambda s: s.id)
def test_legacy_step_uses_the_seeds_cmdlets(step) -> None:  # type: ignore[no-untyped-def]
    params = {p.name: ["SMTP:room1@example.com"] if p.type == "string[]" else "v" for p in step.params}
    script = render(step, profile="legacy", params=params)
    calls = [
        (c.name, {a.name for a in c.parameters} - {"ErrorAction"})
        for c in invoked_commands(script.text)
        if not c.name.lower().startswith(("write-pswrap", "get-pswrap", "convertto-pswrap"))
        and c.name not in ("New-Object", "ConvertTo-Json", "Write-Output", "Set-StrictMode")
    ]
    assert calls == SEED[step.id]
    for line in SEED_TEXT[step.id]:
        assert line in script.text, line
    # what is retired and what replaced it, from the declaration
    assert step.retired is not None
    header = "\n".join(script.text.splitlines()[1:4])
    assert "render only" in header
    assert step.retired.service in header
    assert step.retired.replacement in header
    # values still travel as parameters
    assert script.parameters == params


@pytest.mark.parametrize("step", LEGACY, ids=lambda s: s.id)
def test_legacy_steps_exist_only_in_the_legacy_profile(step) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BadInput, match="exists in: legacy"):
        render(step, profile="modern")
