"""The session a `pswrap.api.Pswrap` hands its workflows: it opens the real one (`Pswrap._session`) on
the first step, so `--profile legacy --dry-run` never connects at all."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pswrap.render.script import Script

if TYPE_CHECKING:
    from pswrap.api import Pswrap


class LazySession:
    """Opens the real session on the first step: `--profile legacy --dry-run` never connects at all."""

    def __init__(self, owner: Pswrap, profile: str) -> None:
        self._owner = owner
        self._profile = profile

    def _real(self) -> Any:
        return self._owner._session(self._profile)

    @property
    def target(self) -> Any:
        """The connected target (the preflight reads its hosts and tenant settings)."""
        return self._real().target

    def step(
        self,
        step_id: str,
        *,
        choices: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        verify: Any = None,
    ) -> Any:
        if verify is not None:  # a changing step's read-back (pswrap.workflows.steps_run)
            return self._real().step(step_id, choices=choices, params=params, verify=verify)
        return self._real().step(step_id, choices=choices, params=params)

    def script(
        self,
        step_id: str,
        *,
        choices: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Script:
        script: Script = self._real().script(step_id, choices=choices, params=params)
        return script

    def open_shells(self, needs: tuple[str, ...]) -> None:
        """A batch claims its shells up front (pswrap.desired.batch.Batch.claim); a session that cannot
        (a test's fake) opens them on first use."""
        opener = getattr(self._real(), "open_shells", None)
        if opener is not None:
            opener(needs)
