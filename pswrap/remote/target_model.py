"""The target model: which Windows host each need runs on, how to authenticate, and the tenant's identity.

A `Target` is the effective settings of one target, each value remembering the layer it came from
(`Target.sources`). The configuration file holds no secret: a password is named by its source and
resolved only when a connection needs it (`Target.password`). `pswrap.remote.target` loads targets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pswrap.remote.secret_sources import SecretSource
from pswrap.secrets import Secret
from pswrap.steps.model import Need, Profile

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
    retired_ou: str | None = None
    """Out of sync scope: `mailbox remove --keep-ad-account` moves the account here (issue #16)."""
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
