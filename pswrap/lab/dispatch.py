"""How the lab runs a script: by its `# pswrap-step:` line, to a handler that imitates the real cmdlets.

A handler gets an `Invocation` (the step id and structural choices from the marker line, the parameters
as Python values, its pool's session state, the world) and returns the step's JSON document as Python
data (the server writes it as one JSON string to the output stream, as the template's emitter would).
It raises `PSError` for a PowerShell error record; any other exception becomes a failed pipeline with
that message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

MARKER_RE = re.compile(
    r"^#\s*pswrap-step:\s*(?P<id>[a-z0-9-]+/[a-z0-9-]+)(?P<choices>(?:\s+[A-Za-z0-9_-]+=\S*)*)\s*$"
)


class PSError(Exception):
    """A PowerShell ErrorRecord: message, FullyQualifiedErrorId, category, target, exception type."""

    def __init__(
        self,
        message: str,
        *,
        fqid: str,
        category: str = "NotSpecified",
        target: str = "",
        exception_type: str = "System.Management.Automation.RuntimeException",
        activity: str = "",
        terminating: bool = True,
        target_type: str = "String",
    ) -> None:
        super().__init__(message)
        self.target_type = target_type
        """The target object's type name as CategoryInfo shows it (`(jdoe:ADUser)`; String for a name)."""
        self.message = message
        self.fqid = fqid
        self.category = category
        self.target = target
        self.exception_type = exception_type
        self.activity = activity
        self.terminating = terminating


class World(Protocol):
    """The state store's view a handler uses (implemented by pswrap.lab.store)."""

    def transaction(self) -> AbstractContextManager[dict[str, Any]]:
        """The world as a mutable dict, locked and written back atomically when the block ends."""
        ...

    def read(self) -> dict[str, Any]:
        """A snapshot of the world (no lock held afterwards)."""
        ...


@dataclass
class Invocation:
    step_id: str
    choices: dict[str, str]
    params: dict[str, Any]
    """Parameters by name as sent; a SecureString arrives decrypted as `str`."""
    session: MutableMapping[str, Any]
    """This runspace pool's session state (imported modules, connections), kept between pipelines."""
    world: World
    errors: list[PSError] = field(default_factory=list)
    """Non-terminating errors to write to the error stream (the pipeline still completes)."""
    stopped: Callable[[], bool] = lambda: False
    """True once the client asked to stop the pipeline (Ctrl+C)."""

    def write_error(self, error: PSError) -> None:
        self.errors.append(error)

    def wait(self, seconds: float) -> bool:
        """Block up to `seconds` (a 'step runs N seconds' fault); False if stopped meanwhile."""
        import time

        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.stopped():
                return False
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        return True


Handler = Callable[[Invocation], Any]
HANDLERS: dict[str, Handler] = {}


def handler(step_id: str) -> Callable[[Handler], Handler]:
    """Register a handler for a step id."""

    def register(func: Handler) -> Handler:
        HANDLERS[step_id] = func
        return func

    return register


def parse_marker(script: str) -> tuple[str, dict[str, str]] | None:
    """The step id and choices of a pswrap script, or None when its first line is not a marker."""
    first = script.lstrip("\ufeff").split("\n", 1)[0].rstrip("\r")
    match = MARKER_RE.match(first)
    if not match:
        return None
    choices = dict(pair.split("=", 1) for pair in match.group("choices").split())
    return match.group("id"), choices


def iter_handlers() -> Iterator[tuple[str, Handler]]:
    yield from sorted(HANDLERS.items())
