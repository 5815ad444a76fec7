"""The output model of every step: the JSON keys a template's emitter writes and a lab handler returns.

Keys are snake_case: our emitter writes them that way (`[ordered]@{ object_guid = ... }`), so the JSON is
the contract between a template, the lab handler that imitates it, and the Python that reads it.
Emitter rules (docs/design.md): GUIDs as strings, dates ISO 8601, byte arrays base64, enums as names, arrays
always arrays.
"""

from __future__ import annotations

from typing import Annotated

from pswrap.results.base import PSDateTime, PSList, PSModel, enum_text

# Enum-typed fields stay `str` (the name our emitter writes); Windows PowerShell 5.1's ConvertTo-Json
# writes an enum as its number, so these maps accept the documented values too.

RECIPIENT_TYPE_DETAILS = {
    1: "UserMailbox",
    2: "LinkedMailbox",
    4: "SharedMailbox",
    16: "RoomMailbox",
    32: "EquipmentMailbox",
    128: "MailUser",
    2147483648: "RemoteUserMailbox",
    8589934592: "RemoteRoomMailbox",
    17179869184: "RemoteEquipmentMailbox",
    34359738368: "RemoteSharedMailbox",
}
"""Microsoft.Exchange.Data.Directory.Recipient.RecipientTypeDetails (msExchRecipientTypeDetails values,
as the Exchange team's "Exchange 2007 and recipient type details" table lists them)."""
RecipientTypeDetails = Annotated[str, enum_text(RECIPIENT_TYPE_DETAILS)]

SYNCHRONIZATION_POLICY_TYPES = {0: "Unspecified", 1: "Delta", 2: "Initial"}
"""ADSync's SynchronizationPolicyType, in its documented order (docs/sources.md §2: Unspecified, Delta,
Initial)."""
SynchronizationPolicyType = Annotated[str, enum_text(SYNCHRONIZATION_POLICY_TYPES)]

# --- shared -----------------------------------------------------------------------------------------


class Connection(PSModel):
    """exo/connect, graph/connect, hybrid/connect: connect steps do nothing when already connected."""

    connected: bool
    already_connected: bool = False
    detail: str | None = None
    """Organization (EXO), tenant id (Graph) or snap-in name (hybrid)."""


# --- sync (Entra Connect Sync, ADSync module) ------------------------------------------------------


class SyncSettings(PSModel):
    """sync/get-settings: from Get-ADSyncGlobalSettings' Parameters collection."""

    anchor_attribute: str
    """`objectGUID` or `mS-DS-ConsistencyGuid` (Microsoft.SynchronizationOption.AnchorAttribute)."""
    staging_mode: bool
    connect_version: str | None = None


class SchedulerState(PSModel):
    """sync/get-scheduler and sync/set-scheduler: Get-ADSyncScheduler's documented fields."""

    sync_cycle_enabled: bool
    scheduler_suspended: bool = False
    sync_cycle_in_progress: bool = False
    staging_mode_enabled: bool = False
    maintenance_enabled: bool = True
    next_sync_cycle_policy_type: SynchronizationPolicyType | None = None
    next_sync_cycle_start_time_utc: PSDateTime | None = None
    currently_effective_sync_cycle_interval_seconds: int | None = None


class CycleStarted(PSModel):
    """sync/start-cycle: Start-ADSyncSyncCycle's output object (`Result` = `Success`)."""

    result: str


class ExportError(PSModel):
    """One object's export error in a run (InvalidHardMatch, AttributeValueMustBeUnique, ...)."""

    dn: str | None = None
    """The object's DN in the connector's space: the AD DN for the AD connector; for the Entra ID
    connector `CN={hex of the ImmutableId's ASCII}` (pswrap.immutableid.connector_space_dn)."""
    cs_guid: str | None = None
    """The connector-space object's GUID (the run history's `cs-guid`)."""
    source_anchor: str | None = None
    """The object's sourceAnchor (ImmutableId form), when known."""
    error_type: str
    error_code: str | None = None
    error_literal: str | None = None


class RunResult(PSModel):
    run_history_id: str
    connector_name: str
    run_profile_name: str
    result: str
    """`success`, `completed-export-errors`, `completed-sync-errors`, `no-start-connection`, ..."""
    start_date: PSDateTime | None = None
    end_date: PSDateTime | None = None
    export_errors: PSList[ExportError] = []


class RunResults(PSModel):
    """sync/get-run-results: Get-ADSyncRunProfileResult, newest first."""

    runs: PSList[RunResult] = []


class Lease(PSModel):
    name: str
    deadline_utc: PSDateTime
    prior_sync_cycle_enabled: bool


class LeaseSet(PSModel):
    """sync/install-lease, sync/remove-lease, sync/list-leases: pswrap's one-shot restore tasks.

    `prior_sync_cycle_enabled` is the scheduler state recorded before the first lease (None when no
    lease is left); `restored` is True when removing the last lease put that state back.
    """

    leases: PSList[Lease] = []
    prior_sync_cycle_enabled: bool | None = None
    sync_cycle_enabled: bool | None = None
    restored: bool = False


# --- ad (ActiveDirectory module) -------------------------------------------------------------------


class Domain(PSModel):
    """ad/get-domain: Get-ADDomain (without -Server) and the forest's UPN suffixes."""

    dns_root: str
    netbios_name: str
    distinguished_name: str
    pdc_emulator: str
    """The domain controller pswrap pins for the run when the target names none."""
    upn_suffixes: PSList[str] = []


class AdUser(PSModel):
    object_guid: str
    sam_account_name: str
    user_principal_name: str | None = None
    distinguished_name: str
    display_name: str | None = None
    mail: str | None = None
    proxy_addresses: PSList[str] = []
    mail_nickname: str | None = None
    consistency_guid: str | None = None
    """mS-DS-ConsistencyGuid as base64 (a byte array, emitted as base64); None when unset."""
    enabled: bool | None = None
    """Get-ADUser's Enabled (userAccountControl); after the link the cloud account's sign-in follows it."""


class AdUserLookup(PSModel):
    """ad/find-user: not found is an answer, not an error."""

    found: bool
    user: AdUser | None = None


class AdAnchor(PSModel):
    """ad/get-anchor: the two candidate sourceAnchor values of one account."""

    object_guid: str
    consistency_guid: str | None = None
    """base64, as the attribute's bytes; None when unset."""


class AdNamedObject(PSModel):
    name: str
    distinguished_name: str
    object_class: str | None = None
    object_guid: str | None = None


class AdNamedObjects(PSModel):
    """ad/find-name: objects in one container whose name AD treats as equal to a given one."""

    objects: PSList[AdNamedObject] = []


# --- exo (ExchangeOnlineManagement) -----------------------------------------------------------------


class Mailbox(PSModel):
    alias: str
    name: str | None = None
    display_name: str | None = None
    primary_smtp_address: str
    recipient_type_details: RecipientTypeDetails
    """`RoomMailbox`, `EquipmentMailbox`, `SharedMailbox`, `UserMailbox`."""
    email_addresses: PSList[str] = []
    user_principal_name: str | None = None
    external_directory_object_id: str | None = None
    """The Entra (Graph) user id behind the mailbox."""
    resource_capacity: int | None = None
    is_dir_synced: bool = False
    legacy_exchange_dn: str | None = None
    """The mailbox's LegacyExchangeDN: the AD account carries it as an X500 address so replies to old
    messages and meeting updates keep resolving after the link."""


class MailboxLookup(PSModel):
    """exo/find-mailbox."""

    found: bool
    mailbox: Mailbox | None = None


class Recipient(PSModel):
    name: str | None = None
    alias: str | None = None
    primary_smtp_address: str | None = None
    recipient_type_details: RecipientTypeDetails
    email_addresses: PSList[str] = []
    external_directory_object_id: str | None = None


class RecipientLookup(PSModel):
    """exo/find-recipients: every recipient holding the alias or any of the addresses."""

    recipients: PSList[Recipient] = []


# --- graph (Microsoft.Graph) --------------------------------------------------------------------------


class RoleAssignment(PSModel):
    """A Microsoft Entra role assignment of a user: `status` `active` or `eligible` (PIM)."""

    role: str
    directory_scope_id: str = "/"
    """`/` for the whole directory, `/administrativeUnits/<id>` for an administrative unit."""
    status: str = "active"


class ProvisioningError(PSModel):
    """Graph's onPremisesProvisioningError: a value another object holds, quarantined on this one."""

    category: str | None = None
    property_causing_error: str | None = None
    """`UserPrincipalName` or `ProxyAddress`."""
    value: str | None = None
    occurred_date_time: PSDateTime | None = None


class CloudUser(PSModel):
    id: str
    user_principal_name: str
    display_name: str | None = None
    mail: str | None = None
    on_premises_immutable_id: str | None = None
    on_premises_sync_enabled: bool | None = None
    on_premises_last_sync_date_time: PSDateTime | None = None
    proxy_addresses: PSList[str] = []
    directory_roles: PSList[str] = []
    """Display names of the directory roles the user holds (admin roles block matching)."""
    role_assignments: PSList[RoleAssignment] = []
    """Active role assignments at any scope and PIM-eligible ones (docs/sync.md, role holders)."""
    on_premises_provisioning_errors: PSList[ProvisioningError] = []
    """Values duplicate attribute resiliency quarantined on this object (onPremisesProvisioningErrors)."""
    account_enabled: bool | None = None
    """Entra accountEnabled: whether the account can sign in (New-Mailbox -Room creates it enabled)."""


class CloudUserLookup(PSModel):
    """graph/get-user."""

    found: bool
    user: CloudUser | None = None


class CloudUsers(PSModel):
    """graph/find-users."""

    users: PSList[CloudUser] = []


class SyncFeatures(PSModel):
    """graph/get-sync-features: the tenant's onPremisesDirectorySynchronization features."""

    block_soft_match: bool
    block_hard_match_takeover: bool


# --- hybrid (Exchange management tools, RecipientManagement snap-in) ----------------------------------


class RemoteMailbox(PSModel):
    alias: str
    name: str | None = None
    display_name: str | None = None
    primary_smtp_address: str
    user_principal_name: str | None = None
    sam_account_name: str | None = None
    distinguished_name: str | None = None
    remote_routing_address: str | None = None
    recipient_type_details: RecipientTypeDetails
    """`RemoteRoomMailbox`, `RemoteEquipmentMailbox`, `RemoteSharedMailbox`."""
    guid: str | None = None


class RemoteMailboxLookup(PSModel):
    """hybrid/find-remote-mailbox."""

    found: bool
    remote_mailbox: RemoteMailbox | None = None


# --- who masters the Exchange attributes (issue #11) --------------------------------------------------


class ExchangeSchema(PSModel):
    """ad/get-exchange-schema: whether the forest's schema has the Exchange attributes."""

    present: bool
    """msExchRecipientTypeDetails is an attribute of the schema (Exchange's /PrepareSchema ran)."""
    version: int | None = None
    """rangeUpper of ms-Exch-Schema-Version-Pt, when present."""


class ExchangeStamp(PSModel):
    """ad/stamp-exchange-attributes: the remote-mailbox values on the account, read back."""

    object_guid: str
    recipient_type_details: int | None = None
    remote_recipient_type: int | None = None
    recipient_display_type: int | None = None


class MailboxAuthority(PSModel):
    """exo/get-exchange-authority and exo/set-exchange-cloud-managed: who masters a mailbox's Exchange
    attributes. `is_exchange_cloud_managed` is None when Exchange Online does not show the property (Learn's
    Get-Mailbox page does not document it; community transcripts show it on Get-Mailbox's output)."""

    identity: str
    is_dir_synced: bool = False
    is_exchange_cloud_managed: bool | None = None


class SignInChange(PSModel):
    """graph/set-account-enabled: the cloud account's sign-in before and after (it changes only when it
    differed)."""

    id: str
    user_principal_name: str | None = None
    account_enabled_before: bool | None = None
    account_enabled: bool | None = None
