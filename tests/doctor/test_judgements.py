"""The preflight's judgements on canned step results (the models parsed from each template's JSON), for
the outcomes the lab cannot stage and the boundaries of each rule."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from pswrap import errors as e
from pswrap.results.models import LeaseSet, SyncFeatures, SyncSettings
from pswrap.results.preflight import CertificateInfo, ModuleInventory, OuReport, SyncScope
from pswrap.workflows.checks.ad import in_scope, judge_ou
from pswrap.workflows.checks.connection import judge_encryption, judge_host_error
from pswrap.workflows.checks.model import exit_status, failed, not_checked, passed, warned
from pswrap.workflows.checks.modules import is_look_alike, judge_modules
from pswrap.workflows.checks.sync import default_hold, judge_anchor, judge_connect_version, judge_leases
from pswrap.workflows.checks.tenant import judge_certificate, judge_connect, judge_hard_match

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
THUMB = "3F2A9C4B1D8E7F6A5B4C3D2E1F0A9B8C7D6E5F4A"


def _inventory(*modules: tuple[str, str], snapins: tuple[str, ...] = ()) -> ModuleInventory:
    return ModuleInventory.model_validate(
        {
            "computer_name": "SYNC1",
            "modules": [{"name": n, "version": v, "path": f"C:\\M\\{n}"} for n, v in modules],
            "snapins": [{"name": s, "version": "15.2"} for s in snapins],
        }
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ExchangeOnlineManagement", False),
        ("Exchange-OnlineManagement", True),
        ("ExchangeOnlineManagment", True),
        ("ExchangeOnlineMangement", True),
        ("exchangeonlinemanagement2", True),  # one edit away, not on the 2026 list: still refused
        ("ExchangeOnlineManagement.Helpers", False),
        ("ExchangePowerShell", False),
        ("MicrosoftTeams", False),
    ],
)
def test_look_alike_names(name: str, expected: bool) -> None:
    assert is_look_alike(name) is expected


def test_modules_of_each_need_on_its_host_only() -> None:
    inventory = _inventory(("ActiveDirectory", "1.0.1.0"))
    checks = {c.id: c for c in judge_modules("dc1", ["ad"], inventory)}
    assert checks["modules.dc1.ActiveDirectory"].status == "pass"
    assert "modules.dc1.ExchangeOnlineManagement" not in checks
    assert checks["modules.dc1.look-alikes"].status == "pass"


def test_highest_version_of_several_is_judged() -> None:
    inventory = _inventory(("ExchangeOnlineManagement", "2.0.5"), ("ExchangeOnlineManagement", "3.10.1"))
    check = next(
        c for c in judge_modules("h", ["exo"], inventory) if c.id.endswith("ExchangeOnlineManagement")
    )
    assert check.status == "pass"
    assert check.found == "installed: 3.10.1, 2.0.5"


@pytest.mark.parametrize(
    ("company", "status"),
    [("Microsoft Corporation", "pass"), ("Microsoft", "pass"), (None, "pass"), ("helpers", "fail")],
)
def test_exchange_online_module_must_be_microsofts(company: str | None, status: str) -> None:
    inventory = ModuleInventory.model_validate(
        {"modules": [{"name": "ExchangeOnlineManagement", "version": "3.10.1", "company_name": company}]}
    )
    check = next(
        c for c in judge_modules("h", ["exo"], inventory) if c.id == "modules.h.ExchangeOnlineManagement"
    )
    assert check.status == status


def test_graph_needs_all_three_modules() -> None:
    inventory = _inventory(("Microsoft.Graph.Authentication", "2.32.0"), ("Microsoft.Graph.Users", "2.32.0"))
    statuses = {c.id: c.status for c in judge_modules("h", ["graph"], inventory)}
    assert statuses["modules.h.Microsoft.Graph.Users"] == "pass"
    assert statuses["modules.h.Microsoft.Graph.Identity.DirectoryManagement"] == "fail"


@pytest.mark.parametrize(
    ("version", "status"),
    [("2.5.79.0", "pass"), ("2.5.78.99", "fail"), ("2.10.1.0", "pass"), ("1.6.16.0", "fail"), (None, "warn")],
)
def test_connect_version_is_compared_as_numbers(version: str | None, status: str) -> None:
    settings = SyncSettings(anchor_attribute="objectGUID", staging_mode=False, connect_version=version)
    assert judge_connect_version(settings).status == status


def test_unknown_anchor_attribute_fails() -> None:
    check = judge_anchor(SyncSettings(anchor_attribute="employeeID", staging_mode=False))
    assert check.status == "fail"
    assert "employeeID" in check.found


@pytest.mark.parametrize(
    ("anchor", "hold", "status"),
    [
        ("mS-DS-ConsistencyGuid", None, "pass"),
        ("mS-DS-ConsistencyGuid", "anchor", "pass"),
        ("objectGUID", None, "warn"),  # mailbox create falls back to the staging OU
        ("objectGUID", "anchor", "fail"),
        ("objectGUID", "staging-ou", "pass"),
        ("objectGUID", "scheduler", "pass"),
    ],
)
def test_anchor_attribute_against_the_hold(anchor: str, hold: str | None, status: str) -> None:
    settings = SyncSettings(anchor_attribute=anchor, staging_mode=False)
    assert judge_anchor(settings, hold).status == status


@pytest.mark.parametrize(
    ("anchor", "hold"),
    [("mS-DS-ConsistencyGuid", "anchor"), ("ms-ds-consistencyguid", "anchor"), ("objectGUID", "staging-ou")],
)
def test_default_hold_follows_the_anchor_like_mailbox_create(anchor: str, hold: str) -> None:
    from pswrap.workflows.inputs import choose_hold

    assert default_hold(anchor) == hold
    resolved = SimpleNamespace(profile="modern", hold=None)
    assert choose_hold(resolved, anchor_attribute=anchor, staging_mode=False) == hold  # type: ignore[arg-type]


def test_failed_connect_points_at_the_first_cause() -> None:
    error = e.RemoteError("boom")
    module = judge_connect("exo", None, error, False, ["module ExchangeOnlineManagement on h"])
    assert module.fix is not None and "module ExchangeOnlineManagement on h" in module.fix
    certificate = judge_connect("exo", None, error, False)
    assert certificate.fix is not None and "certificate check above" in certificate.fix
    registration = judge_connect("graph", None, error, True)
    assert registration.fix is not None and "app registration" in registration.fix


def test_a_check_that_could_not_run_names_the_one_it_waits_for() -> None:
    check = not_checked("ad.ou.resource", "resource OU", "the DC did not answer", "pinned DC answers")
    assert (check.status, check.after) == ("fail", "pinned DC answers")
    assert check.found == "not checked: the DC did not answer"
    assert check.fix == "fix the check 'pinned DC answers' first"


def _cert(**fields: object) -> CertificateInfo:
    base: dict[str, object] = {
        "thumbprint": THUMB,
        "found": True,
        "subject": "CN=app",
        "not_after": (NOW + timedelta(days=200)).isoformat(),
        "has_private_key": True,
        "private_key_usable": True,
    }
    return CertificateInfo.model_validate({**base, **fields})


@pytest.mark.parametrize(
    ("days", "status"), [(31, "pass"), (30, "pass"), (29, "warn"), (1, "warn"), (0, "fail"), (-3, "fail")]
)
def test_certificate_expiry_boundaries(days: int, status: str) -> None:
    cert = _cert(not_after=(NOW + timedelta(days=days)).isoformat())
    assert judge_certificate("h", cert, NOW).status == status


def test_certificate_date_in_windows_powershell_form_is_read() -> None:
    millis = int((NOW + timedelta(days=5)).timestamp() * 1000)
    cert = _cert(not_after=f"/Date({millis})/")
    assert judge_certificate("h", cert, NOW).status == "warn"


def test_leases_past_their_deadline_say_the_task_did_not_run() -> None:
    leases = LeaseSet.model_validate(
        {"leases": [{"name": "pswrap-lease-1", "deadline_utc": (NOW - timedelta(hours=1)).isoformat(),
                     "prior_sync_cycle_enabled": True}]}
    )  # fmt: skip
    check = judge_leases(leases, NOW)
    assert check.status == "warn"
    assert "has not run" in check.found


def test_hard_match_block() -> None:
    assert (
        judge_hard_match(SyncFeatures(block_soft_match=True, block_hard_match_takeover=True)).status == "fail"
    )
    assert (
        judge_hard_match(SyncFeatures(block_soft_match=True, block_hard_match_takeover=False)).status
        == "pass"
    )


@pytest.mark.parametrize(
    ("dn", "expected"),
    [
        ("OU=Rooms,OU=Resources,DC=lab,DC=example", True),  # under an inclusion
        ("OU=Old,OU=Resources,DC=lab,DC=example", False),  # a deselected sub-OU
        ("OU=Keep,OU=Old,OU=Resources,DC=lab,DC=example", True),  # reselected below it
        ("ou=rooms, ou=resources, dc=lab, dc=example", True),  # DN case and spacing
        ("OU=Staging,DC=lab,DC=example", False),  # under nothing selected
    ],
)
def test_sync_scope_nearest_container_wins(dn: str, expected: bool) -> None:
    scope = SyncScope.model_validate(
        {"connectors": [{"connector": "lab.example", "inclusions": ["OU=Resources,DC=lab,DC=example",
                         "OU=Keep,OU=Old,OU=Resources,DC=lab,DC=example"],
                         "exclusions": ["OU=Old,OU=Resources,DC=lab,DC=example"]}]}
    )  # fmt: skip
    assert in_scope(dn, scope.connectors) is expected


def test_unconfigured_ous() -> None:
    report = OuReport(server="dc1", ous=[])
    (resource,) = judge_ou("resource", None, report, None, None)
    assert resource.status == "warn"
    assert "resource_ou" in (resource.fix or "")
    assert judge_ou("staging", None, report, None, None)[0].status == "warn"
    assert judge_ou("staging", None, report, None, "staging-ou")[0].status == "fail"


def test_scope_unreadable_warns_but_the_ou_still_exists() -> None:
    report = OuReport.model_validate(
        {"server": "dc1", "ous": [{"distinguished_name": "OU=R,DC=x", "exists": True}]}
    )
    checks = judge_ou("resource", "OU=R,DC=x", report, None, None)
    assert [c.status for c in checks] == ["pass", "warn"]


@pytest.mark.parametrize(
    ("error", "status", "words"),
    [
        (None, "pass", "signed in"),
        (e.AuthenticationError("401 from the server"), "fail", "refused the credentials"),
        (e.ConnectionFailed("connection refused"), "fail", "could not reach"),
        (e.TransportTimeout("no answer in 30 s"), "fail", "could not reach"),
        (e.RemoteError("Get-Module failed"), "pass", "first script failed"),
        # Issue #12: nothing was sent, so nothing was "reached and signed in".
        (e.MissingExtra("pswrap[kerberos] is not installed"), "fail", "not tried"),
    ],
)
def test_host_reachability(error: Exception | None, status: str, words: str) -> None:
    check = judge_host_error("h", ["adsync"], error)
    assert check.status == status
    assert words in check.found


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"scheme": "https", "auth": "negotiate", "cert_validation": True}, "pass"),
        ({"scheme": "https", "auth": "basic", "cert_validation": True}, "pass"),
        ({"scheme": "https", "auth": "ntlm", "cert_validation": False}, "warn"),
        ({"scheme": "http", "auth": "kerberos", "encryption": "auto"}, "pass"),
        ({"scheme": "http", "auth": "ntlm", "encryption": "never"}, "fail"),
        ({"scheme": "http", "auth": "basic", "encryption": "never"}, "fail"),
    ],
)
def test_encryption(fields: dict[str, object], status: str) -> None:
    target = SimpleNamespace(**{"cert_validation": True, "encryption": "auto", **fields})
    assert judge_encryption(target).status == status


def test_exit_status() -> None:
    ok = passed("a", "a", "fine")
    warn = warned("b", "b", "meh", "do x")
    bad = failed("c", "c", "broken", "do y")
    assert exit_status([ok, warn]) == 0
    assert exit_status([ok, warn, bad]) == 6
