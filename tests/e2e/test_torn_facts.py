"""Two machines, one alias (issue #12 section 2), the interleaving the three-run race test caught: another
run creates the mailbox between this run's two Exchange Online reads (exo/find-mailbox says missing,
exo/find-recipients then lists it). That torn reading must converge on a second reading, not be refused
as a recipient that is not ours (exit 6); a real conflict is still refused after its second reading."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import pswrap.api
import pswrap.workflows.facts as facts_module
from pswrap.workflows.results import MailboxResult
from tests.e2e.conftest import Ran


class _OtherRunBetweenReads:
    """A session whose first exo/find-recipients is preceded by another run's complete create."""

    def __init__(self, inner: Any, other_run: Callable[[], None]) -> None:
        self._inner = inner
        self._other_run: Callable[[], None] | None = other_run
        self.readings = 0

    def step(self, step_id: str, **kwargs: Any) -> Any:
        if step_id == "exo/find-mailbox":
            self.readings += 1
        if step_id == "exo/find-recipients" and self._other_run is not None:
            run, self._other_run = self._other_run, None
            run()
        return self._inner.step(step_id, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.fixture
def torn(monkeypatch: pytest.MonkeyPatch) -> Callable[[Callable[[], None]], list[_OtherRunBetweenReads]]:
    """Make the next fact gathering's session run `other` between its two Exchange Online reads."""

    def arm(other: Callable[[], None]) -> list[_OtherRunBetweenReads]:
        real = facts_module.gather
        wrappers: list[_OtherRunBetweenReads] = []
        pending: list[Callable[[], None]] = [other]

        def gather(session: Any, *args: Any, **kwargs: Any) -> Any:
            wrapped = _OtherRunBetweenReads(session, pending.pop() if pending else lambda: None)
            wrappers.append(wrapped)
            return real(wrapped, *args, **kwargs)

        monkeypatch.setattr("pswrap.workflows.mailbox.gather", gather)
        return wrappers

    return arm


def _create(name: str, alias: str, **kwargs: Any) -> MailboxResult:
    with pswrap.api.connect() as ps:
        out = ps.create_mailbox(name, alias=alias, check=False, **kwargs)
    assert isinstance(out, MailboxResult)
    return out


def test_a_mailbox_created_between_two_reads_converges(
    cli: Callable[..., Ran],
    world: Callable[[], dict[str, Any]],
    torn: Callable[[Callable[[], None]], list[_OtherRunBetweenReads]],
) -> None:
    assert cli("lab", "show").code == 0
    others: list[MailboxResult] = []
    readings = torn(lambda: others.append(_create("Twin Room", "twin")))
    ours = _create("Twin Room", "twin")
    assert others and others[0].status == "completed", others[0].error if others else None
    assert ours.error is None, ours.error
    assert ours.status in ("completed", "unchanged")
    assert len(readings) >= 2  # the torn reading, then the one that converged
    w = world()
    assert len([u for u in w["ad"]["users"] if u["sam_account_name"] == "twin"]) == 1
    assert len([b for b in w["exo"]["mailboxes"] if b["alias"] == "twin"]) == 1


def test_a_recipient_that_is_not_ours_is_still_refused(
    cli: Callable[..., Ran],
    torn: Callable[[Callable[[], None]], list[_OtherRunBetweenReads]],
) -> None:
    """Another mailbox holding the address (a different alias) is a conflict in every reading: refused
    with exit 6 after the second reading shows the same."""
    first = cli("mailbox", "create", "Other Room", "--alias", "other", "--yes", "-o", "json")
    assert first.code == 0, first.err
    address = first.json()["mailbox"]["primary_smtp_address"]
    readings = torn(lambda: None)
    ran = cli("mailbox", "create", "Lobby", "--alias", "lobby", "--email", address, "--yes", "-o", "json")
    assert ran.code == 6, ran.err
    assert "held by another recipient" in ran.json()["error"]["message"]
    assert len(readings) == 2
