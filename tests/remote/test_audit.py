"""The audit log (issue #12 section 6): one JSON line per change, secrets masked, 0600, append-only."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from pswrap import audit
from pswrap import errors as e
from pswrap.remote.session import open_session
from pswrap.workflows.steps_run import JournaledRunner
from tests.remote.conftest import set_faults
from tests.remote.lab_inputs import mailbox_params, new_user_params


def lines(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "state" / "audit.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_each_change_is_one_line_with_its_cmdlet_and_masked_secret(
    tmp_path: Path, lab_factory: Any, ad_credential_target: Any
) -> None:
    secret = "Ad-Audit-Secret-31415"
    target = ad_credential_target(lab_factory(), secret)
    old = os.umask(0)
    try:
        with open_session(target) as s:
            runner = JournaledRunner(s, None, "op-1")
            runner("ad/find-user", params={"Value": "nobody"})  # a read: not audited
            runner("ad/new-user", params=new_user_params("audit1"))
    finally:
        os.umask(old)
    path = tmp_path / "state" / "audit.jsonl"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    [line] = lines(tmp_path)
    assert line["step"] == "ad/new-user" and line["cmdlet"] == "New-ADUser"
    assert line["operation"] == "op-1" and line["target"] == target.name
    assert line["outcome"] == "applied" and line["error"] is None
    assert line["parameters"]["SamAccountName"] == "audit1"
    assert line["parameters"]["CredentialPassword"] == "********"
    assert secret not in path.read_text()
    assert set(line) == {"time", "operation", "target", "step", "cmdlet", "parameters", "outcome", "error",
                         "request_id"}  # fmt: skip


def test_failed_and_read_back_changes_are_audited_and_lines_only_appended(
    tmp_path: Path, lab_factory: Any, lab_target: Any
) -> None:
    lab = lab_factory()
    with open_session(lab_target(lab)) as s:
        runner = JournaledRunner(s, None, None)
        runner("exo/find-mailbox", params={"Identity": "warm"})
        set_faults(lab, "drop:Receive@1")
        runner("exo/new-mailbox", choices={"type": "room"}, params=mailbox_params("audit2"))
        first = (tmp_path / "state" / "audit.jsonl").read_text()
        set_faults(lab)
        with pytest.raises(e.AlreadyExists):  # the same mailbox again: refused, audited as failed
            runner("exo/new-mailbox", choices={"type": "room"}, params=mailbox_params("audit2"))
    outcomes = [(x["step"], x["outcome"]) for x in lines(tmp_path)]
    assert outcomes == [("exo/new-mailbox", "applied (read back)"), ("exo/new-mailbox", "failed")]
    assert (tmp_path / "state" / "audit.jsonl").read_text().startswith(first)
    assert lines(tmp_path)[1]["cmdlet"] == "New-Mailbox"


def test_request_id_taken_from_the_reply() -> None:
    error = RuntimeError(
        "Status: 400 (BadRequest)\nHeaders:\nrequest-id : 2f5e3c1a-1b2c-4d5e-8f90-1234567890ab"
    )
    assert audit.request_id_in(error) == "2f5e3c1a-1b2c-4d5e-8f90-1234567890ab"
    assert audit.request_id_in("no id here") is None
