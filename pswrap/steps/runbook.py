"""The steps of the mailbox runbook (the seed, modernised), one declaration each.

Each declaration is the contract between its template (`ps_templates/<id>.ps1.j2`), the lab handler
that imitates the real cmdlets (`pswrap/lab/handlers/`), and the workflow that calls it. Parameter
names are the template's param() names; optional parameters are passed to the cmdlet only when given.
"""

from __future__ import annotations

from pswrap.results import models as m
from pswrap.steps import readback as rb
from pswrap.steps.model import Choice, Param, Profile, Retired, Step

MODERN: tuple[Profile, ...] = ("modern",)
MODERN_HYBRID: tuple[Profile, ...] = ("modern", "hybrid-tools")
HYBRID: tuple[Profile, ...] = ("hybrid-tools",)
LEGACY: tuple[Profile, ...] = ("legacy",)

MAILBOX_TYPE = Choice(
    "type", ("room", "equipment", "shared"), default="room", help="kind of resource mailbox"
)

# Every AD step but ad/get-domain pins one domain controller and may carry an AD credential (a second hop).
AD_SERVER = Param("Server", help="the domain controller pinned for the whole run")
AD_CRED = (
    Param("CredentialUser", mandatory=False, help="AD account for the second hop (DOMAIN\\user)"),
    Param("CredentialPassword", "securestring", mandatory=False, secret=True, help="its password"),
)
AD_SESSION = ("Server", "CredentialUser", "CredentialPassword")

SYNC_STEPS = (
    Step(
        "sync/get-settings",
        "Read the sync server's sourceAnchor attribute, staging mode and Connect version",
        needs="adsync",
        profiles=MODERN_HYBRID,
        result=m.SyncSettings,
    ),
    Step(
        "sync/get-scheduler",
        "Read the sync scheduler (enabled, suspended, cycle in progress, next run)",
        needs="adsync",
        profiles=MODERN_HYBRID,
        result=m.SchedulerState,
    ),
    Step(
        "sync/set-scheduler",
        "Pause or resume the sync scheduler (Set-ADSyncScheduler -SyncCycleEnabled)",
        needs="adsync",
        profiles=MODERN_HYBRID,
        params=(Param("SyncCycleEnabled", "bool"),),
        result=m.SchedulerState,
        changes=True,
        read_back=rb.SET_SCHEDULER,
    ),
    Step(
        "sync/start-cycle",
        "Start a sync cycle (Start-ADSyncSyncCycle -PolicyType Delta|Initial)",
        needs="adsync",
        profiles=MODERN_HYBRID,
        choices=(Choice("policy", ("delta", "initial"), default="delta"),),
        result=m.CycleStarted,
        changes=True,
        read_back=rb.START_CYCLE,
        idempotent=False,
    ),
    Step(
        "sync/get-run-results",
        "Read the results of recent sync runs with their export errors (Get-ADSyncRunProfileResult)",
        needs="adsync",
        profiles=MODERN_HYBRID,
        params=(
            Param(
                "NumberRequested",
                "int",
                mandatory=False,
                help="how many recent runs; without it, every run the server keeps (7 days by default)",
            ),
        ),
        result=m.RunResults,
    ),
    Step(
        "sync/install-lease",
        "Pause the scheduler under a lease: a one-shot task that restores the prior state at a deadline",
        needs="adsync",
        profiles=MODERN,
        params=(
            Param("LeaseName", help="pswrap-lease-<operation id>"),
            Param("DeadlineUtc", "datetime", help="when the task restores the prior scheduler state"),
        ),
        result=m.LeaseSet,
        changes=True,
        read_back=rb.INSTALL_LEASE,
    ),
    Step(
        "sync/remove-lease",
        "End a lease; the last lease to end restores the scheduler's prior state",
        needs="adsync",
        profiles=MODERN,
        params=(Param("LeaseName", help="the lease to end, pswrap-lease-<operation id>"),),
        result=m.LeaseSet,
        changes=True,
        read_back=rb.REMOVE_LEASE,
    ),
    Step(
        "sync/list-leases",
        "List pswrap's leases and the scheduler state recorded before the first",
        needs="adsync",
        profiles=MODERN,
        result=m.LeaseSet,
    ),
)

AD_STEPS = (
    Step(
        "ad/get-domain",
        "Read the domain: the PDC emulator to pin, UPN suffixes (Get-ADDomain without -Server)",
        needs="ad",
        profiles=MODERN_HYBRID,
        params=AD_CRED,
        result=m.Domain,
        session_params=("CredentialUser", "CredentialPassword"),
    ),
    Step(
        "ad/find-user",
        "Find an AD user by sAMAccountName, UPN or objectGUID (not found is an answer)",
        needs="ad",
        profiles=MODERN_HYBRID,
        choices=(Choice("by", ("sam", "upn", "guid"), default="sam"),),
        params=(
            Param("Value", help="the sAMAccountName, UPN or objectGUID to look for (see the by choice)"),
            AD_SERVER,
            *AD_CRED,
        ),
        result=m.AdUserLookup,
        session_params=AD_SESSION,
    ),
    Step(
        "ad/new-user",
        "Create the resource account (New-ADUser with proxyAddresses, mailNickname, mS-DS-ConsistencyGuid)",
        needs="ad",
        profiles=MODERN,
        params=(
            Param("Name"),
            Param("Path", help="the OU's distinguished name"),
            Param("SamAccountName"),
            Param("UserPrincipalName"),
            Param("DisplayName"),
            Param("EmailAddress"),
            Param("ProxyAddresses", "string[]", help="primary first, as SMTP:addr"),
            Param("MailNickname"),
            Param("ConsistencyGuid", "guid", mandatory=False, help="pre-stamped mS-DS-ConsistencyGuid"),
            Param("Enabled", "bool", mandatory=False, help="without it the account is created disabled"),
            Param(
                "AccountPassword",
                "securestring",
                mandatory=False,
                secret=True,
                help="only for an account that signs in (--allow-sign-in)",
            ),
            AD_SERVER,
            *AD_CRED,
        ),
        result=m.AdUser,
        changes=True,
        read_back=rb.NEW_USER,
        idempotent=False,
        session_params=AD_SESSION,
    ),
    Step(
        "ad/move-user",
        "Move an account into sync scope (Move-ADObject)",
        needs="ad",
        profiles=MODERN,
        params=(Param("Identity", "guid", help="objectGUID"), Param("TargetPath"), AD_SERVER, *AD_CRED),
        result=m.AdUser,
        changes=True,
        read_back=rb.MOVE_USER,
        session_params=AD_SESSION,
    ),
    Step(
        "ad/get-anchor",
        "Read an account's objectGUID and mS-DS-ConsistencyGuid",
        needs="ad",
        profiles=MODERN_HYBRID,
        params=(Param("Identity", "guid", help="objectGUID"), AD_SERVER, *AD_CRED),
        result=m.AdAnchor,
        session_params=AD_SESSION,
    ),
    Step(
        "ad/find-name",
        "Find the objects in a container whose name AD treats as equal (case and diacritics ignored)",
        needs="ad",
        profiles=MODERN_HYBRID,
        params=(
            Param("Value", help="the name (CN) a new object would get"),
            Param("Path", help="the container's distinguished name; only its direct children count"),
            AD_SERVER,
            *AD_CRED,
        ),
        result=m.AdNamedObjects,
        session_params=AD_SESSION,
    ),
)

EXO_STEPS = (
    Step(
        "exo/connect",
        "Connect to Exchange Online app-only with a certificate from Cert:\\LocalMachine\\My",
        needs="exo",
        profiles=MODERN,
        params=(
            Param("AppId", help="the app registration's application (client) id"),
            Param("Organization", help="the tenant's primary domain, <tenant>.onmicrosoft.com"),
            Param("CertificateThumbprint", help="40 hex digits, of a certificate in Cert:\\LocalMachine\\My"),
        ),
        result=m.Connection,
        session_params=("AppId", "Organization", "CertificateThumbprint"),
    ),
    Step(
        "exo/find-mailbox",
        "Find a mailbox by alias, address or name (not found is an answer)",
        needs="exo",
        profiles=MODERN,
        params=(Param("Identity", help="alias, SMTP address, name or Entra object id"),),
        result=m.MailboxLookup,
    ),
    Step(
        "exo/find-recipients",
        "Find every recipient holding an alias or any of the addresses (Get-Recipient)",
        needs="exo",
        profiles=MODERN,
        params=(
            Param("Alias", mandatory=False, help="recipients whose alias is exactly this"),
            Param("Addresses", "string[]", mandatory=False, help="SMTP addresses (smtp: ignored)"),
        ),
        result=m.RecipientLookup,
    ),
    Step(
        "exo/new-mailbox",
        "Create the cloud room, equipment or shared mailbox (New-Mailbox -Room|-Equipment|-Shared)",
        needs="exo",
        profiles=MODERN,
        choices=(MAILBOX_TYPE,),
        params=(
            Param("Name"),
            Param("Alias"),
            Param("DisplayName"),
            Param("PrimarySmtpAddress"),
            Param("ResourceCapacity", "int", mandatory=False, help="rooms only"),
        ),
        result=m.Mailbox,
        changes=True,
        read_back=rb.NEW_MAILBOX,
        idempotent=False,
    ),
)

GRAPH_STEPS = (
    Step(
        "graph/connect",
        "Connect to Microsoft Graph app-only with a certificate from Cert:\\LocalMachine\\My",
        needs="graph",
        profiles=MODERN,
        params=(
            Param("ClientId", help="the app registration's application (client) id"),
            Param("TenantId", help="the tenant id or its onmicrosoft.com domain"),
            Param("CertificateThumbprint", help="40 hex digits, of a certificate in Cert:\\LocalMachine\\My"),
        ),
        result=m.Connection,
        session_params=("ClientId", "TenantId", "CertificateThumbprint"),
    ),
    Step(
        "graph/get-user",
        "Read a cloud user with its ImmutableId, sync state, proxy addresses and directory roles",
        needs="graph",
        profiles=MODERN,
        params=(Param("UserId", help="object id or UPN"),),
        result=m.CloudUserLookup,
    ),
    Step(
        "graph/find-users",
        "Find cloud users by ImmutableId or by proxy address (Get-MgUser -Filter)",
        needs="graph",
        profiles=MODERN,
        choices=(Choice("by", ("immutableid", "proxy-address"), default="immutableid"),),
        params=(Param("Value", help="an ImmutableId (base64), or an SMTP address (smtp: ignored)"),),
        result=m.CloudUsers,
    ),
    Step(
        "graph/set-user",
        "Set a cloud user's ImmutableId and/or UPN (Update-MgUser), the hard-match link",
        needs="graph",
        profiles=MODERN,
        params=(
            Param("UserId", help="object id or UPN"),
            Param("OnPremisesImmutableId", mandatory=False, help="base64 of the AD anchor's bytes"),
            Param("UserPrincipalName", mandatory=False),
        ),
        result=m.CloudUser,
        changes=True,
        read_back=rb.SET_CLOUD_USER,
    ),
    Step(
        "graph/get-sync-features",
        "Read the tenant's BlockSoftMatch and BlockCloudObjectTakeoverThroughHardMatch features",
        needs="graph",
        profiles=MODERN,
        result=m.SyncFeatures,
    ),
)

HYBRID_STEPS = (
    Step(
        "hybrid/connect",
        "Load the Exchange RecipientManagement snap-in (management tools, no server)",
        needs="hybrid",
        profiles=HYBRID,
        result=m.Connection,
    ),
    Step(
        "hybrid/new-remote-mailbox",
        "Create the AD account and remote mailbox (New-RemoteMailbox); sync creates the cloud mailbox",
        needs="hybrid",
        profiles=HYBRID,
        choices=(MAILBOX_TYPE,),
        params=(
            Param("Name"),
            Param("Alias"),
            Param("DisplayName"),
            Param("PrimarySmtpAddress"),
            Param("UserPrincipalName"),
            Param("SamAccountName"),
            Param("OnPremisesOrganizationalUnit"),
            Param("RemoteRoutingAddress", mandatory=False, help="alias@tenant.mail.onmicrosoft.com"),
            Param("DomainController", mandatory=False),
        ),
        result=m.RemoteMailbox,
        changes=True,
        read_back=rb.NEW_REMOTE_MAILBOX,
        idempotent=False,
    ),
    Step(
        "hybrid/find-remote-mailbox",
        "Find a remote mailbox by alias or address (not found is an answer)",
        needs="hybrid",
        profiles=HYBRID,
        params=(
            Param("Identity", help="alias, SMTP address or name"),
            Param("DomainController", mandatory=False),
        ),
        result=m.RemoteMailboxLookup,
    ),
)


def _legacy(
    step_id: str,
    summary: str,
    service: str,
    retired: str,
    replacement: str,
    *params: Param,
    changes: bool = True,
) -> Step:
    return Step(
        step_id,
        summary,
        needs=None,
        profiles=LEGACY,
        params=params,
        result=None,
        changes=changes,
        retired=Retired(service, retired, replacement),
    )


DIRSYNC = "DirSync (MSOnlineSyncScheduler service)"
LEGACY_STEPS = (
    _legacy(
        "legacy/get-credential",
        "Ask for the Office 365 admin credential (Get-Credential)",
        "Basic-auth Exchange Online remote PowerShell",
        "2023-10",
        "app-only certificate authentication (exo/connect, graph/connect)",
        changes=False,
    ),
    _legacy(
        "legacy/stop-dirsync",
        "Pause DirSync (Stop-Service MSOnlineSyncScheduler)",
        DIRSYNC,
        "2021-04-01",
        "Set-ADSyncScheduler -SyncCycleEnabled $false under a lease (sync/install-lease)",
    ),
    _legacy(
        "legacy/new-aduser",
        "Create the AD account (New-ADUser @ADUserProperties -PassThru), as the seed wrote it",
        "none (New-ADUser is current)",
        "-",
        "ad/new-user, which also sets mailNickname and, with the anchor hold, mS-DS-ConsistencyGuid",
        Param("Name"),
        Param("Path"),
        Param("SamAccountName"),
        Param("UserPrincipalName"),
        Param("DisplayName"),
        Param("EmailAddress"),
        Param("ProxyAddresses", "string[]"),
    ),
    _legacy(
        "legacy/connect-exo",
        "Connect to Exchange Online over Basic-auth remote PowerShell (New-PSSession; Import-PSSession)",
        "Basic-auth Exchange Online remote PowerShell",
        "2023-10",
        "Connect-ExchangeOnline app-only (exo/connect)",
        Param("ConnectionUri"),
        changes=False,
    ),
    _legacy(
        "legacy/new-mailbox",
        "Create the room mailbox (New-Mailbox @O365UserProperties -Room)",
        "Basic-auth Exchange Online remote PowerShell (the session it ran in)",
        "2023-10",
        "exo/new-mailbox in an app-only Exchange Online session",
        Param("Name"),
        Param("DisplayName"),
    ),
    _legacy(
        "legacy/connect-msol",
        "Connect to MSOnline (Connect-MsolService)",
        "MSOnline PowerShell",
        "2025-05-30",
        "Connect-MgGraph app-only (graph/connect)",
        changes=False,
    ),
    _legacy(
        "legacy/set-immutableid",
        "Link the cloud user to the AD account (Set-MsolUserPrincipalName -ImmutableId)",
        "MSOnline PowerShell",
        "2025-05-30",
        "Update-MgUser -OnPremisesImmutableId -UserPrincipalName (graph/set-user)",
        Param("UserPrincipalName"),
        Param("NewUserPrincipalName"),
        Param("ImmutableId"),
    ),
    _legacy(
        "legacy/start-dirsync",
        "Resume DirSync (Start-Service MSOnlineSyncScheduler)",
        DIRSYNC,
        "2021-04-01",
        "removing the lease restores the scheduler's prior state (sync/remove-lease)",
    ),
    _legacy(
        "legacy/start-sync",
        "Force a full DirSync run (Import-Module DirSync; Start-OnlineCoexistenceSync -FullSync)",
        "DirSync (Start-OnlineCoexistenceSync)",
        "2021-04-01",
        "Start-ADSyncSyncCycle -PolicyType Delta (sync/start-cycle)",
    ),
)

# Who masters what after the link (issue #11): addresses, sign-in, the Exchange attributes' authority.
MASTERING_STEPS = (
    Step(
        "ad/add-addresses",
        "Add the proxyAddresses an account lacks (Set-ADUser -Add), so the link keeps every address",
        needs="ad",
        profiles=MODERN,
        params=(
            Param("Identity", "guid", help="objectGUID"),
            Param("Addresses", "string[]", help="smtp:/X500: addresses; those already present are skipped"),
            AD_SERVER,
            *AD_CRED,
        ),
        result=m.AdUser,
        changes=True,
        read_back=rb.ADD_ADDRESSES,
        session_params=AD_SESSION,
    ),
    Step(
        "ad/get-exchange-schema",
        "Read whether the forest's schema has the Exchange attributes (Get-ADRootDSE, Get-ADObject)",
        needs="ad",
        profiles=MODERN_HYBRID,
        params=(AD_SERVER, *AD_CRED),
        result=m.ExchangeSchema,
        session_params=AD_SESSION,
    ),
    Step(
        "ad/stamp-exchange-attributes",
        "Write the remote-mailbox msExch* values on an account (Set-ADUser -Replace; unsupported route)",
        needs="ad",
        profiles=MODERN,
        params=(
            Param("Identity", "guid", help="objectGUID"),
            Param("RecipientTypeDetails", help="msExchRecipientTypeDetails, a 64-bit integer as text"),
            Param("RemoteRecipientType", help="msExchRemoteRecipientType, as text"),
            Param("RecipientDisplayType", help="msExchRecipientDisplayType, as text"),
            AD_SERVER,
            *AD_CRED,
        ),
        result=m.ExchangeStamp,
        changes=True,
        read_back=rb.STAMP_EXCHANGE,
        session_params=AD_SESSION,
    ),
    Step(
        "exo/get-exchange-authority",
        "Read whether a mailbox's Exchange attributes are cloud-managed (Get-Mailbox IsExchangeCloudManaged)",
        needs="exo",
        profiles=MODERN,
        params=(Param("Identity", help="alias, SMTP address or Entra object id"),),
        result=m.MailboxAuthority,
    ),
    Step(
        "exo/set-exchange-cloud-managed",
        "Move a mailbox's Exchange attributes to Exchange Online (Set-Mailbox -IsExchangeCloudManaged)",
        needs="exo",
        profiles=MODERN,
        params=(Param("Identity", help="alias, SMTP address or Entra object id"),),
        result=m.MailboxAuthority,
        changes=True,
        read_back=rb.SET_CLOUD_MANAGED,
    ),
    Step(
        "exo/set-mailbox",
        "Set mailbox values Exchange Online masters (Set-Mailbox); what AD masters is refused after the link",
        needs="exo",
        profiles=MODERN,
        params=(
            Param("Identity", help="alias, SMTP address or Entra object id"),
            Param("DisplayName", mandatory=False),
            Param("Name", mandatory=False, help="cloud-only: a synced name is AD's cn"),
            Param("EmailAddresses", "string[]", mandatory=False, help="every address, SMTP: for the primary"),
            Param("HiddenFromAddressListsEnabled", "bool", mandatory=False),
            Param("ResourceCapacity", "int", mandatory=False, help="rooms"),
        ),
        result=m.Mailbox,
        changes=True,
        read_back=rb.SET_MAILBOX,
    ),
    Step(
        "graph/set-account-enabled",
        "Block or allow sign-in of a cloud account (Update-MgUser -AccountEnabled)",
        needs="graph",
        profiles=MODERN,
        params=(Param("UserId", help="object id or UPN"), Param("AccountEnabled", "bool")),
        result=m.SignInChange,
        changes=True,
        read_back=rb.SET_ACCOUNT_ENABLED,
    ),
)

STEPS: tuple[Step, ...] = (
    *SYNC_STEPS,
    *AD_STEPS,
    *EXO_STEPS,
    *GRAPH_STEPS,
    *HYBRID_STEPS,
    *LEGACY_STEPS,
    *MASTERING_STEPS,
)
