"""`--emit-ps1`: the plan as one Windows PowerShell 5.1 script. It parses, passes the catalogue check,
binds every value through the encoder (read back by the tokenizer model, it is the value planned), asks
for secrets instead of writing them, takes run-time values from earlier steps' JSON, and runs each need's
steps in a child powershell.exe of their own."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pswrap import steps
from pswrap.workflows.emit_ps1 import emit_ps1, stages
from pswrap.workflows.mailbox_dryrun import DryRun
from tests.e2e.conftest import Ran, cli, env, world
from tests.render import psmodel_tokenizer as ps
from tests.templates.catalogue_check import check_script, syntax_errors

__all__ = ["cli", "env", "world"]

NAME = "Room 'A' \u2018B\u2019 $x `y"
CHILD = "$pswrapOutput = & $pswrapPowerShell -NoProfile -NonInteractive -Command {"
BIND = re.compile(r"^\$pswrapParameters\['(?P<name>[^']+)'\] = ", re.MULTILINE)
STEP_HEADER = re.compile(r"^# \[(?P<key>[^\]]+)\] (?P<step>[a-z]+/[a-z-]+)", re.MULTILINE)


def _plan(hold: str) -> DryRun:
    import pswrap.api

    with pswrap.api.connect("lab") as api:
        return api.create_mailbox(NAME, alias="rooma", capacity=6, hold=hold, dry_run=True)  # type: ignore[arg-type]


def _jsonable(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    isoformat = getattr(value, "isoformat", None)
    return isoformat() if isoformat is not None else value


def _children(text: str) -> list[str]:
    """The text of each child process's script block."""
    parts = text.split(CHILD)[1:]
    return [part.split("\n} -args $pswrapInput, $pswrapSecrets", 1)[0] for part in parts]


@pytest.mark.parametrize("hold", ["anchor", "staging-ou", "scheduler"])
def test_the_emitted_script_parses_and_passes_the_catalogue_check(env: dict[str, str], hold: str) -> None:
    text = emit_ps1(_plan(hold))
    assert syntax_errors(text) == []
    lines = text.split("\n")
    problems = check_script(text)
    for problem in problems:
        # The only commands outside the catalogue are the script's own two mechanisms: starting a child
        # powershell.exe, and running a step's script block with its splatted parameters.
        assert problem.command == "<dynamic invocation>", str(problem)
        line = lines[problem.line - 1]
        assert line == CHILD or line == "$pswrapJson = & {", line
    # Only the user's own value carries non-ASCII characters (its curly quotes, doubled by the encoder).
    assert {c for c in text if not c.isascii()} == {"\u2018", "\u2019"}


@pytest.mark.parametrize("hold", ["anchor", "staging-ou", "scheduler"])
def test_each_child_process_runs_one_need(env: dict[str, str], hold: str) -> None:
    plan = _plan(hold)
    text = emit_ps1(plan)
    children = _children(text)
    groups = stages(plan)
    assert len(children) == len(groups) == text.count("& $pswrapPowerShell ")
    for child, group in zip(children, groups, strict=True):
        needs = {steps.get(m.group("step")).needs for m in STEP_HEADER.finditer(child)}
        connects = re.findall(r"^# pswrap-step: ([a-z]+)/connect", child, re.MULTILINE)
        assert needs == {group.need}, child[:200]
        assert connects in ([], [group.need])
        assert not ("Connect-ExchangeOnline" in child and "Connect-MgGraph" in child)
    if hold == "anchor":  # one process per need
        assert [g.need for g in groups] == ["exo", "graph", "ad", "adsync"]


@pytest.mark.parametrize("hold", ["anchor", "staging-ou", "scheduler"])
def test_every_value_round_trips_through_the_encoder(env: dict[str, str], hold: str) -> None:
    plan = _plan(hold)
    text = emit_ps1(plan, operation="op-1")
    planned: dict[str, dict[str, Any]] = {}
    for group in stages(plan):
        for entry in group.entries:
            planned[entry.key] = dict(entry.script.parameters)
            planned[entry.key].update(
                {name: "<runtime>" for name in (entry.step.deferred if entry.step else {})}
            )
    bound: dict[str, dict[str, Any]] = {}
    key = None
    for line in text.split("\n"):
        header = STEP_HEADER.match(line)
        if header:
            key = header.group("key") if header.group("key") != "connect" else None
            if key is not None:
                bound[key] = {}
            continue
        match = BIND.match(line)
        if match and key is not None:
            rest = line[match.end() :]
            if rest.startswith(("(Get-PswrapEarlier", "(Get-PswrapKeptAddresses", "[System.Convert]")):
                bound.setdefault(key, {})[match.group("name")] = "<runtime>"
            elif not rest.startswith("$PswrapSecrets["):
                value, end = ps.evaluate_prefix(line, match.end())
                assert end == len(line), line
                bound.setdefault(key, {})[match.group("name")] = value
    assert set(bound) == set(planned)
    for step_key, params in planned.items():
        expected = {
            k: (_jsonable(v).replace("<operation>", "op-1") if isinstance(v, str) else _jsonable(v))
            for k, v in params.items()
        }
        assert bound[step_key] == expected, step_key
    assert bound["1" if hold != "scheduler" else "2"]["Name"] == NAME


def test_run_time_values_come_from_the_earlier_steps_json(env: dict[str, str]) -> None:
    plan = _plan("staging-ou")
    text = emit_ps1(plan)
    keys = {e.script.step_id: e.key for g in stages(plan) for e in g.entries}
    mailbox, account = keys["exo/new-mailbox"], keys["ad/new-user"]
    assert int(mailbox) < int(account) < int(keys["graph/set-user"]) < int(keys["ad/move-user"])
    assert (
        "$pswrapParameters['UserId'] = "
        f"(Get-PswrapEarlier '{mailbox}' @('external_directory_object_id', 'user_principal_name'))"
    ) in text
    assert (
        "$pswrapParameters['OnPremisesImmutableId'] = "
        "[System.Convert]::ToBase64String(([guid]"
        f"(Get-PswrapEarlier '{account}' @('object_guid'))).ToByteArray())"
    ) in text
    assert f"$pswrapParameters['Identity'] = (Get-PswrapEarlier '{account}' @('object_guid'))" in text
    assert "SyncCycleInProgress" not in text  # only the scheduler hold pauses sync and waits
    # The new account carries the new mailbox's addresses: pswrap's own, then the mailbox's, read at
    # run time from its JSON (keep_addresses in pswrap.workflows.mailbox_mastering).
    planned = list(plan.plan.resolved.proxy_addresses) if plan.plan else []
    kept = f"(Get-PswrapKeptAddresses @('{planned[0]}', '{planned[1]}') '{mailbox}')"
    assert f"$pswrapParameters['ProxyAddresses'] = {kept}" in text
    # Each result comes back as JSON and goes into the next process as JSON.
    assert text.count("ConvertTo-Json -InputObject $pswrapResults") == len(stages(plan))
    assert "00000000-0000-0000-0000-000000000000" not in text and "<" + "operation>" not in text


def test_after_pausing_the_scheduler_it_waits_for_a_running_cycle(env: dict[str, str]) -> None:
    plan = _plan("scheduler")
    text = emit_ps1(plan, wait_seconds=900)
    first = _children(text)[0]
    assert "# pswrap-step: sync/install-lease" in first
    wait = first.index("Get-ADSyncScheduler -ErrorAction Stop) 'SyncCycleInProgress'")
    assert first.index("# pswrap-step: sync/install-lease") < wait
    assert ".AddSeconds(900)" in first and "Start-Sleep -Seconds 10 -ErrorAction Stop" in first


def test_secrets_are_asked_for_never_written(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "S3cret-never-written"
    monkeypatch.setenv("PSWRAP_AD_CREDENTIAL_USER", "LAB\\svc")
    monkeypatch.setenv("PSWRAP_AD_CREDENTIAL_PASSWORD_ENV", "PSWRAP_TEST_ADPW")
    monkeypatch.setenv("PSWRAP_TEST_ADPW", secret)
    text = emit_ps1(_plan("anchor"))
    assert secret not in text
    assert text.count("Read-Host -AsSecureString -Prompt 'CredentialPassword' -ErrorAction Stop") == 1
    assert "$pswrapParameters['CredentialPassword'] = $PswrapSecrets['CredentialPassword']" in text
    assert "$pswrapParameters['CredentialUser'] = 'LAB\\svc'" in text


def test_the_cli_writes_the_file_and_changes_nothing(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]], tmp_path: Path
) -> None:
    before = world()["exo"]["mailboxes"]
    out = tmp_path / "room7.ps1"
    ran = cli("mailbox", "create", "Room 7", "--alias", "room7", "--emit-ps1", str(out))
    assert ran.code == 0, ran.err
    assert ran.out == "" and f"wrote {out}" in ran.err
    raw = out.read_bytes()
    # With a byte order mark: Windows PowerShell 5.1 reads a .ps1 without one in the ANSI code page
    # (about_Character_Encoding), which would turn a curly quote in a value into other characters.
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert text.startswith("# pswrap-plan: room mailbox room7") and "\r\n" in text
    assert world()["exo"]["mailboxes"] == before
    assert cli("ops", "list", "--output", "json").json() == []
    legacy = cli(
        "mailbox", "create", "Room 7", "--alias", "room7", "--profile", "legacy", "--emit-ps1", str(out)
    )
    assert legacy.code == 2 and "retired" in legacy.err
