"""run_checks and blocking_failures against a fake session: which steps go to which host, what is not
sent after a host failed, and which failures block `mailbox create`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest

from pswrap import errors as e
from pswrap.results import models as m
from pswrap.results import permissions as rp
from pswrap.results import preflight as r
from pswrap.steps import get
from pswrap.workflows import preflight as p
from pswrap.workflows.checks import permissions as pc
from pswrap.workflows.checks.model import exit_status, failed
from pswrap.workflows.checks.modules import MODULE_PATTERNS, RECIPIENT_SNAPIN

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
THUMB = "3F2A9C4B1D8E7F6A5B4C3D2E1F0A9B8C7D6E5F4A"
MODULES = [
    ("ActiveDirectory", "1.0.1.0"),
    ("ADSync", "2.5.79.0"),
    ("ExchangeOnlineManagement", "3.10.1"),
    ("Microsoft.Graph.Authentication", "2.32.0"),
    ("Microsoft.Graph.Users", "2.32.0"),
    ("Microsoft.Graph.Identity.DirectoryManagement", "2.32.0"),
    ("Microsoft.Graph.Identity.Governance", "2.32.0"),  # role assignments of the mailbox's user
]


def _healthy() -> dict[str, Any]:
    inventory = r.ModuleInventory.model_validate(
        {
            "modules": [{"name": n, "version": v} for n, v in MODULES],
            "snapins": [{"name": RECIPIENT_SNAPIN}],
        }
    )
    return {
        "modules": inventory,
        "sync/get-settings": m.SyncSettings(
            anchor_attribute="mS-DS-ConsistencyGuid", staging_mode=False, connect_version="2.5.79.0"
        ),
        "sync/get-scheduler": m.SchedulerState(sync_cycle_enabled=True),
        "sync/list-leases": m.LeaseSet(),
        "certificate": r.CertificateInfo(
            thumbprint=THUMB,
            found=True,
            subject="CN=app",
            not_after=NOW + timedelta(days=300),
            has_private_key=True,
            private_key_usable=True,
        ),
        "exo/connect": m.Connection(connected=True, detail="t.onmicrosoft.com"),
        "graph/connect": m.Connection(connected=True, detail="tenant"),
        "graph/get-sync-features": m.SyncFeatures(block_soft_match=True, block_hard_match_takeover=False),
        # What the identities were granted (pswrap.workflows.permission_checks): everything needed.
        "sync/get-account": rp.AccountGroups(
            user="CORP\\svc", groups=["SYNC\\ADSyncAdmins", "BUILTIN\\Administrators"]
        ),
        "exo/get-commands": rp.CommandAvailability(available=list(pc.needed_exchange_cmdlets())),
        "graph/get-permissions": rp.GrantedPermissions(
            app_id="app", permissions=list(pc.needed_graph_permissions())
        ),
        "ad/get-ous": r.OuReport.model_validate(
            {
                "server": "dc1.corp",
                "domain": "DC=corp",
                "ous": [
                    {"distinguished_name": "OU=Res,DC=corp", "exists": True},
                    {"distinguished_name": "OU=Stage,DC=corp", "exists": True},
                ],
            }
        ),
        "sync/get-scope": r.SyncScope.model_validate(
            {"connectors": [{"connector": "corp", "inclusions": ["OU=Res,DC=corp"], "exclusions": []}]}
        ),
    }


class FakeSession:
    def __init__(self, hosts: Mapping[str, str], answers: dict[str, Any], down: Mapping[str, Exception] = {}):
        self.target = SimpleNamespace(
            name="corp",
            host="sync.corp",
            hosts=dict(hosts),
            scheme="https",
            auth="negotiate",
            cert_validation=True,
            encryption="auto",
            certificate_thumbprint=THUMB,
            domain_controller="dc1.corp",
            resource_ou="OU=Res,DC=corp",
            staging_ou="OU=Stage,DC=corp",
            profile="modern",
        )
        self.answers = answers
        self.down = dict(down)
        self.calls: list[tuple[str, str]] = []

    @property
    def pinned_dc(self) -> str:
        return "dc1.corp"

    def step(self, step_id: str, *, choices: Any = None, params: Any = None) -> Any:
        step = get(step_id)
        assert step.needs is not None
        host = self.target.hosts[step.needs]
        self.calls.append((step_id, host))
        if host in self.down:
            raise self.down[host]
        key = step_id
        if step_id.endswith("/get-modules"):
            key = "modules"
            assert params == {"Name": list(MODULE_PATTERNS)}
        if step_id.endswith("/get-certificate"):
            key = "certificate"
            assert params == {"CertificateThumbprint": THUMB}
        answer = self.answers[key]
        if isinstance(answer, Exception):
            raise answer
        return answer


ALL_ON_SYNC = dict.fromkeys(("ad", "adsync", "exo", "graph", "hybrid"), "sync.corp")


def test_one_host_gets_one_module_step_before_any_connect() -> None:
    session = FakeSession(ALL_ON_SYNC, _healthy())
    checks = p.run_checks(session, now=NOW)
    assert exit_status(checks) == 0
    steps = [s for s, _ in session.calls]
    assert steps[0] == "sync/get-modules"
    assert steps.count("sync/get-modules") == 1
    assert not [s for s in steps if s.endswith("/get-modules") and s != "sync/get-modules"]
    assert steps.index("exo/get-certificate") < steps.index("exo/connect")


def test_each_host_is_probed_with_a_step_of_a_need_it_serves() -> None:
    hosts = {**ALL_ON_SYNC, "ad": "dc-tools.corp", "exo": "cloud.corp", "graph": "cloud.corp"}
    session = FakeSession(hosts, _healthy())
    checks = p.run_checks(session, now=NOW)
    module_calls = [(s, h) for s, h in session.calls if s.endswith("/get-modules")]
    assert module_calls == [
        ("sync/get-modules", "sync.corp"),
        ("ad/get-modules", "dc-tools.corp"),
        ("exo/get-modules", "cloud.corp"),
    ]
    assert get("exo/get-modules").before_connect  # so the runner does not connect Exchange Online first
    ids = {c.id for c in checks}
    assert "modules.cloud.corp.ExchangeOnlineManagement" in ids
    assert "modules.cloud.corp.Microsoft.Graph.Users" in ids
    assert "modules.sync.corp.ExchangeOnlineManagement" not in ids
    assert ("exo/get-certificate", "cloud.corp") in session.calls
    assert "tenant.certificate.cloud.corp" in ids


def test_nothing_more_is_sent_to_a_host_that_refused_the_sign_in() -> None:
    hosts = {**ALL_ON_SYNC, "exo": "cloud.corp", "graph": "cloud.corp"}
    session = FakeSession(hosts, _healthy(), down={"cloud.corp": e.AuthenticationError("HTTP 401")})
    checks = {c.id: c for c in p.run_checks(session, now=NOW)}
    assert [s for s, h in session.calls if h == "cloud.corp"] == ["exo/get-modules"]
    assert checks["connection.host.cloud.corp"].status == "fail"
    assert checks["connection.host.sync.corp"].status == "pass"
    assert checks["tenant.connect.exo"].found.startswith("not checked: cloud.corp")
    assert checks["tenant.block-hard-match"].status == "fail"
    assert checks["sync.connect-version"].status == "pass"


def test_a_step_error_fails_only_its_checks() -> None:
    answers = _healthy()
    answers["sync/get-scheduler"] = e.ModuleMissing("The term 'Get-ADSyncScheduler' is not recognized")
    checks = {c.id: c for c in p.run_checks(FakeSession(ALL_ON_SYNC, answers), now=NOW)}
    assert checks["sync.scheduler"].status == "fail"
    assert "Get-ADSyncScheduler" in checks["sync.scheduler"].found
    assert checks["sync.cycle"].status == "fail"
    assert checks["sync.staging-mode"].status == "pass"


def test_dc_failure_when_pinning() -> None:
    class NoDc(FakeSession):
        @property
        def pinned_dc(self) -> str:
            raise e.RemoteError("Unable to contact the server.")

    session = NoDc(ALL_ON_SYNC, _healthy())
    checks = {c.id: c for c in p.run_checks(session, now=NOW)}
    assert checks["ad.dc"].status == "fail"
    assert "Unable to contact the server" in checks["ad.dc"].found
    assert "ad/get-ous" not in [s for s, _ in session.calls]


@pytest.mark.parametrize(
    ("change", "hold", "blocking"),
    [
        ({}, None, []),
        # the workflow judges the hard-match block itself (a soft match does not care)
        ({"graph/get-sync-features": m.SyncFeatures(block_soft_match=False, block_hard_match_takeover=True)},
         None, []),
        ({"certificate": e.RemoteError("unreadable")}, None, ["tenant.certificate.sync.corp"]),
        ({"sync/get-scheduler": m.SchedulerState(sync_cycle_enabled=True, scheduler_suspended=True)},
         None, []),
        ({"sync/get-scheduler": m.SchedulerState(sync_cycle_enabled=True, scheduler_suspended=True)},
         "scheduler", ["sync.scheduler"]),
        ({"sync/get-settings": m.SyncSettings(anchor_attribute="objectGUID", staging_mode=False,
                                               connect_version="2.4.18.0")},
         "anchor", ["sync.connect-version", "sync.anchor"]),
    ],
)  # fmt: skip
def test_blocking_failures_for_mailbox_create(
    change: dict[str, Any], hold: str | None, blocking: list[str]
) -> None:
    answers = {**_healthy(), **change}
    found = p.blocking_failures(FakeSession(ALL_ON_SYNC, answers), profile="modern", hold=hold)
    assert [c.id for c in found] == blocking
    assert all(c.status == "fail" and c.fix for c in found)


def test_a_read_that_finally_fails_in_transit_is_exit_4_not_a_failed_check() -> None:
    """Issue #12: a preflight read that the retries could not save is the transport's failure (exit 4),
    not a checklist about certificates (exit 6); `pswrap doctor` still shows it as a check."""
    answers = {**_healthy(), "certificate": e.ConnectionFailed("dropped")}
    with pytest.raises(e.ConnectionFailed):
        p.blocking_failures(FakeSession(ALL_ON_SYNC, answers), profile="modern", hold=None)
    checks = p.run_checks(FakeSession(ALL_ON_SYNC, answers), profile="modern")
    assert next(c for c in checks if c.id == "tenant.certificate.sync.corp").status == "fail"


def test_hybrid_tools_is_not_blocked_by_the_tenant_or_the_anchor() -> None:
    answers = {
        **_healthy(),
        "sync/get-settings": m.SyncSettings(
            anchor_attribute="objectGUID", staging_mode=False, connect_version="2.5.79.0"
        ),
    }
    session = FakeSession(ALL_ON_SYNC, answers)
    assert p.blocking_failures(session, profile="hybrid-tools", hold=None) == []
    assert not [s for s, _ in session.calls if s.startswith(("exo/", "graph/"))]


def test_blocking_message_lists_each_failure_with_its_fix() -> None:
    check = failed(
        "sync.staging-mode", "sync server not in staging mode", "staging mode is on", "use the active one"
    )
    text = p.describe_blocking([check])
    assert "1 preflight check(s) failed" in text
    assert "[FAIL] sync server not in staging mode: staging mode is on" in text
    assert "fix: use the active one" in text


def test_refuse_when_blocked_raises_needs_human_with_each_fix() -> None:
    answers = {**_healthy(), "sync/get-settings": m.SyncSettings(
        anchor_attribute="mS-DS-ConsistencyGuid", staging_mode=True, connect_version="2.5.79.0")}  # fmt: skip
    with pytest.raises(e.NeedsHuman) as raised:
        p.refuse_when_blocked(FakeSession(ALL_ON_SYNC, answers), profile="modern", hold="anchor")
    assert raised.value.exit_code == 6
    assert "[FAIL] sync server not in staging mode" in raised.value.message
    assert "fix: point the target's adsync host at the active sync server" in raised.value.message
    assert raised.value.hint and "pswrap doctor" in raised.value.hint


def test_refuse_when_blocked_passes_a_healthy_target_and_skips_sessions_without_one() -> None:
    p.refuse_when_blocked(FakeSession(ALL_ON_SYNC, _healthy()), profile="modern", hold=None)

    class Double:
        def step(self, step_id: str, **_: Any) -> Any:
            raise AssertionError(f"no step may run: {step_id}")

    assert p.blocking_failures(Double(), profile="modern", hold=None) == []  # type: ignore[arg-type]
    p.refuse_when_blocked(Double(), profile="legacy", hold=None)  # type: ignore[arg-type]


def test_modules_that_cannot_be_listed_fail_but_the_host_was_reached() -> None:
    answers = {**_healthy(), "modules": e.RemoteError("The term 'Get-Module' is not recognized")}
    checks = {c.id: c for c in p.run_checks(FakeSession(ALL_ON_SYNC, answers), now=NOW)}
    assert checks["connection.host.sync.corp"].status == "pass"
    assert checks["modules.sync.corp"].status == "fail"
    assert "Get-Module" in checks["modules.sync.corp"].found
    assert "pswrap run sync/get-modules" in (checks["modules.sync.corp"].fix or "")
    assert checks["sync.connect-version"].status == "pass"  # the other facts are still read


def test_a_failed_fact_read_explained_by_a_check_refuses_with_the_checklist() -> None:
    inventory = r.ModuleInventory.model_validate(
        {"modules": [{"name": n, "version": v} for n, v in MODULES if n != "ExchangeOnlineManagement"]}
    )
    session = FakeSession(ALL_ON_SYNC, {**_healthy(), "modules": inventory})
    read_error = e.RemoteError("The specified module 'ExchangeOnlineManagement' was not loaded")
    explained = p.explained_by_preflight(session, profile="modern", hold=None)
    with pytest.raises(e.NeedsHuman) as raised, explained:
        raise read_error
    assert "[FAIL] module ExchangeOnlineManagement on sync.corp: not installed" in raised.value.message
    assert raised.value.__context__ is read_error


def test_a_failed_fact_read_no_check_explains_keeps_its_own_error() -> None:
    read_error = e.RemoteError("something the preflight does not check")
    explained = p.explained_by_preflight(FakeSession(ALL_ON_SYNC, _healthy()), profile="modern", hold=None)
    with pytest.raises(e.RemoteError) as raised, explained:
        raise read_error
    assert raised.value is read_error


def test_bad_input_is_not_second_guessed_by_the_preflight() -> None:
    class Untouchable:
        target = FakeSession(ALL_ON_SYNC, {}).target

        def step(self, step_id: str, **_: Any) -> Any:
            raise AssertionError(f"no step may run: {step_id}")

    with pytest.raises(e.BadInput), p.explained_by_preflight(Untouchable(), profile="modern", hold=None):
        raise e.BadInput("no such OU")
