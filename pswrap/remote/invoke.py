"""Run one rendered script as one pipeline, with a wall-clock limit, and judge its outcome.

pypsrp has no per-command time limit (OperationTimeout only bounds each long-poll), so the pipeline
is started with `begin_invoke`, polled until a deadline, and stopped (Ctrl+C) when it runs over. A step
fails when the pipeline failed *or* wrote anything to the error stream: pypsrp sets `had_errors` only
for a failed pipeline, but a non-terminating error still means the step did not do all it should.
Every pipeline is closed afterwards (what `with PowerShell(pool) as ps` does: TERMINATE, so the shell's
command quota is not used up), except that a failing close never hides the step's own outcome.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pswrap.errors import PswrapError, TransportTimeout
from pswrap.remote.classify import ShellGone, classify_record, classify_transport, record_from_pypsrp
from pswrap.remote.retry import NotSent
from pswrap.render.script import Script

log = logging.getLogger("pswrap.remote")


@dataclass(frozen=True)
class Context:
    where: str
    target: str
    need: str
    operation_timeout: int
    on_broken: Callable[[], None] | None = None
    """Called when the connection broke after the step's outcome was known (closing the pipeline
    failed): the next request must go out on a fresh, re-authenticated connection."""


def run_script(pool: Any, script: Script, *, limit: float, ctx: Context) -> list[Any]:
    """The output stream of `script` run in `pool`; raises a classified PswrapError on failure."""
    from pypsrp.complex_objects import ObjectMeta, PSInvocationState
    from pypsrp.powershell import PowerShell

    step_id = script.step_id
    try:
        params: dict[str, Any] = {name: wire_value(v) for name, v in script.parameters.items()}
        if script.secrets:
            pool.exchange_keys()  # once per pool; pypsrp returns at once when already done
            for name, secret in script.secrets.items():
                params[name] = pool.serialize(secret.reveal(), ObjectMeta("SS"))
    except Exception as exc:
        raise NotSent(classify_transport(exc, where=ctx.where, what=f"preparing {step_id}")) from None

    ps = PowerShell(pool)
    try:
        ps.add_script(script.text)
        if params:
            ps.add_parameters(params)
        started = time.monotonic()
        try:
            ps.begin_invoke()
        except Exception as exc:
            err = classify_transport(exc, where=ctx.where, what=f"starting {step_id}")
            if isinstance(err, ShellGone) or getattr(err, "stale_session", False):
                raise NotSent(err) from None  # the server processed nothing of this request
            raise err from None
        deadline = started + limit
        try:
            while ps.state == PSInvocationState.RUNNING:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    _stop(ps, step_id)
                    err = TransportTimeout(
                        f"step {step_id} ran past its {limit:g} s limit on {ctx.target} and was stopped",
                        hint="raise the target's step_timeout if the step is legitimately slow",
                    )
                    err.transient = False
                    raise err
                ps.poll_invoke(timeout=max(1, min(ctx.operation_timeout, math.ceil(remaining))))
        except PswrapError:
            raise
        except Exception as exc:
            raise classify_transport(exc, where=ctx.where, what=f"running {step_id}") from None
        log.debug(
            "%s finished in %.3fs on %s (%s)", step_id, time.monotonic() - started, ctx.target, ctx.need
        )
        for warning in ps.streams.warning:
            log.warning("%s: remote warning: %s", step_id, getattr(warning, "message", warning))
        errors = list(ps.streams.error)
        if ps.had_errors or errors or ps.state != PSInvocationState.COMPLETED:
            raise _failure(ps, errors, script, ctx)
        return list(ps.output)
    finally:
        if not _close(ps, step_id) and ctx.on_broken is not None:
            ctx.on_broken()


def wire_value(value: Any) -> Any:
    """A parameter value in a form pypsrp 0.9 serializes.

    pypsrp cannot serialize a DateTime (its `DT` packer yields nothing), so a datetime travels as ISO 8601
    text in UTC ("o" format), which the template's `[datetime]` parameter converts culture-invariantly.
    Tuples become lists (an ArrayList on the far side, docs/design.md).
    """
    from datetime import datetime, timezone

    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")
    if isinstance(value, (list, tuple)):
        return [wire_value(v) for v in value]
    return value


def _close(ps: Any, step_id: str) -> bool:
    """`PowerShell.close()` (TERMINATE, so the shell's command quota is not exhausted, pypsrp #148),
    never masking the step's own outcome: a pipeline that died with its shell cannot be closed.

    False when closing failed: the connection may be broken (a drop while the Signal was in flight
    leaves the message-encryption context of a dead TCP connection), so the caller resets it."""
    try:
        ps.close()
    except Exception:
        ps.runspace_pool.pipelines.pop(ps.id, None)
        log.debug("closing the pipeline of %s failed", step_id, exc_info=True)
        return False
    return True


def _stop(ps: Any, step_id: str) -> None:
    try:
        ps.stop()
    except Exception:
        log.debug("stopping %s failed", step_id, exc_info=True)


def _failure(ps: Any, errors: list[Any], script: Script, ctx: Context) -> PswrapError:
    if not errors:
        from pswrap.errors import RemoteError

        return RemoteError(
            f"the pipeline ended in state {ps.state} without an error record",
            step_id=script.step_id,
            target=ctx.target,
        )
    # The terminating record (a failed pipeline's) comes last; otherwise the first non-terminating one.
    chosen = errors[-1] if ps.had_errors else errors[0]
    record = record_from_pypsrp(chosen)
    err = classify_record(record, step_id=script.step_id, target=ctx.target, need=ctx.need)
    if len(errors) > 1:
        err.message += f" (and {len(errors) - 1} more error record(s))"
    return err
