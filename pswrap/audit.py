"""The audit log: one JSON line per change pswrap sends, next to the journal.

The journal is for pswrap (what to resume); the audit log is for people: who changed what, where, with
which cmdlet and values, and how it ended. Every changing step (`Step.changes`) that runs, from any
command, appends one line when it ends:

    {"time", "operation", "target", "step", "cmdlet", "parameters", "outcome", "error", "request_id"}

`parameters` are the step's values with every secret masked (a SecureString parameter, or a `Secret`);
`outcome` is `applied`, `applied (read back)`, `failed` or `interrupted`; `request_id` is the service's
request id when its reply or error carries one (Microsoft Graph and Exchange Online print a
`request-id` / `client-request-id` GUID in their errors). The file is append-only (O_APPEND: lines from
concurrent runs never interleave within a line) and 0600 whatever the umask; nothing ever rewrites it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import Any

from pswrap.secrets import MASK, Secret

AUDIT_FILE = "audit.jsonl"
CURRENT_OPERATION: ContextVar[str | None] = ContextVar("pswrap_audit_operation", default=None)
"""The journal operation the steps being run belong to (set by the journaled runner around each step)."""
_CHANGING_CMDLET = re.compile(
    r"\b(?:Add|Disable|Enable|Move|New|Register|Remove|Restore|Set|Start|Unregister|Update)-[A-Z][A-Za-z]+\b"
)
_REQUEST_ID = re.compile(
    r"(?:client-request-id|request-id|RequestId)\W{1,4}([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
)


def audit_path() -> Path:
    """Next to the journal: `<state dir>/audit.jsonl`."""
    from pswrap.journal import state_dir

    return state_dir() / AUDIT_FILE


@cache
def cmdlets_of(step_id: str) -> str:
    """The changing cmdlets the step's template calls (`New-Mailbox`, `Update-MgUser`...), in order."""
    import importlib.resources

    from pswrap.render.engine import TEMPLATE_PACKAGE

    try:
        source = importlib.resources.files(TEMPLATE_PACKAGE).joinpath(*f"{step_id}.ps1.j2".split("/"))
        text = source.read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return ""
    found: list[str] = []
    for match in _CHANGING_CMDLET.findall(text):
        if match not in found:
            found.append(match)
    return ", ".join(found)


def masked(params: Mapping[str, Any], secret_names: set[str]) -> dict[str, Any]:
    """The parameters as JSON values, every secret replaced by the mask."""
    out: dict[str, Any] = {}
    for name, value in params.items():
        if isinstance(value, Secret) or name.lower() in secret_names:
            out[name] = MASK
        elif isinstance(value, (str, int, float, bool)) or value is None:
            out[name] = value
        elif isinstance(value, (list, tuple)):
            out[name] = [MASK if isinstance(v, Secret) else str(v) for v in value]
        else:
            out[name] = str(value)
    return out


def request_id_in(*texts: object) -> str | None:
    for text in texts:
        if text is None:
            continue
        found = _REQUEST_ID.search(str(text))
        if found:
            return found.group(1)
    return None


def record(
    *,
    step_id: str,
    params: Mapping[str, Any],
    secret_names: set[str],
    target: str | None,
    operation: str | None,
    outcome: str,
    error: BaseException | None = None,
    result: Any = None,
    path: Path | None = None,
) -> dict[str, Any]:
    """Append one line for a change that ended; returns what was written."""
    line: dict[str, Any] = {
        "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        "operation": operation,
        "target": target,
        "step": step_id,
        "cmdlet": cmdlets_of(step_id),
        "parameters": masked(params, secret_names),
        "outcome": outcome,
        "error": None if error is None else f"{type(error).__name__}: {error}"[:1000],
        "request_id": getattr(result, "request_id", None) or request_id_in(error),
    }
    append(path or audit_path(), json.dumps(line, sort_keys=True, default=str))
    return line


def append(path: Path, text: str) -> None:
    """One line, appended in one write, to a file that is created 0600 (its folder 0700)."""
    from pswrap.journal import private_dir

    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        if os.name == "posix":
            os.fchmod(fd, 0o600)
        os.write(fd, (text.replace("\n", " ") + "\n").encode("utf-8"))
    finally:
        os.close(fd)
