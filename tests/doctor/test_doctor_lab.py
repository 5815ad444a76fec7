"""`pswrap doctor` against the lab: every check's pass, warn and fail, staged with `pswrap lab set`.

The fresh lab is a healthy 2026 server (every check passes but BlockSoftMatch, which Microsoft leaves
off by default): one shared run of it shows each check's pass. Each other test stages one fact and
checks the one check that judges it, its status, what it reports and the fix it names, and the exit
code (6 when anything fails). What the embedded lab target cannot show (several hosts, settings left
unconfigured) runs against a configured target on a lab of the test's own (`served_target`).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from pswrap.lab.facts import look_alike_module

from .conftest import DoctorRun, write_config

Doctor = Callable[..., DoctorRun]
Stage = Callable[..., None]
World = Callable[[], dict[str, Any]]

EXO = "modules.127.0.0.1.ExchangeOnlineManagement"
CERT = "tenant.certificate.127.0.0.1"


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _without_module(world: World, name: str) -> str:
    modules = [m for m in world()["host"]["modules"] if m["name"] != name]
    return "host.modules=" + json.dumps(modules)


def _with_module(world: World, module: dict[str, Any]) -> str:
    return "host.modules=" + json.dumps([*world()["host"]["modules"], module])


def test_fresh_lab_passes_everything_but_the_soft_match_block(doctor: Doctor) -> None:
    run = doctor()
    assert run.code == 0
    assert run.failed() == []
    assert [c["id"] for c in run.checks if c["status"] == "warn"] == ["tenant.block-soft-match"]
    assert "pswrap: no target configured; using the embedded lab" in run.err


@pytest.mark.parametrize(
    ("check_id", "found"),
    [
        ("connection.encryption", "HTTP with ntlm message encryption"),
        ("connection.host.127.0.0.1", "signed in and ran a script"),
        ("modules.127.0.0.1.ActiveDirectory", "installed: 1.0.1.0"),
        ("modules.127.0.0.1.ADSync", "installed: 2.5.79.0"),
        (EXO, "installed: 3.10.1"),
        ("modules.127.0.0.1.Microsoft.Graph.Authentication", "installed: 2.32.0"),
        ("modules.127.0.0.1.Microsoft.Graph.Users", "installed: 2.32.0"),
        ("modules.127.0.0.1.Microsoft.Graph.Identity.DirectoryManagement", "installed: 2.32.0"),
        ("modules.127.0.0.1.look-alikes", "none installed"),
        ("modules.127.0.0.1.retired", "none installed"),
        ("sync.connect-version", "2.5.79.0 (2.5.79.0 or later is required)"),
        ("sync.anchor", "mS-DS-ConsistencyGuid"),
        ("sync.staging-mode", "staging mode off"),
        ("sync.exchange-attributes", "none: auto: Entra Connect 2.5.79.0 is below 2.5.190.0"),
        ("sync.scheduler", "enabled, not suspended"),
        ("sync.cycle", "idle"),
        ("sync.leases", "none"),
        (CERT, "private key usable, valid until"),
        ("tenant.connect.exo", "connected (labtenant.onmicrosoft.com)"),
        ("tenant.connect.graph", "connected"),
        ("tenant.block-hard-match", "off"),
        ("ad.dc", "dc1.lab.example answered for DC=lab,DC=example"),
        ("ad.ou.resource", "OU=Resources,DC=lab,DC=example exists"),
        ("ad.scope.resource", "OU=Resources,DC=lab,DC=example is in sync scope"),
        ("ad.ou.staging", "OU=Staging,DC=lab,DC=example exists"),
        ("ad.scope.staging", "OU=Staging,DC=lab,DC=example is outside sync scope"),
    ],
)
def test_each_check_passes_on_a_healthy_server(fresh: DoctorRun, check_id: str, found: str) -> None:
    check = fresh.check(check_id)
    assert check["status"] == "pass", check
    assert found in check["found"]


# --- 1. connection ---------------------------------------------------------------------------------


def test_one_host_serves_every_need_of_the_lab(fresh: DoctorRun) -> None:
    host = fresh.check("connection.host.127.0.0.1")
    assert "adsync, ad, exo, graph" in host["name"]
    assert [c["id"] for c in fresh.checks if c["id"].startswith("connection.host.")] == [host["id"]]


def test_https_without_certificate_validation_warns(doctor: Doctor, doctor_env: Any) -> None:
    write_config(doctor_env, '[targets.lab]\nscheme = "https"\ncert_validation = false\n')
    run = doctor()
    check = run.check("connection.encryption")
    assert check["status"] == "warn"
    assert "unverified" in check["found"]
    assert "ca_bundle" in check["fix"]
    assert run.code == 0


def test_basic_over_http_fails_encryption(doctor: Doctor, doctor_env: Any) -> None:
    write_config(
        doctor_env,
        '[targets.lab]\nauth = "basic"\nallow_basic_over_http = true\nencryption = "never"\n',
    )
    run = doctor()
    check = run.check("connection.encryption")
    assert check["status"] == "fail"
    assert "in the clear" in check["found"]
    assert 'scheme = "https"' in check["fix"]
    assert run.code == 6


def test_unreachable_host_fails_and_its_checks_are_not_checked(
    doctor: Doctor, doctor_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    write_config(
        doctor_env,
        f'[targets.dead]\nhost = "127.0.0.1"\nport = {port}\nscheme = "http"\nauth = "ntlm"\n'
        'username = "lab-admin"\npassword_env = "DEAD_PASSWORD"\nconnection_timeout = 2\n'
        'certificate_thumbprint = "3F2A9C4B1D8E7F6A5B4C3D2E1F0A9B8C7D6E5F4A"\n',
    )
    monkeypatch.setenv("DEAD_PASSWORD", "x")
    run = doctor("--target", "dead")
    host = run.check("connection.host.127.0.0.1")
    assert host["status"] == "fail"
    assert "could not reach WinRM" in host["found"]
    assert "Test-WSMan" in host["fix"]
    assert run.check("sync.connect-version")["found"].startswith("not checked")
    assert run.code == 6


def test_wrong_password_fails_sign_in(
    doctor: Doctor, doctor_env: Any, start_lab_factory: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    running = start_lab_factory(auth="ntlm")
    port = running.endpoint.port
    write_config(
        doctor_env,
        f'[targets.wrong]\nhost = "127.0.0.1"\nport = {port}\nscheme = "http"\nauth = "ntlm"\n'
        'username = "lab-admin"\npassword_env = "WRONG_PASSWORD"\n',
    )
    monkeypatch.setenv("WRONG_PASSWORD", "not-the-password")
    run = doctor("--target", "wrong")
    host = run.check("connection.host.127.0.0.1")
    assert host["status"] == "fail"
    assert "refused the credentials" in host["found"]
    assert "password" in host["fix"]
    assert "not-the-password" not in json.dumps(run.checks)
    assert run.code == 6


# --- 2. modules ----------------------------------------------------------------------------------


def test_missing_exchange_online_module_fails(doctor: Doctor, lab_set: Stage, world: World) -> None:
    lab_set(_without_module(world, "ExchangeOnlineManagement"))
    run = doctor()
    check = run.check(EXO)
    assert check["status"] == "fail"
    assert check["found"] == "not installed"
    assert "Install-Module ExchangeOnlineManagement" in check["fix"]
    assert run.code == 6


def test_exchange_online_module_before_3_fails(doctor: Doctor, lab_set: Stage, world: World) -> None:
    modules = world()["host"]["modules"]
    index = next(i for i, m in enumerate(modules) if m["name"] == "ExchangeOnlineManagement")
    lab_set(f"host.modules.{index}.version=2.0.5")
    check = doctor().check(EXO)
    assert check["status"] == "fail"
    assert "2.0.5" in check["found"]
    assert "-MinimumVersion 3.0.0" in check["fix"]


def test_exchange_online_module_by_another_company_fails(
    doctor: Doctor, lab_set: Stage, world: World
) -> None:
    modules = world()["host"]["modules"]
    index = next(i for i, m in enumerate(modules) if m["name"] == "ExchangeOnlineManagement")
    lab_set(f"host.modules.{index}.company_name=helpers")
    run = doctor()
    check = run.check(EXO)
    assert check["status"] == "fail"
    assert "3.10.1 by helpers in C:\\Program Files" in check["found"]
    assert "CompanyName Microsoft Corporation" in check["fix"]
    assert "docs/sources.md, look-alike modules" in check["fix"]
    assert run.code == 6


def test_missing_graph_module_fails(doctor: Doctor, lab_set: Stage, world: World) -> None:
    lab_set(_without_module(world, "Microsoft.Graph.Identity.DirectoryManagement"))
    check = doctor().check("modules.127.0.0.1.Microsoft.Graph.Identity.DirectoryManagement")
    assert check["status"] == "fail"
    assert "Install-Module Microsoft.Graph.Identity.DirectoryManagement" in check["fix"]


@pytest.mark.parametrize(
    "name", ["Exchange-OnlineManagement", "ExchangeOnlineManagment", "ExchangeOnlineMangement"]
)
def test_look_alike_module_fails(doctor: Doctor, lab_set: Stage, world: World, name: str) -> None:
    lab_set(_with_module(world, look_alike_module(name)))
    run = doctor()
    check = run.check("modules.127.0.0.1.look-alikes")
    assert check["status"] == "fail"
    assert name in check["found"]
    assert f"Uninstall-Module {name}" in check["fix"]
    assert "docs/sources.md" in check["fix"]
    assert run.check(EXO)["status"] == "pass"  # the real one is still there
    assert run.code == 6


@pytest.mark.parametrize("name", ["MSOnline", "AzureAD"])
def test_retired_module_warns(doctor: Doctor, lab_set: Stage, world: World, name: str) -> None:
    lab_set(_with_module(world, {"name": name, "version": "1.1.183.81", "path": f"C:\\M\\{name}"}))
    run = doctor()
    check = run.check("modules.127.0.0.1.retired")
    assert check["status"] == "warn"
    assert name in check["found"]
    assert "docs/sources.md §1.1" in check["fix"]
    assert run.code == 0


def test_recipient_management_snapin_for_hybrid_tools(doctor: Doctor, lab_set: Stage) -> None:
    snapin = "modules.127.0.0.1.Microsoft.Exchange.Management.PowerShell.RecipientManagement"
    assert doctor("--profile", "hybrid-tools").check(snapin)["status"] == "pass"
    lab_set("host.snapins=[]")
    run = doctor("--profile", "hybrid-tools")
    check = run.check(snapin)
    assert check["status"] == "fail"
    assert "management tools" in check["fix"]
    assert run.code == 6


def test_modern_profile_does_not_need_the_snapin(doctor: Doctor, lab_set: Stage) -> None:
    lab_set("host.snapins=[]")
    run = doctor()
    assert run.code == 0
    assert not [c for c in run.checks if "RecipientManagement" in c["id"]]


# --- 3. the sync engine ----------------------------------------------------------------------------


def test_object_guid_anchor_warns_and_fails_for_the_anchor_hold(doctor: Doctor, lab_set: Stage) -> None:
    lab_set("sync.settings.anchor_attribute=objectGUID")
    check = doctor().check("sync.anchor")
    assert check["status"] == "warn"
    assert "holds new accounts in the staging OU" in check["found"]
    assert "staging_ou" in check["fix"] and "docs/sources.md §3" in check["fix"]
    run = doctor("--hold", "anchor")
    check = run.check("sync.anchor")
    assert check["status"] == "fail"
    assert "leave --hold out" in check["fix"]
    assert run.code == 6
    assert doctor("--hold", "scheduler").check("sync.anchor")["status"] == "pass"


def test_object_guid_anchor_makes_the_staging_ou_a_must(doctor: Doctor, lab_set: Stage) -> None:
    """Without --hold, mailbox create holds new accounts in the staging OU on an objectGUID server: a
    staging OU in sync scope is then a failure, as `mailbox create` would refuse."""
    lab_set("ad.ous.1.in_sync_scope=true")
    assert doctor().check("ad.scope.staging")["status"] == "warn"  # the anchor hold: not needed
    lab_set("sync.settings.anchor_attribute=objectGUID")
    run = doctor()
    assert run.check("ad.scope.staging")["status"] == "fail"
    assert run.code == 6


def test_suspended_scheduler_warns_and_fails_for_the_scheduler_hold(doctor: Doctor, lab_set: Stage) -> None:
    lab_set("sync.scheduler.suspended=true")
    assert doctor().check("sync.scheduler")["status"] == "warn"
    run = doctor("--hold", "scheduler")
    check = run.check("sync.scheduler")
    assert check["status"] == "fail"
    assert "wizard" in check["fix"]
    assert run.code == 6


def test_cycle_in_progress_warns(doctor: Doctor, lab_set: Stage, cli: Any) -> None:
    lab_set("sync.scheduler.cycle_seconds=3600")
    assert cli("lab", "advance", "1801").code == 0  # the scheduled cycle starts and runs an hour
    check = doctor().check("sync.cycle")
    assert check["status"] == "warn"
    assert "running now" in check["found"]


def test_lease_left_warns(doctor: Doctor, lab_set: Stage) -> None:
    deadline = _iso(datetime.now(timezone.utc) + timedelta(hours=2))
    lease = {"name": "pswrap-lease-op1", "deadline_utc": deadline, "prior_sync_cycle_enabled": True}
    lab_set("sync.leases=" + json.dumps([lease]), 'sync.lease_prior={"sync_cycle_enabled": true}')
    run = doctor()
    check = run.check("sync.leases")
    assert check["status"] == "warn"
    assert "pswrap-lease-op1" in check["found"]
    assert "pswrap resume" in check["fix"]
    assert run.code == 0


# --- 4. the tenant -----------------------------------------------------------------------------------


def test_certificate_expiring_within_30_days_warns(doctor: Doctor, lab_set: Stage) -> None:
    lab_set("certs.local_machine_my.0.not_after=" + _iso(datetime.now(timezone.utc) + timedelta(days=10)))
    run = doctor()
    check = run.check(CERT)
    assert check["status"] == "warn"
    assert "in 9 days" in check["found"] or "in 10 days" in check["found"]
    assert "renew" in check["fix"]
    assert run.code == 0


def test_expired_certificate_fails_and_so_do_the_connects(doctor: Doctor, lab_set: Stage) -> None:
    lab_set("certs.local_machine_my.0.not_after=" + _iso(datetime.now(timezone.utc) - timedelta(days=1)))
    run = doctor()
    assert run.check(CERT)["status"] == "fail"
    assert "expired" in run.check(CERT)["found"]
    for need in ("exo", "graph"):
        connect = run.check(f"tenant.connect.{need}")
        assert connect["status"] == "fail"
        assert "not found in certificate store or has expired" in connect["found"]
        assert "certificate check above" in connect["fix"]
    assert run.code == 6


def test_certificate_in_current_user_store_only_fails(doctor: Doctor, lab_set: Stage, world: World) -> None:
    cert = world()["certs"]["local_machine_my"][0]
    lab_set("certs.local_machine_my=[]", "certs.current_user_my=" + json.dumps([cert]))
    check = doctor().check(CERT)
    assert check["status"] == "fail"
    assert "CurrentUser\\My" in check["found"]
    assert "LocalMachine\\My" in check["fix"]


@pytest.mark.parametrize(("need", "step"), [("exo", "exo/connect"), ("graph", "graph/connect")])
def test_connect_failure_fails_with_the_app_registration_fix(
    doctor: Doctor, lab_set: Stage, need: str, step: str
) -> None:
    lab_set(f'faults=["fail:{step}=AADSTS700027: Client assertion contains an invalid signature."]')
    run = doctor()
    check = run.check(f"tenant.connect.{need}")
    assert check["status"] == "fail"
    assert "AADSTS700027" in check["found"]
    assert "app registration" in check["fix"]
    assert run.check(CERT)["status"] == "pass"
    assert run.code == 6


def test_graph_not_connected_leaves_tenant_switches_unchecked(doctor: Doctor, lab_set: Stage) -> None:
    lab_set('faults=["fail:graph/connect"]')
    run = doctor()
    assert run.check("tenant.block-hard-match")["found"].startswith("not checked")
    assert run.check("tenant.block-soft-match")["status"] == "fail"


def test_soft_match_block_off_warns_with_the_documented_command(fresh: DoctorRun) -> None:
    check = fresh.check("tenant.block-soft-match")
    assert check["status"] == "warn"
    command = "$s.Features.BlockSoftMatchEnabled = $true; Update-MgDirectoryOnPremiseSynchronization"
    assert command in check["fix"]
    assert "docs/sources.md §3" in check["fix"]


def test_hybrid_tools_profile_reads_no_tenant_and_needs_no_staging_ou(doctor: Doctor, lab_set: Stage) -> None:
    lab_set(
        "cloud.features.block_hard_match_takeover=true",
        "certs.local_machine_my=[]",
        "ad.ous.1.dn=OU=Elsewhere,DC=lab,DC=example",  # the staging OU is gone: no hold uses it here
    )
    run = doctor("--profile", "hybrid-tools")
    assert run.code == 0
    assert not [c for c in run.checks if c["id"].startswith(("tenant.", "ad.ou.staging", "ad.scope.staging"))]
    assert run.check("ad.ou.resource")["status"] == "pass"


# --- 5. Active Directory -----------------------------------------------------------------------------


def test_pinned_dc_down_fails_and_ous_are_not_checked(doctor: Doctor, lab_set: Stage) -> None:
    lab_set('ad.domain.domain_controllers=["dc2.lab.example"]')
    run = doctor()
    check = run.check("ad.dc")
    assert check["status"] == "fail"
    assert "Unable to contact the server" in check["found"]
    assert "domain_controller" in check["fix"]
    resource = run.check("ad.ou.resource")
    assert resource["found"].startswith("not checked: the pinned domain controller did not answer")
    assert resource["fix"] == f"fix the check '{check['name']}' first"
    assert run.code == 6


def test_text_output_shows_a_check_that_waits_for_another_on_one_line(cli: Any, lab_set: Stage) -> None:
    lab_set('ad.domain.domain_controllers=["dc2.lab.example"]')
    result = cli("doctor")
    lines = result.out.splitlines()
    waiting = (
        "  [FAIL] resource OU: not checked until 'pinned domain controller dc1.lab.example answers' passes"
    )
    index = lines.index(waiting)
    assert not lines[index + 1].startswith("         fix:")
    dc = next(i for i, line in enumerate(lines) if line.startswith("  [FAIL] pinned domain controller"))
    assert lines[dc + 1].startswith("         fix: set domain_controller")
    assert lines[-1].startswith("3 failed (2 of them not checked: each waits for a failed check), ")


def test_staging_ou_in_sync_scope_warns_and_fails_for_the_staging_hold(
    doctor: Doctor, lab_set: Stage
) -> None:
    lab_set("ad.ous.1.in_sync_scope=true")
    assert doctor().check("ad.scope.staging")["status"] == "warn"
    run = doctor("--hold", "staging-ou")
    check = run.check("ad.scope.staging")
    assert check["status"] == "fail"
    assert "syncs before" in check["found"]
    assert run.code == 6


# --- one staged fact, one outcome ------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """`pswrap lab set` these, run `pswrap doctor ARGS`: the check has this status, its found and fix
    say these words, and the exit code follows (6 with a failure, else 0: one fact fails nothing else)."""

    stage: tuple[str, ...]
    check: str
    status: str
    found: str
    fix: str = ""
    args: tuple[str, ...] = ()


OUTCOMES = {
    "connect version below 2.5.79.0 fails": Outcome(
        ("sync.settings.connect_version=2.4.18.0",),
        "sync.connect-version",
        "fail",
        "2.4.18.0: below 2.5.79.0, synchronization stopped for it after 2026-09-30",
        "upgrade Entra Connect Sync to 2.5.79.0 or later (the .msi is in the Entra admin center; "
        "docs/sources.md §1.3)",
    ),
    "a later connect version passes": Outcome(
        ("sync.settings.connect_version=2.5.190.0",), "sync.connect-version", "pass", "2.5.190.0"
    ),
    "connect version not reported warns": Outcome(
        ("sync.settings.connect_version=null",),
        "sync.connect-version",
        "warn",
        "did not report its version",
        "Help > About",
    ),
    "staging mode fails": Outcome(
        ("sync.settings.staging_mode=true",),
        "sync.staging-mode",
        "fail",
        "never exports",
        "active sync server (docs/sources.md §7b item 12)",
    ),
    "scheduler disabled warns": Outcome(
        ("sync.scheduler.sync_cycle_enabled=false",),
        "sync.scheduler",
        "warn",
        "SyncCycleEnabled is $false",
        "Set-ADSyncScheduler -SyncCycleEnabled $true",
    ),
    "certificate missing fails": Outcome(
        ("certs.local_machine_my=[]",),
        CERT,
        "fail",
        "no certificate with thumbprint 3F2A9C4B1D8E7F6A5B4C3D2E1F0A9B8C7D6E5F4A",
        "into Cert:\\LocalMachine\\My",
    ),
    "certificate without private key fails": Outcome(
        ("certs.local_machine_my.0.has_private_key=false",), CERT, "fail", "has no private key", ".pfx"
    ),
    "private key the remoting account cannot open fails": Outcome(
        ("certs.local_machine_my.0.private_key_usable=false",),
        CERT,
        "fail",
        "cannot use its private key: Keyset does not exist",
        "Manage Private Keys",
    ),
    "soft match block on passes": Outcome(
        ("cloud.features.block_soft_match=true",), "tenant.block-soft-match", "pass", "on"
    ),
    "hard match takeover block fails": Outcome(
        ("cloud.features.block_hard_match_takeover=true",),
        "tenant.block-hard-match",
        "fail",
        "InvalidHardMatch",
        "$s.Features.BlockCloudObjectTakeoverThroughHardMatchEnabled = $false;",
    ),
    "resource OU outside sync scope fails": Outcome(
        ("ad.ous.0.in_sync_scope=false",),
        "ad.scope.resource",
        "fail",
        "is outside sync scope: accounts there never reach Entra ID",
        "Domain and OU filtering",
    ),
    "missing staging OU fails": Outcome(
        ("ad.ous.1.dn=OU=Elsewhere,DC=lab,DC=example",),
        "ad.ou.staging",
        "fail",
        "OU=Staging,DC=lab,DC=example does not exist on dc1.lab.example",
        "New-ADOrganizationalUnit",
    ),
}


@pytest.mark.parametrize("outcome", OUTCOMES.values(), ids=list(OUTCOMES))
def test_a_staged_fact_gives_its_outcome(doctor: Doctor, lab_set: Stage, outcome: Outcome) -> None:
    lab_set(*outcome.stage)
    run = doctor(*outcome.args)
    check = run.check(outcome.check)
    assert check["status"] == outcome.status, check
    assert outcome.found in check["found"]
    assert outcome.fix in (check["fix"] or "")
    assert run.code == (6 if outcome.status == "fail" else 0)


# --- the text checklist ------------------------------------------------------------------------------


def test_text_output_is_a_checklist_with_the_fix_under_each_problem(cli: Any, lab_set: Stage) -> None:
    lab_set("sync.settings.connect_version=2.4.18.0")
    result = cli("doctor")
    assert result.code == 6
    lines = result.out.splitlines()
    assert lines[0] == "pswrap doctor: target lab (embedded lab), profile modern"
    for title in (
        "Connection",
        "Modules and snap-ins",
        "Sync engine (Entra Connect Sync)",
        "Active Directory",
    ):
        assert title in lines
    failed = next(i for i, line in enumerate(lines) if line.startswith("  [FAIL]"))
    assert lines[failed] == (
        "  [FAIL] Entra Connect Sync version: 2.4.18.0: below 2.5.79.0, synchronization stopped for it "
        "after 2026-09-30"
    )
    assert lines[failed + 1].startswith("         fix: upgrade Entra Connect Sync to 2.5.79.0 or later")
    assert "  [ OK ] sync server not in staging mode: active server (staging mode off)" in lines
    warn = next(i for i, line in enumerate(lines) if line.startswith("  [WARN]"))
    assert lines[warn + 1].startswith("         fix: ")
    ok = [i for i, line in enumerate(lines) if line.startswith("  [ OK ]")]
    assert all(not lines[i + 1].startswith("         fix:") for i in ok)
    assert lines[-1].startswith("1 failed, 1 warning(s), ")
    assert lines[-1].endswith("Do the fix of each FAIL line, top down, then run `pswrap doctor` again.")


def test_text_output_of_a_healthy_target_says_the_runbook_can_run(cli: Any, lab_set: Stage) -> None:
    lab_set("cloud.features.block_soft_match=true")
    result = cli("doctor")
    assert result.code == 0
    assert result.out.splitlines()[-1].endswith("passed. The runbook can run on this target.")
    assert "[WARN]" not in result.out and "[FAIL]" not in result.out


def test_bad_options_are_refused_before_connecting(cli: Any) -> None:
    assert cli("doctor", "--output", "yaml").code == 2
    assert cli("doctor", "--profile", "legacy").code == 2
    assert cli("doctor", "--hold", "none").code == 2


# --- before mailbox create ---------------------------------------------------------------------------


def test_mailbox_create_refuses_to_start_when_a_check_fails(cli: Any, lab_set: Stage, world: World) -> None:
    lab_set("sync.settings.connect_version=2.4.18.0", "host.snapins=[]")  # the snap-in: not this profile's
    before = world()
    ran = cli("mailbox", "create", "Room 1", "--alias", "room1")
    assert ran.code == 6
    assert "1 preflight check(s) failed" in ran.err
    assert "[FAIL] Entra Connect Sync version: 2.4.18.0" in ran.err
    assert "fix: upgrade Entra Connect Sync to 2.5.79.0" in ran.err
    after = world()
    assert after["ad"]["users"] == before["ad"]["users"] == []
    assert after["exo"]["mailboxes"] == before["exo"]["mailboxes"] == []
    assert after["sync"]["leases"] == []


def test_mailbox_create_is_not_blocked_by_warnings(cli: Any, lab_set: Stage, world: World) -> None:
    lab_set(_with_module(world, {"name": "MSOnline", "version": "1.1.183.81"}))  # warns: retired
    assert doctor_statuses(cli)["modules.127.0.0.1.retired"] == "warn"
    ran = cli("mailbox", "create", "Room 2", "--alias", "room2", "--no-wait")
    assert ran.code == 0, ran.err
    assert [u["sam_account_name"] for u in world()["ad"]["users"]] == ["room2"]


def doctor_statuses(cli: Any) -> dict[str, str]:
    return {c["id"]: c["status"] for c in json.loads(cli("doctor", "-o", "json").out)}


# --- facts that cannot be read ----------------------------------------------------------------------


def test_modules_that_cannot_be_listed_fail_and_the_rest_is_still_checked(
    doctor: Doctor, lab_set: Stage
) -> None:
    lab_set('faults=["fail:sync/get-modules=Access is denied."]')
    run = doctor()
    check = run.check("modules.127.0.0.1")
    assert check["status"] == "fail"
    assert "Access is denied." in check["found"]
    assert "pswrap run sync/get-modules" in check["fix"]
    assert run.check("connection.host.127.0.0.1")["status"] == "pass"
    assert run.check("sync.connect-version")["status"] == "pass"


def test_unreadable_scheduler_fails_its_checks(doctor: Doctor, lab_set: Stage) -> None:
    lab_set('faults=["fail:sync/get-scheduler"]')
    run = doctor()
    for check_id in ("sync.scheduler", "sync.cycle"):
        check = run.check(check_id)
        assert check["status"] == "fail"
        assert check["found"].startswith("could not be read (sync/get-scheduler)")
        assert "pswrap run sync/get-scheduler" in check["fix"]
    assert run.check("sync.staging-mode")["status"] == "pass"


def test_unreadable_sync_scope_warns_but_the_ous_are_checked(doctor: Doctor, lab_set: Stage) -> None:
    lab_set('faults=["fail:sync/get-scope"]')
    run = doctor()
    assert run.check("ad.ou.resource")["status"] == "pass"
    check = run.check("ad.scope.resource")
    assert check["status"] == "warn"
    assert "could not be read" in check["found"]
    assert run.code == 0


def test_a_new_misspelling_is_caught_too(doctor: Doctor, lab_set: Stage, world: World) -> None:
    lab_set(_with_module(world, look_alike_module("ExchnageOnlineManagement")))
    check = doctor().check("modules.127.0.0.1.look-alikes")
    assert check["status"] == "fail"
    assert "ExchnageOnlineManagement 1.0.0" in check["found"]


def test_graph_from_2_34_warns_about_windows_powershell_5_1(
    doctor: Doctor, lab_set: Stage, world: World
) -> None:
    modules = world()["host"]["modules"]
    index = next(i for i, m in enumerate(modules) if m["name"] == "Microsoft.Graph.Users")
    lab_set(f"host.modules.{index}.version=2.34.0")
    run = doctor()
    check = run.check("modules.127.0.0.1.Microsoft.Graph.Users")
    assert check["status"] == "warn"
    assert "2.34" in check["found"]
    assert "docs/sources.md §7b item 4" in check["fix"]
    assert run.check("modules.127.0.0.1.Microsoft.Graph.Authentication")["status"] == "pass"
    assert run.code == 0


def test_a_connect_without_its_module_points_at_the_module_check(
    doctor: Doctor, lab_set: Stage, world: World
) -> None:
    lab_set(_without_module(world, "ExchangeOnlineManagement"))
    run = doctor()
    connect = run.check("tenant.connect.exo")
    assert connect["status"] == "fail"
    assert "module ExchangeOnlineManagement on 127.0.0.1" in connect["fix"]
    assert run.check("tenant.connect.graph")["status"] == "pass"


def test_certificate_without_expiry_warns(doctor: Doctor, lab_set: Stage) -> None:
    """Only the lab can hold a certificate without NotAfter; the connects then refuse it as expired."""
    lab_set("certs.local_machine_my.0.not_after=null")
    check = doctor().check(CERT)
    assert check["status"] == "warn"
    assert "expiry unknown" in check["found"]
    assert "NotAfter" in check["fix"]


# --- a configured target: several hosts, settings left out -------------------------------------------


def test_each_host_is_reached_and_checked_for_its_own_needs(
    doctor: Doctor, served_target: Callable[..., str]
) -> None:
    # No domain_controller either: the run pins the PDC emulator the domain names (ad/get-domain).
    run = doctor("--target", served_target(hosts={"ad": "localhost"}, domain_controller=None))
    assert run.failed() == []
    assert run.check("connection.host.localhost")["name"].endswith("(ad)")
    assert run.check("connection.host.127.0.0.1")["name"].endswith("(adsync, exo, graph)")
    ids = {c["id"] for c in run.checks}
    assert {"modules.localhost.ActiveDirectory", "modules.localhost.look-alikes"} <= ids
    assert "modules.localhost.ADSync" not in ids and "modules.127.0.0.1.ActiveDirectory" not in ids
    assert run.check("modules.127.0.0.1.ADSync")["status"] == "pass"
    assert run.check("ad.dc")["found"] == "dc1.lab.example answered for DC=lab,DC=example"


def test_a_host_that_cannot_be_reached_fails_alone(doctor: Doctor, served_target: Callable[..., str]) -> None:
    # Nothing listens there (a refused connection on Linux; a short timeout elsewhere).
    run = doctor("--target", served_target(hosts={"ad": "127.0.0.2"}, connection_timeout=2))
    down = run.check("connection.host.127.0.0.2")
    assert down["status"] == "fail"
    assert "could not reach WinRM" in down["found"]
    assert run.check("connection.host.127.0.0.1")["status"] == "pass"
    for check_id in ("modules.127.0.0.2", "ad.dc", "ad.ou.resource"):
        assert run.check(check_id)["found"].startswith("not checked: 127.0.0.2"), check_id
    assert run.check("sync.connect-version")["status"] == "pass"
    assert run.check("tenant.connect.graph")["status"] == "pass"
    assert run.code == 6


def test_unconfigured_ous_warn_and_fail_for_the_hold_that_needs_one(
    doctor: Doctor, served_target: Callable[..., str]
) -> None:
    target = served_target(resource_ou=None, staging_ou=None)
    run = doctor("--target", target)
    resource = run.check("ad.ou.resource")
    assert resource["status"] == "warn"
    assert "set resource_ou in the target" in resource["fix"]
    staging = run.check("ad.ou.staging")
    assert staging["status"] == "warn"
    assert staging["found"] == "not configured: the staging-ou hold is unavailable"
    assert run.code == 0
    check = doctor("--target", target, "--hold", "staging-ou").check("ad.ou.staging")
    assert check["status"] == "fail"
    assert "set staging_ou" in check["fix"]


def test_unconfigured_certificate_fails_and_the_connects_point_at_it(
    doctor: Doctor, served_target: Callable[..., str]
) -> None:
    run = doctor("--target", served_target(certificate_thumbprint=None))
    check = run.check(CERT)
    assert check["status"] == "fail"
    assert check["found"] == "certificate_thumbprint is not configured"
    assert "set certificate_thumbprint" in check["fix"]
    for need in ("exo", "graph"):
        connect = run.check(f"tenant.connect.{need}")
        assert connect["status"] == "fail"
        assert "certificate check above" in connect["fix"]
    assert run.code == 6


def test_mailbox_create_with_hybrid_tools_refuses_when_a_check_fails(
    cli: Any, lab_set: Stage, world: World
) -> None:
    lab_set("sync.settings.connect_version=2.4.18.0")
    ran = cli("mailbox", "create", "Room 3", "--alias", "room3", "--profile", "hybrid-tools")
    assert ran.code == 6, ran.err
    assert "[FAIL] Entra Connect Sync version: 2.4.18.0" in ran.err
    assert world()["ad"]["users"] == []


def test_mailbox_create_refuses_with_the_checklist_when_a_module_is_missing(
    cli: Any, lab_set: Stage, world: World
) -> None:
    lab_set(_without_module(world, "ExchangeOnlineManagement"))
    ran = cli("mailbox", "create", "Room 4", "--alias", "room4")
    assert ran.code == 6, ran.err
    assert "[FAIL] module ExchangeOnlineManagement on 127.0.0.1: not installed" in ran.err
    assert world()["ad"]["users"] == []


def test_the_exchange_attributes_route_follows_the_engine_version(doctor: Doctor, lab_set: Stage) -> None:
    """Issue #11: `auto` moves the Exchange attributes to the cloud only where both published Entra Connect
    minimums (2.5.76.0 and 2.5.190.0) are met; the doctor says which route applies and why."""
    lab_set("sync.settings.connect_version=2.5.190.0")
    check = doctor().check("sync.exchange-attributes")
    assert check["status"] == "pass"
    assert check["found"].startswith("cloud: auto: Entra Connect 2.5.190.0 meets both published minimums")
