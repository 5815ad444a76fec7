"""Files and leftovers (issue #12 section 6): the lab's throwaway password file does not outlive a
killed process; Basic over plain HTTP stays on loopback unless a second setting says otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pswrap import errors as e
from pswrap.lab import auth


def dead_pid() -> int:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(proc.stdout)


def test_stale_account_files_of_killed_processes_are_removed(tmp_path: Path) -> None:
    stale = tmp_path / f"{auth.ACCOUNT_FILE_PREFIX}{dead_pid()}-abc.txt"
    stale.write_text(":lab-admin:Secret-From-A-Killed-Run\n")
    mine = tmp_path / f"{auth.ACCOUNT_FILE_PREFIX}{os.getpid()}-def.txt"
    mine.write_text(":x:y\n")
    alive = tmp_path / f"{auth.ACCOUNT_FILE_PREFIX}{os.getppid()}-ghi.txt"
    alive.write_text(":x:y\n")
    assert auth.remove_stale_account_files(str(tmp_path)) == [str(stale)]
    assert not stale.exists() and mine.exists() and alive.exists()


def test_account_file_names_its_owner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    path = auth.ntlm_account_file(auth.Credentials("files-test-user", "Pw-For-This-Test-1"))
    assert os.path.basename(path).startswith(f"{auth.ACCOUNT_FILE_PREFIX}{os.getpid()}-")
    assert (os.stat(path).st_mode & 0o777) == 0o600


def _basic_target(config_file: Path, host: str, *extra: str) -> None:
    config_file.write_text(
        "[targets.b]\n"
        f'host = "{host}"\nscheme = "http"\nauth = "basic"\nusername = "u"\npassword_env = "B_PW"\n'
        "allow_basic_over_http = true\n" + "".join(line + "\n" for line in extra)
    )


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_basic_over_http_allowed_on_loopback(config_file: Path, host: str) -> None:
    from pswrap.remote.target import load_target

    _basic_target(config_file, host)
    assert load_target("b").auth == "basic"


def test_basic_over_http_beyond_loopback_needs_the_second_setting(config_file: Path) -> None:
    from pswrap.remote.target import load_target

    _basic_target(config_file, "winrm.corp.example")
    with pytest.raises(e.ConfigError, match="loopback") as info:
        load_target("b")
    assert info.value.hint and "allow_basic_over_http_beyond_loopback" in info.value.hint
    _basic_target(config_file, "winrm.corp.example", "allow_basic_over_http_beyond_loopback = true")
    assert load_target("b").host == "winrm.corp.example"
