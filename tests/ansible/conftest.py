"""Running the pswrap.hybrid collection with real Ansible: ansible-playbook, ansible-doc, ansible-galaxy.

Each run gets a temporary HOME and pswrap state directory (so the embedded lab, the journal and Ansible's
own files start empty), ANSIBLE_COLLECTIONS_PATH pointing at this repository (which holds
ansible_collections/pswrap/hybrid), and no PSWRAP_* or ANSIBLE_* variable from the caller.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.lab.conftest import lab_serve, lab_state

__all__ = ["lab_serve", "lab_state"]

REPO = Path(__file__).resolve().parents[2]
COLLECTION = REPO / "ansible_collections" / "pswrap" / "hybrid"
PLAYBOOKS = Path(__file__).resolve().parent / "playbooks"


def ansible_tool(name: str) -> str:
    """`ansible-playbook` etc. next to this Python (the venv's), else on PATH; skip when absent."""
    beside = Path(sys.executable).with_name(name)
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[ansible]')")
    return found


def ansible_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PSWRAP_", "ANSIBLE_"))}
    (home / "state").mkdir(parents=True, exist_ok=True)
    (home / "tmp").mkdir(exist_ok=True)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        PSWRAP_STATE_DIR=str(home / "state"),
        ANSIBLE_COLLECTIONS_PATH=str(REPO),
        ANSIBLE_LOCAL_TEMP=str(home / "tmp"),
        ANSIBLE_REMOTE_TEMP=str(home / "tmp"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_LOCALHOST_WARNING="0",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
        ANSIBLE_RETRY_FILES_ENABLED="0",
    )
    env.update(extra)
    return env


@dataclass
class PlayRun:
    returncode: int
    output: str
    """stdout and stderr together (what a user or a CI log sees)."""
    results: dict[str, Any]
    """Each task's registered result, as the playbook wrote them to results.json."""


def run_playbook(home: Path, playbook: str, *args: str, env: dict[str, str] | None = None) -> PlayRun:
    results = home / "results.json"
    proc = subprocess.run(
        [ansible_tool("ansible-playbook"), str(PLAYBOOKS / playbook), "-e", f"results_path={results}", *args],
        cwd=home,
        env=env or ansible_env(home),
        capture_output=True,
        text=True,
        timeout=240,
    )
    output = proc.stdout + proc.stderr
    data = json.loads(results.read_text(encoding="utf-8")) if results.exists() else {}
    return PlayRun(proc.returncode, output, data)
