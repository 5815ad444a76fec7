"""The catalogue check must be able to fail: wrong scripts, written by hand, are caught."""

from __future__ import annotations

import pytest

from tests.templates.catalogue_check import check_script

GOOD = """param([string]$Name)
$newMailbox = @{ Name = $Name; Alias = $Name }
$created = New-Mailbox @newMailbox -Room -ErrorAction Stop
"""


def _messages(text: str) -> list[str]:
    return [str(p) for p in check_script(text)]


def test_a_correct_script_passes() -> None:
    assert _messages(GOOD) == []


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("Get-ADUserz -Identity $x -ErrorAction Stop\n", "not in the cmdlet catalogue"),
        ("Get-ADUser -Identity $x -Frobnicate $y -ErrorAction Stop\n", "has no parameter -Frobnicate"),
        # -ResourceCapacity exists only in New-Mailbox's Room set
        ("New-Mailbox -Name $n -Shared -ResourceCapacity 5 -ErrorAction Stop\n", "fits no parameter set"),
        # two set selectors at once
        ("New-Mailbox -Name $n -Room -Equipment -ErrorAction Stop\n", "fits no parameter set"),
        # -Filter and -Identity belong to different sets of Get-ADUser
        ("Get-ADUser -Filter $f -Identity $i -ErrorAction Stop\n", "fits no parameter set"),
        # mandatory -TargetPath missing
        ("Move-ADObject -Identity $i -ErrorAction Stop\n", "lacks mandatory TargetPath"),
        # through a splatted hashtable, the same rules
        (
            "$h = @{ Name = $n }\n$h['Colour'] = 'red'\nNew-ADUser @h -ErrorAction Stop\n",
            "has no parameter Colour",
        ),
        (
            "$h = @{ Identity = $i }\n$h.Filter = $f\nGet-ADUser @h -ErrorAction Stop\n",
            "fits no parameter set",
        ),
        ("New-ADUser @nowhere -Name $n -ErrorAction Stop\n", "not a hashtable of this script"),
        ("Get-ADUser -Identity $x\n", "without -ErrorAction Stop"),
        ("Get-ADUser -Identity $x -ErrorAction Continue\n", "without -ErrorAction Stop"),
        ("Get-ADUser -Identity -ErrorAction Stop\n", "-Identity has no value"),
        ("Start-Service MSOnlineSyncScheduler other -ErrorAction Stop\n", "fits no parameter set"),
        ("if ($x { Get-ADUser -Identity $x -ErrorAction Stop }\n", "<parse>"),
    ],
)
def test_a_wrong_script_is_caught(script: str, expected: str) -> None:
    messages = _messages(script)
    assert any(expected in m for m in messages), messages


def test_a_parameter_that_does_not_apply_where_the_script_runs_is_caught() -> None:
    # docs/sources.md section 4: in the Room set, -UserPrincipalName is on-premises only.
    script = "New-Mailbox -Name $n -Room -UserPrincipalName $u -ErrorAction Stop\n"
    assert check_script(script, platform="Exchange Server 2019") == []
    problems = [str(p) for p in check_script(script, platform="Exchange Online")]
    assert any("-UserPrincipalName does not apply to Exchange Online" in p for p in problems), problems
    on_prem_only = "$m = Get-RemoteMailbox -Identity $i -ErrorAction Stop\n"
    assert any(
        "does not apply to Exchange Online" in str(p)
        for p in check_script(on_prem_only, platform="Exchange Online")
    )


def test_functions_defined_in_the_script_are_not_cmdlets() -> None:
    script = "function Write-PswrapResult {\n    param($Result)\n}\nWrite-PswrapResult $x\n"
    assert _messages(script) == []


def test_aliases_and_colon_values_are_understood() -> None:
    script = (
        "Get-MgUser -UserId $u -Select $p -ErrorAction Stop\n"
        "Set-ADSyncScheduler -SyncCycleEnabled:$false -ErrorAction Stop\n"
        "Unregister-ScheduledTask -TaskName $n -Confirm:$false -ErrorAction Stop\n"
        "Start-Service MSOnlineSyncScheduler -ErrorAction Stop\n"
    )
    assert _messages(script) == []


def test_prompting_is_refused_unless_allowed() -> None:
    script = "$c = Get-Credential -ErrorAction Stop\n"
    assert any("lacks mandatory Credential" in m for m in _messages(script))
    assert check_script(script, may_prompt=["Get-Credential"]) == []
