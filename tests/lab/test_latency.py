"""The lab's latency model (issue #15): fixed latencies per service and kind, throttling beyond a budget."""

from __future__ import annotations

import pytest

from pswrap.lab import latency


def test_latencies_by_service_and_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(latency.SCALE_ENV, raising=False)
    assert latency.latency("exo/connect") == latency.CONNECT["exo"]
    assert latency.latency("exo/find-mailbox") == latency.READ["exo"]
    assert latency.latency("exo/set-calendar-processing") == latency.WRITE["exo"]
    assert latency.latency("exo/new-mailbox") == latency.SLOW["exo/new-mailbox"]
    assert latency.latency("graph/get-user") < latency.latency("graph/set-user")
    assert latency.latency("ad/find-user") < latency.latency("exo/find-mailbox")
    monkeypatch.setenv(latency.SCALE_ENV, "0.5")
    assert latency.latency("exo/find-mailbox") == latency.READ["exo"] / 2


def test_a_cloud_service_over_its_concurrency_budget_is_throttled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(latency.BUDGET_ENV, "exo=2,graph=1")
    with latency.Slot("exo") as first, latency.Slot("exo") as second, latency.Slot("exo") as third:
        assert first.admitted and second.admitted
        assert not third.admitted
    with latency.Slot("exo") as again:
        assert again.admitted  # the slots were given back
    with latency.Slot("ad") as a, latency.Slot("ad") as b, latency.Slot("ad") as c:
        assert a.admitted and b.admitted and c.admitted  # only the cloud services are budgeted


def test_only_realistic_enables_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(latency.ENV, raising=False)
    assert not latency.enabled()
    monkeypatch.setenv(latency.ENV, "realistic")
    assert latency.enabled()
