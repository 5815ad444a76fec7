"""The resource_mailbox options that pswrap's spec model implies (pswrap/desired/spec.py).

The module's DOCUMENTATION is committed text; test_docs.py compares it with what this derives from the
model, so a field added, renamed or re-described in the spec shows up as a failing test. When it fails,
`python -m tests.ansible.docspec` prints the options' YAML to paste into the module's DOCUMENTATION.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel

from pswrap.desired.spec import CalendarSpec, ListEdit, MailboxSpec
from pswrap.desired.spec_access import CalendarRightsEdit, FolderRight, PermissionsSpec, PlaceSpec

LIST_NOTE = (
    "A list replaces the whole list; a mapping C({add: [...], remove: [...]}) changes only those members."
)
"""The second description line of every list option (pswrap's ListField)."""

RIGHTS_NOTE = (
    "A mapping C({user: role}) replaces the whole set of entries (Default and Anonymous are kept unless "
    "named); a mapping C({add: {user: role}, remove: [user]}) changes only those entries. Roles: "
    + ", ".join(typing.get_args(FolderRight))
    + "."
)
"""The second description line of a user -> role option (pswrap's CalendarRights)."""

SECTIONS = {"calendar": CalendarSpec, "permissions": PermissionsSpec, "place": PlaceSpec}
"""The spec's sections: each a dict option whose suboptions are the section model's fields."""

OWN_DESCRIPTION = frozenset({"state"})
"""Spec fields whose description the module writes itself (state: what present/absent do in Ansible)."""


def _option(annotation: Any, description: str | None) -> dict[str, Any]:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType) and len(args) == 1:
        annotation, args, origin = args[0], list(typing.get_args(args[0])), typing.get_origin(args[0])
    out: dict[str, Any] = {"description": [description or ""]}
    if origin is typing.Literal:
        out["type"] = "str"
        out["choices"] = list(args)
    elif ListEdit in args:  # list[str] | ListEdit (| None)
        out["type"] = "raw"
        out["description"].append(LIST_NOTE)
    elif CalendarRightsEdit in args:  # dict[str, FolderRight] | CalendarRightsEdit (| None)
        out["type"] = "raw"
        out["description"].append(RIGHTS_NOTE)
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        out["type"] = "dict"
        out["suboptions"] = options_of(annotation)
    elif annotation is bool:
        out["type"] = "bool"
    elif annotation is int:
        out["type"] = "int"
    elif annotation is str:
        out["type"] = "str"
    else:  # a new kind of field: decide how the module takes it
        raise AssertionError(f"no Ansible type for {annotation!r}")
    return out


def options_of(model: type[BaseModel]) -> dict[str, dict[str, Any]]:
    """Each field of `model` as an Ansible option: type, choices, required, default, description."""
    out: dict[str, dict[str, Any]] = {}
    for name, info in model.model_fields.items():
        option = _option(info.annotation, info.description)
        if info.is_required():
            option["required"] = True
        elif info.default is not None:
            option["default"] = info.default
        out[name] = option
    return out


def spec_options() -> dict[str, dict[str, Any]]:
    """The resource_mailbox options for the spec's fields (MailboxSpec and its SECTIONS)."""
    options = options_of(MailboxSpec)
    for name, model in SECTIONS.items():
        assert options[name]["suboptions"] == options_of(model)
    return options


if __name__ == "__main__":  # pragma: no cover
    import yaml

    print(yaml.safe_dump({"options": spec_options()}, sort_keys=False, width=100))
