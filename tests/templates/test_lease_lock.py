"""The lease lock, checked on the rendered scripts.

The lab cannot run template logic: it answers each script by its `# pswrap-step:` marker and applies a
lease change atomically, so a race between `sync/install-lease`, `sync/remove-lease` and the lease task's
own restore cannot happen there. On a real server it can (remove deletes its task, then restores the
scheduler; an install landing in between would record the paused state as the prior one and leave the
scheduler off for good). These tests therefore check the structure of the rendered scripts: in all three
places the lock is taken before the first read of the leases or the scheduler, every change is inside the
`try` it guards, and the lock is released in that `try`'s `finally`. The lock itself is an exclusive file
handle under ProgramData (FileShare None: released by Windows when its process dies, no thread affinity,
unlike a Mutex), retried until a timeout that ends in a clear error.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from pswrap.render.engine import render

LEASE_CALLS = re.compile(
    r"Get-ScheduledTask|Get-PswrapLeaseTasks|Get-ADSyncScheduler|Set-ADSyncScheduler|Register-ScheduledTask"
    r"|Unregister-ScheduledTask"
)
"""Every read of the leases or the scheduler, and every change to them."""


def _script(step_id: str) -> str:
    params: dict[str, object] = {} if step_id == "sync/list-leases" else {"LeaseName": "pswrap-lease-op1"}
    if step_id == "sync/install-lease":
        params["DeadlineUtc"] = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)
    return render(step_id, profile="modern", choices={}, params=params).text


def _code_only(text: str) -> str:
    """The script with string literals and comments blanked out (same length), so braces inside them do
    not count."""
    out = list(text)
    i = 0
    while i < len(text):
        c = text[i]
        if c == "#":
            j = text.find("\n", i)
            j = len(text) if j < 0 else j
        elif c in "'\"":
            j = i + 1
            while j < len(text) and text[j] != c:
                j += 2 if c == '"' and text[j] == "`" else 1
            j += 1
        else:
            i += 1
            continue
        for k in range(i, min(j, len(text))):
            if out[k] != "\n":
                out[k] = " "
        i = j
    return "".join(out)


def _block_end(code: str, open_brace: int) -> int:
    """The index of the brace that closes the one at `open_brace`."""
    depth = 0
    for i in range(open_brace, len(code)):
        if code[i] == "{":
            depth += 1
        elif code[i] == "}":
            depth -= 1
            if depth == 0:
                return i
    raise AssertionError("unbalanced braces")


def _guarded(code: str, start: int, end: int, handle: str, acquire: str) -> None:
    """Within code[start:end]: `acquire` sets `handle`, then one `try { ... } finally { handle.Dispose() }`
    holds every lease/scheduler call of that region."""
    region = code[start:end]
    taken = region.find(acquire)
    assert taken >= 0, f"the lock ({acquire}) is not taken"
    try_at = region.find("try {", taken)
    assert try_at >= 0, "no try after taking the lock"
    try_open = start + try_at + len("try ")
    try_close = _block_end(code, try_open)
    after = code[try_close + 1 :].lstrip()
    assert after.startswith("finally {"), "the lock's try has no finally"
    finally_open = try_close + 1 + (len(code[try_close + 1 :]) - len(after)) + len("finally ")
    finally_body = code[finally_open : _block_end(code, finally_open)]
    assert f"{handle}.Dispose()" in finally_body, "the lock is not released in finally"
    calls = [m.start() + start for m in LEASE_CALLS.finditer(region)]
    assert calls, "no lease or scheduler call found in the region"
    for at in calls:
        assert try_open < at < try_close, f"{code[at : at + 30]!r} runs outside the locked try"


def _main_body(code: str) -> tuple[int, int]:
    """The script's own statements: after the lock function, outside any function or the restore block."""
    start = code.index("$leaseLock = Enter-PswrapLeaseLock")
    return start, len(code)


@pytest.mark.parametrize("step_id", ["sync/install-lease", "sync/remove-lease"])
def test_install_and_remove_hold_the_lock_around_every_lease_change(step_id: str) -> None:
    code = _code_only(_script(step_id))
    start, end = _main_body(code)
    _guarded(code, start, end, "$leaseLock", "$leaseLock = Enter-PswrapLeaseLock")
    # Nothing reads or changes the leases before the lock is taken: before it, the script only defines
    # functions and the restore block (run later, by the task), whose bodies are cut out here.
    before = code[:start]
    for definition in reversed(list(re.finditer(r"function [\w-]+ \{|\$restoreBlock = \{", before))):
        close = _block_end(code, definition.end() - 1)
        before = before[: definition.start()] + before[close + 1 :]
    assert not LEASE_CALLS.search(before), f"{LEASE_CALLS.search(before)} runs before the lock is taken"


def test_the_lease_tasks_restore_holds_the_same_lock() -> None:
    code = _code_only(_script("sync/install-lease"))
    block_open = code.index("$restoreBlock = {") + len("$restoreBlock = ")
    block_close = _block_end(code, block_open)
    _guarded(code, block_open, block_close, "$lock", "$lock = [System.IO.File]::Open($lockPath")
    text = _script("sync/install-lease")
    body = text[block_open:block_close]
    # The same file as Enter-PswrapLeaseLock, computed the same way (the task runs as SYSTEM, elsewhere).
    assert "[System.IO.Path]::Combine($env:ProgramData, 'pswrap\\lease.lock')" in body
    assert "$leaseLockPath = [System.IO.Path]::Combine($env:ProgramData, 'pswrap\\lease.lock')" in text


@pytest.mark.parametrize("step_id", ["sync/install-lease", "sync/remove-lease", "sync/list-leases"])
def test_the_lock_is_an_exclusive_file_handle_retried_until_a_clear_timeout(step_id: str) -> None:
    text = _script(step_id)
    assert "Mutex" not in _code_only(text)  # thread-affine: PSRP may run a pipeline on different threads
    assert "[System.IO.File]::Open($leaseLockPath, 'OpenOrCreate', 'ReadWrite', 'None')" in text
    lock_function = text[text.index("function Enter-PswrapLeaseLock") :]
    assert "catch [System.IO.IOException]" in lock_function  # held by another: retry
    assert "[System.Threading.Thread]::Sleep(" in lock_function
    assert "throw ('pswrap lease lock: another lease change held '" in lock_function


def test_list_leases_only_reads_and_takes_no_lock() -> None:
    code = _code_only(_script("sync/list-leases"))
    assert "Enter-PswrapLeaseLock\n" not in code.split("function Enter-PswrapLeaseLock", 1)[1]
    assert "Set-ADSyncScheduler" not in code and "Register-ScheduledTask" not in code
