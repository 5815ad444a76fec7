"""`pswrap resume` of an interrupted `mailbox apply`: the process is killed after its first change, and
resume finishes the same operation from the spec it recorded, sending no change twice."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from typing import Any

from tests.e2e.conftest import Ran, Spawned, by, journal_step_running


def test_an_apply_killed_after_its_first_change_is_finished_by_resume(
    spawn: Callable[..., Spawned],
    cli: Callable[..., Ran],
    world: Callable[[], dict[str, Any]],
    tmp_path: Any,
) -> None:
    made = cli("mailbox", "create", "Resume Room", "--alias", "resroom", "--yes")
    assert made.code == 0, made.err
    # Exchange Online's calendar setting is written first, then AD's display name (killed while it runs).
    spec = {"alias": "resroom", "display_name": "Resumed Room", "calendar": {"booking_window_days": 33}}
    file = tmp_path / "resroom.json"
    file.write_text(json.dumps(spec))
    proc = spawn(
        "mailbox", "apply", str(file), "--output", "json",
        extra={"PSWRAP_LAB_FAULTS": "delay:ad/set-resource-attributes=30"},
    )  # fmt: skip
    op = journal_step_running("ad/set-resource-attributes", proc)
    proc.proc.send_signal(signal.SIGKILL)
    proc.proc.wait(10)
    w = world()
    assert by(w["ad"]["users"], "sam_account_name", "resroom")[0]["display_name"] != "Resumed Room"
    shown = cli("ops", "show", op, "--output", "json").json()
    assert shown["kind"] == "mailbox.apply"

    ran = cli("resume", op, "--output", "json")
    assert ran.code == 0, ran.err
    out = ran.json()
    assert (out["operation"], out["status"], out["changed"]) == (op, "completed", True), out
    assert [(c["field"], c["where"]) for c in out["changes"]] == [("display_name", "ad")]
    w = world()
    assert by(w["ad"]["users"], "sam_account_name", "resroom")[0]["display_name"] == "Resumed Room"

    from pswrap.journal import Journal

    steps = [(r.step_id, r.status) for r in Journal().steps(op)]
    changing = [s for s, _ in steps if s in ("exo/set-calendar-processing", "ad/set-resource-attributes")]
    # The calendar change of the first run is not made again; AD's display name, killed before it
    # was made, is made once by resume.
    assert changing.count("exo/set-calendar-processing") == 1, steps
    assert [st for s, st in steps if s == "ad/set-resource-attributes"][-1] == "done", steps
    assert sum(1 for s, st in steps if s == "ad/set-resource-attributes" and st == "done") == 1, steps
    assert cli("ops", "show", op, "--output", "json").json()["status"] == "completed"

    again = cli("mailbox", "apply", str(file), "--output", "json")
    assert (again.code, again.json()["changed"]) == (0, False)
