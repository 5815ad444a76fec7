"""Output models of the lifecycle steps (`mailbox remove|restore|unlink`, issue #16)."""

from __future__ import annotations

from pswrap.results.base import PSDateTime, PSModel
from pswrap.results.models import AdUser, Mailbox


class AdRemoval(PSModel):
    """ad/remove-user: `existed` False when the account was already gone (check, then act)."""

    object_guid: str
    existed: bool


class RecycleBin(PSModel):
    """ad/get-recycle-bin: Get-ADOptionalFeature 'Recycle Bin Feature' and its EnabledScopes."""

    enabled: bool


class DeletedAdUser(PSModel):
    """ad/find-deleted-user: a deleted object kept by the AD Recycle Bin (Get-ADObject
    -IncludeDeletedObjects); `live` when the account exists (not deleted)."""

    found: bool
    live: bool = False
    object_guid: str | None = None
    last_known_parent: str | None = None


class DeletedCloudUser(PSModel):
    """graph/get-deleted-user: Entra ID's deleted items (Get-MgDirectoryDeletedItemAsUser)."""

    found: bool
    id: str | None = None
    user_principal_name: str | None = None
    deleted_date_time: PSDateTime | None = None


class DeletedMailbox(PSModel):
    """exo/find-deleted-mailbox: a soft-deleted or inactive mailbox (Get-EXOMailbox -SoftDeletedMailbox)."""

    found: bool
    mailbox: Mailbox | None = None
    is_inactive_mailbox: bool = False
    when_soft_deleted: PSDateTime | None = None


class SyncBehavior(PSModel):
    """graph/get-sync-behavior, graph/set-sync-behavior: the user's onPremisesSyncBehavior (Graph beta)."""

    id: str
    is_cloud_managed: bool
    is_cloud_managed_before: bool | None = None


class GraphContext(PSModel):
    """graph/get-context: the app-only session's granted application permissions (Get-MgContext Scopes)."""

    scopes: list[str] = []


__all__ = [
    "AdRemoval",
    "AdUser",
    "DeletedAdUser",
    "DeletedCloudUser",
    "DeletedMailbox",
    "GraphContext",
    "RecycleBin",
    "SyncBehavior",
]
