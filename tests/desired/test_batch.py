"""Issue #15: `pswrap mailbox apply FILE` with many mailboxes against the embedded lab.

One lab world for the module (tests/desired/conftest.py): each test uses its own aliases.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Ran

Run = Callable[..., Ran]


def _csv(path: Path, rows: list[str]) -> str:
    header = "alias,name,type,capacity,calendar.automate_processing,calendar.booking_window_days,"
    header += "calendar.resource_delegates"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return str(path)


def _jsonl(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _manual_cycles(world: dict[str, Any]) -> int:
    return sum(1 for c in world["sync"].get("cycle_history", []) if c["manual"])


def test_good_rows_complete_and_bad_rows_fail_alone(
    run: Run, world: Callable[[], dict[str, Any]], tmp_path: Path
) -> None:
    spec = _csv(
        tmp_path / "rooms.csv",
        [
            "gb1,Good Room 1,room,10,AutoAccept,90,",
            "gb2,Bad Capacity,room,many,AutoAccept,90,",
            "gb3,Good Room 3,room,12,AutoAccept,120,",
            "gb4,Unknown Delegate,room,4,AutoAccept,30,nobody-such@lab.example",
            "gb1,Same Alias Again,room,2,AutoAccept,10,",
        ],
    )
    ran = run("mailbox", "apply", spec, "--yes", "-o", "json")
    doc = ran.json()
    assert [i["alias"] for i in doc["items"]] == ["gb1", "gb2", "gb3", "gb4", "gb1"]
    statuses = [i["status"] for i in doc["items"]]
    assert statuses == ["completed", "refused", "completed", "refused", "refused"]
    errors = [i["error"]["message"] for i in doc["items"] if i.get("error")]
    assert "capacity" in errors[0]
    assert "nobody-such@lab.example" in errors[1]
    assert "declared twice" in errors[2]
    assert doc["summary"] == {
        "total": 5, "completed": 2, "unchanged": 0, "pending_sync": 0, "failed": 0, "refused": 3,
    }  # fmt: skip
    assert ran.code == 2  # the most severe item: input errors only
    aliases = [m["alias"] for m in world()["exo"]["mailboxes"]]
    assert aliases.count("gb1") == 1 and aliases.count("gb3") == 1
    assert "gb2" not in aliases and "gb4" not in aliases
    # the same file again converges: the good rows are unchanged, the bad ones still refused alone
    again = run("mailbox", "apply", spec, "--yes", "-o", "json").json()
    assert [i["status"] for i in again["items"]] == [
        "unchanged",
        "refused",
        "unchanged",
        "refused",
        "refused",
    ]


def test_one_sync_cycle_links_every_new_mailbox_and_jsonl_shape(
    run: Run, world: Callable[[], dict[str, Any]], tmp_path: Path, lab_env: Path
) -> None:
    before = _manual_cycles(world())
    spec = _csv(
        tmp_path / "rooms.csv", [f"oc{n},One Cycle {n},room,{n},AutoAccept,{30 + n}," for n in range(5)]
    )
    ran = run("mailbox", "apply", spec, "--yes", "-o", "jsonl", "--parallel", "3")
    assert ran.code == 0, ran.err
    lines = _jsonl(ran.out)
    assert len(lines) == 6
    # no terminal: no progress display on stderr (only the lab's notice)
    assert [line for line in ran.err.splitlines() if "embedded lab" not in line] == []
    items, last = lines[:-1], lines[-1]
    assert set(last) == {"summary", "operation"}
    assert last["summary"] == {
        "total": 5, "completed": 5, "unchanged": 0, "pending_sync": 0, "failed": 0, "refused": 0,
    }  # fmt: skip
    for item in items:
        assert {"alias", "operation", "status", "changed", "changes", "drift", "mailbox"} <= set(item)
        assert item["status"] == "completed" and item["changed"] is True
        link = next(c for c in item["changes"] if c["field"] == "link")
        assert link == {"field": "link", "from": False, "to": True, "where": "sync"}
        assert item["cloud_user"]["on_premises_sync_enabled"] is True
        # checked in bulk after the cycle (batch_link): both anchors agree, the mailbox read back, no drift
        assert item["cloud_user"]["on_premises_immutable_id"] == item["immutable_id"]
        assert item["mailbox"]["alias"] == item["alias"] and item["drift"] == []
    assert sorted(i["alias"] for i in items) == [f"oc{n}" for n in range(5)]
    # each mailbox's create operation is completed in the journal (resume has nothing left to do)
    creates = _journal_rows(
        lab_env / "state",
        "SELECT identity, status FROM operations WHERE kind = 'mailbox.create' AND identity LIKE 'oc%'",
    )
    assert sorted(creates) == [(f"oc{n}|oc{n}", "completed") for n in range(5)]
    # the lab's cycle history: exactly one cycle started by pswrap for the five accounts
    assert _manual_cycles(world()) == before + 1
    # no-op re-apply: every item unchanged, no cycle
    noop = _jsonl(run("mailbox", "apply", spec, "--yes", "-o", "jsonl").out)
    assert [i["status"] for i in noop[:-1]] == ["unchanged"] * 5
    assert _manual_cycles(world()) == before + 1


def test_throttling_slows_the_batch_and_everything_completes(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pswrap.lab import latency

    monkeypatch.setenv("PSWRAP_LAB_LATENCY", "realistic")
    monkeypatch.setenv("PSWRAP_LAB_LATENCY_SCALE", "0.05")
    monkeypatch.setenv("PSWRAP_LAB_BUDGET", "exo=1,graph=1")
    thrown = dict(latency.throttled_count)
    spec = _csv(
        tmp_path / "rooms.csv", [f"th{n},Throttled {n},room,{n},AutoAccept,{40 + n}," for n in range(4)]
    )
    ran = run("mailbox", "apply", spec, "--yes", "-o", "json", "--parallel", "4")
    assert ran.code == 0, ran.err
    assert ran.json()["summary"]["completed"] == 4
    assert sum(latency.throttled_count.values()) > sum(thrown.values())  # the lab did throttle


def _journal_rows(state: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    try:
        with sqlite3.connect(state / "journal.sqlite3") as db:
            return list(db.execute(sql, args).fetchall())
    except sqlite3.OperationalError:  # the journal's tables do not exist yet
        return [(0,)]


def test_killed_batch_resumes_without_duplicates(
    run: Run, world: Callable[[], dict[str, Any]], lab_env: Path, tmp_path: Path
) -> None:
    state = lab_env / "state"
    aliases = [f"kr{n}" for n in range(4)]
    spec = _csv(tmp_path / "rooms.csv", [f"{a},Kill Resume {a},room,5,AutoAccept,50," for a in aliases])
    env = {**os.environ, "PSWRAP_LAB_FAULTS": "delay:ad/new-user=30"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pswrap", "mailbox", "apply", spec, "--yes", "--parallel", "2"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(600):  # until an account's creation is under way (its step started), at most 60 s
            started = _journal_rows(
                state,
                "SELECT count(*) FROM steps s JOIN operations o ON o.id = s.op_id "
                "WHERE s.step_id = 'ad/new-user' AND o.identity LIKE 'kr%'",
            )
            if started[0][0] >= 1:
                break
            time.sleep(0.1)
        else:
            pytest.fail("the batch never reached ad/new-user")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    batch = _journal_rows(
        state, "SELECT id FROM operations WHERE kind = 'mailbox.batch' ORDER BY created DESC"
    )
    assert batch, "the batch was journaled before its first change"
    resumed = run("resume", batch[0][0], "-o", "json")
    assert resumed.code == 0, resumed.err
    doc = resumed.json()
    assert doc["operation"] == batch[0][0]
    assert {i["status"] for i in doc["items"]} <= {"completed", "unchanged"}
    w = world()
    for alias in aliases:
        assert [m["alias"] for m in w["exo"]["mailboxes"]].count(alias) == 1
        assert [u["mail_nickname"] for u in w["ad"]["users"]].count(alias) == 1
        synced = [u for u in w["cloud"]["users"] if u.get("mail_nickname") == alias]
        assert len(synced) <= 1
    # nothing done twice: each mailbox was created by exactly one completed exo/new-mailbox step
    done = _journal_rows(
        state,
        "SELECT o.identity FROM steps s JOIN operations o ON o.id = s.op_id "
        "WHERE s.step_id = 'exo/new-mailbox' AND s.status = 'done'",
    )
    created = [row[0].split("|")[0] for row in done if row[0].split("|")[0] in aliases]
    assert sorted(created) == aliases


def test_a_mailbox_the_cloud_will_not_match_fails_alone(
    run: Run, world: Callable[[], dict[str, Any]], tmp_path: Path
) -> None:
    """Created with --no-wait (pending), then one mailbox's cloud user gets a role, so Entra ID would
    refuse its hard match (MC1262584). Resuming the batch: only that mailbox fails (exit 6, named, why);
    the others link in the batch's one cycle. A bad row of the same file is refused alone (exit 2), and
    the batch's exit code is the most severe item's: 6 before 2."""
    aliases = ["ee0", "ee1", "ee2"]
    rows = [f"{a},Export Error {a},room,3,AutoAccept,20," for a in aliases]
    spec = _csv(tmp_path / "rooms.csv", [*rows, "ee3,Export Error ee3,room,three,AutoAccept,20,"])
    first = run("mailbox", "apply", spec, "--yes", "--no-wait", "-o", "json")
    assert first.code == 2, first.err
    doc = first.json()
    assert doc["summary"]["pending_sync"] == 3 and doc["summary"]["refused"] == 1
    w = world()
    mailbox = next(m for m in w["exo"]["mailboxes"] if m["alias"] == "ee1")
    index = next(
        i for i, u in enumerate(w["cloud"]["users"]) if u["id"] == mailbox["external_directory_object_id"]
    )
    role = json.dumps([{"role": "Helpdesk Administrator", "directory_scope_id": "/"}])
    assert run("lab", "set", f"cloud.users.{index}.role_assignments={role}").code == 0
    before = _manual_cycles(world())
    resumed = run("resume", doc["operation"], "-o", "json")
    assert resumed.code == 6, resumed.err
    items = {i["alias"]: i for i in resumed.json()["items"]}
    assert items["ee0"]["status"] == "completed" and items["ee2"]["status"] == "completed"
    assert items["ee1"]["status"] == "failed"
    assert "InvalidHardMatch" in items["ee1"]["error"]["message"]
    assert "ee1@lab.example" in items["ee1"]["error"]["message"]
    assert items["ee1"]["error"]["exit_code"] == 6
    assert items["ee3"]["status"] == "refused" and items["ee3"]["error"]["exit_code"] == 2
    assert resumed.json()["summary"]["failed"] == 1 and resumed.json()["summary"]["completed"] == 2
    assert _manual_cycles(world()) == before + 1


def test_after_the_cycle_the_links_are_read_in_bulk_not_per_mailbox(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The create workflow reads each mailbox's facts once (its plan); after the one cycle the batch reads
    the synced users, the accounts and the mailboxes once for all (batch_link), and the converge step does
    not read a mailbox it just created again before writing its calendar (the write is read back)."""
    from pswrap.lab import latency

    monkeypatch.setenv("PSWRAP_LAB_LATENCY", "realistic")
    monkeypatch.setenv("PSWRAP_LAB_LATENCY_SCALE", "0.001")
    latency.spent.clear()
    spec = _csv(tmp_path / "rooms.csv", [f"bk{n},Bulk {n},room,{n},AutoAccept,{60 + n}," for n in range(4)])
    ran = run("mailbox", "apply", spec, "--yes", "-o", "json", "--parallel", "2")
    assert ran.code == 0, ran.err
    assert ran.json()["summary"]["completed"] == 4

    def calls(step_id: str) -> int:
        return round(latency.spent.get(step_id, 0.0) / latency.latency(step_id))

    assert calls("exo/find-recipients") == 4  # the plan of each create, not again after the cycle
    assert calls("exo/find-mailbox") == 4
    assert calls("exo/get-calendar-processing") == 4  # the read-back of each calendar write
    assert calls("graph/get-users") == 1
    assert calls("ad/list-users") == 1


def test_sessions_the_server_refuses_shells_for_are_let_go_and_the_batch_completes(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """--parallel 8 wants 32 shells (4 needs on one server) while the lab enforces a quota of 10 shells
    ([MS-WSMV] 3.1.4.5.2.1 wsman:QuotaLimit): one warning names the default quota before anything opens,
    the refused sessions are let go, and every mailbox completes on the sessions the server granted."""
    from pswrap.lab.server import MAX_SHELLS_ENV

    monkeypatch.setenv(MAX_SHELLS_ENV, "10")
    caplog.set_level("WARNING", logger="pswrap")
    aliases = [f"qt{n}" for n in range(8)]
    spec = _csv(tmp_path / "rooms.csv", [f"{a},Quota {a},room,4,AutoAccept,70," for a in aliases])
    ran = run("mailbox", "apply", spec, "--yes", "-o", "json", "--parallel", "8")
    assert ran.code == 0, ran.err
    assert ran.json()["summary"]["completed"] == 8
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    over = [w for w in warnings if w.startswith("--parallel 8 opens 32 shells")]
    assert len(over) == 1 and "MaxShellsPerUser" in over[0] and "25 per user" in over[0]
    assert any("refused" in w and "shell quota" in w for w in warnings)
