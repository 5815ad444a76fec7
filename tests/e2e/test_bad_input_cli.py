"""The twelve inputs that gave tracebacks (issue #12 section 5): each is exit 2 with one error line
(and its hint), no traceback, and nothing changed in the world or the journal."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Ran

CREATE = ("mailbox", "create", "Room Z", "--alias", "roomz", "--yes")


def _one_clear_line(ran: Ran) -> None:
    assert ran.code == 2, (ran.code, ran.err)
    assert "Traceback" not in ran.err
    errors = [line for line in ran.err.splitlines() if line.startswith("pswrap: error:")]
    assert len(errors) == 1, ran.err


@pytest.mark.parametrize("value", ["nan", "inf", "1e308"])
def test_bad_timeout(cli: Callable[..., Ran], world: Callable[[], dict[str, Any]], value: str) -> None:
    before = world()["exo"]["mailboxes"]
    ran = cli(*CREATE, "--timeout", value)
    _one_clear_line(ran)
    assert world()["exo"]["mailboxes"] == before
    ops = cli("ops", "list", "-o", "json")
    assert ops.code == 0 and "roomz" not in ops.out  # not journaled, so never left "interrupted"


def test_sync_wait_with_a_negative_timeout(cli: Callable[..., Ran]) -> None:
    _one_clear_line(cli("sync", "wait", "--timeout", "-1"))


@pytest.mark.parametrize(
    ("name", "value"),
    [("PSWRAP_LAB_SYNC_SECONDS", "abc"), ("PSWRAP_LAB_SYNC_SECONDS", "-1"), ("PSWRAP_LAB_FAULTS", "bogus")],
)
def test_bad_lab_settings(
    cli: Callable[..., Ran], monkeypatch: pytest.MonkeyPatch, env: dict[str, str], name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    _one_clear_line(cli(*CREATE))
    assert (
        not Path(env["PSWRAP_LAB_STATE"]).exists() or "roomz" not in Path(env["PSWRAP_LAB_STATE"]).read_text()
    )


@pytest.mark.parametrize("content", ["{not json", "[]", "{}"])
@pytest.mark.parametrize("command", [CREATE, ("lab", "show"), ("sync", "status")])
def test_unusable_lab_state_file(
    cli: Callable[..., Ran], env: dict[str, str], content: str, command: tuple[str, ...]
) -> None:
    state = Path(env["PSWRAP_LAB_STATE"])
    state.write_text(content)
    _one_clear_line(cli(*command))
    assert state.read_text() == content  # nothing written over it


def test_lab_state_file_that_is_a_directory(cli: Callable[..., Ran], env: dict[str, str]) -> None:
    Path(env["PSWRAP_LAB_STATE"]).mkdir()
    _one_clear_line(cli(*CREATE))


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes anywhere")
def test_lab_state_file_not_writable(cli: Callable[..., Ran], env: dict[str, str]) -> None:
    assert cli("lab", "show").code == 0
    state = Path(env["PSWRAP_LAB_STATE"])
    state.parent.chmod(0o500)
    state.chmod(0o400)
    try:
        _one_clear_line(cli(*CREATE))
    finally:
        state.parent.chmod(0o700)


def _other_account(cli: Callable[..., Ran], name: str, path: str) -> None:
    """Another AD account (not a mailbox's) named `name` in `path`, created as an admin would."""
    ran = cli(
        "run", "ad/new-user",
        "--param", f"Name={name}", "--param", f"Path={path}",
        "--param", "SamAccountName=otheracct", "--param", "UserPrincipalName=otheracct@lab.example",
        "--param", "DisplayName=x", "--param", "EmailAddress=otheracct@lab.example",
        "--param", "ProxyAddresses=SMTP:otheracct@lab.example", "--param", "MailNickname=otheracct",
    )  # fmt: skip
    assert ran.code == 0, ran.err


@pytest.mark.parametrize("existing", ["Müller Room", "MULLER ROOM", "Muller Room"])
def test_a_name_ad_treats_as_equal_is_found_by_asking_ad(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]], existing: str
) -> None:
    """AD compares names without regard to case or diacritics (Microsoft KB 938447): the lab's AD says so,
    pswrap asks it (ad/find-name) and refuses before any change (exit 6), naming the object."""
    _other_account(cli, existing, "OU=Resources,DC=lab,DC=example")
    before = world()
    out = cli("mailbox", "create", "Muller Room", "--alias", "mroom", "--yes")
    assert out.code == 6, out.err
    assert f"CN={existing}" in out.err and "ignores case and accents" in out.err
    after = world()
    assert (after["ad"]["users"], after["exo"]["mailboxes"]) == (
        before["ad"]["users"],
        before["exo"]["mailboxes"],
    )


def test_a_name_held_in_the_staging_ou_is_found_before_any_change(
    cli: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    """With --hold staging-ou the account is created in the staging OU, then moved: AD is asked about the
    name in both OUs, so an equal name in the staging OU is refused up front (exit 6), not half-way."""
    staging = "OU=Staging,DC=lab,DC=example"
    _other_account(cli, "Müller Room", staging)
    before = world()
    out = cli("mailbox", "create", "Muller Room", "--alias", "mroom", "--hold", "staging-ou", "--yes")
    assert out.code == 6, out.err
    assert f"CN=Müller Room,{staging}" in out.err and f"in {staging}" in out.err
    after = world()
    assert (after["ad"]["users"], after["exo"]["mailboxes"]) == (
        before["ad"]["users"],
        before["exo"]["mailboxes"],
    )
    # The same name elsewhere than the two OUs the run uses is no conflict.
    assert cli("mailbox", "create", "Muller Room", "--alias", "mroom", "--yes").code == 0
