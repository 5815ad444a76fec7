"""Exit codes and diagnostics tell the truth (issue #12 section 3): what the transport says becomes the
right exit code with its cause in the message, in every command."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from pswrap import errors as e
from pswrap.remote import classify
from pswrap.remote.session import open_session
from tests.remote.conftest import request_counts


def test_winrm_access_denied_is_an_auth_failure_with_the_fix(lab_factory: Any, lab_target: Any) -> None:
    lab = lab_factory(faults=["access-denied:Create@1+"])
    with open_session(lab_target(lab)) as s, pytest.raises(e.AuthenticationError) as info:
        s.step("sync/get-settings")
    assert info.value.exit_code == e.EXIT_AUTH == 3
    assert "Access is denied" in str(info.value)
    assert info.value.hint and "Remote Management Users" in info.value.hint
    assert s.retries == {}


@pytest.mark.parametrize("code", [5, 2147942405])
def test_access_denied_in_both_code_forms(code: int) -> None:
    from pypsrp.exceptions import WSManFaultError

    fault = WSManFaultError(code, "host", "Access is denied.", None, None, None)
    assert isinstance(classify.classify_transport(fault, where="w", what="x"), e.AuthenticationError)


def test_shell_quota_is_waited_out(lab_factory: Any, lab_target: Any) -> None:
    lab = lab_factory(faults=["quota@1"])
    with open_session(lab_target(lab)) as s:
        s.step("sync/get-settings")
        assert s.retries == {"sync/get-settings": 1}
    assert lab.faults.fired == {"quota@1": 1}


def test_an_enforced_shell_quota_refuses_the_shell_beyond_it_and_open_shells_says_so(
    lab_factory: Any, lab_target: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PSWRAP_LAB_MAX_SHELLS_PER_USER=2: two shells open, the third Create gets wsman:QuotaLimit at once
    (open_shells does not retry), marked shell_quota; closing a session frees its shells."""
    from pswrap.lab.server import MAX_SHELLS_ENV

    monkeypatch.setenv(MAX_SHELLS_ENV, "2")
    lab = lab_factory()
    first = open_session(lab_target(lab))
    first.open_shells(("exo", "graph"))
    with open_session(lab_target(lab)) as second:
        with pytest.raises(e.ConnectionFailed, match="quota is used up") as info:
            second.open_shells(("exo",))
        assert info.value.shell_quota and "maximum number of 2 concurrent shells" in info.value.message
        first.close()
        second.open_shells(("exo", "graph"))  # the first session's shells are free again
        assert sorted(second.opened_needs()) == ["exo", "graph"]


def test_shell_quota_message_names_the_setting() -> None:
    from pypsrp.exceptions import WSManFaultError

    reason = "This user is allowed a maximum number of 25 concurrent shells, which has been exceeded."
    err = classify.classify_transport(
        WSManFaultError(0x803381A5, "host", reason, None, None, None), where="w", what="x"
    )
    assert err.transient and err.hint and "MaxShellsPerUser" in err.hint


def test_name_that_does_not_resolve_is_tried_once(lab_target: Any, lab_factory: Any) -> None:
    lab = lab_factory()
    target = lab_target(lab, host="no-such-host.invalid")
    with open_session(target) as s, pytest.raises(e.ConnectionFailed, match="name does not resolve") as info:
        s.step("sync/get-settings")
    assert info.value.exit_code == e.EXIT_CONNECTION and s.retries == {}


def test_refused_connection_is_tried_a_bounded_number_of_times(lab_target: Any, lab_factory: Any) -> None:
    lab = lab_factory()
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with open_session(lab_target(lab, port=port)) as s, pytest.raises(e.ConnectionFailed, match="refused"):
        s.step("sync/get-settings")
    assert s.retries == {"sync/get-settings": classify.REFUSED_ATTEMPTS - 1}
    assert request_counts(lab).get("Create", 0) == 0


@pytest.mark.parametrize(("synced", "needle"), [(True, "AD account"), (False, "Exchange Online")])
def test_graph_refusal_hint_is_chosen_by_the_users_sync_state(
    lab_factory: Any, lab_target: Any, synced: bool, needle: str
) -> None:
    from pswrap.workflows.steps_run import JournaledRunner
    from tests.remote.lab_inputs import mailbox_params

    lab = lab_factory()
    with open_session(lab_target(lab)) as s:
        box = s.step("exo/new-mailbox", choices={"type": "room"}, params=mailbox_params("mast1"))
        with lab.store.transaction() as world:
            user = next(u for u in world["cloud"]["users"] if u["id"] == box.external_directory_object_id)
            user["on_premises_sync_enabled" if synced else "converted_from_sync"] = True
        runner = JournaledRunner(s, None, None)
        with pytest.raises(e.MasteredElsewhere) as info:
            runner("graph/set-user", params={"UserId": box.external_directory_object_id,
                                             "UserPrincipalName": "other@lab.example"})  # fmt: skip
    assert info.value.exit_code == e.EXIT_NEEDS_HUMAN
    assert info.value.hint and needle in info.value.hint
