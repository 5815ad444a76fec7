"""A checklist line (`Check`), its constructors, and the small helpers every area's judgements share."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from pswrap import errors as e

Status = Literal["pass", "warn", "fail"]
STATUSES: tuple[Status, ...] = ("pass", "warn", "fail")


@dataclass(frozen=True)
class Check:
    """One line of the checklist. `fix` is the one thing to do, with its documented source."""

    id: str
    """Stable, for scripts and for `blocking_failures` (e.g. `sync.connect-version`)."""
    name: str
    status: Status
    found: str
    fix: str | None = None
    after: str | None = None
    """Set when the check could not run: the name of the failed check it waits for."""

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "status": self.status, "found": self.found, "fix": self.fix}


def passed(check_id: str, name: str, found: str) -> Check:
    return Check(check_id, name, "pass", found)


def warned(check_id: str, name: str, found: str, fix: str) -> Check:
    return Check(check_id, name, "warn", found, fix)


def failed(check_id: str, name: str, found: str, fix: str) -> Check:
    return Check(check_id, name, "fail", found, fix)


def not_checked(check_id: str, name: str, why: str, first: str) -> Check:
    """A check that could not run because the check named `first` failed. It fails too (nothing shows
    it would pass), and its one fix is that other check's."""
    return Check(check_id, name, "fail", f"not checked: {why}", f"fix the check '{first}' first", first)


def exit_status(checks: Iterable[Check]) -> int:
    """0 when nothing failed, 6 (needs a human) when something did."""
    return e.EXIT_NEEDS_HUMAN if any(c.status == "fail" for c in checks) else e.EXIT_OK


def version_tuple(text: str | None) -> tuple[int, ...]:
    if not text:
        return ()
    parts = []
    for piece in text.strip().split("."):
        match = re.match(r"\d+", piece)
        parts.append(int(match.group(0)) if match else 0)
    return tuple(parts)


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
