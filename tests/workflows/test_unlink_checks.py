"""The judgements `mailbox unlink` and `pswrap doctor` share (pswrap.workflows.checks.unlink)."""

from __future__ import annotations

from pswrap.workflows.checks.unlink import SOA_PERMISSION, judge_soa_engine, judge_soa_permission


def test_engine_version() -> None:
    assert judge_soa_engine("2.5.76.0").status == "pass"
    too_old = judge_soa_engine("2.5.3.0")
    assert too_old.status == "fail" and "2.5.76.0" in too_old.found
    assert judge_soa_engine("2.5.3.0", severity="warn").status == "warn"
    assert judge_soa_engine(None).status == "warn"


def test_permission() -> None:
    assert judge_soa_permission([SOA_PERMISSION.lower(), "User.Read.All"]).status == "pass"
    missing = judge_soa_permission(["User.ReadWrite.All"])
    assert missing.status == "fail" and missing.fix is not None and SOA_PERMISSION in missing.fix
    assert judge_soa_permission(None).status == "fail"
