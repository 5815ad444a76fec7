"""What a workflow needs from a session: run a step, render a step. Nothing else.

The runner's `pswrap.remote.session.Session` provides both against a real server or the lab; the unit
tests provide both from a small in-memory world. Keeping the workflow on this narrow seam is what lets
its planning logic be tested without a server, and the same code run against any target.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Protocol

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


def immutable_id_for_guid(guid: str | uuid.UUID) -> str:
    """base64 of Guid.ToByteArray() (mixed-endian: Python's bytes_le), domain.md §3."""
    try:
        from pswrap import immutableid
    except ImportError:  # pragma: no cover - the module ships with pswrap
        return base64.b64encode(uuid.UUID(str(guid)).bytes_le).decode("ascii")
    return immutableid.immutable_id_for_guid(guid if isinstance(guid, uuid.UUID) else str(guid))


def guid_for_immutable_id(value: str) -> uuid.UUID | None:
    """The GUID behind an ImmutableId, or None when it is not 16 bytes of base64."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (ValueError, TypeError):
        return None
    return uuid.UUID(bytes_le=raw) if len(raw) == 16 else None


def anchor_of(object_guid: str, consistency_guid: str | None, anchor_attribute: str) -> str:
    """The ImmutableId an AD account syncs with, per the server's sourceAnchor attribute (domain.md §3).

    With mS-DS-ConsistencyGuid as the anchor, a value already in the attribute is used (the emitter
    writes it as base64 of its bytes, which is the ImmutableId form); an empty attribute gets the
    objectGUID written into it by Connect. With objectGUID, the objectGUID is the anchor.
    """
    if anchor_attribute.lower() == "ms-ds-consistencyguid" and consistency_guid:
        return consistency_guid
    return immutable_id_for_guid(object_guid)
