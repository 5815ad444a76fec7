"""Which of a step's error records the user sees: a failed pipeline's terminating record (it comes last)
decides the error's class even after non-terminating ones, and a completed pipeline that wrote errors
fails on the first; the others are counted in the message."""

from __future__ import annotations

from typing import Any

import pytest

from pswrap import errors as e
from pswrap.lab.world import LAB_DEFAULTS as D
from pswrap.remote.session import open_session
from tests.remote.conftest import set_faults
from tests.remote.lab_inputs import new_user_params


def test_the_terminating_record_decides_after_non_terminating_ones(lab_factory: Any, lab_target: Any) -> None:
    """New-ADUser writes an error, then fails because the account exists: the step is AlreadyExists (what
    check-then-act relies on), not a generic remote error about the first record."""
    lab = lab_factory()
    with open_session(lab_target(lab)) as s:
        params = new_user_params("dup2")
        s.step("ad/new-user", params=params)
        set_faults(lab, "error:ad/new-user=An earlier non-terminating error@1")
        with pytest.raises(e.AlreadyExists) as info:
            s.step("ad/new-user", params=params)
        assert info.value.message == "The specified account already exists (and 1 more error record(s))"
        assert info.value.fqid is not None and info.value.fqid.startswith("ActiveDirectoryServer:1316")
        assert s.retries == {}


def test_a_completed_pipeline_that_wrote_errors_fails_on_the_first(lab_factory: Any, lab_target: Any) -> None:
    lab = lab_factory(faults=["error:sync/get-settings=The first non-terminating error@1"])
    with open_session(lab_target(lab)) as s:
        with pytest.raises(e.RemoteError) as info:
            s.step("sync/get-settings")
        assert type(info.value) is e.RemoteError
        assert info.value.message == "The first non-terminating error"
        assert info.value.fqid == "PswrapLabInjectedError,sync/get-settings"
        assert s.step("sync/get-settings").anchor_attribute == D.anchor_attribute  # @1: the next run is clean
