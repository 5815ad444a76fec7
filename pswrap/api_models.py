"""The typed values the public API returns besides `MailboxResult` and `DryRun`.

Each has `to_json()`, which is exactly what the matching CLI command prints with `--output json`, so a
script that starts on the CLI can move to the API (or back) without reshaping anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pswrap.choices import Profile, SyncPolicy
from pswrap.journal import Operation, StepRecord
from pswrap.results.models import Lease, SchedulerState, SyncSettings
from pswrap.workflows.checks.model import Check, exit_status

__all__ = [
    "Checklist",
    "ListedMailbox",
    "MailboxLink",
    "OperationDetail",
    "ShownMailbox",
    "SyncStarted",
    "SyncStatus",
    "SyncWaited",
]


@dataclass(frozen=True)
class SyncStatus:
    """`sync status`: the sync server's anchor and staging mode, its scheduler, and pswrap's leases."""

    settings: SyncSettings
    scheduler: SchedulerState
    leases: list[Lease] | None
    """None when the leases could not be read (the rest of the status is still right)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "settings": self.settings.model_dump(mode="json"),
            "scheduler": self.scheduler.model_dump(mode="json"),
            "leases": None
            if self.leases is None
            else {"leases": [lease.model_dump(mode="json") for lease in self.leases]},
        }


@dataclass(frozen=True)
class SyncStarted:
    """`sync start`: the cycle asked for and what Start-ADSyncSyncCycle answered (e.g. `Success`)."""

    policy: SyncPolicy
    result: str

    def to_json(self) -> dict[str, Any]:
        return {"policy": self.policy, "result": self.result}


@dataclass(frozen=True)
class SyncWaited:
    """`sync wait`: the scheduler as read once no cycle was in progress."""

    scheduler: SchedulerState

    def to_json(self) -> dict[str, Any]:
        return {"scheduler": self.scheduler.model_dump(mode="json")}


@dataclass(frozen=True)
class OperationDetail:
    """`ops show`: one journaled operation and every step it ran, in order."""

    operation: Operation
    steps: list[StepRecord] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {**self.operation.to_json(), "steps": [s.to_json() for s in self.steps]}


@dataclass(frozen=True)
class Checklist:
    """`doctor`: the preflight checklist of one target and profile. `ok` is true when nothing failed."""

    target: str
    is_lab: bool
    profile: Profile
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return not any(c.status == "fail" for c in self.checks)

    @property
    def exit_code(self) -> int:
        """0 when nothing failed, 6 (needs a human) when something did."""
        return exit_status(self.checks)

    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.status == "fail"]

    def to_json(self) -> list[dict[str, Any]]:
        """The list `pswrap doctor --output json` prints."""
        return [c.as_json() for c in self.checks]


@dataclass(frozen=True)
class MailboxLink:
    """How a mailbox is linked to its AD account, as `mailbox show` reads it."""

    synced: bool
    state: str
    """not_linked, linked, linked_exchange_cloud_managed or linked_with_exchange_schema."""
    cloud_immutable_id: str | None
    ad_account: str | None
    ad_anchor: str | None
    anchor_attribute: str | None
    anchors_agree: bool | None
    exchange_attributes_mastered_in: str

    def to_json(self) -> dict[str, Any]:
        return {
            "synced": self.synced,
            "state": self.state,
            "cloud_immutable_id": self.cloud_immutable_id,
            "ad_account": self.ad_account,
            "ad_anchor": self.ad_anchor,
            "anchor_attribute": self.anchor_attribute,
            "anchors_agree": self.anchors_agree,
            "exchange_attributes_mastered_in": self.exchange_attributes_mastered_in,
        }


@dataclass(frozen=True)
class ShownMailbox:
    """`mailbox show`: the mailbox in the shape of a spec (what `apply` accepts) and its link."""

    spec: dict[str, Any]
    """The spec's fields that are set, as a spec file carries them (`pswrap mailbox schema`)."""
    link: MailboxLink

    def to_json(self) -> dict[str, Any]:
        return {"spec": self.spec, "link": self.link.to_json()}

    @classmethod
    def of(cls, shown: dict[str, Any]) -> ShownMailbox:
        return cls(spec=dict(shown["spec"]), link=MailboxLink(**shown["link"]))


@dataclass(frozen=True)
class ListedMailbox:
    """One row of `mailbox list`; `drift` is set (a list, maybe empty) only when drift was asked for."""

    alias: str
    type: str | None
    email: str
    display_name: str | None
    synced: bool
    link_state: str
    drift: list[str] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "alias": self.alias,
            "type": self.type,
            "email": self.email,
            "display_name": self.display_name,
            "synced": self.synced,
            "link_state": self.link_state,
        }
        if self.drift is not None:
            out["drift"] = list(self.drift)
        return out

    @classmethod
    def of(cls, row: dict[str, Any]) -> ListedMailbox:
        return cls(**row)
