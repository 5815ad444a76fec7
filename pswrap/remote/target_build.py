"""A `Target` from the merged settings of its layers: defaults, the embedded lab's values, the checks
that span several settings (Basic over HTTP, certificate authentication, Kerberos), and where each
password comes from (a named source, or a prompt)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pswrap.errors import ConfigError
from pswrap.remote.kerberos import check_kerberos_settings
from pswrap.remote.secret_sources import SecretSource
from pswrap.remote.target_model import DEFAULT_STEP_TIMEOUT, EMBEDDED_USER, Auth, Scheme, Target
from pswrap.remote.target_settings import is_loopback
from pswrap.steps.model import NEEDS, Need


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
    "retired_ou",
    "resource_ou",
    "upn_suffix",
)


def build_target(
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
        retired_ou=get("retired_ou", None),
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
