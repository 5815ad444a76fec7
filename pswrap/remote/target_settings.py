"""The settings of a target, layer by layer: the configuration file, `PSWRAP_*` environment variables and
flags, each key validated by its converter where it came from (so an error names the file, variable or
option). A password is accepted only as a flag or an environment variable, never from the file."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pswrap.errors import ConfigError
from pswrap.remote.target_model import AUTHS
from pswrap.secrets import Secret
from pswrap.steps.model import NEEDS, PROFILES

# --- the file -----------------------------------------------------------------------------------------


def config_path() -> Path:
    """`PSWRAP_CONFIG`, else `$XDG_CONFIG_HOME/pswrap/config.toml` (XDG default `~/.config`)."""
    explicit = os.environ.get("PSWRAP_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "pswrap" / "config.toml"


def read_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        if os.environ.get("PSWRAP_CONFIG"):
            raise ConfigError(
                f"{path}: the configuration file named by PSWRAP_CONFIG does not exist",
                hint="create it (see `pswrap targets --help`) or unset PSWRAP_CONFIG",
            )
        return {}
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the configuration file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}", hint="fix the syntax at that line") from None
    unknown = set(data) - {"default_target", "targets"}
    if unknown:
        raise ConfigError(
            f"{path}: unknown top-level key {sorted(unknown)[0]!r}",
            hint="the file has `default_target = NAME` and `[targets.NAME]` tables",
        )
    targets = data.get("targets", {})
    if not isinstance(targets, dict) or not all(isinstance(v, dict) for v in targets.values()):
        raise ConfigError(f"{path}: `targets` must hold tables, e.g. [targets.corp]")
    if "default_target" in data and not isinstance(data["default_target"], str):
        raise ConfigError(f"{path}: default_target: must be a target name (a string)")
    return data


# --- keys ---------------------------------------------------------------------------------------------


def _as_str(v: object) -> str:
    if not isinstance(v, str) or not v.strip():
        raise ValueError("must be a non-empty string")
    return v.strip()


def _as_port(v: object) -> int:
    if isinstance(v, str) and v.strip().isdigit():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int) or not 0 < v < 65536:
        raise ValueError("must be a port number between 1 and 65535")
    return v


def _as_bool(v: object) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, str):
        low = v.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
    raise ValueError("must be true or false")


def _as_seconds(v: object) -> float:
    try:
        f = float(v) if isinstance(v, (int, float, str)) and not isinstance(v, bool) else -1.0
    except ValueError:
        f = -1.0
    if f <= 0:
        raise ValueError("must be a positive number of seconds")
    return f


def _as_int_seconds(v: object) -> int:
    return max(1, round(_as_seconds(v)))


def _choice(*allowed: str) -> Callable[[object], str]:
    def conv(v: object) -> str:
        if not isinstance(v, str) or v.strip().lower() not in allowed:
            raise ValueError("must be one of " + ", ".join(allowed))
        return v.strip().lower()

    return conv


def _as_path(v: object) -> str:
    return str(Path(_as_str(v)).expanduser())


KEYS: dict[str, Callable[[object], Any]] = {
    "host": _as_str,
    "port": _as_port,
    "scheme": _choice("http", "https"),
    "auth": _choice(*AUTHS),
    "username": _as_str,
    "password_env": _as_str,
    "password_keyring": _as_str,
    "cert_validation": _as_bool,
    "ca_bundle": _as_path,
    "profile": _choice(*PROFILES),
    "domain_controller": _as_str,
    "ad_credential_user": _as_str,
    "ad_credential_password_env": _as_str,
    "ad_credential_password_keyring": _as_str,
    "organization": _as_str,
    "tenant_id": _as_str,
    "app_id": _as_str,
    "certificate_thumbprint": _as_str,
    "staging_ou": _as_str,
    "retired_ou": _as_str,
    "resource_ou": _as_str,
    "upn_suffix": _as_str,
    "allow_basic_over_http": _as_bool,
    "allow_basic_over_http_beyond_loopback": _as_bool,
    "step_timeout": _as_seconds,
    "encryption": _choice("auto", "always", "never"),
    "connection_timeout": _as_int_seconds,
    "read_timeout": _as_int_seconds,
    "operation_timeout": _as_int_seconds,
    "configuration_name": _as_str,
    "client_certificate": _as_path,
    "client_certificate_key": _as_path,
    "keytab": _as_path,
    "spn_service": _as_str,
}
"""Every key of a `[targets.NAME]` table, with its converter (which also validates)."""

SECRET_VALUE_KEYS = ("password", "ad_credential_password")
"""Accepted only as flags or `PSWRAP_PASSWORD` / `PSWRAP_AD_CREDENTIAL_PASSWORD`, never from the file."""


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost (names are not resolved: a name that resolves to loopback today
    may not tomorrow)."""
    import ipaddress

    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def env_name(key: str) -> str:
    return "PSWRAP_" + key.upper().replace(".", "_")


def merge_layers(
    name: str, table: Mapping[str, Any], path: Path, overrides: Mapping[str, object]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Merge file < environment < flags, validating each value where it came from."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}

    def put(key: str, raw: object, origin: str, where: str) -> None:
        if key.startswith("hosts."):
            need = key.split(".", 1)[1]
            if need not in NEEDS:
                raise ConfigError(
                    f"{where}: hosts.{need}: unknown need", hint="the needs are " + ", ".join(NEEDS)
                )
            conv: Callable[[object], Any] = _as_str
        elif key in SECRET_VALUE_KEYS:
            if not isinstance(raw, (str, Secret)) or not raw:
                raise ConfigError(f"{where}: {key}: must be a non-empty secret")
            values[key] = raw if isinstance(raw, Secret) else Secret(raw)
            sources[key] = origin
            return
        elif key in KEYS:
            conv = KEYS[key]
        else:
            raise ConfigError(
                f"{where}: unknown key {key!r}",
                hint="known keys: " + ", ".join([*KEYS, "hosts.<need>"]),
            )
        try:
            values[key] = conv(raw)
        except ValueError as exc:
            raise ConfigError(f"{where}: {key}: {exc} (got {raw!r})") from None
        sources[key] = origin

    file_where = f"{path}: [targets.{name}]"
    for key, raw in table.items():
        if key in SECRET_VALUE_KEYS:
            raise ConfigError(
                f"{file_where}: {key}: pswrap does not read passwords from its configuration file",
                hint=f'name a source instead: {key}_env = "VARIABLE" or {key}_keyring = "SERVICE"',
            )
        if key == "hosts":
            if not isinstance(raw, dict):
                raise ConfigError(f"{file_where}: hosts: must be a table, e.g. [targets.{name}.hosts]")
            for need, host in raw.items():
                put(f"hosts.{need}", host, f"file {path}", f"{path}: [targets.{name}.hosts]")
            continue
        put(key, raw, f"file {path}", file_where)

    for key in [*KEYS, *SECRET_VALUE_KEYS, *(f"hosts.{n}" for n in NEEDS)]:
        var = env_name(key)
        if var in os.environ and os.environ[var] != "":
            put(key, os.environ[var], f"env {var}", f"environment variable {var}")

    for key, raw in overrides.items():
        if raw is None:
            continue
        put(key, raw, "flag", f"option {key}")
    return values, sources
