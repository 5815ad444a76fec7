"""Batch pieces without a lab: the exit-code order, rows refused alone, the throttling gate."""

from __future__ import annotations

from typing import Any

import pytest

from pswrap.desired.batch import worst_exit
from pswrap.desired.batch_gate import Gate, GatedSession, SharedReads, retry_after
from pswrap.desired.batch_load import rows_of
from pswrap.errors import Throttled


@pytest.mark.parametrize(
    ("codes", "worst"),
    [([0, 2, 7], 7), ([2, 3], 3), ([7, 4], 4), ([4, 5], 5), ([5, 6, 0], 6), ([0, 0], 0), ([], 0)],
)
def test_the_most_severe_item_decides_the_exit_code(codes: list[int], worst: int) -> None:
    assert worst_exit(codes) == worst


def test_rows_are_validated_alone() -> None:
    rows = rows_of(
        [{"alias": "a"}, {"alias": "b", "capacity": "x"}, "not a mapping", {"alias": "A"}], "f.yaml"
    )
    assert [r.spec is not None for r in rows] == [True, False, False, False]
    assert rows[1].error is not None and "capacity" in str(rows[1].error)
    assert rows[2].error is not None and rows[2].alias == "#2"
    assert rows[3].error is not None and "declared twice" in str(rows[3].error)


class _Flaky:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    def step(self, step_id: str, *, choices: Any = None, params: Any = None) -> Any:
        self.calls += 1
        if self.calls <= self.failures:
            raise Throttled("HttpStatusCode=429 Too many requests. Retry-After: 3")
        return step_id

    def script(self, step_id: str, *, choices: Any = None, params: Any = None) -> Any:
        return step_id


def test_a_throttled_step_pauses_the_batch_and_is_sent_again() -> None:
    slept: list[float] = []
    gate = Gate()

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        gate.open_at = 0.0  # the pause has passed

    gate._sleep = sleep
    flaky = _Flaky(failures=2)
    assert GatedSession(flaky, gate).step("exo/new-mailbox") == "exo/new-mailbox"
    assert flaky.calls == 3
    assert gate.pauses == 2  # each throttling reply closed the gate for every worker
    assert slept  # and the step waited for it to open
    assert retry_after(Throttled("Retry-After: 3")) == 3.0


def test_shared_reads_are_read_once() -> None:
    flaky = _Flaky(failures=0)
    shared = SharedReads()
    one, two = GatedSession(flaky, Gate(), shared), GatedSession(flaky, Gate(), shared)
    one.step("sync/get-settings")
    two.step("sync/get-settings")
    one.step("sync/get-scheduler")
    two.step("sync/get-scheduler")
    assert flaky.calls == 3  # settings once, the scheduler (which a batch changes) each time


class _Item:
    alias = "room1"

    def to_json(self, *, diff: bool = False) -> dict[str, Any]:
        return {"operation": None, "status": "completed", "changed": True}


def test_the_display_streams_jsonl_items_with_or_without_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pswrap.cli.batch_out import Display

    for terminal in (False, True):
        with Display("jsonl", False, terminal=terminal) as display:
            display.phase("applying", 1)
            display.advance()
            display.finished(_Item())
        out = capsys.readouterr()
        assert out.out.splitlines() == ['{"alias": "room1", "operation": null, "status": "completed", '
                                        '"changed": true}']  # fmt: skip
        if not terminal:
            assert out.err == ""  # nothing of the progress display without a terminal

