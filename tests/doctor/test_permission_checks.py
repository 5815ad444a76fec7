"""The doctor's permission checks (docs/permissions.md): the app's Graph permissions in its token, the
Exchange Online cmdlets its roles allow, the remoting account's groups on the sync server. Judged from
facts first, then against the lab with each grant present and taken away (`pswrap lab set grants...`);
a failed check names the missing permission, role or group in its fix line."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from pswrap.workflows.checks import permissions as pc

from .conftest import Cli, DoctorRun

Doctor = Callable[..., DoctorRun]
Stage = Callable[..., None]

NEEDED = {"User.Read.All": ["graph/get-user"], "User.ReadWrite.All": ["graph/set-user"]}


def test_graph_permissions_granted_pass() -> None:
    granted = SimpleNamespace(app_id="app", permissions=["User.ReadWrite.All", "User.Read.All"])
    assert pc.judge_graph_permissions(granted, NEEDED).status == "pass"


def test_a_broader_permission_covers_a_narrower_one() -> None:
    """User.ReadWrite.All is listed as a higher-privileged permission for reading users."""
    granted = SimpleNamespace(app_id="app", permissions=["User.ReadWrite.All"])
    assert pc.judge_graph_permissions(granted, NEEDED).status == "pass"


def test_missing_graph_permission_is_named_with_its_steps() -> None:
    check = pc.judge_graph_permissions(SimpleNamespace(app_id="app-1", permissions=["User.Read.All"]), NEEDED)
    assert check.status == "fail"
    assert "User.ReadWrite.All" in check.found and "graph/set-user" in check.found
    assert check.fix is not None
    assert (
        "grant the Microsoft Graph application permission(s) User.ReadWrite.All to the app app-1" in check.fix
    )
    assert "admin consent" in check.fix and "docs/permissions.md" in check.fix


def test_missing_exchange_cmdlet_names_its_role() -> None:
    availability = SimpleNamespace(available=["Get-EXOMailbox"], missing=["New-Mailbox"])
    check = pc.judge_exchange_roles(
        availability, {"Get-EXOMailbox": "Mail Recipients", "New-Mailbox": "Mail Recipient Creation"}
    )
    assert check.status == "fail" and "New-Mailbox" in check.found
    assert check.fix is not None and "Mail Recipient Creation" in check.fix


def test_account_groups() -> None:
    ok = SimpleNamespace(
        user="CORP\\svc", groups=["SYNC01\\ADSyncAdmins", "BUILTIN\\Remote Management Users"]
    )
    assert pc.judge_account_groups(ok, "sync01", "anchor").status == "pass"
    scheduler = pc.judge_account_groups(ok, "sync01", "scheduler")
    assert scheduler.status == "fail" and scheduler.fix is not None and "Administrators" in scheduler.fix
    none = pc.judge_account_groups(SimpleNamespace(user="CORP\\svc", groups=[]), "sync01", None)
    assert none.fix is not None and "add CORP\\svc to the local group ADSyncAdmins" in none.fix


def test_needs_follow_the_steps() -> None:
    """What the doctor asks for is derived from the steps' templates, not listed by hand."""
    assert set(pc.needed_graph_permissions()) >= {
        "User.ReadWrite.All",
        "OnPremDirectorySynchronization.Read.All",
    }
    assert pc.needed_exchange_cmdlets()["New-Mailbox"] == "Mail Recipient Creation"
    # The module's own REST cmdlets exist in any session: their presence says nothing about the roles.
    assert "Get-EXOMailbox" not in pc.needed_exchange_cmdlets()


# --- against the lab -------------------------------------------------------------------------------


def test_lab_grants_everything_pswrap_needs(doctor: Doctor) -> None:
    run = doctor()
    for check_id in ("tenant.graph-permissions", "tenant.exchange-roles", "sync.account-groups"):
        assert run.check(check_id)["status"] == "pass", run.check(check_id)


def test_lab_missing_graph_permission(doctor: Doctor, lab_set: Stage) -> None:
    granted = {"User.Read.All", "OnPremDirectorySynchronization.Read.All"}
    lab_set("grants.graph_permissions=" + json.dumps(sorted(granted)))
    run = doctor()
    assert run.code == 6
    check = run.check("tenant.graph-permissions")
    assert check["status"] == "fail"
    missing = sorted(set(pc.needed_graph_permissions()) - granted)
    assert {"RoleManagement.Read.Directory", "User.ReadWrite.All"} <= set(missing)
    assert f"permission(s) {', '.join(missing)} to the app" in check["fix"]
    assert "graph/set-user" in check["found"]


def test_lab_missing_exchange_role(doctor: Doctor, lab_set: Stage) -> None:
    lab_set('grants.exchange_roles=["Mail Recipients"]')
    run = doctor()
    check = run.check("tenant.exchange-roles")
    assert check["status"] == "fail"
    assert "New-Mailbox" in check["found"] and "Mail Recipient Creation" in check["fix"]


def test_lab_remoting_account_outside_adsyncadmins(
    doctor: Doctor, lab_set: Stage, world: Callable[[], dict[str, Any]]
) -> None:
    lab_set("grants.server_groups=" + json.dumps(["BUILTIN\\Remote Management Users"]))
    run = doctor()
    check = run.check("sync.account-groups")
    assert check["status"] == "fail"
    assert "ADSyncAdmins" in check["fix"] and world()["grants"]["server_account"] in check["fix"]
    scheduler = doctor("--hold", "scheduler").check("sync.account-groups")
    assert "Administrators" in scheduler["fix"]


def test_lab_permissions_wait_for_a_failed_connect(doctor: Doctor, lab_set: Stage) -> None:
    """Without a Graph session its token cannot be read: the check names the connect to fix first."""
    lab_set("cloud.tenant.app_id=00000000-0000-0000-0000-000000000000")
    check = doctor().check("tenant.graph-permissions")
    assert check["status"] == "fail" and check["found"].startswith("not checked")


def test_lab_exchange_cmdlet_outside_the_apps_roles_does_not_exist(cli: Cli, lab_set: Stage) -> None:
    """Exchange Online creates only the cmdlets the roles allow: New-Mailbox without Mail Recipient
    Creation is an unknown command (exit 5), and the doctor's fix names that role."""
    lab_set('grants.exchange_roles=["Mail Recipients"]')
    args = ["--param", "Name=Perm Room", "--param", "Alias=permroom", "--param", "DisplayName=Perm Room"]
    args += ["--param", "PrimarySmtpAddress=permroom@lab.example"]
    result = cli("run", "exo/new-mailbox", "--var", "type=room", *args)
    assert result.code == 5, result.err
    assert "The term 'New-Mailbox' is not recognized" in result.err
    assert cli("run", "exo/find-mailbox", "--param", "Identity=permroom").code == 0
