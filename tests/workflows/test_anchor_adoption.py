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
