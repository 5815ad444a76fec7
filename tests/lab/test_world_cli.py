"""`pswrap lab set PATH=VALUE`, `pswrap lab advance SECONDS` and `pswrap lab show` paths, as a scenario
script or a test stages the lab (issue #4 item 5). The `lab show` paths are a contract the workflows'
tests read."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from pswrap.cli import app
from pswrap.cli.app import run_app
from pswrap.lab.store import Store
from pswrap.lab.sync_engine import start_cycle
from pswrap.lab.world import LAB_DEFAULTS, iso, now
from tests.lab.world_harness import Harness


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run_app(app, list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "lab" / "world.json"
    monkeypatch.setenv("PSWRAP_LAB_STATE", str(path))
    monkeypatch.setenv("PSWRAP_STATE_DIR", str(tmp_path))
    return path


def show(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    code, out, err = run(capsys, "lab", "show")
    assert code == 0, err
    world: dict[str, Any] = json.loads(out)
    return world


def test_show_prints_the_contract_paths(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    world = show(capsys)
    assert set(world["cloud"]["features"]) >= {"block_soft_match", "block_hard_match_takeover"}
    assert set(world["sync"]["settings"]) >= {"anchor_attribute", "staging_mode", "connect_version"}
    assert set(world["sync"]["scheduler"]) >= {"sync_cycle_enabled", "suspended", "sync_cycle_in_progress"}
    for key in ("ad", "cloud", "exo"):
        assert isinstance(world[key]["users" if key != "exo" else "mailboxes"], list)
    assert world["sync"]["leases"] == []


def test_set_stages_the_documented_examples(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "lab",
        "set",
        "cloud.features.block_hard_match_takeover=true",
        "sync.settings.staging_mode=true",
        "sync.settings.connect_version=2.4.18.0",
        "sync.scheduler.suspended=true",
    )
    assert code == 0
    assert "cloud.features.block_hard_match_takeover: false -> true" in out
    world = show(capsys)
    assert world["cloud"]["features"]["block_hard_match_takeover"] is True
    assert world["sync"]["settings"]["staging_mode"] is True
    assert world["sync"]["settings"]["connect_version"] == "2.4.18.0"
    assert world["sync"]["scheduler"]["suspended"] is True


def test_set_unknown_path_or_wrong_type_exits_2_and_changes_nothing(
    state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "lab", "set", "sync.settings.staging_mode=true", "cloud.features.no_such=1")
    assert code == 2
    assert "cloud.features.no_such" in err and "block_soft_match" in err
    assert show(capsys)["sync"]["settings"]["staging_mode"] is False  # all or nothing
    code, _, err = run(capsys, "lab", "set", "sync.scheduler.suspended=maybe")
    assert code == 2 and "boolean" in err
    code, _, err = run(capsys, "lab", "set", "no-equals-sign")
    assert code == 2 and "PATH=VALUE" in err
    code, _, err = run(capsys, "lab", "set", 'faults=["nonsense:x"]')
    assert code == 2 and "unknown kind" in err


def test_set_faults_list(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run(capsys, "lab", "set", 'faults=["throttle:exo/new-mailbox@1", "sync-busy"]')
    assert code == 0
    assert show(capsys)["faults"] == ["throttle:exo/new-mailbox@1", "sync-busy"]


def test_advance_finishes_a_cycle_and_fires_leases(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = Store(state)
    with store.transaction() as world:
        start_cycle(world, now(world), manual=True)
    assert show(capsys)["sync"]["scheduler"]["sync_cycle_in_progress"] is True
    code, out, _ = run(capsys, "lab", "advance", "5")
    assert code == 0 and "sync cycle in progress: false" in out
    world = show(capsys)
    assert world["sync"]["scheduler"]["sync_cycle_in_progress"] is False
    assert world["clock"]["offset_seconds"] == 5
    # the one cycle's runs, newest first as Get-ADSyncRunProfileResult lists them
    assert [(r["run_profile_name"], r["result"]) for r in world["sync"]["runs"]] == [
        ("Export", "success"), ("Export", "success"), ("Delta Synchronization", "success"),
        ("Delta Import", "success"), ("Delta Import", "success"),
    ]  # fmt: skip
    code, _, err = run(capsys, "lab", "advance", "--", "-5")
    assert code == 2 and "back" in err


def test_show_catches_up_a_finished_cycle(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Time is lazy: `lab show` reports a cycle whose end passed as finished, without `advance`."""
    store = Store(state)
    with store.transaction() as world:
        world["sync"]["scheduler"]["cycle_seconds"] = 0
        start_cycle(world, now(world), manual=True)
    assert show(capsys)["sync"]["scheduler"]["sync_cycle_in_progress"] is False


def test_show_lists_every_field_the_issue_names(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue #4 item 5: the `lab show` paths scenario scripts and the workflows' tests read, on a world with
    an AD account, its synced cloud user, a mailbox and a lease."""
    lab = Harness(state)
    lab.connect_exo()
    lab.new_ad_user("room1")
    lab.new_mailbox("conf1")
    lab.sync_cycle()
    deadline = iso(now(lab.world()) + timedelta(hours=1))
    lab.run("sync/install-lease", {"LeaseName": "t", "DeadlineUtc": deadline}, pool="sync")
    world = show(capsys)
    ad_user = {"sam_account_name", "object_guid", "user_principal_name", "distinguished_name", "display_name"}
    ad_user |= {"proxy_addresses", "mail_nickname", "consistency_guid"}
    assert ad_user <= set(world["ad"]["users"][0])
    cloud = {"id", "user_principal_name", "on_premises_immutable_id", "on_premises_sync_enabled"}
    assert all(cloud <= set(u) for u in world["cloud"]["users"]) and len(world["cloud"]["users"]) == 2
    mailbox = {"alias", "recipient_type_details", "primary_smtp_address", "external_directory_object_id"}
    assert mailbox <= set(world["exo"]["mailboxes"][0])
    assert world["sync"]["leases"][0]["name"] == "t"


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("cloud.features.block_soft_match", "true", True),
        ("cloud.features.block_hard_match_takeover", "true", True),
        ("sync.settings.anchor_attribute", "objectGUID", "objectGUID"),
        ("sync.settings.staging_mode", "true", True),
        ("sync.settings.connect_version", "2.4.18.0", "2.4.18.0"),
        ("sync.scheduler.sync_cycle_enabled", "false", False),
        ("sync.scheduler.suspended", "true", True),
        ("sync.scheduler.cycle_seconds", "30", 30),
    ],
)
def test_set_each_setting_the_steps_then_see(
    state: Path, capsys: pytest.CaptureFixture[str], path: str, value: str, expected: object
) -> None:
    """Issue #4 item 5: `lab set PATH=VALUE` for each setting `lab show` prints; the next step reads it
    (Get-ADSyncGlobalSettings, Get-ADSyncScheduler, Get-MgDirectoryOnPremiseSynchronization)."""
    code, _, err = run(capsys, "lab", "set", f"{path}={value}")
    assert code == 0, err
    lab = Harness(state)
    lab.connect_graph()
    seen = {
        **{f"sync.settings.{k}": v for k, v in lab.run("sync/get-settings", pool="sync").items()},
        **{f"cloud.features.{k}": v for k, v in lab.run("graph/get-sync-features", pool="graph").items()},
    }
    scheduler = lab.run("sync/get-scheduler", pool="sync")
    seen["sync.scheduler.sync_cycle_enabled"] = scheduler["sync_cycle_enabled"]
    seen["sync.scheduler.suspended"] = scheduler["scheduler_suspended"]
    seen["sync.scheduler.cycle_seconds"] = lab.world()["sync"]["scheduler"]["cycle_seconds"]
    assert seen[path] == expected


def test_set_refuses_an_anchor_the_lab_does_not_simulate(
    state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """§3: the anchor attribute is objectGUID or mS-DS-ConsistencyGuid; sync_cycle_in_progress is derived
    from the lab's clock, not a setting."""
    code, _, err = run(capsys, "lab", "set", "sync.settings.anchor_attribute=employeeID")
    assert code == 2 and "mS-DS-ConsistencyGuid" in err
    code, _, err = run(capsys, "lab", "set", "sync.scheduler.sync_cycle_in_progress=true")
    assert code == 2 and "lab advance" in err


def test_advance_fires_a_lease_at_its_deadline(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """docs/design.md `scheduler` hold: a lease's one-shot task restores the recorded scheduler state at its
    deadline on the lab's clock, moved by `pswrap lab advance`, not before."""
    lab = Harness(state)
    deadline = iso(now(lab.world()) + timedelta(seconds=600))
    lab.run("sync/install-lease", {"LeaseName": "hold", "DeadlineUtc": deadline}, pool="sync")
    assert show(capsys)["sync"]["scheduler"]["sync_cycle_enabled"] is False
    code, out, _ = run(capsys, "lab", "advance", "300")
    assert code == 0 and "leases: 1" in out
    code, out, _ = run(capsys, "lab", "advance", "301")
    assert code == 0 and "leases: 0" in out
    world = show(capsys)
    assert world["sync"]["leases"] == [] and world["sync"]["scheduler"]["sync_cycle_enabled"] is True


def test_serve_options_and_environment_configure_the_world(
    state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue #4 item 5: `lab serve --sync-seconds S --anchor A`, and PSWRAP_LAB_SYNC_SECONDS when no option
    is given, set the world the lab serves."""
    from pswrap.lab.embedded import build_server

    monkeypatch.setenv("PSWRAP_LAB_SYNC_SECONDS", "4")
    for options, cycle, anchor in (
        ({}, 4.0, LAB_DEFAULTS.anchor_attribute),
        ({"sync_seconds": 9.0, "anchor": "objectGUID"}, 9.0, "objectGUID"),
    ):
        server, _, store, _, _ = build_server(
            state, auth="basic", username="u", password="p-not-secret", **options
        )
        server.server_close()  # type: ignore[attr-defined]
        world = store.read()
        assert world["sync"]["scheduler"]["cycle_seconds"] == cycle
        assert world["sync"]["settings"]["anchor_attribute"] == anchor
