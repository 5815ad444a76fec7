"""What a workflow needs from a session: run a step, render a step. Nothing else.

The runner's `pswrap.remote.session.Session` provides both against a real server or the lab; the unit
tests provide both from a small in-memory world. Keeping the workflow on this narrow seam is what lets
its planning logic be tested without a server, and the same code run against any target.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from pswrap.immutableid import immutable_id_for_guid
from pswrap.render.script import Script


class StepSession(Protocol):
    def step(
        self,
        step_id: str,
        *,
        choices: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        """Run one step (with the connect steps it needs); its parsed result model."""
        ...

    def script(
        self,
        step_id: str,
        *,
        choices: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Script:
        """Render one step as it would run (session parameters filled, secrets masked)."""
        ...


Progress = Callable[[str], None]


def no_progress(_message: str) -> None:
    return None


def anchor_of(object_guid: str, consistency_guid: str | None, anchor_attribute: str) -> str:
    """The ImmutableId an AD account syncs with, per the server's sourceAnchor attribute (docs/sources.md §3).

    With mS-DS-ConsistencyGuid as the anchor, a value already in the attribute is used (the emitter
    writes it as base64 of its bytes, which is the ImmutableId form); an empty attribute gets the
    objectGUID written into it by Connect. With objectGUID, the objectGUID is the anchor.
    """
    if anchor_attribute.lower() == "ms-ds-consistencyguid" and consistency_guid:
        return consistency_guid
    return immutable_id_for_guid(object_guid)
