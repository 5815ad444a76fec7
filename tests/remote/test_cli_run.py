"""`pswrap run` and `pswrap targets` as an admin or a runbook engine calls them: output, exit codes."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pswrap.cli import app
from pswrap.cli.app import run_app
from tests.remote.conftest import LAB_PASSWORD


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run_app(app, list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def restore_pswrap_logger() -> Iterator[None]:
    logger = logging.getLogger("pswrap")
    level = logger.level
    yield
    logger.setLevel(level)


def test_run_on_the_embedded_lab_prints_json(capsys: Any, isolated: Path) -> None:
    world = isolated / "state" / "lab" / "world.json"  # PSWRAP_STATE_DIR, no PSWRAP_LAB_STATE
    for _ in range(2):  # the note comes on every run
        code, out, err = run(capsys, "run", "sync/get-settings", "--output", "json")
        assert code == 0, err
        doc = json.loads(out)
        assert doc["anchor_attribute"] == "mS-DS-ConsistencyGuid" and doc["staging_mode"] is False
        assert f"pswrap: no target configured; using the embedded lab (world in {world})" in err
    assert world.is_file()
    assert [p.name for p in world.parent.iterdir() if "cred" in p.name] == []  # its password is not stored


def test_run_with_params_and_text_output(capsys: Any, lab_factory: Any, lab_target: Any) -> None:
    lab_target(lab_factory())
    code, out, err = run(capsys, "run", "exo/find-mailbox", "--param", "Identity=nobody", "--target", "labx")
    assert code == 0, err
    assert "found: False" in out.splitlines()
    assert "embedded lab" not in err


def test_run_with_choices(capsys: Any, lab_factory: Any, lab_target: Any) -> None:
    lab_target(lab_factory())
    args = ["run", "exo/new-mailbox", "--var", "type=equipment", "-t", "labx", "-o", "json"]
    args += ["--param", "Name=Cart", "--param", "Alias=cart", "--param", "DisplayName=Cart"]
    args += ["--param", "PrimarySmtpAddress=cart@lab.example"]
    code, out, err = run(capsys, *args)
    assert code == 0, err
    assert json.loads(out)["recipient_type_details"] == "EquipmentMailbox"


def test_run_hybrid_tools_profile(capsys: Any, lab_factory: Any, lab_target: Any) -> None:
    lab_target(lab_factory())
    args = ["run", "hybrid/find-remote-mailbox", "--profile", "hybrid-tools", "--param", "Identity=none"]
    code, out, err = run(capsys, *args, "-t", "labx")
    assert code == 0, err
    assert "found: False" in out


def test_legacy_step_refused_exit_2(capsys: Any) -> None:
    code, out, err = run(capsys, "run", "legacy/stop-dirsync")
    assert code == 2 and out == ""
    assert "never run" in err and "Set-ADSyncScheduler" in err
    assert "Traceback" not in err
    code, _, err = run(capsys, "run", "legacy/new-mailbox", "--param", "Nope=1")
    assert code == 2 and "never run" in err  # refused before its inputs are even looked at


def test_unknown_step_exit_2(capsys: Any) -> None:
    code, _, err = run(capsys, "run", "exo/no-such-step")
    assert code == 2 and "unknown step" in err


def test_bad_input_exit_2(capsys: Any) -> None:
    code, _, err = run(capsys, "run", "exo/find-mailbox", "--param", "Nope=1")
    assert code == 2 and "has no parameter 'Nope'" in err


def test_bad_credentials_exit_3_short_message(
    capsys: Any, lab_factory: Any, lab_target: Any, monkeypatch: Any
) -> None:
    lab_target(lab_factory())
    monkeypatch.setenv("LAB_TEST_PASSWORD", "not-it")
    code, out, err = run(capsys, "run", "sync/get-settings", "-t", "labx")
    assert code == 3 and out == ""
    lines = err.strip().splitlines()
    assert 1 <= len(lines) <= 2 and lines[0].startswith("pswrap: error:") and "refused the credentials" in err
    assert lines[-1].startswith("hint:")
    assert "Traceback" not in err and "not-it" not in err


def test_connection_refused_exit_4_after_retries(
    capsys: Any, lab_factory: Any, lab_target: Any, caplog: Any
) -> None:
    lab = lab_factory()
    lab_target(lab)
    lab.stop()  # nothing listens on that port any more
    caplog.set_level(logging.INFO, logger="pswrap.remote")
    code, _, err = run(capsys, "run", "sync/get-settings", "-t", "labx")
    assert code == 4 and "connection" in err and "Traceback" not in err
    from pswrap.remote.classify import REFUSED_ATTEMPTS  # bounded by a count: nothing listens there

    retries = [r for r in caplog.records if r.getMessage().startswith("retrying sync/get-settings")]
    assert len(retries) == REFUSED_ATTEMPTS - 1


def test_remote_error_exit_5_and_debug_traceback(capsys: Any, lab_factory: Any, lab_target: Any) -> None:
    lab_target(lab_factory(faults=["fail:sync/get-settings=Injected for the test@1+"]))
    code, _, err = run(capsys, "run", "sync/get-settings", "-t", "labx")
    assert code == 5 and "Injected for the test (step sync/get-settings on labx)" in err
    assert "Traceback" not in err
    code, _, err = run(capsys, "--debug", "run", "sync/get-settings", "-t", "labx")
    assert code == 5 and "Traceback" in err


def test_verbose_shows_retries(capsys: Any, lab_factory: Any, lab_target: Any, caplog: Any) -> None:
    lab_target(lab_factory(faults=["http500@1"]))
    code, _, _ = run(capsys, "--verbose", "run", "sync/get-settings", "-t", "labx")
    assert code == 0
    retries = [r for r in caplog.records if r.getMessage().startswith("retrying sync/get-settings")]
    assert len(retries) == 1 and retries[0].levelno == logging.INFO


def test_config_error_exit_2_names_the_file(capsys: Any, config_file: Path) -> None:
    config_file.write_text('[targets.x]\nhost = "h"\nport = "eighty"\n')
    code, _, err = run(capsys, "run", "sync/get-settings", "-t", "x")
    assert code == 2 and str(config_file) in err and "port" in err


# --- targets -----------------------------------------------------------------------------------------

CONFIG = """
default_target = "corp"
[targets.corp]
host = "sync01.corp.example"
username = "CORP\\\\svc"
password_env = "CORP_PW"
ad_credential_user = "CORP\\\\ad"
ad_credential_password_keyring = "pswrap-ad"
[targets.corp.hosts]
exo = "mgmt01.corp.example"
[targets.spare]
host = "spare.corp.example"
scheme = "http"
auth = "ntlm"
"""


def test_targets_list(capsys: Any, config_file: Path) -> None:
    config_file.write_text(CONFIG)
    code, out, _ = run(capsys, "targets", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("* corp") and "https://sync01.corp.example:5986" in lines[0]
    assert any(line.startswith("  spare") for line in lines) and any("lab" in line for line in lines)
    code, out, _ = run(capsys, "targets", "list", "-o", "json")
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["corp"]["default"] is True and rows["lab"]["is_lab"] is True


def test_targets_show_masks_secrets_and_names_sources(
    capsys: Any, config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_file.write_text(CONFIG)
    monkeypatch.setenv("CORP_PW", LAB_PASSWORD)
    monkeypatch.setenv("PSWRAP_DOMAIN_CONTROLLER", "dc07.corp.example")
    code, out, _ = run(capsys, "targets", "show", "corp")
    assert code == 0
    assert LAB_PASSWORD not in out
    password = next(line for line in out.splitlines() if line.strip().startswith("password "))
    assert "********" in password and "environment variable CORP_PW" in password
    ad = next(line for line in out.splitlines() if line.strip().startswith("ad_credential_password"))
    assert "********" in ad and "keyring entry 'pswrap-ad'" in ad
    dc = next(line for line in out.splitlines() if line.strip().startswith("domain_controller"))
    assert "dc07.corp.example" in dc and "env PSWRAP_DOMAIN_CONTROLLER" in dc
    exo = next(line for line in out.splitlines() if line.strip().startswith("hosts.exo"))
    assert "mgmt01.corp.example" in exo
    code, out, _ = run(capsys, "targets", "show", "corp", "-o", "json")
    doc = json.loads(out)
    assert doc["settings"]["host"] == "sync01.corp.example" and doc["sources"]["host"].startswith("file ")
    assert LAB_PASSWORD not in out


def test_targets_show_unknown_exit_2(capsys: Any, config_file: Path) -> None:
    config_file.write_text(CONFIG)
    code, _, err = run(capsys, "targets", "show", "nope")
    assert code == 2 and "no target named 'nope'" in err


def test_explicit_profile_must_have_the_step(capsys: Any) -> None:
    code, _, err = run(capsys, "run", "exo/new-mailbox", "--profile", "hybrid-tools")
    assert code == 2 and "does not exist in the hybrid-tools profile" in err


def test_secret_parameter_never_from_the_command_line(capsys: Any) -> None:
    args = ["run", "ad/find-user", "--param", "Value=x", "--param", "CredentialPassword=Hunter2-Secret"]
    code, out, err = run(capsys, *args)
    assert code == 2 and "refusing the secret parameter CredentialPassword" in err
    assert "Hunter2-Secret" not in err + out
    code, _, err = run(capsys, "run", "ad/find-user", "--param", "Value=x", "--param", "CredentialPassword=")
    assert code == 2 and "needs a terminal" in err


CLI_SCENARIO: list[list[str]] = [
    ["sync/get-settings"],
    ["sync/get-scheduler"],
    ["sync/get-scope"],
    ["sync/get-modules", "--param", "Name=ADSync"],
    ["sync/install-lease", "--param", "LeaseName=pswrap-lease-c1",
     "--param", "DeadlineUtc=2030-01-01T00:00:00Z"],
    ["sync/list-leases"],
    ["sync/remove-lease", "--param", "LeaseName=pswrap-lease-c1"],
    ["sync/set-scheduler", "--param", "SyncCycleEnabled=true"],
    ["sync/start-cycle", "--var", "policy=delta"],
    ["sync/get-run-results", "--param", "NumberRequested=1"],
    ["ad/get-domain"],
    ["ad/get-modules", "--param", "Name=ActiveDirectory"],
    ["ad/get-ous"],
    ["ad/new-user", "--param", "Name=Cli Room", "--param", "Path=OU=Resources,DC=lab,DC=example",
     "--param", "SamAccountName=cliroom", "--param", "UserPrincipalName=cliroom@lab.example",
     "--param", "DisplayName=Cli Room", "--param", "EmailAddress=cliroom@lab.example",
     "--param", "ProxyAddresses=SMTP:cliroom@lab.example", "--param", "MailNickname=cliroom"],
    ["ad/find-user", "--var", "by=upn", "--param", "Value=cliroom@lab.example"],
    ["ad/get-anchor", "--param", "Identity={object_guid}"],
    ["ad/find-name", "--param", "Value=CLI ROOM", "--param", "Path=OU=Resources,DC=lab,DC=example"],
    ["ad/move-user", "--param", "Identity={object_guid}",
     "--param", "TargetPath=OU=Staging,DC=lab,DC=example"],
    ["ad/get-exchange-schema"],
    ["ad/add-addresses", "--param", "Identity={object_guid}", "--param", "Addresses=smtp:cli2@lab.example"],
    ["ad/stamp-exchange-attributes", "--param", "Identity={object_guid}",
     "--param", "RecipientTypeDetails=8589934592", "--param", "RemoteRecipientType=33",
     "--param", "RecipientDisplayType=-2147481850"],
    ["exo/get-modules", "--param", "Name=ExchangeOnlineManagement"],
    ["exo/get-certificate"],
    ["exo/connect"],
    ["exo/new-mailbox", "--var", "type=shared", "--param", "Name=Cli Shared", "--param", "Alias=clishared",
     "--param", "DisplayName=Cli Shared", "--param", "PrimarySmtpAddress=clishared@lab.example"],
    ["exo/find-mailbox", "--param", "Identity=clishared"],
    ["exo/get-exchange-authority", "--param", "Identity=clishared"],
    ["exo/set-mailbox", "--param", "Identity=clishared", "--param", "ResourceCapacity=3"],
    ["exo/set-exchange-cloud-managed", "--param", "Identity=clishared"],
    ["exo/find-recipients", "--param", "Addresses=clishared@lab.example"],
    ["graph/get-modules", "--param", "Name=Microsoft.Graph.Authentication"],
    ["graph/get-certificate"],
    ["graph/connect"],
    ["graph/get-sync-features"],
    ["graph/get-permissions"],
    ["exo/get-commands", "--param", "Name=New-Mailbox", "--param", "Name=Get-EXOMailbox"],
    ["sync/get-account"],
    ["graph/find-users", "--var", "by=proxy-address", "--param", "Value=clishared@lab.example"],
    ["graph/get-user", "--param", "UserId={external_directory_object_id}"],
    ["graph/set-account-enabled", "--param", "UserId={external_directory_object_id}",
     "--param", "AccountEnabled=false"],
    ["graph/set-user", "--param", "UserId={external_directory_object_id}",
     "--param", "OnPremisesImmutableId=AAAAAAAAAAAAAAAAAAAAAA=="],
    ["hybrid/get-modules", "--param", "Name=RecipientManagement"],
    ["hybrid/connect"],
    ["hybrid/new-remote-mailbox", "--var", "type=room", "--param", "Name=Cli Hyb", "--param", "Alias=clihyb",
     "--param", "DisplayName=Cli Hyb", "--param", "PrimarySmtpAddress=clihyb@lab.example",
     "--param", "UserPrincipalName=clihyb@lab.example", "--param", "SamAccountName=clihyb",
     "--param", "OnPremisesOrganizationalUnit=OU=Resources,DC=lab,DC=example"],
    ["hybrid/find-remote-mailbox", "--param", "Identity=clihyb"],
    # the desired-state steps
    ["exo/get-calendar-processing", "--param", "Identity=clishared", "--param", "Principals=clishared"],
    ["exo/set-calendar-processing", "--param", "Identity=clishared", "--param", "BookingWindowInDays=30",
     "--param", "ResourceDelegates=clishared@lab.example"],
    ["exo/list-mailboxes"],
    ["ad/list-users", "--param", "SearchBase=DC=lab,DC=example"],
    ["graph/list-synced-users"],
    ["graph/get-users", "--param", "UserId={external_directory_object_id}"],
    # desired state part 2
    ["exo/new-mailbox", "--var", "type=room", "--param", "Name=Cli Room Two", "--param", "Alias=cliroom2",
     "--param", "DisplayName=Cli Room Two", "--param", "PrimarySmtpAddress=cliroom2@lab.example"],
    ["exo/get-access", "--param", "Identity=cliroom2", "--param", "Principals=clishared"],
    ["exo/set-access", "--param", "Identity=cliroom2", "--param", "FullAccessAdd=clishared@lab.example",
     "--param", "AutoMapping=false"],
    ["exo/get-place", "--param", "Identity=cliroom2"],
    ["exo/set-place", "--param", "Identity=cliroom2", "--param", "Building=B1", "--param", "Floor=2"],
    ["exo/get-room-lists", "--param", "Identity=cliroom2", "--param", "Names=Cli Rooms"],
    ["exo/set-room-lists", "--param", "Identity=cliroom2", "--param", "Create=Cli Rooms",
     "--param", "AddTo=Cli Rooms"],
    ["exo/set-mailbox-type", "--param", "Identity=cliroom2", "--param", "Type=Workspace"],
    ["ad/set-resource-attributes", "--param", "UserPrincipalName=cliroom@lab.example",
     "--param", "City=Oslo"],
    ["ad/get-resource-attributes", "--param", "UserPrincipalName=cliroom@lab.example"],
    # the lifecycle steps (issue #16): remove, restore, unlink (last: they remove the AD account)
    ["graph/get-sync-behavior", "--param", "UserId={external_directory_object_id}"],
    ["graph/set-sync-behavior", "--param", "UserId={external_directory_object_id}"],
    ["graph/get-deleted-user", "--param", "DirectoryObjectId={external_directory_object_id}"],
    ["exo/find-deleted-mailbox", "--param", "Identity=clishared"],
    ["ad/get-recycle-bin"],
    ["ad/retire-user", "--param", "Identity={object_guid}",
     "--param", "TargetPath=OU=Retired,DC=lab,DC=example"],
    ["ad/reinstate-user", "--param", "Identity={object_guid}",
     "--param", "TargetPath=OU=Resources,DC=lab,DC=example", "--param", "Enabled=true"],
    ["ad/find-deleted-user", "--param", "Identity={object_guid}"],
    ["ad/restore-user", "--param", "Identity={object_guid}"],
    ["ad/remove-user", "--param", "Identity={object_guid}"],
]  # fmt: skip


# What some steps' JSON must say, beyond fitting the model: the step really did its work in the lab.
EXPECT: dict[str, dict[str, object]] = {
    "sync/install-lease": {"sync_cycle_enabled": False},
    "sync/remove-lease": {"restored": True},
    "sync/set-scheduler": {"sync_cycle_enabled": True},
    "sync/start-cycle": {"result": "Success"},
    "ad/find-user": {"found": True},
    "exo/connect": {"connected": True},
    "exo/new-mailbox": {"recipient_type_details": "SharedMailbox"},
    "exo/find-mailbox": {"found": True},
    "ad/get-exchange-schema": {"present": True},
    "ad/stamp-exchange-attributes": {"remote_recipient_type": 33},
    "exo/set-mailbox": {"resource_capacity": 3},
    "exo/set-exchange-cloud-managed": {"is_exchange_cloud_managed": True},
    "graph/set-account-enabled": {"account_enabled": False},
    "graph/get-user": {"found": True},
    "graph/set-user": {"on_premises_immutable_id": "AAAAAAAAAAAAAAAAAAAAAA=="},
    "hybrid/new-remote-mailbox": {"recipient_type_details": "RemoteRoomMailbox"},
    "hybrid/find-remote-mailbox": {"found": True},
    "exo/get-calendar-processing": {"found": True},
    "exo/set-calendar-processing": {"refused": []},
    "graph/set-sync-behavior": {"is_cloud_managed": True, "is_cloud_managed_before": False},
    "graph/get-deleted-user": {"found": False},
    "ad/retire-user": {"enabled": False},
    "ad/reinstate-user": {"enabled": True},
    "ad/find-deleted-user": {"found": True, "live": True},
    "ad/remove-user": {"existed": True},
    "exo/new-mailbox --var type=room": {"recipient_type_details": "RoomMailbox"},
    "exo/get-access": {"found": True},
    "exo/set-access": {"applied": ["full_access"], "refused": []},
    "exo/get-place": {"found": True},
    "exo/set-place": {"refused": []},
    "exo/set-room-lists": {"applied": ["room_lists"], "refused": []},
    "exo/set-mailbox-type": {"applied": ["Type"], "refused": []},
    "ad/set-resource-attributes": {"applied": ["City"], "refused": []},
    "ad/get-resource-attributes": {"found": True, "city": "Oslo"},
}


@pytest.mark.parametrize(
    ("transport", "profile"),
    [
        ({"auth": "ntlm"}, None),
        ({"auth": "basic"}, None),
        ({"auth": "ntlm", "https": True}, None),
        ({"auth": "ntlm"}, "hybrid-tools"),
    ],
    ids=["ntlm-http-encrypted", "basic-http", "ntlm-https", "hybrid-tools-profile"],
)
def test_pswrap_run_every_step_prints_its_model_json(
    capsys: Any, lab_factory: Any, lab_target: Any, transport: dict[str, Any], profile: str | None
) -> None:
    """`pswrap run` for every modern and hybrid-tools step, each its own command run, chained by ids.

    With `profile`, every step that exists in that profile is run with `--profile` (the others as usual)."""
    from pswrap import steps

    lab_target(lab_factory(**transport))
    # A forest with the Exchange schema, so ad/stamp-exchange-attributes has attributes to write.
    assert run(capsys, "lab", "set", "ad.exchange_schema.present=true")[0] == 0
    seen: dict[str, str] = {}
    for argv in CLI_SCENARIO:
        filled = [arg.format(**seen) if "{" in arg else arg for arg in argv]
        if profile in steps.get(argv[0]).profiles:
            filled += ["--profile", profile]
        code, out, err = run(capsys, "run", *filled, "-t", "labx", "-o", "json")
        assert code == 0, (filled, err)
        model = steps.get(argv[0]).result
        assert model is not None
        doc = json.loads(out)
        model.model_validate(doc)
        for key, value in EXPECT.get(" ".join(argv[:3]), EXPECT.get(argv[0], {})).items():
            assert doc[key] == value, (argv[0], key, doc)
        if argv[0] == "ad/move-user":
            assert doc["distinguished_name"].endswith("OU=Staging,DC=lab,DC=example")
        for key in ("object_guid", "external_directory_object_id"):
            if isinstance(doc.get(key), str):
                seen[key] = doc[key]
    runnable = {s.id for s in steps.all_steps() if not s.is_legacy}
    assert runnable == {argv[0] for argv in CLI_SCENARIO}


def test_conflict_exit_6(capsys: Any, lab_factory: Any, lab_target: Any) -> None:
    lab_target(lab_factory())
    args = ["run", "exo/new-mailbox", "--var", "type=room", "-t", "labx", "--param", "Name=Taken"]
    args += ["--param", "DisplayName=Taken", "--param", "PrimarySmtpAddress=taken@lab.example"]
    code, _, err = run(capsys, *args, "--param", "Alias=taken")
    assert code == 0, err
    args = [a.replace("Name=Taken", "Name=Taken Two") for a in args]
    code, out, err = run(capsys, *args, "--param", "Alias=taken2")  # another name and alias, same address
    assert code == 6 and out == "" and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 2 and "already being used" in lines[0] and lines[1].startswith("hint:")


def test_timeout_must_be_positive(capsys: Any) -> None:
    code, _, err = run(capsys, "run", "sync/get-settings", "--step-timeout", "0")
    assert code == 2 and "--step-timeout 0.0 must be a number of seconds more than 0" in err
    code, _, err = run(capsys, "run", "sync/get-settings", "--timeout", "nan")  # the deprecated name
    assert code == 2 and "--step-timeout nan must be a number of seconds" in err and "deprecated" in err


def test_step_time_limit_exit_4(capsys: Any, lab_factory: Any, lab_target: Any) -> None:
    lab_target(lab_factory(faults=["delay:sync/get-settings=5@1"]))
    code, out, err = run(capsys, "run", "sync/get-settings", "-t", "labx", "--step-timeout", "1")
    assert code == 4 and out == "" and "ran past its 1 s limit" in err and "Traceback" not in err


def test_verbose_and_debug_on_stderr_keep_secrets_and_library_logs_out(
    lab_factory: Any, lab_target: Any, config_file: Path, tmp_path: Path
) -> None:
    """A real `pswrap` process: --verbose shows the retry; --debug shows pswrap's DEBUG lines but never
    pypsrp's, requests' or urllib3's (they carry message contents), and the password appears nowhere."""
    import subprocess
    import sys

    outputs = {}
    for flag in ("--verbose", "--debug"):
        lab_target(lab_factory(faults=["http500:Command@1"]))  # a fresh lab: its fault fires once
        done = subprocess.run(
            [sys.executable, "-m", "pswrap", flag, "run", "sync/get-settings", "-t", "labx"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "anchor_attribute: mS-DS-ConsistencyGuid" in done.stdout
        assert "retrying sync/get-settings after ConnectionFailed" in done.stderr
        outputs[flag] = done.stdout + done.stderr
    assert "opened the adsync pool" in outputs["--debug"]  # DEBUG is on for pswrap itself
    assert "opened the adsync pool" not in outputs["--verbose"]
    for library_line in ("Starting new HTTP connection", "Building requests session", "Sending message"):
        assert library_line not in outputs["--debug"]
    assert LAB_PASSWORD not in outputs["--debug"] + outputs["--verbose"]


def test_the_password_is_never_written_to_disk(
    capsys: Any, lab_factory: Any, lab_target: Any, tmp_path: Path
) -> None:
    """After runs that connect, fail and retry, no file under the config, state or lab directories
    holds the password (Basic over HTTPS: the lab itself keeps no account file for Basic)."""
    lab_target(lab_factory(auth="basic", https=True, faults=["http500@1"]))
    for args in (["sync/get-settings"], ["ad/get-anchor", "--param", "Identity=nobody"]):
        run(capsys, "run", *args, "-t", "labx", "-o", "json")
    run(capsys, "targets", "show", "labx")
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name.endswith(".json") for p in files)  # the lab's world was written
    for path in files:
        assert LAB_PASSWORD.encode() not in path.read_bytes(), path


# The documented table (issue #5, docs/exit-codes.md), per class: a new class must be placed here.
EXIT_CODES: dict[str, int] = {
    "PswrapError": 5, "ConfigError": 2, "BadInput": 2, "Refused": 2, "MissingExtra": 2,
    "PasswordSourceMissing": 2,
    "TransportError": 4, "AuthenticationError": 3, "ConnectionFailed": 4, "TransportTimeout": 4,
    "ShellGone": 4, "RemoteError": 5, "AlreadyExists": 5, "NotFound": 5, "AccessDenied": 5,
    "NotConnected": 5, "ModuleMissing": 5, "Throttled": 5, "SyncBusy": 5, "OutputError": 5,
    "Conflict": 6, "MasteredElsewhere": 6, "HardMatchBlocked": 6, "NeedsHuman": 6, "WaitTimeout": 7,
    "LeaseLocked": 5,
}  # fmt: skip


def _error_classes() -> list[type[Exception]]:
    from pswrap.errors import PswrapError
    from pswrap.remote import classify  # noqa: F401  (ShellGone lives there)

    found: list[type[Exception]] = [PswrapError]
    for cls in found:
        found.extend(
            sub
            for sub in cls.__subclasses__()
            if sub.__module__ == "pswrap.errors" or sub.__module__.startswith("pswrap.remote.")
        )
    return found


def test_every_error_class_gives_its_exit_code_in_two_lines(
    capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pswrap.remote import session

    classes = _error_classes()
    assert {c.__name__ for c in classes} == set(EXIT_CODES)
    for cls in classes:

        def fail(*_args: object, _cls: type[Exception] = cls, **_kwargs: object) -> None:
            raise _cls("what went wrong, while doing what", hint="what to do next")

        monkeypatch.setattr(session, "open_session", fail)
        code, out, err = run(capsys, "run", "sync/get-settings")
        assert code == EXIT_CODES[cls.__name__], cls
        assert out == "" and "Traceback" not in err
        assert err.splitlines() == [
            "pswrap: error: what went wrong, while doing what",
            "hint: what to do next",
        ]
    code, _, err = run(capsys, "--debug", "run", "sync/get-settings")
    assert code == EXIT_CODES[classes[-1].__name__] and "Traceback" in err  # --debug adds the traceback


def test_one_command_run_opens_one_pool_and_closes_it(capsys: Any, lab_factory: Any, lab_target: Any) -> None:
    """`pswrap run exo/find-mailbox`: one pool (Create), connect + step (two pipelines), closed (Delete)."""
    from tests.remote.conftest import request_counts

    lab = lab_factory()
    lab_target(lab)
    code, _, err = run(capsys, "run", "exo/find-mailbox", "--param", "Identity=nobody", "-t", "labx")
    assert code == 0, err
    counts = request_counts(lab)
    assert (counts.get("Create"), counts.get("Command"), counts.get("Delete")) == (1, 2, 1)


def test_benchmark_prints_the_ratio() -> None:
    import re
    import subprocess
    import sys

    script = Path(__file__).parents[2] / "benchmarks" / "step_overhead.py"
    done = subprocess.run(
        [sys.executable, str(script), "--runs", "3"], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    raw = re.search(r"^raw pypsrp invoke\(\): median (\d+\.\d+) ms$", done.stdout, re.MULTILINE)
    ours = re.search(r"^pswrap Session\.step: median (\d+\.\d+) ms$", done.stdout, re.MULTILINE)
    match = re.search(r"^ratio: (\d+\.\d+) \(goal <= 1\.2\)$", done.stdout, re.MULTILINE)
    assert raw and ours and match, done.stdout
    raw_ms, ours_ms, shown = float(raw.group(1)), float(ours.group(1)), float(match.group(1))
    assert raw_ms > 0 and ours_ms > 0
    # the ratio compared with the goal is the printed medians' ratio (0.01 ms and 0.01 rounding)
    slack = 0.005 + 0.005 * (ours_ms + raw_ms) / raw_ms**2 + 1e-9
    assert abs(shown - ours_ms / raw_ms) <= slack, done.stdout


def test_targets_show_masks_a_password_given_by_environment(
    capsys: Any, config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_file.write_text(CONFIG)
    monkeypatch.setenv("PSWRAP_PASSWORD", LAB_PASSWORD)
    monkeypatch.setenv("PSWRAP_AD_CREDENTIAL_PASSWORD", LAB_PASSWORD + "-ad")
    monkeypatch.setenv("PSWRAP_TARGET", "spare")
    monkeypatch.setenv("PSWRAP_AD_CREDENTIAL_USER", "CORP\\ad2")  # an AD password needs its user
    code, out, _ = run(capsys, "targets", "show")
    assert code == 0 and out.startswith("target spare")
    password = next(line for line in out.splitlines() if line.strip().startswith("password "))
    assert "********" in password and "env PSWRAP_PASSWORD" in password
    code, out_json, _ = run(capsys, "targets", "show", "corp", "-o", "json")
    doc = json.loads(out_json)
    assert doc["settings"]["ad_credential_password"].startswith("********")
    assert doc["sources"]["ad_credential_password"] == "env PSWRAP_AD_CREDENTIAL_PASSWORD"
    assert LAB_PASSWORD not in out + out_json


@pytest.mark.parametrize(
    "table",
    ['scheme = "https"', 'scheme = "https"\nauth = "basic"', 'auth = "basic"\nallow_basic_over_http = true'],
    ids=["ntlm-https", "basic-https", "basic-http-allowed"],
)
def test_embedded_lab_with_https_or_basic(
    capsys: Any, config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, table: str
) -> None:
    """`[targets.lab]` switches the embedded lab's transport; HTTPS is validated against the lab's own CA."""
    monkeypatch.setenv("PSWRAP_LAB_STATE", str(tmp_path / "emb" / "world.json"))
    config_file.write_text(f"[targets.lab]\n{table}\n")
    code, out, err = run(capsys, "run", "exo/find-mailbox", "--param", "Identity=nobody", "-o", "json")
    assert code == 0, err
    assert json.loads(out)["found"] is False
    assert "embedded lab" not in err  # a target is configured (the lab, explicitly)


def test_embedded_lab_basic_over_http_refused(capsys: Any, config_file: Path) -> None:
    config_file.write_text('[targets.lab]\nauth = "basic"\n')
    code, _, err = run(capsys, "run", "sync/get-settings")
    assert code == 2 and "Basic over plain HTTP" in err
