"""After a batch's sync cycle: every mailbox the batch created is checked linked in bulk, not one by one.

One filtered read per system and kind, each paged by its service, instead of the create workflow's reads
for every mailbox (its AD account, mailbox, recipients, cloud user and anchor holders):
- Microsoft Graph: the mailboxes' cloud users by id with their anchors (graph/get-users, Get-MgUser
  -Filter "id in (...)", 15 ids per request, Graph's limit for `in`);
- Active Directory: the mail-enabled accounts of each OU the accounts are in (ad/list-users);
- Exchange Online: the room, equipment and shared mailboxes (exo/list-mailboxes), as read for the plan.

A mailbox is reported linked only when both sides agree, as the single-mailbox wait checks it: its AD
account (by objectGUID) carries the anchor the sync server gives it (the server's sourceAnchor attribute),
and the mailbox's cloud user (by id) is synced with that same ImmutableId. It then gets the read-back the
create workflow gives after a link: its mailbox as it now is and the drift from what was asked (after the
link AD masters the synced fields). Its `mailbox.create` operation is completed in the journal.

A mailbox this does not see linked (a change the cycle imported too late, an export error, a stray
duplicate, or a mailbox this run did not create) is left to the per-mailbox path of batch_sync.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pswrap.desired.apply import ApplyOptions, request_for
from pswrap.dn import parent_of
from pswrap.errors import PswrapError
from pswrap.mastering import link_state
from pswrap.workflows.inputs import resolve
from pswrap.workflows.mailbox_finish import Finisher, where
from pswrap.workflows.ports import anchor_of
from pswrap.workflows.results import COMPLETED, Drift, MailboxResult, cloud_user_json, mailbox_json

if TYPE_CHECKING:
    from pswrap.desired.batch import Batch, Item


def link_in_bulk(batch: Batch, items: list[Item]) -> list[Item]:
    """Completes every item whose link the reads show; returns the items left (not seen linked)."""
    checked = [i for i in items if _checkable(i)]
    if not checked:
        return items
    session = batch.workers[0].session
    try:
        settings = session.step("sync/get-settings")
        ids = sorted({str((i.out.result.cloud_user or {})["id"]) for i in checked})
        cloud = {u.id.lower(): u for u in session.step("graph/get-users", params={"UserId": ids}).users}
        mailboxes = {m.alias.lower(): m for m in session.step("exo/list-mailboxes").mailboxes}
        accounts: dict[str, Any] = {}
        ous = {parent_of(str((i.out.result.ad_user or {})["distinguished_name"])) for i in checked}
        for base in sorted(ous):
            for user in session.step("ad/list-users", params={"SearchBase": base}).users:
                accounts[str(user.object_guid).lower()] = user
    except PswrapError:
        return items  # the per-mailbox path reads them one by one
    left = [i for i in items if i not in checked]
    for item in checked:
        result = item.out.result
        ad = accounts.get(str((result.ad_user or {}).get("object_guid")).lower())
        user = cloud.get(str((result.cloud_user or {}).get("id")).lower())
        anchor = result.immutable_id
        linked = (
            ad is not None
            and user is not None
            and bool(user.on_premises_sync_enabled)
            and anchor_of(ad.object_guid, ad.consistency_guid, settings.anchor_attribute) == anchor
            and user.on_premises_immutable_id == anchor
        )
        if not linked:
            left.append(item)
            continue
        _complete(batch, item, user, mailboxes.get(item.out.alias.lower()))
    return left


def _checkable(item: Item) -> bool:
    result = item.out.result
    return (
        item.created
        and not item.done
        and item.out.create_operation is not None
        and result.immutable_id is not None
        and bool((result.ad_user or {}).get("distinguished_name"))
        and bool((result.cloud_user or {}).get("id"))
    )


def _complete(batch: Batch, item: Item, user: Any, mailbox: Any | None) -> None:
    """The create workflow's read-back after a link (mailbox_finish.Finisher.after_link), from the bulk
    reads; then the item is completed as batch_sync completes a linked one."""
    from pswrap.desired.batch_sync import _linked

    spec = item.row.spec
    assert spec is not None
    options = ApplyOptions(wait=False, sync_timeout=batch.options.sync_timeout, profile=batch.options.profile)
    resolved = resolve(request_for(spec, options), batch.workers[0].workflow().target)
    state = link_state(linked=True, exchange_cloud_managed=False, exchange_schema=False)
    drift = Finisher.drift(resolved, mailbox, state=state)
    if not resolved.allow_sign_in and user.account_enabled:
        drift.append(Drift("account_enabled", True, False, where("account_enabled", state)))
    ran = MailboxResult(
        operation=item.out.create_operation,
        status=COMPLETED,
        target=item.out.result.target,
        drift=drift,
        cloud_user=cloud_user_json(user),
        mailbox=mailbox_json(mailbox),
    )
    if batch.journal is not None and item.out.create_operation is not None:
        batch.journal.set_status(item.out.create_operation, COMPLETED, ran.to_json())
    _linked(batch, item, ran)
