"""The one result of a mailbox operation: JSON for runbook engines, a few lines of text for people.

The JSON keys are a contract shared by every command, the API and the Ansible collection: `operation`,
`status` (completed | unchanged | pending-sync | failed | refused), `changed` (true exactly when something
was changed, or in a dry run would be), `changes` (`{field, from, to, where}` each), `drift`
(`{field, found, wanted, where}` each: what differs and was not changed), `immutable_id`, `ad_user`,
`mailbox`, `cloud_user`, and `error` when failed. `where` names the system a value lives in: `ad`, `exo`,
`graph` or `sync`. A runbook engine branches on `status` and the exit code; the objects let it carry on
without a second call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pswrap.errors import PswrapError

COMPLETED = "completed"
UNCHANGED = "unchanged"
PENDING_SYNC = "pending-sync"
FAILED = "failed"
REFUSED = "refused"

Where = Literal["ad", "exo", "graph", "sync"]
"""The system a value is written in (or read from)."""


@dataclass(frozen=True)
class Change:
    """One value pswrap changed (or, in a dry run, would change)."""

    field: str
    before: Any
    after: Any
    where: Where

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "from": self.before, "to": self.after, "where": self.where}

    def to_text(self) -> str:
        return f"{self.field}: {_show(self.before)} -> {_show(self.after)} ({self.where})"


@dataclass(frozen=True)
class Drift:
    """One value that differs from what was asked and was not changed (e.g. AD's value won after the
    link, or the field is mastered where pswrap may not write it)."""

    field: str
    found: Any
    wanted: Any
    where: Where
    hint: str | None = None
    """What the admin does about it, when pswrap cannot (e.g. a synced mailbox's name is AD's)."""

    def to_json(self) -> dict[str, Any]:
        out = {"field": self.field, "found": self.found, "wanted": self.wanted, "where": self.where}
        if self.hint:
            out["hint"] = self.hint
        return out

    def to_text(self) -> str:
        text = f"{self.field}: {_show(self.found)}, wanted {_show(self.wanted)} ({self.where})"
        return f"{text}; {self.hint}" if self.hint else text


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return repr(value) if isinstance(value, str) else str(value)


@dataclass
class MailboxResult:
    operation: str | None
    status: str
    changed: bool = False
    immutable_id: str | None = None
    ad_user: dict[str, Any] | None = None
    mailbox: dict[str, Any] | None = None
    cloud_user: dict[str, Any] | None = None
    changes: list[Change] = field(default_factory=list)
    drift: list[Drift] = field(default_factory=list)
    error: PswrapError | None = None
    steps_run: list[str] = field(default_factory=list)
    """Mutating steps this run performed, in order (text output only)."""
    hold: str | None = None
    target: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds spent reading facts, applying and waiting for sync (benchmarks/mailbox.py prints them)."""

    @property
    def exit_code(self) -> int:
        return 0 if self.error is None else self.error.exit_code

    def raise_for_error(self) -> None:
        """Re-raise the error that ended the operation, if any (the API's default)."""
        if self.error is not None:
            raise self.error

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "operation": self.operation,
            "status": self.status,
            "changed": self.changed,
            "immutable_id": self.immutable_id,
            "ad_user": self.ad_user,
            "mailbox": self.mailbox,
            "cloud_user": self.cloud_user,
            "changes": [c.to_json() for c in self.changes],
            "drift": [d.to_json() for d in self.drift],
        }
        if self.error is not None:
            out["error"] = error_json(self.error)
        return out

    def to_text(self) -> str:
        lines = [
            f"operation {self.operation or '-'}: {self.status}" + ("" if self.changed else " (no change)")
        ]
        if self.hold and self.steps_run:
            lines.append(f"  hold:         {self.hold}")
        for step in self.steps_run:
            lines.append(f"  ran:          {step}")
        if self.mailbox:
            lines.append(
                f"  mailbox:      {self.mailbox.get('alias')} <{self.mailbox.get('primary_smtp_address')}>"
                f" {self.mailbox.get('recipient_type_details')}"
            )
        if self.ad_user:
            lines.append(
                f"  AD account:   {self.ad_user.get('sam_account_name')} "
                f"({self.ad_user.get('user_principal_name')}) {self.ad_user.get('distinguished_name')}"
            )
        if self.cloud_user:
            synced = "synced" if self.cloud_user.get("on_premises_sync_enabled") else "cloud-only"
            lines.append(
                f"  cloud user:   {self.cloud_user.get('user_principal_name')} ({synced},"
                f" id {self.cloud_user.get('id')})"
            )
        if self.immutable_id:
            lines.append(f"  ImmutableId:  {self.immutable_id}")
        for c in self.changes:
            lines.append(f"  changed:      {c.to_text()}")
        for d in self.drift:
            lines.append(f"  drift:        {d.to_text()}")
        if self.status == PENDING_SYNC and self.operation:
            lines.append(
                "  next:         the link completes at the next sync cycle; "
                f"`pswrap resume {self.operation}` waits for it"
            )
        return "\n".join(lines)


def error_json(error: PswrapError) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": type(error).__name__,
        "message": error.message,
        "exit_code": error.exit_code,
    }
    if error.hint:
        out["hint"] = error.hint
    step_id = getattr(error, "step_id", None)
    if step_id:
        out["step"] = step_id
    checks = getattr(error, "checks", None)
    if checks is not None:
        out["checks"] = list(checks)  # a refused preflight: each failed check with its fix
    return out


def ad_user_json(user: Any) -> dict[str, Any] | None:
    if user is None:
        return None
    return {
        "object_guid": user.object_guid,
        "sam_account_name": user.sam_account_name,
        "user_principal_name": user.user_principal_name,
        "distinguished_name": user.distinguished_name,
    }


def mailbox_json(mailbox: Any) -> dict[str, Any] | None:
    if mailbox is None:
        return None
    return {
        "alias": mailbox.alias,
        "primary_smtp_address": mailbox.primary_smtp_address,
        "recipient_type_details": mailbox.recipient_type_details,
    }


def cloud_user_json(user: Any) -> dict[str, Any] | None:
    if user is None:
        return None
    return {
        "id": user.id,
        "user_principal_name": user.user_principal_name,
        "on_premises_sync_enabled": bool(user.on_premises_sync_enabled),
        "on_premises_immutable_id": user.on_premises_immutable_id,
    }
