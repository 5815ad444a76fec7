"""Targets: which Windows host each need runs on, how to authenticate, and the tenant's identity.

A target is assembled from four layers, highest first: flags (`overrides`), `PSWRAP_*` environment
variables, the `[targets.NAME]` table of the configuration file, and defaults. Each value remembers which
layer it came from (`Target.sources`) so `pswrap targets show` can say why a setting has the value it has.

The configuration file holds no secret: a password is named by its source (`password_env`,
`password_keyring`, or a prompt) and resolved only when a connection needs it.

The target `lab` is the embedded lab (`pswrap.lab`): its address and credentials exist only once the
session starts it on an ephemeral loopback port, so `load_target("lab")` returns the settings and
`open_session` fills in the endpoint.

The model is in `target_model`, the layers of settings in `target_settings`, and the `Target` built
from them in `target_build`; this module is the public face: which target a run uses, and its settings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from pswrap.errors import ConfigError
from pswrap.remote.target_build import build_target
from pswrap.remote.target_model import LAB, Target
from pswrap.remote.target_settings import config_path, merge_layers, read_file

__all__ = [
    "Selection",
    "Target",
    "list_targets",
    "load_target",
    "no_target_configured",
    "select_target",
    "target_from",
]


@dataclass(frozen=True)
class Selection:
    name: str
    origin: str
    """`flag`, `env PSWRAP_TARGET`, `file default_target`, `only target in file`, or `none configured`."""


def select_target(name: str | None = None) -> Selection:
    """Which target a run uses: `--target`, `PSWRAP_TARGET`, the file's default, its only target, or lab."""
    if name:
        return Selection(name, "flag")
    env = os.environ.get("PSWRAP_TARGET")
    if env:
        return Selection(env, "env PSWRAP_TARGET")
    path = config_path()
    data = read_file(path)
    if data.get("default_target"):
        return Selection(str(data["default_target"]), "file default_target")
    targets = data.get("targets", {})
    if len(targets) == 1:
        return Selection(next(iter(targets)), "only target in file")
    if len(targets) > 1:
        raise ConfigError(
            f"{path}: several targets are configured ({', '.join(sorted(targets))}) and none is chosen",
            hint='pass --target NAME, set PSWRAP_TARGET, or add default_target = "NAME" to the file',
        )
    return Selection(LAB, "none configured")


def load_target(name: str | None = None, *, overrides: Mapping[str, object] | None = None) -> Target:
    """The effective settings of a target (flags in `overrides`, keyed like the file's keys)."""
    selection = select_target(name)
    path = config_path()
    data = read_file(path)
    tables: dict[str, Any] = data.get("targets", {})
    table = tables.get(selection.name)
    if table is None and selection.name != LAB:
        known = ", ".join(sorted([*tables, LAB]))
        raise ConfigError(
            f"{path}: no target named {selection.name!r} (from {selection.origin})",
            hint=f"known targets: {known}",
        )
    values, sources = merge_layers(selection.name, table or {}, path, overrides or {})
    is_lab = selection.name == LAB and "host" not in values
    target = build_target(selection.name, values, sources, is_lab=is_lab, path=path)
    return replace(target, sources={**target.sources, "target": selection.origin})


def target_from(name: str, settings: Mapping[str, object]) -> Target:
    """A target that is not in the configuration file: `settings` keyed like a `[targets.NAME]` table
    (plus `password` / `ad_credential_password` as values), validated as the file's keys are; `PSWRAP_*`
    environment variables fill what is not given. The Ansible collection's connection options use it."""
    path = config_path()
    values, sources = merge_layers(name, {}, path, settings)
    target = build_target(name, values, sources, is_lab=False, path=path)
    return replace(target, sources={**target.sources, "target": "given"})


def list_targets() -> list[Target]:
    """Every configured target, plus `lab` (the embedded lab is always available)."""
    path = config_path()
    data = read_file(path)
    names = list(data.get("targets", {}))
    if LAB not in names:
        names.append(LAB)
    return [load_target(n) for n in names]


def no_target_configured() -> bool:
    """True when nothing chooses a target, so runs fall back to the embedded lab (and say so)."""
    return select_target(None).origin == "none configured"
