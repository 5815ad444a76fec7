"""`pswrap lab set PATH=VALUE`, `pswrap lab advance SECONDS` and `pswrap lab show` paths, as a scenario
script or a test stages the lab (issue #4 item 5). The `lab show` paths are a contract the workflows'
tests read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pswrap.cli import app
from pswrap.cli.app import run_app
from pswrap.lab.store import Store
from pswrap.lab.sync_engine import start_cycle
from pswrap.lab.world import now


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
    assert world["sync"]["runs"]
    code, _, err = run(capsys, "lab", "advance", "--", "-5")
    assert code == 2 and "back" in err


def test_show_catches_up_a_finished_cycle(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Time is lazy: `lab show` reports a cycle whose end passed as finished, without `advance`."""
    store = Store(state)
    with store.transaction() as world:
        world["sync"]["scheduler"]["cycle_seconds"] = 0
        start_cycle(world, now(world), manual=True)
    assert show(capsys)["sync"]["scheduler"]["sync_cycle_in_progress"] is False
