"""The sync wait on a small fake engine with a fake clock: poll cadence, busy engine, export errors
for our object (and not for others or for old runs), timeout."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from pswrap.errors import NeedsHuman, SyncBusy, WaitTimeout
from pswrap.immutableid import connector_space_dn
from pswrap.results import models as m
from pswrap.workflows.sync_stray import is_placeholder_upn
from pswrap.workflows.sync_wait import (
    MAX_POLL,
    Deadline,
    ObjectOfInterest,
    wait_for_cloud_user,
    wait_for_link,
    wait_until_idle,
)


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
    suspended: bool = False
    start_result: str = "Success"
    synced_users: list[m.CloudUser] = field(default_factory=list)
    """What graph/find-users by ImmutableId answers."""
    visible_at: float = 0.0
    """When graph/get-user first finds the user (replication delay)."""

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
                sync_cycle_enabled=True,
                sync_cycle_in_progress=self.running_until is not None,
                scheduler_suspended=self.suspended,
            )
        if step_id == "sync/start-cycle":
            if self.busy_once or self.running_until is not None:
                self.busy_once = False
                self.running_until = self.running_until or self.now + self.cycle
                raise SyncBusy("Sync is already running. Cannot start a new run till this one completes.")
            if self.start_result != "Success":
                return m.CycleStarted(result=self.start_result)
            self.running_until = self.now + self.cycle
            return m.CycleStarted(result="Success")
        if step_id == "sync/get-run-results":
            return m.RunResults(runs=self.runs)
        if step_id == "graph/find-users":
            return m.CloudUsers(users=self.synced_users)
        if step_id == "graph/get-user":
            if self.now < self.visible_at:
                return m.CloudUserLookup(found=False)
            user = m.CloudUser(id=str((params or {})["UserId"]), user_principal_name="room1@lab.example")
            return m.CloudUserLookup(found=True, user=user)
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


def test_an_entra_connector_error_is_found_by_its_connector_space_dn() -> None:
    """The Entra ID connector names the object CN={hex of the ImmutableId's ASCII}, never by its AD DN
    (Learn "Understanding errors during Microsoft Entra synchronization", "Error example"): pswrap finds
    its account's error by that DN and names the account by its AD DN in the message."""
    ours = ObjectOfInterest("CN=Room 1,OU=Resources,DC=lab,DC=example", "qNRVh6UKwUWrfogO6u68FA==")
    engine = FakeEngine(linked_after=None)
    engine.errors_next = [
        m.ExportError(dn=connector_space_dn("x4V0iaeB60KXxjftcwd7Hw=="), error_type="InvalidSoftMatch"),
        m.ExportError(
            dn="CN={714E52566836554B77555772666F674F3675363846413D3D}",
            cs_guid="{12345678-DF83-E611-8CE8-00505689546C}",
            error_type="InvalidHardMatch",
        ),
    ]
    with pytest.raises(NeedsHuman) as info:
        wait_for_link(
            engine.run, engine, ours=ours, check=engine.check, deadline=engine.deadline(600),
            what="the account room1",
        )  # fmt: skip
    message = str(info.value)
    assert "InvalidHardMatch" in message and "InvalidSoftMatch" not in message
    assert "the account room1 (CN=Room 1,OU=Resources,DC=lab,DC=example)" in message
    assert "connector-space object {12345678-DF83-E611-8CE8-00505689546C}" in message
    assert "MC1262584" in (info.value.hint or "")  # role holders are the other documented cause
    assert engine.now < 5


def test_a_suspended_scheduler_stops_the_wait_before_any_cycle() -> None:
    """"Entra Connect Sync: Scheduler": an upgrade or an open wizard suspends the scheduler; a manual cycle
    is then undocumented, so pswrap stops (exit 6) with the fix instead of waiting for a cycle."""
    engine = FakeEngine(suspended=True, linked_after=1)
    with pytest.raises(NeedsHuman, match="suspended") as info:
        wait_for_link(engine.run, engine, ours=OURS, check=engine.check, deadline=engine.deadline(600))
    assert "close the wizard" in (info.value.hint or "") and engine.cycles == 0 and engine.now == 0


def test_a_cycle_that_did_not_start_is_not_waited_for() -> None:
    engine = FakeEngine(start_result="Failure", linked_after=1)
    with pytest.raises(NeedsHuman, match="did not start a sync cycle"):
        wait_for_link(engine.run, engine, ours=OURS, check=engine.check, deadline=engine.deadline(600))
    assert engine.now == 0


def test_a_new_cloud_object_instead_of_the_link_stops_the_wait() -> None:
    """Duplicate attribute resiliency creates a new object rather than failing: a synced user with our
    anchor that is not the mailbox's user is reported after the cycle (exit 6), not waited out."""
    ours = ObjectOfInterest("CN=Room 1,OU=Resources,DC=lab,DC=example", "abc=", cloud_user_id="mailbox-user",
                            account="room1", upn="room1@lab.example")  # fmt: skip
    engine = FakeEngine(linked_after=None)
    engine.synced_users = [
        m.CloudUser(
            id="stray", user_principal_name="room1+4321@labtenant.onmicrosoft.com",
            on_premises_sync_enabled=True, on_premises_immutable_id="abc=",
            on_premises_provisioning_errors=[
                m.ProvisioningError(category="PropertyConflict", property_causing_error="UserPrincipalName",
                                    value="room1@lab.example"),
            ],
        )
    ]  # fmt: skip
    with pytest.raises(NeedsHuman) as info:
        wait_for_link(engine.run, engine, ours=ours, check=engine.check, deadline=engine.deadline(600),
                      what="the account room1")  # fmt: skip
    message = str(info.value)
    assert "NEW cloud user room1+4321@labtenant.onmicrosoft.com" in message and "placeholder" in message
    assert "UserPrincipalName room1@lab.example" in message and "ImmutableId abc=" in message
    assert "Remove-MgDirectoryDeletedItem -DirectoryObjectId stray" in (info.value.hint or "")
    assert engine.cycles == 1


@pytest.mark.parametrize(
    ("upn", "wanted", "expected"),
    [
        ("room1+1234@contoso.onmicrosoft.com", "room1@contoso.com", True),  # the page's format
        ("User1234@contoso.onmicrosoft.com", "user@contoso.com", True),  # the page's own example
        ("User1234@contoso.onmicrosoft.com", None, False),  # without the wanted UPN only `+` is certain
        ("room1@contoso.onmicrosoft.com", "room1@contoso.com", False),
        ("room1+1234@contoso.com", "room1@contoso.com", False),
        ("other+1234@contoso.onmicrosoft.com", "room1@contoso.com", False),
    ],
)
def test_placeholder_upns_in_both_published_forms(upn: str, wanted: str | None, expected: bool) -> None:
    assert is_placeholder_upn(upn, wanted) is expected


def test_waits_for_the_new_mailbox_user_to_reach_entra_id() -> None:
    engine = FakeEngine(visible_at=3.0)
    seen: list[str] = []
    user = wait_for_cloud_user(engine, "u1", engine.deadline(60), seen.append)
    assert user.id == "u1" and 3.0 <= engine.now < 3.0 + MAX_POLL + 1e-9
    assert len(seen) == 1 and "replication delay" in seen[0]
    late = FakeEngine(visible_at=100.0)
    with pytest.raises(WaitTimeout):
        wait_for_cloud_user(late, "u1", late.deadline(5))


def test_a_link_with_quarantined_values_is_reported_as_a_warning() -> None:
    """Resiliency may keep a value off the linked user (another object holds it): the link stands, and the
    admin is told which value is missing."""
    engine = FakeEngine()
    linked = m.CloudUser(
        id="u1", user_principal_name="room1@lab.example", on_premises_sync_enabled=True,
        on_premises_provisioning_errors=[
            m.ProvisioningError(property_causing_error="ProxyAddress", value="smtp:shared@lab.example")
        ],
    )  # fmt: skip
    seen: list[str] = []
    got = wait_for_link(engine.run, engine, ours=OURS, check=lambda: linked if engine.cycles else None,
                        deadline=engine.deadline(60), progress=seen.append)  # fmt: skip
    assert got is linked
    assert any("quarantined ProxyAddress smtp:shared@lab.example" in line for line in seen)
