"""The lab's own diagnostic handlers (`lab/...` ids): for testing the endpoint, not pswrap steps.

They let a test drive every transport behaviour through an unmodified PSRP client: parameters round trip,
large outputs, both kinds of error, a Python failure, a long-running step, per-pool session state and a
world change that must survive a restart.
"""

from __future__ import annotations

from typing import Any

from pswrap.lab.dispatch import Invocation, PSError, handler


@handler("lab/echo")
def echo(inv: Invocation) -> dict[str, Any]:
    """The parameters and marker choices as received (SecureString already decrypted)."""
    return {"params": inv.params, "choices": inv.choices}


@handler("lab/emit")
def emit(inv: Invocation) -> dict[str, Any]:
    """`Count` strings of `Size` characters: an output larger than one WSMan envelope."""
    count = int(inv.params.get("Count", 1))
    size = int(inv.params.get("Size", 10))
    return {"items": [("x" * size) for _ in range(count)]}


@handler("lab/error")
def error(inv: Invocation) -> dict[str, Any]:
    """A non-terminating error (the pipeline still completes) and then a result."""
    inv.write_error(
        PSError(
            str(inv.params.get("Message", "lab/error: a non-terminating error")),
            fqid=str(inv.params.get("ErrorId", "LabNonTerminating")),
            category=str(inv.params.get("Category", "InvalidOperation")),
            target=str(inv.params.get("Target", "")),
            terminating=False,
        )
    )
    return {"ok": True}


@handler("lab/fail")
def fail(inv: Invocation) -> None:
    """A terminating error: the pipeline ends Failed with this ErrorRecord."""
    raise PSError(
        str(inv.params.get("Message", "lab/fail: a terminating error")),
        fqid=str(inv.params.get("ErrorId", "LabTerminating")),
        category=str(inv.params.get("Category", "InvalidOperation")),
        target=str(inv.params.get("Target", "")),
        exception_type=str(inv.params.get("ExceptionType", "System.InvalidOperationException")),
    )


@handler("lab/raise")
def raise_python(inv: Invocation) -> None:
    """A handler bug: a Python exception, which the server turns into a failed pipeline."""
    raise RuntimeError(str(inv.params.get("Message", "lab/raise: a Python exception")))


@handler("lab/sleep")
def sleep(inv: Invocation) -> dict[str, Any]:
    """Run `Seconds` seconds unless stopped (Ctrl+C) first."""
    return {"completed": inv.wait(float(inv.params.get("Seconds", 1)))}


@handler("lab/session")
def session(inv: Invocation) -> dict[str, Any]:
    """Count calls in this pool's session: state a real runspace keeps between pipelines."""
    inv.session["lab_calls"] = int(inv.session.get("lab_calls", 0)) + 1
    return {"calls": inv.session["lab_calls"]}


@handler("lab/world-set")
def world_set(inv: Invocation) -> dict[str, Any]:
    """Store `Value` under world["lab"][`Key`] (a change that must persist in the state file)."""
    with inv.world.transaction() as world:
        world.setdefault("lab", {})[str(inv.params["Key"])] = inv.params.get("Value")
    return {"ok": True}


@handler("lab/world-get")
def world_get(inv: Invocation) -> Any:
    return inv.world.read().get("lab", {}).get(str(inv.params["Key"]))
