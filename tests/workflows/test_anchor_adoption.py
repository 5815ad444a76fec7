"""Two machines, one alias (issue #12 section 2): an ImmutableId already on the cloud user is adopted
before this machine's journal or a new GUID."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

from pswrap.immutableid import immutable_id_for_guid
from pswrap.workflows.holds import anchor_guid


def cloud(immutable: str | None, synced: bool = False) -> SimpleNamespace:
    return SimpleNamespace(on_premises_immutable_id=immutable, on_premises_sync_enabled=synced)


def test_pending_immutable_id_on_the_cloud_user_wins_over_the_journal() -> None:
    theirs, ours = uuid.uuid4(), uuid.uuid4()
    guid, source = anchor_guid({"anchor_guid": str(ours)}, cloud(immutable_id_for_guid(theirs)))
    assert (guid, source) == (theirs, "cloud")


def test_journal_used_when_the_cloud_user_has_none() -> None:
    ours = uuid.uuid4()
    assert anchor_guid({"anchor_guid": str(ours)}, cloud(None)) == (ours, "journal")
    guid, source = anchor_guid({}, None)
    assert source == "new" and isinstance(guid, uuid.UUID)


def test_stray_cloud_object_sync_created_is_reported_with_its_cleanup() -> None:
    """Two runs wrote two anchors and sync created a second cloud object for the account, its clashing
    UPN quarantined as <prefix>+<4 digits>@<initial domain>: exit 6, naming it and how to remove it."""
    import pytest

    from pswrap.errors import Conflict
    from pswrap.results import models as m
    from tests.workflows.test_plan import ad_user, b64, facts, mailbox, plan

    guid = str(uuid.uuid4())
    stray = m.CloudUser(
        id="cloud-9",
        user_principal_name="room1+4821@contoso.onmicrosoft.com",
        on_premises_immutable_id=b64(guid),
    )
    mbx, user = mailbox()
    with pytest.raises(Conflict, match="already linked to another cloud user") as info:
        plan(facts(mailbox=mbx, cloud_user=user, ad_user=ad_user(guid), anchor_holders=[stray]), "anchor")
    assert info.value.exit_code == 6
    assert (
        info.value.hint and "stray" in info.value.hint and "Remove-MgUser -UserId cloud-9" in info.value.hint
    )
