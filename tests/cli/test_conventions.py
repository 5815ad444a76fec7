"""The conventions every command follows (docs/cli.md): choices the CLI library validates, completes and
lists in --help; shell completion; examples at the end of every --help; the timeout option names with
--timeout deprecated; progress only on a terminal; `ops list` as a table."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import typer

from pswrap.cli import app
from pswrap.cli.examples import EXAMPLES, commands
from tests.e2e.conftest import Ran, cli, env, world

__all__ = ["cli", "env", "world"]  # the e2e fixtures, used here too

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = sorted(commands(app))


def _help(capsys: pytest.CaptureFixture[str], *words: str) -> str:
    from pswrap.cli.app import run_app

    # Wider than tests/conftest.py's width: long option names (--exchange-attributes) narrow the metavar
    # column, and a choice list must not wrap inside it.
    mp = pytest.MonkeyPatch()
    mp.setenv("COLUMNS", "240")
    capsys.readouterr()
    try:
        assert run_app(app, [*words, "--help"]) == 0
    finally:
        mp.undo()
    return capsys.readouterr().out


def _flat(text: str) -> str:
    """--help text without rich's box drawing and line wrapping."""
    for ch in "│╭╮╰╯─":
        text = text.replace(ch, " ")
    return " ".join(text.split())


@pytest.mark.parametrize(
    ("words", "shown"),
    [
        (
            ("mailbox", "create"),
            ("room|equipment|shared", "modern|legacy|hybrid-tools", "hard|soft", "text|json"),
        ),
        (("mailbox", "create"), ("anchor|staging-ou|scheduler|none",)),
        (("mailbox", "link"), ("anchor|staging-ou|scheduler|none", "hard|soft", "text|json")),
        (("mailbox", "link"), ("auto|cloud|stamp|none",)),
        (("mailbox", "apply"), ("text|json|jsonl", "yaml|toml|json|csv")),
        (("mailbox", "show"), ("text|json|yaml",)),
        (("doctor",), ("modern|hybrid-tools", "anchor|staging-ou|scheduler", "text|json")),
        (("sync", "status"), ("text|json",)),
        (("ops", "list"), ("text|json",)),
        (("run",), ("modern|legacy|hybrid-tools", "text|json")),
    ],
)
def test_help_lists_the_choices(
    capsys: pytest.CaptureFixture[str], words: tuple[str, ...], shown: tuple[str, ...]
) -> None:
    text = _flat(_help(capsys, *words))
    for choices in shown:
        assert choices in text, f"pswrap {' '.join(words)} --help does not list {choices}"


@pytest.mark.parametrize(
    "args",
    [
        ["mailbox", "create", "Room", "--alias", "room", "--type", "rom"],
        ["mailbox", "create", "Room", "--alias", "room", "--hold", "later"],
        ["mailbox", "create", "Room", "--alias", "room", "--match", "fuzzy"],
        ["mailbox", "link", "room", "--ad-user", "room", "--profile", "cloud"],
        ["doctor", "--profile", "legacy"],
        ["ops", "list", "--output", "yaml"],
    ],
)
def test_a_value_outside_the_choices_is_refused_before_anything_runs(
    cli: Callable[..., Ran], args: list[str]
) -> None:
    ran = cli(*args)
    assert ran.code == 2
    assert ran.out == ""
    assert "is not one of" in ran.err and "Traceback" not in ran.err


def test_completion_is_on_and_completes_the_choices() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "pswrap", "--show-completion", "bash"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert "_PSWRAP_COMPLETE=complete_bash" in shown.stdout and "complete " in shown.stdout
    environ = {
        **os.environ,
        "_PSWRAP_COMPLETE": "complete_bash",
        "COMP_WORDS": "pswrap mailbox create --hold ",
        "COMP_CWORD": "4",
    }
    completed = subprocess.run(
        [sys.executable, "-m", "pswrap"], capture_output=True, text=True, timeout=60, env=environ, check=False
    )
    assert completed.stdout.split() == ["anchor", "staging-ou", "scheduler", "none"]


def test_root_help_offers_completion(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(capsys)
    assert "--install-completion" in text and "--show-completion" in text
    assert "--step-timeout" in text


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_help_ends_with_two_or_three_examples(
    capsys: pytest.CaptureFixture[str], name: str
) -> None:
    examples = EXAMPLES.get(name, ())
    assert 2 <= len(examples) <= 3, f"`pswrap {name}` needs two or three examples in pswrap/cli/examples.py"
    text = _help(capsys, *name.split())
    assert "Examples:" in text
    tail = _flat(text[text.index("Examples:") :])
    for example in examples:
        assert _flat(example) in tail
        assert example.startswith(f"pswrap {name.split()[0]}")


def test_examples_name_only_commands_that_exist() -> None:
    assert set(EXAMPLES) <= set(COMMANDS)


def test_every_root_command_is_registered_as_a_typer_app() -> None:
    assert isinstance(app, typer.Typer) and "mailbox create" in COMMANDS and "sync wait" in COMMANDS


# --- timeouts ---------------------------------------------------------------------------------------


def test_timeout_is_deprecated_but_still_works(cli: Callable[..., Ran]) -> None:
    old = cli("sync", "wait", "--timeout", "30", "--output", "json")
    assert old.code == 0, old.err
    assert "--timeout is deprecated" in old.err and "--sync-timeout" in old.err
    assert old.json()["scheduler"]["sync_cycle_in_progress"] is False
    new = cli("sync", "wait", "--sync-timeout", "30")
    assert new.code == 0 and "--timeout is deprecated" not in new.err
    both = cli("sync", "wait", "--sync-timeout", "30", "--timeout", "30")
    assert both.code == 2 and "give only --sync-timeout" in both.err
    assert cli("sync", "wait", "--sync-timeout", "0").code == 2
    planned = cli("mailbox", "create", "Room", "--alias", "room", "--timeout", "60", "--dry-run")
    assert planned.code == 0 and "--timeout is deprecated" in planned.err
    run_old = cli("run", "sync/get-scheduler", "--timeout", "30")
    assert run_old.code == 0 and "use --step-timeout" in run_old.err


def test_the_hidden_timeout_stays_out_of_help(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(capsys, "mailbox", "create")
    assert "--sync-timeout" in text and "--timeout " not in text


def test_a_global_step_timeout_reaches_the_target_settings(
    cli: Callable[..., Ran], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PSWRAP_STEP_TIMEOUT", "120")  # restored after the test: the option sets it
    shown = cli("--step-timeout", "45", "targets", "show", "lab", "--output", "json")
    assert shown.code == 0, shown.err
    assert shown.json()["settings"]["step_timeout"] == 45
    assert cli("--step-timeout", "-1", "targets", "list").code == 2


# --- progress and ops list ----------------------------------------------------------------------------


def test_progress_line_names_the_phase_elapsed_time_and_deadline() -> None:
    from pswrap.cli.progress import Progress

    progress = Progress(deadline_seconds=600)
    progress("sync cycle 1 started; waiting for it to end")
    line = progress.line()
    assert line.startswith("sync cycle 1 started; waiting for it to end - ")
    assert "s elapsed" in line and "sync deadline" in line and "UTC" in line and "s left)" in line
    assert "deadline" not in Progress().line()


def test_without_a_terminal_nothing_but_the_result_is_printed(cli: Callable[..., Ran]) -> None:
    ran = cli("mailbox", "create", "Room 4", "--alias", "room4", "--output", "json")
    assert ran.code == 0, ran.err
    assert "elapsed" not in ran.err and "exo/new-mailbox" not in ran.err


def test_ops_list_is_a_table_with_a_header(cli: Callable[..., Ran]) -> None:
    assert cli("mailbox", "create", "Room 4", "--alias", "room4").code == 0
    assert cli("mailbox", "create", "Room 5", "--alias", "room5", "--no-wait").code == 0
    lines = cli("ops", "list").out.splitlines()
    assert lines[0].split() == ["OPERATION", "STATUS", "KIND", "ALIAS", "TARGET", "UPDATED", "(UTC)"]
    status_column = lines[0].index("STATUS")
    assert [line[status_column:].split()[0] for line in lines[1:]] == ["pending-sync", "completed"]
    assert [line.split()[3] for line in lines[1:]] == ["room5", "room4"]
