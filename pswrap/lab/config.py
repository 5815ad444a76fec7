"""Where the lab keeps its state and which account it accepts.

The state file defaults to `<user state dir>/lab/world.json` (PSWRAP_STATE_DIR overrides the user state
dir, PSWRAP_LAB_STATE the file itself). Credentials come from `--user/--password`, else
PSWRAP_LAB_USER/PSWRAP_LAB_PASSWORD, else a password the lab generates once and keeps (0600) in
`lab-credentials.json` next to the state file, so a restarted lab accepts the same account.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from pswrap.errors import ConfigError
from pswrap.lab.auth import Credentials


class LabInputError(ConfigError, ValueError):
    """A lab setting, fault spec or state file pswrap cannot use: exit 2 with one line, nothing changed.
    (A ValueError too, for the lab's own callers that validate values.)"""


def lab_seconds(raw: str, name: str) -> float:
    """A number of seconds from an environment variable or option: finite and not negative."""
    import math

    try:
        value = float(raw)
    except ValueError:
        raise LabInputError(f"{name}={raw!r} is not a number of seconds") from None
    if not math.isfinite(value) or value < 0:
        raise LabInputError(f"{name}={raw!r} must be a finite number of seconds, 0 or more")
    return value

DEFAULT_USER = "lab-admin"
CREDENTIALS_FILE = "lab-credentials.json"


def state_dir() -> Path:
    override = os.environ.get("PSWRAP_STATE_DIR")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_state_dir("pswrap"))


def default_state_path() -> Path:
    override = os.environ.get("PSWRAP_LAB_STATE")
    if override:
        return Path(override).expanduser()
    return state_dir() / "lab" / "world.json"


def credentials_path(state_path: Path) -> Path:
    return state_path.parent / CREDENTIALS_FILE


def resolve_credentials(state_path: Path, username: str | None = None,
                        password: str | None = None) -> tuple[Credentials, str]:
    """The lab's account and a sentence saying where it came from (printed by `lab serve`)."""
    if username and password:
        return Credentials(username, password), "from --user/--password"
    env_user = os.environ.get("PSWRAP_LAB_USER")
    env_password = os.environ.get("PSWRAP_LAB_PASSWORD")
    if env_password:
        return (
            Credentials(username or env_user or DEFAULT_USER, env_password),
            "from PSWRAP_LAB_USER/PSWRAP_LAB_PASSWORD",
        )
    path = credentials_path(state_path)
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        creds = Credentials(str(stored["username"]), str(stored["password"]))
        if username and username != creds.username:
            creds = Credentials(username, creds.password)
        return creds, f"from {path}"
    except (FileNotFoundError, KeyError, ValueError, TypeError):
        pass
    creds = Credentials(username or env_user or DEFAULT_USER, secrets.token_urlsafe(18))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"username": creds.username, "password": creds.password}, fh)
    return creds, f"generated and stored (0600) in {path}"
