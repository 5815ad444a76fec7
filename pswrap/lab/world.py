"""The simulated hybrid directory: AD, the sync server, Entra ID and Exchange Online, as one JSON world.

(Being built: see issue #4.)
"""

from __future__ import annotations

from typing import Any


def fresh_world() -> dict[str, Any]:
    """The world after `pswrap lab reset` (documented in the README)."""
    return {"stats": {"requests": {}}}
