"""Targets: which Windows host each need runs on, how to authenticate, and the tenant's identity.

A target is assembled from four layers, highest first: flags (`overrides`), `PSWRAP_*` environment
variables, the `[targets.NAME]` table of the configuration file, and defaults. Each value remembers which
layer it came from (`Target.sources`) so `pswrap targets show` can say why a setting has the value it has.

The configuration file holds no secret: a password is named by its source (`password_env`,
`password_keyring`, or a prompt) and resolved only when a connection needs it.

The target `lab` is the embedded lab (`pswrap.lab`): its address and credentials exist only once the
session starts it on an ephemeral loopback port, so `load_target("lab")` returns the settings and
`open_session` fills in the endpoint.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from pswrap.errors import ConfigError
from pswrap.remote.kerberos import check_kerberos_settings
from pswrap.remote.secret_sources import SecretSource
from pswrap.secrets import Secret
from pswrap.steps.model import NEEDS, PROFILES, Need, Profile

Scheme = Literal["http", "https"]
Auth = Literal["negotiate", "kerberos", "ntlm", "basic", "certificate", "credssp"]
AUTHS: tuple[Auth, ...] = ("negotiate", "kerberos", "ntlm", "basic", "certificate", "credssp")
LAB = "lab"
DEFAULT_STEP_TIMEOUT = 300.0
EMBEDDED_USER = "pswrap-embedded"
"""The embedded lab's account name (its password is generated for each run and held in memory)."""


@dataclass(frozen=True)
class Target:
    name: str
    host: str
    port: int
    scheme: Scheme
    auth: Auth
    username: str | None
    password_source: SecretSource | None
    cert_validation: bool
    """Whether the server's TLS certificate is checked at all (HTTPS)."""
    ca_bundle: str | None
    """What it is checked against: a PEM bundle; None = the system's trust store."""
    profile: Profile
    hosts: Mapping[Need, str]
    """The host each need runs on (every need present; defaults to `host`)."""
    domain_controller: str | None
    ad_credential_user: str | None
    ad_credential_password_source: SecretSource | None
    organization: str | None
    tenant_id: str | None
    app_id: str | None
    certificate_thumbprint: str | None
    staging_ou: str | None
    resource_ou: str | None
    upn_suffix: str | None
    allow_basic_over_http: bool
    step_timeout: float
    is_lab: bool
    encryption: Literal["auto", "always", "never"] = "auto"
    connection_timeout: int = 30
    read_timeout: int = 30
    operation_timeout: int = 20
    configuration_name: str = "Microsoft.PowerShell"
    client_certificate: str | None = None
    """PEM certificate for `auth = "certificate"` (mapped to a local account on the server)."""
    client_certificate_key: str | None = None
    keytab: str | None = None
    """Kerberos keytab for a service account (auth kerberos or negotiate): pswrap gets its own ticket
    for `username` (else the keytab's first principal); no password is configured or prompted for."""
    spn_service: str = "HTTP"
    """The service part of the server's SPN (`HTTP/<host>`, as Windows' WinRM client asks for)."""
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)
    """Where each setting came from: `flag`, `env PSWRAP_X`, `file <path>`, `lab` or `default`."""
    config_path: str | None = field(default=None, compare=False)

    @property
    def password(self) -> Secret | None:
        """The remoting account's password, resolved from its source now (may prompt)."""
        return self.password_source.resolve() if self.password_source else None

    @property
    def ad_credential_password(self) -> Secret | None:
        """The AD credential's password (for the second hop), resolved now."""
        src = self.ad_credential_password_source
        return src.resolve() if src else None

    def host_for(self, need: Need) -> str:
        return self.hosts.get(need, self.host)

    def with_endpoint(self, **changes: Any) -> Target:
        """A copy with connection settings replaced (the embedded lab, once started)."""
        return replace(self, **changes)


# --- the file -----------------------------------------------------------------------------------------


def config_path() -> Path:
    """`PSWRAP_CONFIG`, else `$XDG_CONFIG_HOME/pswrap/config.toml` (XDG default `~/.config`)."""
    explicit = os.environ.get("PSWRAP_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "pswrap" / "config.toml"


def _read_file(path: Path) -> dict[str, Any]:
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


def _layers(
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


def _lab_defaults() -> dict[str, Any]:
    """The embedded lab's tenant and directory (pswrap.lab.world.LAB_DEFAULTS), read defensively."""
    try:
        from pswrap.lab import world
    except ImportError:  # pragma: no cover
        return {}
    defaults = getattr(world, "LAB_DEFAULTS", None)
    if isinstance(defaults, Mapping):
        return dict(defaults)
    if defaults is not None and hasattr(defaults, "__dataclass_fields__"):
        values = {k: getattr(defaults, k) for k in defaults.__dataclass_fields__}
        # Connect-ExchangeOnline -Organization takes the tenant's initial domain (docs/sources.md §1.4).
        values.setdefault("organization", values.get("tenant_domain"))
        return values
    return {}


LAB_KEYS = (
    "domain_controller",
    "organization",
    "tenant_id",
    "app_id",
    "certificate_thumbprint",
    "staging_ou",
    "resource_ou",
    "upn_suffix",
)


def _build(
    name: str, values: Mapping[str, Any], sources: dict[str, str], *, is_lab: bool, path: Path
) -> Target:
    def get(key: str, default: Any) -> Any:
        if key in values:
            return values[key]
        sources.setdefault(key, "default")
        return default

    where = f"{path}: [targets.{name}]" if not is_lab else f"target {name}"
    if is_lab:
        lab = _lab_defaults()
        for key in LAB_KEYS:
            if key not in values and lab.get(key):
                values = {**values, key: str(lab[key])}
                sources[key] = "lab"
        host = "127.0.0.1"
        sources["host"] = "lab"
    else:
        if "host" not in values:
            raise ConfigError(f"{where}: host: missing", hint='every target needs host = "server.fqdn"')
        host = values["host"]

    scheme: Scheme = get("scheme", "https" if not is_lab else "http")
    auth: Auth = get("auth", "negotiate" if not is_lab else "ntlm")
    default_port = 5986 if scheme == "https" else 5985
    port = 0 if is_lab else get("port", default_port)
    username = get("username", None) if not is_lab else values.get("username", EMBEDDED_USER)
    allow_basic = get("allow_basic_over_http", False)
    if auth == "basic" and scheme == "http" and not allow_basic:
        raise ConfigError(
            f"{where}: auth: Basic over plain HTTP sends the password in the clear "
            "and cannot encrypt messages",
            hint='use scheme = "https", or auth = "ntlm"; set allow_basic_over_http = true only for a lab',
        )
    if auth == "certificate" and scheme != "https":
        raise ConfigError(f'{where}: auth: certificate authentication needs scheme = "https"')
    if auth == "certificate" and not (
        values.get("client_certificate") and values.get("client_certificate_key")
    ):
        raise ConfigError(
            f"{where}: client_certificate: certificate authentication needs client_certificate and "
            "client_certificate_key (PEM paths)"
        )
    if auth == "basic" and not username:
        raise ConfigError(f"{where}: username: Basic authentication needs a user name")

    password_source = _secret_source(values, "password", username, f"password for {username}@{host}")
    keytab = get("keytab", None)
    check_kerberos_settings(where, auth, username, keytab, password_source is not None, is_lab)
    if is_lab:
        password_source = None  # the lab's own generated password is filled in when it starts
        sources["password"] = "lab"
    elif password_source is None and username and auth not in ("kerberos", "certificate") and not keytab:
        password_source = SecretSource("prompt", f"Password for {username}@{host}")
        sources.setdefault("password", "prompt")

    ad_user = get("ad_credential_user", None)
    ad_pw = _secret_source(values, "ad_credential_password", ad_user, f"password for AD account {ad_user}")
    if ad_pw is not None and not ad_user:
        raise ConfigError(
            f"{where}: ad_credential_user: missing, but an AD credential password is configured"
        )
    if ad_user and ad_pw is None:
        ad_pw = SecretSource("prompt", f"Password for AD account {ad_user}")
        sources.setdefault("ad_credential_password", "prompt")

    hosts: dict[Need, str] = {}
    for need in NEEDS:
        hosts[need] = values.get(f"hosts.{need}", host)
        sources.setdefault(f"hosts.{need}", sources.get("host", "default") if is_lab else "host")
    if auth == "basic" and scheme == "http" and not is_lab:
        # allow_basic_over_http covers a lab on this machine only: the password crosses no network.
        # Anything further needs a second setting that says so by name (issue #12).
        remote = sorted({h for h in (host, *hosts.values()) if not is_loopback(h)})
        if remote and not values.get("allow_basic_over_http_beyond_loopback", False):
            raise ConfigError(
                f"{where}: allow_basic_over_http covers loopback hosts only, and {', '.join(remote)} "
                "is not one: the password would cross the network in the clear",
                hint='use scheme = "https" or auth = "ntlm"; only for an isolated test network, also set '
                "allow_basic_over_http_beyond_loopback = true",
            )

    cert_validation = get("cert_validation", True)
    ca_bundle = get("ca_bundle", None)
    if ca_bundle is not None and not is_lab and not Path(ca_bundle).is_file():
        raise ConfigError(f"{where}: ca_bundle: {ca_bundle} is not a file", hint="give a PEM CA bundle path")

    return Target(
        name=name,
        host=host,
        port=port,
        scheme=scheme,
        auth=auth,
        username=username,
        password_source=password_source,
        cert_validation=cert_validation,
        ca_bundle=ca_bundle,
        profile=get("profile", "modern"),
        hosts=hosts,
        domain_controller=get("domain_controller", None),
        ad_credential_user=ad_user,
        ad_credential_password_source=ad_pw,
        organization=get("organization", None),
        tenant_id=get("tenant_id", None),
        app_id=get("app_id", None),
        certificate_thumbprint=get("certificate_thumbprint", None),
        staging_ou=get("staging_ou", None),
        resource_ou=get("resource_ou", None),
        upn_suffix=get("upn_suffix", None),
        allow_basic_over_http=allow_basic,
        step_timeout=get("step_timeout", DEFAULT_STEP_TIMEOUT),
        is_lab=is_lab,
        encryption=get("encryption", "auto"),
        connection_timeout=get("connection_timeout", 30),
        read_timeout=get("read_timeout", 30),
        operation_timeout=get("operation_timeout", 20),
        configuration_name=get("configuration_name", "Microsoft.PowerShell"),
        client_certificate=get("client_certificate", None),
        client_certificate_key=get("client_certificate_key", None),
        keytab=keytab,
        spn_service=get("spn_service", "HTTP"),
        sources=dict(sources),
        config_path=str(path) if path.exists() else None,
    )


def _secret_source(
    values: Mapping[str, Any], key: str, account: str | None, label: str
) -> SecretSource | None:
    if key in values:
        return SecretSource("value", value=values[key])
    if f"{key}_env" in values:
        return SecretSource("env", values[f"{key}_env"])
    if f"{key}_keyring" in values:
        return SecretSource("keyring", values[f"{key}_keyring"], account=account or "")
    return None


# --- public -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    name: str
    origin: str
    """`flag`, `env PSWRAP_TARGET`, `file default_target`, `only target in file`, or `none configured`."""


def select_target(name: str | None = None) -> Selection:
    """Which target a run uses: `--target`, `PSWRAP_TARGET`, the file's default, its only target, or lab."""
    if name:
        return Selection(name, "flag")
    env = os.environ.get("PSWRAP_TARGET")
    if env:
        return Selection(env, "env PSWRAP_TARGET")
    path = config_path()
    data = _read_file(path)
    if data.get("default_target"):
        return Selection(str(data["default_target"]), "file default_target")
    targets = data.get("targets", {})
    if len(targets) == 1:
        return Selection(next(iter(targets)), "only target in file")
    if len(targets) > 1:
        raise ConfigError(
            f"{path}: several targets are configured ({', '.join(sorted(targets))}) and none is chosen",
            hint='pass --target NAME, set PSWRAP_TARGET, or add default_target = "NAME" to the file',
        )
    return Selection(LAB, "none configured")


def load_target(name: str | None = None, *, overrides: Mapping[str, object] | None = None) -> Target:
    """The effective settings of a target (flags in `overrides`, keyed like the file's keys)."""
    selection = select_target(name)
    path = config_path()
    data = _read_file(path)
    tables: dict[str, Any] = data.get("targets", {})
    table = tables.get(selection.name)
    if table is None and selection.name != LAB:
        known = ", ".join(sorted([*tables, LAB]))
        raise ConfigError(
            f"{path}: no target named {selection.name!r} (from {selection.origin})",
            hint=f"known targets: {known}",
        )
    values, sources = _layers(selection.name, table or {}, path, overrides or {})
    is_lab = selection.name == LAB and "host" not in values
    target = _build(selection.name, values, sources, is_lab=is_lab, path=path)
    return replace(target, sources={**target.sources, "target": selection.origin})


def target_from(name: str, settings: Mapping[str, object]) -> Target:
    """A target that is not in the configuration file: `settings` keyed like a `[targets.NAME]` table
    (plus `password` / `ad_credential_password` as values), validated as the file's keys are; `PSWRAP_*`
    environment variables fill what is not given. The Ansible collection's connection options use it."""
    path = config_path()
    values, sources = _layers(name, {}, path, settings)
    target = _build(name, values, sources, is_lab=False, path=path)
    return replace(target, sources={**target.sources, "target": "given"})


def list_targets() -> list[Target]:
    """Every configured target, plus `lab` (the embedded lab is always available)."""
    path = config_path()
    data = _read_file(path)
    names = list(data.get("targets", {}))
    if LAB not in names:
        names.append(LAB)
    return [load_target(n) for n in names]


def no_target_configured() -> bool:
    """True when nothing chooses a target, so runs fall back to the embedded lab (and say so)."""
    return select_target(None).origin == "none configured"
