# Copyright: pswrap contributors
# MIT License (the same as the pswrap package)

"""What every pswrap.hybrid module shares: the connection options, opening pswrap's API on the target
they name, and turning pswrap's errors into fail_json.

The modules call pswrap's Python API (`pswrap.api`), never its CLI. pswrap is imported lazily so a host
without it gets Ansible's usual "missing required library" message.
"""

from __future__ import annotations

import contextlib
import sys
import traceback
from typing import Any

PSWRAP_IMPORT_ERROR: str | None
pswrap_connect: Any
try:
    from pswrap.api import connect as pswrap_connect
except ImportError:
    PSWRAP_IMPORT_ERROR = traceback.format_exc()
    pswrap_connect = None
else:
    PSWRAP_IMPORT_ERROR = None

CONNECTION_ARGSPEC: dict[str, dict[str, Any]] = {
    "target": {"type": "str"},
    "host": {"type": "str"},
    "port": {"type": "int"},
    "scheme": {"type": "str", "choices": ["http", "https"]},
    "auth": {
        "type": "str",
        "choices": ["negotiate", "kerberos", "ntlm", "basic", "certificate", "credssp"],
    },
    "username": {"type": "str"},
    "password": {"type": "str", "no_log": True},
    "validate_certs": {"type": "bool", "aliases": ["cert_validation"]},
    "ca_path": {"type": "path"},
    "client_certificate": {"type": "path"},
    "client_certificate_key": {"type": "path", "no_log": False},
    "hosts": {"type": "dict"},
    "organization": {"type": "str"},
    "tenant_id": {"type": "str"},
    "app_id": {"type": "str"},
    "certificate_thumbprint": {"type": "str"},
    "domain_controller": {"type": "str"},
    "ad_credential_user": {"type": "str"},
    "ad_credential_password": {"type": "str", "no_log": True},
    "resource_ou": {"type": "str"},
    "staging_ou": {"type": "str"},
    "upn_suffix": {"type": "str"},
    "step_timeout": {"type": "float"},
}
"""The options of doc_fragments/connection.py (a test keeps the two equal)."""

SETTING_OF_OPTION = {"validate_certs": "cert_validation", "ca_path": "ca_bundle"}
"""Options whose pswrap target setting has another name (Ansible's usual option names win here)."""

EXIT_MEANINGS = {
    0: "done",
    2: "bad input, configuration or a refused combination: nothing remote was changed",
    3: "authentication failed",
    4: "connection failed or the transport timed out",
    5: "the remote side reported an error",
    6: "needs a human (a conflict, a blocked match, a failed preflight check)",
    7: "waited past the timeout: the operation is journaled and resumable (pswrap resume)",
}
"""pswrap's exit codes (the same table as its CLI), given with every failure as `error.meaning`."""


def settings_of(params: dict[str, Any]) -> dict[str, object]:
    """The connection options that were given, keyed as pswrap's target settings."""
    out: dict[str, object] = {}
    for option in CONNECTION_ARGSPEC:
        value = params.get(option)
        if value is None or option == "target":
            continue
        if option == "hosts":
            for need, host in dict(value).items():
                out[f"hosts.{need}"] = host
            continue
        out[SETTING_OF_OPTION.get(option, option)] = value
    return out


def connect(params: dict[str, Any]) -> Any:
    """A `pswrap.api.Pswrap` on the target the options name (see doc_fragments/connection.py)."""
    from pswrap.remote.target import load_target, target_from

    settings = settings_of(params)
    if params.get("host") and not params.get("target"):
        target = target_from(str(params["host"]), settings)
    elif settings:
        target = load_target(params.get("target"), overrides=settings)
    else:
        return pswrap_connect(params.get("target"))
    return pswrap_connect(target)


def error_result(error: Any) -> dict[str, Any]:
    """pswrap's error as the modules return it: type, message, hint, exit code and its meaning."""
    from pswrap.workflows.results import error_json

    out = error_json(error)
    out["meaning"] = EXIT_MEANINGS.get(int(out["exit_code"]), "")
    return out


def fail_with(module: Any, error: Any, **result: Any) -> None:
    """fail_json with pswrap's error: `msg` is its type and message (and hint), `error` the details."""
    details = error_result(error)
    msg = f"{details['type']}: {details['message']}"
    if details.get("hint"):
        msg += f" ({details['hint']})"
    msg += f" [exit code {details['exit_code']}: {details['meaning']}]"
    module.fail_json(msg=msg, error=details, **result)


@contextlib.contextmanager
def pswrap_calls(module: Any) -> Any:
    """Around calls into pswrap: its errors fail the task with their type and meaning, and nothing it
    prints can corrupt the module's JSON on stdout (it goes to stderr)."""
    from pswrap.errors import PswrapError

    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    except PswrapError as exc:
        fail_with(module, exc)


def require_pswrap(module: Any) -> None:
    if PSWRAP_IMPORT_ERROR is not None:
        from ansible.module_utils.basic import missing_required_lib

        module.fail_json(
            msg=missing_required_lib("pswrap"),
            exception=PSWRAP_IMPORT_ERROR,
        )
