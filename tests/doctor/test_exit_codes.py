"""Exit codes tell the truth in every command (issue #12 section 3): a refused sign-in is 3, an
unreachable host 4 — also through `mailbox create`'s preflight — and a missing password source is 2
naming the setting, in `doctor` too, where nothing claims the host was reached."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.doctor.conftest import write_config

CREATE = (
    "mailbox",
    "create",
    "Room X",
    "--alias",
    "roomx",
    "--upn",
    "roomx@lab.example",
    "--yes",
    "-o",
    "json",
)


def test_wrong_password_is_exit_3_through_mailbox_create(
    cli: Callable[..., Any], served_target: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    name = served_target()
    monkeypatch.setenv("SERVED_PASSWORD", "wrong-password")
    ran = cli(*CREATE, "--target", name)
    assert ran.code == 3, ran.err
    assert "preflight check(s) failed" not in ran.err + ran.out


def test_unreachable_host_is_exit_4_through_mailbox_create(
    cli: Callable[..., Any], doctor_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    write_config(
        doctor_env,
        f'[targets.dead]\nhost = "127.0.0.1"\nport = {port}\nscheme = "http"\nauth = "ntlm"\n'
        'username = "u"\npassword_env = "DEAD_PW"\nupn_suffix = "lab.example"\n'
        'resource_ou = "OU=Resources,DC=lab,DC=example"\n',
    )
    monkeypatch.setenv("DEAD_PW", "x")
    ran = cli(*CREATE, "--target", "dead")
    assert ran.code == 4, ran.err
    assert "refused" in ran.err + ran.out


@pytest.mark.parametrize("command", [("doctor",), CREATE, ("sync", "status")])
def test_missing_password_source_is_exit_2_naming_the_setting(
    cli: Callable[..., Any], served_target: Callable[..., str], monkeypatch: pytest.MonkeyPatch, command: Any
) -> None:
    name = served_target(password_env="UNSET_PASSWORD_VAR")
    monkeypatch.delenv("UNSET_PASSWORD_VAR", raising=False)
    ran = cli(*command, "--target", name)
    assert ran.code == 2, ran.err
    assert "UNSET_PASSWORD_VAR" in ran.err + ran.out
    assert "reached and signed in" not in ran.err + ran.out


def test_targets_show_says_unset(
    cli: Callable[..., Any], served_target: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    name = served_target(password_env="UNSET_PASSWORD_VAR")
    monkeypatch.delenv("UNSET_PASSWORD_VAR", raising=False)
    ran = cli("targets", "show", name)
    assert ran.code == 0, ran.err
    line = next(x for x in ran.out.splitlines() if x.strip().startswith("password "))
    assert "unset" in line and "UNSET_PASSWORD_VAR" in line and "****" not in line
