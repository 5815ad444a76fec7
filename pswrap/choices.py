"""The closed sets of values the API takes and the CLI offers as choices, named once.

The API's signatures use these `Literal` types (mypy checks a caller's values); the CLI declares its
options with the same types, so Typer validates them, completes them and lists them in `--help`. Nothing
here imports a heavy module: `pswrap --help` reads these.
"""

from __future__ import annotations

from typing import Literal, get_args

from pswrap.steps.model import Profile
from pswrap.workflows.inputs import Hold, MailboxType, Match

Output = Literal["text", "json"]
"""`--output` of every command that prints a result."""
ApplyOutput = Literal["text", "json", "jsonl"]
"""`mailbox apply`: `jsonl` streams one result per item."""
SpecOutput = Literal["text", "json", "yaml"]
"""`mailbox show`: `yaml` prints the spec as a file `apply` accepts."""
SpecFormat = Literal["yaml", "toml", "json", "csv"]
ExchangeAttributes = Literal["auto", "cloud", "stamp", "none"]
"""Who masters a linked mailbox's Exchange attributes (docs/mastering.md)."""
SyncPolicy = Literal["delta", "initial"]
DoctorProfile = Literal["modern", "hybrid-tools"]
"""The profiles the doctor checks (the legacy profile never runs, so there is nothing to check)."""
DoctorHold = Literal["anchor", "staging-ou", "scheduler"]

__all__ = [
    "ApplyOutput",
    "DoctorHold",
    "DoctorProfile",
    "ExchangeAttributes",
    "Hold",
    "MailboxType",
    "Match",
    "Output",
    "Profile",
    "SpecFormat",
    "SpecOutput",
    "SyncPolicy",
    "values",
]


def values(choice: object) -> tuple[str, ...]:
    """The values of one of the Literal types above, in order (for messages and docs)."""
    return tuple(str(v) for v in get_args(choice))
