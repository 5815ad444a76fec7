"""Output models of the preflight steps of `pswrap doctor` (same emitter rules as models.py: snake_case
keys, ISO dates, arrays always arrays).

They report facts only; what is pass, warn or fail is decided in `pswrap.workflows.checks`, so the
judgement is testable without a server and the templates stay dumb readers.
"""

from __future__ import annotations

from pswrap.results.base import PSDateTime, PSList, PSModel


class InstalledModule(PSModel):
    """One module `Get-Module -ListAvailable` found (several versions of a module: one entry each)."""

    name: str
    version: str
    path: str | None = None
    """ModuleBase: where it is installed (a look-alike in a user's profile is worth seeing)."""
    company_name: str | None = None
    author: str | None = None


class SnapIn(PSModel):
    """One registered PowerShell snap-in (`Get-PSSnapin -Registered`)."""

    name: str
    version: str | None = None


class ModuleInventory(PSModel):
    """ad|sync|exo|graph|hybrid/get-modules: what is installed on the host that need maps to."""

    computer_name: str | None = None
    modules: PSList[InstalledModule] = []
    snapins: PSList[SnapIn] = []


class CertificateInfo(PSModel):
    """exo|graph/get-certificate: the app-only certificate as the remoting account sees it.

    `found` is about `Cert:\\LocalMachine\\My`, the store pswrap's connect steps read; the same
    thumbprint in `CurrentUser\\My` only is the classic wrong-store mistake, so it is reported apart.
    """

    thumbprint: str
    found: bool
    in_current_user_store: bool = False
    subject: str | None = None
    not_before: PSDateTime | None = None
    not_after: PSDateTime | None = None
    has_private_key: bool = False
    private_key_usable: bool = False
    """The remoting account could open the private key (it can be present and still unreadable)."""
    private_key_error: str | None = None
    """The message reading the key failed with (e.g. `Keyset does not exist`)."""


class OrganizationalUnit(PSModel):
    distinguished_name: str
    exists: bool
    name: str | None = None


class OuReport(PSModel):
    """ad/get-ous: the pinned domain controller's answer about the OUs pswrap will use."""

    server: str
    """The domain controller that answered (the one pinned for the run)."""
    domain: str | None = None
    """The domain's distinguished name, as that DC reports it."""
    ous: PSList[OrganizationalUnit] = []


class ConnectorScope(PSModel):
    """One AD connector partition's OU filtering (Partitions.ConnectorPartitionScope)."""

    connector: str
    partition: str | None = None
    inclusions: PSList[str] = []
    exclusions: PSList[str] = []


class SyncScope(PSModel):
    """sync/get-scope: the OU filtering of every AD connector on the sync server."""

    connectors: PSList[ConnectorScope] = []
