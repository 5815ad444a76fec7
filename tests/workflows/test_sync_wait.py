"""The sync wait on a small fake engine with a fake clock: poll cadence, busy engine, export errors
for our object (and not for others or for old runs), timeout."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from pswrap.errors import NeedsHuman, SyncBusy, WaitTimeout
from pswrap.results import models as m
from pswrap.workflows.sync_wait import MAX_POLL, Deadline, ObjectOfInterest, wait_for_link, wait_until_idle


@dataclass
class FakeEngine:
    """Cycles of `cycle` seconds on a fake clock; a run result (with export errors) per finished cycle."""

    cycle: float = 2.0
    now: float = 0.0
    running_until: float | None = None
    runs: list[m.RunResult] = field(default_factory=list)
    errors_next: list[m.ExportError] = field(default_factory=list)
    busy_once: bool = False
    polls: list[float] = field(default_factory=list)
    linked_after: int | None = None
    cycles: int = 0

    def _tick(self) -> None:
        if self.running_until is not None and self.now >= self.running_until:
            self.running_until = None
            self.cycles += 1
            self.runs.insert(
                0,
                m.RunResult(
                    run_history_id=f"run{self.cycles}",
                    connector_name="AAD",
                    run_profile_name="Export",
                    result="completed-export-errors" if self.errors_next else "success",
                    export_errors=self.errors_next,
                ),
            )
            self.errors_next = []

    def step(self, step_id: str, *, choices: Mapping[str, str] | None = None,
             params: Mapping[str, Any] | None = None) -> Any:  # fmt: skip
        self._tick()
        if step_id == "sync/get-scheduler":
            self.polls.append(self.now)
            return m.SchedulerState(
                sync_cycle_enabled=True, sync_cycle_in_progress=self.running_until is not None
            )
        if step_id == "sync/start-cycle":
            if self.busy_once or self.running_until is not None:
                self.busy_once = False
                self.running_until = self.running_until or self.now + self.cycle
                raise SyncBusy("Sync is already running. Cannot start a new run till this one completes.")
            self.running_until = self.now + self.cycle
            return m.CycleStarted(result="Success")
        if step_id == "sync/get-run-results":
            return m.RunResults(runs=self.runs)
        raise AssertionError(step_id)

    def script(self, *a: Any, **k: Any) -> Any:
        raise AssertionError("not used")

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def clock(self) -> float:
        return self.now

    def deadline(self, seconds: float) -> Deadline:
        d = Deadline(seconds, clock=self.clock, sleep=self.sleep)
        d.start = self.now
        return d

    def run(self, step_id: str, **kw: Any) -> Any:
        return self.step(step_id, **kw)

    def check(self) -> Any | None:
        return "linked" if self.linked_after is not None and self.cycles >= self.linked_after else None


OURS = ObjectOfInterest("CN=Room 1,OU=Resources,DC=lab,DC=example", "abc=")


def test_end_of_cycle_noticed_within_a_second() -> None:
    engine = FakeEngine(cycle=10.0, linked_after=1)
    assert (
        wait_for_link(engine.run, engine, ours=OURS, check=engine.check, deadline=engine.deadline(60))
        == "linked"
    )
    gaps = [b - a for a, b in zip(engine.polls, engine.polls[1:], strict=False)]
    assert max(gaps) <= MAX_POLL + 1e-9 < 1.0
    assert engine.now - 10.0 < 1.0  # the end (at 10 s) was seen within a second


def test_busy_engine_waits_then_starts_a_new_cycle() -> None:
    engine = FakeEngine(busy_once=True, linked_after=2)
    linked = wait_for_link(engine.run, engine, ours=OURS, check=engine.check, deadline=engine.deadline(60))
    assert linked == "linked"
    assert engine.cycles == 2  # the running one, then ours


def test_export_error_for_our_object_is_the_failure() -> None:
    engine = FakeEngine(linked_after=None)
    engine.errors_next = [
        m.ExportError(dn="CN=Someone Else,OU=Resources,DC=lab,DC=example", error_type="InvalidSoftMatch"),
        m.ExportError(dn=OURS.dn.upper() if OURS.dn else None, error_type="InvalidHardMatch",
                      error_literal="Another cloud created object with the same source anchor"),
    ]  # fmt: skip
    with pytest.raises(NeedsHuman, match="InvalidHardMatch") as info:
        wait_for_link(engine.run, engine, ours=OURS, check=engine.check, deadline=engine.deadline(600))
    assert info.value.exit_code == 6
    assert engine.now < 5  # reported after the first cycle, not at --timeout


def test_export_error_matched_by_source_anchor_after_a_move_or_rename() -> None:
    """The account was moved or renamed since the wait began: its DN in the run results is not ours any
    more, but the sourceAnchor still names it, and the error is still ours."""
    engine = FakeEngine(linked_after=None)
    engine.errors_next = [
        m.ExportError(dn="CN=Room One (renamed),OU=Moved,DC=lab,DC=example", source_anchor=OURS.source_anchor,
                      error_type="AttributeValueMustBeUnique", error_literal="proxy address in use"),
    ]  # fmt: skip
    with pytest.raises(NeedsHuman, match="AttributeValueMustBeUnique") as info:
        wait_for_link(engine.run, engine, ours=OURS, check=engine.check, deadline=engine.deadline(600))
    assert info.value.exit_code == 6
    assert "Room One (renamed)" in str(info.value)  # the DN the engine reports now
    assert info.value.hint is not None and "remove the duplicate value" in info.value.hint
    assert engine.cycles == 1  # reported after the first cycle, not at --timeout


def test_errors_of_older_runs_and_other_objects_are_ignored() -> None:
    engine = FakeEngine(linked_after=1)
    engine.runs = [
        m.RunResult(run_history_id="old", connector_name="AAD", run_profile_name="Export", result="x",
                    export_errors=[m.ExportError(source_anchor="abc=", error_type="InvalidHardMatch")]),
    ]  # fmt: skip
    engine.errors_next = [m.ExportError(source_anchor="zzz=", error_type="AttributeValueMustBeUnique")]
    assert (
        wait_for_link(engine.run, engine, ours=OURS, check=engine.check, deadline=engine.deadline(60))
        == "linked"
    )
    assert engine.cycles == 1


def test_timeout_when_the_link_never_shows() -> None:
    engine = FakeEngine(cycle=1.0, linked_after=None)
    with pytest.raises(WaitTimeout) as info:
        wait_for_link(engine.run, engine, ours=OURS, check=engine.check, deadline=engine.deadline(5))
    assert info.value.exit_code == 7
    assert engine.cycles >= 2


def test_wait_until_idle_times_out() -> None:
    engine = FakeEngine(cycle=100.0)
    engine.running_until = 100.0
    with pytest.raises(WaitTimeout):
        wait_until_idle(engine, engine.deadline(3))
    assert engine.now <= 3.0 + MAX_POLL
