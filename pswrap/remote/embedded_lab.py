"""The `lab` target: start the embedded lab in-process for one command run and point the target at it.

The lab listens on an ephemeral loopback port with a password generated for this run (held in memory
only), so nothing about it needs configuring; its world persists in `PSWRAP_LAB_STATE`, else
`lab.json` in pswrap's state directory (`PSWRAP_STATE_DIR`, else the platform's user state directory).
"""

from __future__ import annotations

import secrets
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from pswrap.remote.secret_sources import SecretSource
from pswrap.remote.target_model import EMBEDDED_USER, Target
from pswrap.secrets import Secret


def lab_state_path() -> Path:
    """The lab's world file, where `pswrap lab` finds it too (PSWRAP_LAB_STATE, PSWRAP_STATE_DIR)."""
    from pswrap.lab.config import default_state_path

    return default_state_path()


def describe() -> str:
    return f"world in {lab_state_path()}"


def start(target: Target) -> tuple[AbstractContextManager[Any], Target]:
    """Start the lab for `target` (is_lab) and return it (to stop later) and the target pointing at it."""
    from pswrap.lab.embedded import start_lab

    path = lab_state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    username = target.username or EMBEDDED_USER
    # Each lab keeps its own NTLM account (pswrap/lab/auth.py), so a fresh password per run is enough.
    password = secrets.token_urlsafe(18)
    lab = start_lab(
        path,
        host="127.0.0.1",
        port=0,
        https=target.scheme == "https",
        auth="basic" if target.auth == "basic" else "ntlm",
        username=username,
        password=password,
        faults=(),  # the lab reads PSWRAP_LAB_FAULTS and the world's `faults` itself
    )
    ep = lab.endpoint
    started = target.with_endpoint(
        host=str(ep.host),
        port=int(ep.port),
        hosts=dict.fromkeys(target.hosts, str(ep.host)),
        username=username,
        password_source=SecretSource("value", value=Secret(password)),
        ca_bundle=str(ep.ca_path) if ep.ca_path and target.scheme == "https" else None,
    )
    return lab, started
