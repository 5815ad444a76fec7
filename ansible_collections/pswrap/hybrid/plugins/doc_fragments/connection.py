# Copyright: pswrap contributors
# MIT License (the same as the pswrap package)

"""The options every pswrap.hybrid module shares: which Windows server and tenant it works on."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  target:
    description:
      - The name of a target in pswrap's configuration file (C(pswrap targets list)), or C(lab) for the
        embedded lab.
      - The connection options below, when given, override that target's settings.
      - With neither O(target) nor O(host), pswrap chooses as its CLI does (C(PSWRAP_TARGET), the file's
        C(default_target), its only target), and uses the embedded lab when nothing is configured.
    type: str
  host:
    description:
      - The Windows server that runs the cmdlets (WinRM/PSRP), when it is not taken from O(target).
      - Without O(target), the target is built from these options alone (and C(PSWRAP_*) environment
        variables), named after the host.
    type: str
  port:
    description: WinRM port (default 5986 with https, 5985 with http).
    type: int
  scheme:
    description: http or https (the default).
    type: str
    choices: [http, https]
  auth:
    description: How to authenticate to WinRM (the default is negotiate).
    type: str
    choices: [negotiate, kerberos, ntlm, basic, certificate, credssp]
  username:
    description: The remoting account (C(DOMAIN\user) or C(user@domain)).
    type: str
  password:
    description:
      - The remoting account's password. Never in the module's output or logs.
      - Without it, pswrap uses the target's C(password_env) / C(password_keyring) or C(PSWRAP_PASSWORD).
    type: str
  validate_certs:
    description: Whether the server's TLS certificate is checked (https). Leave it on outside a lab.
    type: bool
    aliases: [cert_validation]
  ca_path:
    description: A PEM CA bundle to check the server's certificate against (default the system's).
    type: path
  client_certificate:
    description: PEM client certificate for O(auth=certificate).
    type: path
  client_certificate_key:
    description: PEM key of O(client_certificate).
    type: path
  hosts:
    description:
      - "The host each need runs on when it is not O(host), as the configuration file's C(hosts) table,
        for example C({adsync: sync1.corp.example}) for a separate sync server."
      - Keys are C(ad), C(adsync), C(exo), C(graph) and C(hybrid).
    type: dict
  organization:
    description: The tenant's initial domain (C(contoso.onmicrosoft.com)), for Connect-ExchangeOnline.
    type: str
  tenant_id:
    description: The tenant's ID, for Connect-MgGraph's app-only sign-in.
    type: str
  app_id:
    description: The app registration (client ID) pswrap signs in as, app-only.
    type: str
  certificate_thumbprint:
    description: Thumbprint of the app's certificate in the Windows server's certificate store.
    type: str
  domain_controller:
    description: The domain controller AD cmdlets use.
    type: str
  ad_credential_user:
    description: An AD account for the second hop, when the remoting account cannot write AD itself.
    type: str
  ad_credential_password:
    description: The password of O(ad_credential_user). Never in the module's output or logs.
    type: str
  resource_ou:
    description: The OU where resource accounts are created.
    type: str
  staging_ou:
    description: The OU outside sync scope that the C(staging-ou) hold uses.
    type: str
  upn_suffix:
    description: The UPN suffix of new accounts.
    type: str
  step_timeout:
    description: Seconds one step may take before pswrap gives up (exit code 7).
    type: float
notes:
  - "The modules run where pswrap is installed (the controller, with C(delegate_to: localhost) or
    C(connection: local)) and connect to the Windows server themselves over WinRM."
  - Failures carry pswrap's error as C(error) (C(type), C(message), C(hint), C(exit_code)) and the
    exit code's meaning as C(error.meaning).
requirements:
  - pswrap (the Python package this collection ships with), on the Python that runs the module.
"""
