"""A small runbook on the typed API, as an admin would write one: `mypy --strict` checks it
(tests/api/test_api_types.py runs mypy on this file), and the API test runs it against the lab."""

from __future__ import annotations

from collections.abc import Sequence

import pswrap.api
from pswrap.api import Checklist, MailboxResult, MailboxType, SyncStatus


def rooms_for_floor(floor: int, count: int) -> list[tuple[str, str, MailboxType]]:
    return [(f"Floor {floor} Room {n}", f"f{floor}r{n}", "room") for n in range(1, count + 1)]


def provision(target: str | None, rooms: Sequence[tuple[str, str, MailboxType]]) -> list[MailboxResult]:
    """Create each mailbox (or converge it); stop before anything changes if the doctor finds a fault."""
    results: list[MailboxResult] = []
    with pswrap.api.connect(target) as ps:
        checklist: Checklist = ps.doctor()
        if not checklist.ok:
            raise SystemExit(checklist.exit_code)
        status: SyncStatus = ps.sync_status()
        hold: pswrap.api.Hold = "anchor" if status.settings.anchor_attribute != "objectGUID" else "staging-ou"
        for name, alias, kind in rooms:
            result = ps.create_mailbox(name, alias=alias, type=kind, hold=hold, wait=False, check=False)
            results.append(result)
        for result in results:
            if result.status == "pending-sync" and result.operation is not None:
                results[results.index(result)] = ps.resume(result.operation, check=False)
    return results


def summary(results: Sequence[MailboxResult]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
    return counts


if __name__ == "__main__":
    print(summary(provision("lab", rooms_for_floor(3, 2))))
