"""What the code knows about a step: the template's id, its typed inputs, its needs and its output model.

A step is the unit every stage agrees on: the renderer turns it into a `Script`, the runner sends that
script to the host its `needs` map to, the parser turns the output into `result`, the workflow journals
it, and the lab dispatches on its id. Nothing here imports jinja2, pypsrp or pydantic.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from pswrap.results.base import PSModel

Need = Literal["ad", "adsync", "exo", "graph", "hybrid"]
NEEDS: tuple[Need, ...] = ("ad", "adsync", "exo", "graph", "hybrid")

Profile = Literal["modern", "legacy", "hybrid-tools"]
PROFILES: tuple[Profile, ...] = ("modern", "legacy", "hybrid-tools")

ParamType = Literal[
    "string",
    "string[]",
    "int",
    "bool",
    "switch",
    "guid",
    "securestring",
    "datetime",
]
"""The PowerShell type a parameter is declared with in the template's param() block."""


@dataclass(frozen=True)
class Param:
    """One data value of a step. It travels as a PSRP parameter, never as script text.

    `name` is the PowerShell parameter name in the template's param() block. An optional parameter
    (`mandatory=False`) is structural as well: the template passes it to the cmdlet only when it was
    given, so every rendered variant shows exactly the parameters it uses. A `secret` parameter is a
    SecureString: it never appears in script text, logs, the journal or output.
    """

    name: str
    type: ParamType = "string"
    mandatory: bool = True
    secret: bool = False
    help: str = ""


@dataclass(frozen=True)
class Choice:
    """A structural choice: it changes the script's shape (which switch, which cmdlet), not a value.

    Choices are written on the script's first line (`# pswrap-step: exo/new-mailbox type=room`) so the
    audit log and the lab see them.
    """

    name: str
    values: tuple[str, ...]
    default: str | None = None
    help: str = ""


@dataclass(frozen=True)
class Retired:
    """For `legacy` steps: the retired service the seed's cmdlet used, and what replaced it
    (docs/sources.md §0)."""

    service: str
    retired: str
    replacement: str


@dataclass(frozen=True)
class ReadBack:
    """How to find out whether a changing step applied when its reply was lost (the one mechanism).

    The runner runs the read step `step` with the choices and params `inputs` derives from the changing
    step's own (choices, params); `applied(read result, params, sent_at)` returns the changing step's
    result when the change is there (the run continues with it) or None when it is not (the step is
    tried again). `sent_at` is when the change was first sent (UTC), for changes seen only by a time
    (a sync cycle that started).
    """

    step: str
    inputs: Callable[[Mapping[str, str], Mapping[str, Any]], tuple[dict[str, str], dict[str, Any]]]
    applied: Callable[[Any, Mapping[str, Any], datetime], Any]


@dataclass(frozen=True)
class Step:
    id: str
    """`<area>/<name>`; the template is `ps_templates/<area>/<name>.ps1.j2`."""

    summary: str
    needs: Need | None
    """Which module/connection the step needs, hence which host and pool it runs in. None: legacy."""

    profiles: tuple[Profile, ...]
    result: type[PSModel] | None
    """The model its single JSON document parses into; None for legacy steps (never run)."""

    params: tuple[Param, ...] = ()
    choices: tuple[Choice, ...] = ()
    changes: bool = False
    """Does running it change anything remote? Read-only steps are facts and run in --dry-run."""

    idempotent: bool = True
    """May it be retried blindly after a transient failure? Non-idempotent steps are retried only
    after reading back that they did not apply."""

    read_back: ReadBack | None = None
    """For a changing step: how the runner reads back whether it applied after its reply was lost
    (pswrap/steps/readback.py declares them). Every changing step that runs has one."""

    retired: Retired | None = None
    before_connect: bool = False
    """True: the runner runs it in its need's pool without performing the need's connect step first.
    For preflight steps that diagnose why a connect would fail (installed modules, the certificate):
    behind a failing connect they could never report anything."""

    session_params: tuple[str, ...] = field(default=())
    """Parameters the session supplies from the target when the caller does not (e.g. `Server`, the
    pinned domain controller; `Credential*`; the connect steps' app identity)."""

    @property
    def area(self) -> str:
        return self.id.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.id.split("/", 1)[1]

    @property
    def template(self) -> str:
        """Template path relative to the ps_templates package."""
        return f"{self.id}.ps1.j2"

    @property
    def is_legacy(self) -> bool:
        return self.retired is not None

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name.lower() == name.lower():
                return p
        raise KeyError(name)

    def choice(self, name: str) -> Choice:
        for c in self.choices:
            if c.name == name:
                return c
        raise KeyError(name)
