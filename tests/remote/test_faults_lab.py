"""Injected faults against the lab: what is retried (and how often), what never is, time limits, reopen."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from pswrap import errors as e
from pswrap.remote.session import open_session
from pswrap.results import models as m
from tests.remote.conftest import LAB_PASSWORD, request_counts, set_faults
from tests.remote.lab_inputs import mailbox_params as mailbox
from tests.remote.lab_inputs import new_user_params


def retry_logs(caplog: Any) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("retrying ")]


@pytest.mark.parametrize("spec", ["http500@1", "drop@1", "http500:Command@1", "drop:Receive@1"])
def test_transport_fault_retried_once_for_an_idempotent_step(
    lab_factory: Any, lab_target: Any, caplog: Any, spec: str
) -> None:
    caplog.set_level(logging.INFO, logger="pswrap.remote")
    lab = lab_factory(faults=[spec])
    with open_session(lab_target(lab)) as s:
        assert isinstance(s.step("sync/get-settings"), m.SyncSettings)
        assert s.retries == {"sync/get-settings": 1}
    assert lab.faults.fired == {spec: 1}
    assert len(retry_logs(caplog)) == 1 and "sync/get-settings" in retry_logs(caplog)[0]


@pytest.mark.parametrize("spec", ["drop:Receive@1", "http500:Command@1", "drop:Command@1"])
def test_fault_in_a_warm_pool_retried_on_a_new_connection(
    lab_factory: Any, lab_target: Any, spec: str
) -> None:
    """After a drop or a 500 the next request authenticates again (NTLM encryption is per connection)."""
    lab = lab_factory()
    with open_session(lab_target(lab)) as s:
        s.step("graph/get-sync-features")
        set_faults(lab, spec)
        assert isinstance(s.step("graph/get-sync-features"), m.SyncFeatures)
        assert s.retries == {"graph/get-sync-features": 1}
        assert request_counts(lab)["Create"] == 1  # the same pool throughout


def test_fault_on_every_request_gives_up_after_the_cap(lab_factory: Any, lab_target: Any) -> None:
    lab = lab_factory(faults=["http500:Command@1+"])
    with open_session(lab_target(lab)) as s:
        with pytest.raises(e.ConnectionFailed) as info:
            s.step("sync/get-settings")
        assert s.retries == {"sync/get-settings": 3}  # PSWRAP_RETRY_ATTEMPTS=4: 1 try + 3 retries
    assert info.value.exit_code == e.EXIT_CONNECTION


def test_non_idempotent_step_not_retried_once_it_may_have_run(lab_factory: Any, lab_target: Any) -> None:
    lab = lab_factory(faults=["http500:Command@2"])  # @1 is exo/connect's Command
    with open_session(lab_target(lab)) as s:
        with pytest.raises(e.ConnectionFailed):
            s.step("exo/new-mailbox", choices={"type": "room"}, params=mailbox("room5"))
        assert s.retries == {}


def test_non_idempotent_step_retried_after_read_back_says_not_applied(
    lab_factory: Any, lab_target: Any
) -> None:
    lab = lab_factory(faults=["http500:Command@2"])
    with open_session(lab_target(lab)) as s:
        reads: list[str] = []

        def verify() -> Any:
            found = s.step("exo/find-mailbox", params={"Identity": "room6"})
            reads.append("read")
            return found.mailbox if found.found else None

        result = s.step("exo/new-mailbox", choices={"type": "room"}, params=mailbox("room6"), verify=verify)
        assert isinstance(result, m.Mailbox) and result.alias == "room6"
        assert reads == ["read"] and s.retries == {"exo/new-mailbox": 1}


def test_read_back_that_finds_the_change_returns_it(lab_factory: Any, lab_target: Any) -> None:
    lab = lab_factory()
    with open_session(lab_target(lab)) as s:
        s.step("exo/find-mailbox", params={"Identity": "warmup"})  # opened and connected
        set_faults(lab, "drop:Receive@1")  # the reply to New-Mailbox is lost; the mailbox exists

        def verify() -> Any:
            found = s.step("exo/find-mailbox", params={"Identity": "room7"})
            return found.mailbox if found.found else None

        result = s.step("exo/new-mailbox", choices={"type": "room"}, params=mailbox("room7"), verify=verify)
        assert isinstance(result, m.Mailbox) and result.alias == "room7"
        assert s.retries == {}  # not created twice


def test_throttled_step_retried(lab_factory: Any, lab_target: Any) -> None:
    lab = lab_factory(faults=["throttle:exo/find-mailbox@1", "throttle:graph/get-user@1"])
    with open_session(lab_target(lab)) as s:
        assert s.step("exo/find-mailbox", params={"Identity": "x"}).found is False
        assert s.step("graph/get-user", params={"UserId": "x@y"}).found is False
        assert s.retries == {"exo/find-mailbox": 1, "graph/get-user": 1}


def test_throttled_create_is_retried_because_the_service_refused_it(
    lab_factory: Any, lab_target: Any
) -> None:
    lab = lab_factory(faults=["throttle:exo/new-mailbox@1"])
    with open_session(lab_target(lab)) as s:
        assert s.step("exo/new-mailbox", choices={"type": "room"}, params=mailbox("room8")).alias == "room8"
        assert s.retries == {"exo/new-mailbox": 1}


def test_sync_busy_retried_only_when_asked(lab_factory: Any, lab_target: Any) -> None:
    lab = lab_factory(faults=["sync-busy:sync/start-cycle@1"])
    with open_session(lab_target(lab)) as s:
        with pytest.raises(e.SyncBusy) as info:
            s.step("sync/start-cycle")
        assert "AAD is busy" in str(info.value) and s.retries == {}
    lab2 = lab_factory(faults=["sync-busy:sync/start-cycle@1"])
    with open_session(lab_target(lab2)) as s:
        assert s.step("sync/start-cycle", retry_busy=True).result == "Success"
        assert s.retries == {"sync/start-cycle": 1}


def test_pool_killed_between_steps_is_reopened_and_reconnected(
    lab_factory: Any, lab_target: Any, caplog: Any
) -> None:
    caplog.set_level(logging.INFO, logger="pswrap.remote")
    lab = lab_factory()
    with open_session(lab_target(lab)) as s:
        assert s.step("exo/find-mailbox", params={"Identity": "x"}).found is False
        set_faults(lab, "kill-pool:Command@1")
        assert s.step("exo/find-mailbox", params={"Identity": "x"}).found is False  # needs EXO connected
        assert s.reopened == 1 and s.retries == {}
    assert lab.faults.fired == {"kill-pool:Command@1": 1}
    assert request_counts(lab)["Create"] == 2
    connects = [r.getMessage() for r in caplog.records if r.getMessage().startswith("connected the exo pool")]
    assert len(connects) == 2


def test_step_time_limit_stops_the_pipeline(lab_factory: Any, lab_target: Any) -> None:
    lab = lab_factory(faults=["delay:sync/get-settings=60@1"])
    with open_session(lab_target(lab)) as s:
        started = time.monotonic()
        with pytest.raises(e.TransportTimeout, match="1 s limit") as info:
            s.step("sync/get-settings", timeout=1)
        # Not a speed test: the step is stopped at its limit instead of running its 60 s; the bound sits
        # far from both, so machine load cannot decide it.
        assert time.monotonic() - started < 30
        assert info.value.exit_code == e.EXIT_CONNECTION and s.retries == {}
        assert request_counts(lab).get("Signal", 0) >= 1  # stopped (Ctrl+C)
        assert isinstance(s.step("sync/get-settings"), m.SyncSettings)  # the pool is still usable


def test_target_step_timeout_setting(lab_factory: Any, lab_target: Any) -> None:
    lab = lab_factory(faults=["delay:sync/get-scheduler=5@1"])
    with open_session(lab_target(lab, step_timeout=1)) as s, pytest.raises(e.TransportTimeout):
        s.step("sync/get-scheduler")


def test_bad_credentials_fail_at_once(
    lab_factory: Any, lab_target: Any, monkeypatch: Any, caplog: Any
) -> None:
    caplog.set_level(logging.INFO, logger="pswrap.remote")
    lab = lab_factory()
    target = lab_target(lab)
    monkeypatch.setenv("LAB_TEST_PASSWORD", "wrong-password")
    with open_session(target) as s:
        with pytest.raises(e.AuthenticationError) as info:
            s.step("sync/get-settings")
        assert s.retries == {} and retry_logs(caplog) == []
    assert info.value.exit_code == e.EXIT_AUTH
    assert request_counts(lab).get("Create", 0) == 0


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("fail:sync/get-settings=Something broke@1", e.RemoteError),
        ("error:sync/get-settings=A non-terminating error@1", e.RemoteError),
    ],
)
def test_error_stream_or_failed_pipeline_fails_the_step(
    lab_factory: Any, lab_target: Any, spec: str, expected: type[e.PswrapError]
) -> None:
    lab = lab_factory(faults=[spec])
    with open_session(lab_target(lab)) as s:
        with pytest.raises(expected) as info:
            s.step("sync/get-settings")
        assert type(info.value) is expected
        assert info.value.step_id == "sync/get-settings" and info.value.target == "labx"
        assert info.value.fqid and info.value.fqid.startswith("PswrapLabInjected")
        assert s.retries == {}


def test_remote_error_classes_from_the_lab(lab_factory: Any, lab_target: Any) -> None:
    lab = lab_factory()
    with open_session(lab_target(lab)) as s:
        params = new_user_params("dup")
        s.step("ad/new-user", params=params)
        with pytest.raises(e.AlreadyExists) as exists:
            s.step("ad/new-user", params=params)
        assert exists.value.fqid and exists.value.fqid.startswith("ActiveDirectoryServer:1316")
        with pytest.raises(e.NotFound):
            s.step("ad/get-anchor", params={"Identity": "00000000-0000-0000-0000-000000000001"})
        s.step("exo/new-mailbox", choices={"type": "room"}, params=mailbox("room9"))
        with pytest.raises(e.Conflict) as conflict:
            s.step(
                "exo/new-mailbox",
                choices={"type": "room"},
                params={**mailbox("room9b"), "PrimarySmtpAddress": mailbox("room9")["PrimarySmtpAddress"]},
            )
        assert conflict.value.exit_code == e.EXIT_NEEDS_HUMAN
        with pytest.raises(e.AlreadyExists, match="already being used"):  # the same name (-Name is unique)
            s.step("exo/new-mailbox", choices={"type": "room"}, params={**mailbox("room9"), "Alias": "room9c",
                   "PrimarySmtpAddress": mailbox("room9c")["PrimarySmtpAddress"]})  # fmt: skip
        assert s.retries == {}


def test_not_connected_and_module_missing_from_real_records(lab_factory: Any, lab_target: Any) -> None:
    """A cloud step in a pool that never connected, and a legacy module the host lacks (run raw)."""
    from pswrap.remote.invoke import Context, run_script
    from pswrap.render.engine import render

    lab = lab_factory()
    with open_session(lab_target(lab)) as s:
        pool = s._pools.get("graph")
        ctx = Context(where="lab", target="labx", need="graph", operation_timeout=2)
        with pytest.raises(e.NotConnected, match="Connect-MgGraph"):
            run_script(pool.pool, render("graph/get-sync-features"), limit=10, ctx=ctx)
        legacy = render("legacy/start-sync", profile="legacy")
        with pytest.raises(e.ModuleMissing, match="DirSync"):
            run_script(pool.pool, legacy, limit=10, ctx=ctx)


def test_missing_module_snapin_and_refused_sign_in_through_the_connect_step(
    lab_factory: Any, lab_target: Any
) -> None:
    """The host lacks the ExchangeOnlineManagement module or the management tools' snap-in, or Entra ID does
    not know the app: the connect step fails, the step is not sent, nothing is retried."""
    lab = lab_factory()
    with lab.store.transaction() as world:
        host = world["host"]
        host["modules"] = [x for x in host["modules"] if x["name"] != "ExchangeOnlineManagement"]
        host["snapins"] = []
    with open_session(lab_target(lab)) as s:
        with pytest.raises(e.ModuleMissing, match="ExchangeOnlineManagement") as module:
            s.step("exo/find-mailbox", params={"Identity": "x"})
        assert module.value.step_id == "exo/connect"
        assert module.value.hint is not None and "install the module on the host" in module.value.hint
        with pytest.raises(e.ModuleMissing, match="snap-in"):
            s.step("hybrid/find-remote-mailbox", params={"Identity": "x"})
        assert s.retries == {}
    with open_session(lab_target(lab, app_id="00000000-0000-0000-0000-00000000dead")) as s:
        with pytest.raises(e.RemoteError, match="AADSTS700016") as sign_in:
            s.step("graph/get-user", params={"UserId": "x@y"})
        assert sign_in.value.hint and "app_id" in sign_in.value.hint and s.retries == {}


def test_https_validated_with_the_lab_ca_and_refused_without(lab_factory: Any, lab_target: Any) -> None:
    lab = lab_factory(https=True)
    with open_session(lab_target(lab)) as s:
        assert isinstance(s.step("sync/get-settings"), m.SyncSettings)
    with open_session(lab_target(lab, ca_bundle=None)) as s:
        with pytest.raises(e.ConnectionFailed, match="certificate could not be verified") as info:
            s.step("sync/get-settings")
        assert info.value.hint and "ca_bundle" in info.value.hint
        assert s.retries == {}
    with open_session(lab_target(lab, ca_bundle=None, cert_validation=False)) as s:
        assert isinstance(s.step("sync/get-settings"), m.SyncSettings)


def test_basic_over_http_works_only_when_allowed(lab_factory: Any, lab_target: Any) -> None:
    lab = lab_factory(auth="basic")
    with open_session(lab_target(lab)) as s:  # the fixture sets allow_basic_over_http for basic/http
        assert isinstance(s.step("sync/get-settings"), m.SyncSettings)
    with pytest.raises(e.ConfigError, match="Basic over plain HTTP"):
        lab_target(lab, allow_basic_over_http=None)


def test_secret_never_in_logs_exceptions_or_output(
    lab_factory: Any, ad_credential_target: Any, caplog: Any, capsys: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    ad_secret = "Ad-Known-Secret-2718"
    target = ad_credential_target(lab_factory(faults=["http500@1"]), ad_secret)
    texts: list[str] = []
    with open_session(target) as s:
        lookup = s.step("ad/find-user", params={"Value": "nobody"})
        texts.append(lookup.model_dump_json())
        texts.append(repr(s.target))
        for failing in ("ad/get-anchor", "ad/find-user"):
            try:
                s.step(failing, params={"Identity": "00000000-0000-0000-0000-000000000001"}
                       if failing == "ad/get-anchor" else {})  # fmt: skip
            except e.PswrapError as exc:
                texts.extend([str(exc), repr(exc), exc.hint or ""])
    assert s.retries == {"ad/get-domain": 1}  # the http500 fault was retried, with DEBUG logging on
    out = capsys.readouterr()
    everything = "\n".join([caplog.text, out.out, out.err, *texts])
    assert "ad/find-user" in caplog.text  # the logs did see the step
    for secret in (ad_secret, LAB_PASSWORD):
        assert secret not in everything


def test_slow_reply_within_the_timeouts_is_not_a_failure(lab_factory: Any, lab_target: Any) -> None:
    lab = lab_factory(faults=["slow:Receive=1@2"])
    with open_session(lab_target(lab)) as s:
        assert isinstance(s.step("sync/get-settings"), m.SyncSettings)
        assert s.retries == {}
    assert lab.faults.fired == {"slow:Receive=1@2": 1}


def test_idle_pool_checked_and_reopened_before_the_step(
    lab_factory: Any, lab_target: Any, monkeypatch: Any
) -> None:
    """A pool idle past IDLE_CHECK_SECONDS is asked is_alive() first; a dead one is replaced quietly."""
    from pswrap.remote import pools

    lab = lab_factory()
    with open_session(lab_target(lab)) as s:
        s.step("sync/get-settings")
        monkeypatch.setattr(pools, "IDLE_CHECK_SECONDS", 0.0)
        set_faults(lab, "kill-pool:Get@1")
        assert isinstance(s.step("sync/get-settings"), m.SyncSettings)
        assert s.retries == {} and s.reopened == 0  # found dead before the step was sent
    counts = request_counts(lab)
    assert counts["Get"] >= 1 and counts["Create"] == 2
    assert lab.faults.fired == {"kill-pool:Get@1": 1}
