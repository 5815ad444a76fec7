"""Runspace pools and pipelines on the server side of PSRP, through psrpcore, with handler dispatch.

One `LabPool` per WinRM shell. Its condition (one lock per pool) guards the psrpcore objects and the
outgoing queues: psrpcore is not thread-safe, while a pool has HTTP requests on several connections (a
Receive long poll, a Signal, a Send) and a worker thread per running pipeline. Handlers run outside the
lock, so a slow step never blocks a Receive or a stop.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pswrap.lab import faults as faults_mod
from pswrap.lab.dispatch import PSError, World
from pswrap.lab.invoke import Outcome, decode_call, python_failure, run_handler

# A psrpcore payload is cut to this many bytes when queued; a Receive reply joins several up to its cap.
_QUEUE_CHUNK = 16 * 1024

# .NET base types PowerShell lists for its exceptions, so a client's type checks see a real hierarchy.
_BASE_TYPES = ["System.SystemException", "System.Exception", "System.Object"]


def error_record(error: PSError) -> Any:
    """A psrpcore ErrorRecord with the message, FullyQualifiedErrorId, category, target and exception type."""
    from psrpcore.types import ErrorCategory, ErrorRecord, NETException

    exception = NETException(Message=error.message, HResult=-2146233087)
    type_names = [error.exception_type]
    # PowerShell's own exceptions (CommandNotFoundException, ParameterBindingException, ...) derive from
    # RuntimeException; .NET's (System.InvalidOperationException, System.ArgumentException, ...) do not.
    if error.exception_type.startswith("System.Management.Automation.") and (
        error.exception_type != "System.Management.Automation.RuntimeException"
    ):
        type_names.append("System.Management.Automation.RuntimeException")
    bases = _BASE_TYPES[1:] if error.exception_type == "System.Exception" else _BASE_TYPES
    exception.PSObject.type_names = [*type_names, *(b for b in bases if b not in type_names)]
    try:
        category = ErrorCategory[error.category]
    except KeyError:
        category = ErrorCategory.NotSpecified
    info = _category_info_type()(
        Category=category,
        Activity=error.activity or None,
        Reason=error.exception_type.rsplit(".", 1)[-1],
        TargetName=error.target or None,
        TargetType=(error.target_type or "String") if error.target else None,
    )
    return ErrorRecord(
        Exception=exception,
        CategoryInfo=info,
        TargetObject=error.target or None,
        FullyQualifiedErrorId=error.fqid,
    )


_CATEGORY_INFO: Any = None


def _category_info_type() -> Any:
    """ErrorCategoryInfo whose text is .NET's `ErrorCategoryInfo.GetMessage()` form,
    `Category: (TargetName:TargetType) [Activity], Reason` (the colon psrpcore leaves out), which clients
    receive as `ErrorCategory_Message` and Windows PowerShell prints as `CategoryInfo` (docs/sources.md
    §7b)."""
    global _CATEGORY_INFO
    if _CATEGORY_INFO is None:
        from psrpcore.types import ErrorCategoryInfo

        class WindowsCategoryInfo(ErrorCategoryInfo):
            def __str__(self) -> str:
                return (
                    f"{self.Category.name!s}: ({self.TargetName or ''}:{self.TargetType or ''}) "
                    f"[{self.Activity or ''}], {self.Reason or ''}"
                )

        _CATEGORY_INFO = WindowsCategoryInfo
    return _CATEGORY_INFO


class _Workers:
    """Threads for running handlers, reused: `Thread.start()` waits for the new thread to run, a GIL hand-off
    that costs about a millisecond per pipeline under load. Never capped (a step may run for minutes and
    must not hold up the next), just kept for reuse once idle."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._idle = 0
        self._lock = threading.Lock()

    def submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            spawn = self._idle == 0
            if not spawn:
                self._idle -= 1
        self._queue.put(job)
        if spawn:
            threading.Thread(target=self._loop, name="lab-pipeline", daemon=True).start()

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            with contextlib.suppress(Exception):  # _execute catches everything; never lose a worker
                job()
            with self._lock:
                self._idle += 1


_WORKERS = _Workers()


@dataclass
class PipelineRun:
    pipe: Any
    command_id: str
    started: bool = False
    finished: bool = False
    stop_event: threading.Event = field(default_factory=threading.Event)


class ShellGone(Exception):
    """The shell was closed or killed (a `kill-pool` fault) while a request waited on it."""


class LabPool:
    def __init__(
        self, shell_id: str, *, world: World, faults: faults_mod.FaultSet | None, chunk: int = _QUEUE_CHUNK
    ) -> None:
        from psrpcore import ServerRunspacePool

        self.shell_id = shell_id
        self.world = world
        self.faults = faults
        self.chunk = chunk
        self.cond = threading.Condition(threading.RLock())
        self.pool = ServerRunspacePool()
        self.out: dict[uuid.UUID | None, deque[bytes]] = {}
        self.runs: dict[uuid.UUID, PipelineRun] = {}
        self.session: dict[str, Any] = {}
        self.gone = False

    # --- input --------------------------------------------------------------------------------

    def feed(self, data: bytes, pipeline_id: uuid.UUID | None, prompt_response: bool = False) -> None:
        """Give psrpcore a payload from the client and act on the events it completes."""
        from psrpcore import (
            CreatePipelineEvent,
            GetAvailableRunspacesEvent,
            PSRPPayload,
            ResetRunspaceStateEvent,
            SetMaxRunspacesEvent,
            SetMinRunspacesEvent,
            StreamType,
        )

        stream = StreamType.prompt_response if prompt_response else StreamType.default
        to_start: list[PipelineRun] = []
        with self.cond:
            self.pool.receive_data(PSRPPayload(data, stream, pipeline_id))
            while True:
                event = self.pool.next_event()
                if event is None:
                    break
                if isinstance(event, CreatePipelineEvent):
                    run = self.runs.get(event.pipeline_id)
                    if run is not None and not run.started:
                        run.started = True
                        to_start.append(run)
                elif isinstance(event, GetAvailableRunspacesEvent):
                    self.pool.runspace_availability_response(event.ci, 1)
                elif isinstance(event, (SetMaxRunspacesEvent, SetMinRunspacesEvent, ResetRunspaceStateEvent)):
                    self.pool.runspace_availability_response(event.ci, True)
            self._flush()
        for run in to_start:  # outside the lock: the worker's first act is to take it
            _WORKERS.submit(lambda run=run: self._execute(run))  # type: ignore[misc]

    def new_pipeline(self, command_id: str) -> uuid.UUID:
        """Create the server pipeline before its CreatePipeline fragment is fed (psrpcore requires it)."""
        from psrpcore import ServerPipeline

        pipeline_id = uuid.UUID(command_id)
        with self.cond:
            pipe = ServerPipeline(self.pool, pipeline_id)
            self.runs[pipeline_id] = PipelineRun(pipe=pipe, command_id=command_id.upper())
            self.out.setdefault(pipeline_id, deque())
        return pipeline_id

    # --- execution ----------------------------------------------------------------------------

    def _execute(self, run: PipelineRun) -> None:
        from psrpcore.types import PSInvocationState

        with self.cond:
            if run.stop_event.is_set() or self.gone:
                return
            # Running is not announced: clients act on the final PipelineState only (docs/sources.md,
            # WS-Management notes), and
            # every message costs both sides a (de)serialization.
            run.pipe._change_state(PSInvocationState.Running, emit=False)
            try:
                call = decode_call(run.pipe.metadata)
            except Exception as exc:  # a pipeline the lab cannot read fails; it never hangs Running
                run.pipe._change_state(PSInvocationState.Failed, error=error_record(python_failure(exc)))
                run.finished = True
                self._flush()
                return
        try:
            with faults_mod.applied(self.faults):
                outcome = run_handler(
                    call, session=self.session, world=self.world, stopped=run.stop_event.is_set
                )
        except BaseException as exc:  # the server goes on whatever a handler does
            outcome = Outcome(failure=python_failure(exc))
        with self.cond:
            if run.finished or self.gone or run.pipe.state != PSInvocationState.Running:
                return
            try:
                for error in outcome.errors:
                    self._write_error(run, error)
                if outcome.failure is not None:
                    run.pipe._change_state(PSInvocationState.Failed, error=error_record(outcome.failure))
                else:
                    if outcome.result is not None:
                        run.pipe.write_output(json.dumps(outcome.result))
                    run.pipe.complete()
            except Exception as exc:  # e.g. a result json cannot encode: fail the pipeline, not the server
                if run.pipe.state == PSInvocationState.Running:
                    run.pipe._change_state(PSInvocationState.Failed, error=error_record(python_failure(exc)))
            run.finished = True
            self._flush()

    def _write_error(self, run: PipelineRun, error: PSError) -> None:
        record = error_record(error)
        run.pipe.write_error(
            record.Exception,
            category_info=record.CategoryInfo,
            target_object=record.TargetObject,
            fully_qualified_error_id=record.FullyQualifiedErrorId,
        )

    # --- output -------------------------------------------------------------------------------

    def _flush(self) -> None:
        """Move psrpcore's outgoing data into per-target queues and wake waiting Receives (lock held)."""
        moved = False
        while True:
            payload = self.pool.data_to_send(self.chunk)
            if payload is None:
                break
            self.out.setdefault(payload.pipeline_id, deque()).append(payload.data)
            moved = True
        if moved:
            self.cond.notify_all()

    def receive(
        self, pipeline_id: uuid.UUID | None, capacity: int, timeout: float
    ) -> tuple[list[bytes], bool]:
        """Wait up to `timeout` for data for the pool or one pipeline.

        Returns (payloads, done); done means the pipeline's final state is in this reply or was sent.
        Raises TimeoutError when nothing came (the caller answers the WSMan timeout fault) and ShellGone.
        """
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                if self.gone:
                    raise ShellGone(self.shell_id)
                queue = self.out.get(pipeline_id)
                run = self.runs.get(pipeline_id) if pipeline_id is not None else None
                if queue:
                    taken: list[bytes] = [queue.popleft()]
                    size = len(taken[0])
                    while queue and size + len(queue[0]) <= capacity:
                        size += len(queue[0])
                        taken.append(queue.popleft())
                    done = run is not None and run.finished and not queue
                    return taken, done
                if run is not None and run.finished:
                    return [], True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                self.cond.wait(remaining)

    # --- control ------------------------------------------------------------------------------

    def stop(self, pipeline_id: uuid.UUID) -> None:
        """Ctrl+C: the pipeline ends Stopped (PipelineStoppedException), its handler sees `stopped()`."""
        from psrpcore.types import PSInvocationState

        with self.cond:
            run = self.runs.get(pipeline_id)
            if run is None:
                return
            run.stop_event.set()
            if run.pipe.state == PSInvocationState.NotStarted:
                # Ctrl+C before the worker took the pipeline: it still ends Stopped, with the state message
                # a client waiting on the pipeline needs (it will never run).
                run.pipe._change_state(PSInvocationState.Running, emit=False)
            if run.pipe.state in (PSInvocationState.Running, PSInvocationState.Stopping):
                run.pipe.stop()
            run.finished = True
            self._flush()

    def terminate(self, pipeline_id: uuid.UUID) -> None:
        """The client closed the pipeline: forget it (a running handler is told to stop)."""
        with self.cond:
            run = self.runs.pop(pipeline_id, None)
            self.out.pop(pipeline_id, None)
            if run is None:
                return
            run.stop_event.set()
            run.finished = True
            self.pool.pipeline_table.pop(pipeline_id, None)
            self.cond.notify_all()

    def close(self) -> None:
        with self.cond:
            self.gone = True
            for run in self.runs.values():
                run.stop_event.set()
            self.cond.notify_all()
