"""The simulated hybrid directory: AD, the sync server, Entra ID and Exchange Online, as one JSON world.

The world is plain JSON (it lives in the lab's state store, `pswrap.lab.store`) so that `pswrap lab show`
prints it, `pswrap lab set` stages scenarios in it, and a restarted lab keeps it. Its paths are a contract:
the workflows' tests read them (see the README's section on the lab's world).

Time is simulated lazily from timestamps (no background thread): the world's clock is real time plus
`clock.offset_seconds`, and every handler first calls `pswrap.lab.sync_engine.catch_up`, which finishes
cycles whose end has passed, fires leases whose deadline passed and starts the scheduled cycles that
were due, in time order.
"""

from __future__ import annotations

import json
import math
import os
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from pswrap.lab.facts import add_default_facts

ANCHOR_CONSISTENCY_GUID = "mS-DS-ConsistencyGuid"
ANCHOR_OBJECT_GUID = "objectGUID"
ANCHOR_ATTRIBUTES = (ANCHOR_CONSISTENCY_GUID, ANCHOR_OBJECT_GUID)
"""The two values of Microsoft.SynchronizationOption.AnchorAttribute (docs/sources.md §3)."""

SYNC_SECONDS_ENV = "PSWRAP_LAB_SYNC_SECONDS"
REPLICATION_SECONDS_ENV = "PSWRAP_LAB_REPLICATION_SECONDS"
"""How long a mailbox created in Exchange Online takes to appear in Entra ID (Graph); default 0 so the
suite does not pay it on every create (docs/sync.md, "Replication delay")."""


@dataclass(frozen=True)
class LabDefaults:
    """The fresh world's fixed names, in one place: the embedded `lab` target is configured from these."""

    dns_root: str = "lab.example"
    netbios_name: str = "LAB"
    domain_dn: str = "DC=lab,DC=example"
    domain_controller: str = "dc1.lab.example"
    upn_suffix: str = "lab.example"
    resource_ou: str = "OU=Resources,DC=lab,DC=example"
    """In sync scope: accounts created here sync to Entra ID."""
    staging_ou: str = "OU=Staging,DC=lab,DC=example"
    """Outside sync scope (the `staging-ou` hold creates accounts here, docs/design.md)."""
    sync_server: str = "sync1.lab.example"
    tenant_domain: str = "labtenant.onmicrosoft.com"
    """The tenant's initial domain: Connect-ExchangeOnline's -Organization (docs/sources.md §1.4)."""
    tenant_id: str = "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
    app_id: str = "0d6c5b4a-3928-4716-a5b4-c3d2e1f00f1e"
    certificate_thumbprint: str = "3F2A9C4B1D8E7F6A5B4C3D2E1F0A9B8C7D6E5F4A"
    certificate_subject: str = "CN=pswrap-lab-app"
    connect_version: str = "2.5.79.0"
    """The minimum that still syncs after 2026-09-30 (docs/sources.md §1.3)."""
    anchor_attribute: str = ANCHOR_CONSISTENCY_GUID
    sync_interval_seconds: int = 1800
    """Default cycle interval: 30 minutes (docs/sources.md §1.3, how-to-connect-sync-feature-scheduler.md)."""
    sync_cycle_seconds: float = 2.0
    """How long a simulated cycle runs (`--sync-seconds`, PSWRAP_LAB_SYNC_SECONDS)."""

    @property
    def remote_routing_domain(self) -> str:
        """`<tenant>.mail.onmicrosoft.com`, the remote routing domain of a hybrid org (docs/sources.md §5)."""
        return self.tenant_domain.replace(".onmicrosoft.com", ".mail.onmicrosoft.com")


LAB_DEFAULTS = LabDefaults()


# --- the clock ------------------------------------------------------------------------------------


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, the emitter's date form (docs/design.md)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_time(text: str) -> datetime:
    """ISO 8601, also .NET's round-trip form with 7 fractional digits (what the runner sends, and
    what Python 3.10's fromisoformat refuses)."""
    moment = datetime.fromisoformat(_FRACTION.sub(r"\1", text.strip()).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def now(world: dict[str, Any]) -> datetime:
    """The lab's time: real time moved by `clock.offset_seconds` (`pswrap lab advance`)."""
    offset = float(world.get("clock", {}).get("offset_seconds", 0))
    return datetime.now(timezone.utc) + timedelta(seconds=offset)


def advance(world: dict[str, Any], seconds: float) -> None:
    """Move the lab's clock forward (never back: a deadline that passed stays passed)."""
    if seconds < 0:
        raise ValueError("the lab's clock only moves forward")
    clock = world.setdefault("clock", {"offset_seconds": 0})
    clock["offset_seconds"] = float(clock.get("offset_seconds", 0)) + seconds


# --- the fresh world ---------------------------------------------------------------------------------


def _seconds_from_env(name: str) -> float | None:
    raw = os.environ.get(name)
    if not raw:
        return None
    from pswrap.lab.config import lab_seconds

    return lab_seconds(raw, SYNC_SECONDS_ENV)


def fresh_world() -> dict[str, Any]:
    """The world after `pswrap lab reset` (documented in the README's section on the lab's world).

    One domain with one DC and a UPN suffix; a resource OU in sync scope and a staging OU outside it; a
    tenant on its onmicrosoft.com domain with both matching blocks off (Microsoft's default; docs/sources.md
    §3 advises turning them on outside a matching window); the app certificate, valid with its private
    key; anchor attribute mS-DS-ConsistencyGuid; Connect 2.5.79.0; the scheduler enabled.
    """
    d = LAB_DEFAULTS
    created = datetime.now(timezone.utc)
    world: dict[str, Any] = {
        "schema": 1,
        "clock": {"offset_seconds": 0.0},
        "ad": {
            "domain": {
                "dns_root": d.dns_root,
                "netbios_name": d.netbios_name,
                "distinguished_name": d.domain_dn,
                "domain_controllers": [d.domain_controller],
                "pdc_emulator": d.domain_controller,
                "upn_suffixes": [d.upn_suffix],
            },
            "ous": [
                {"dn": d.resource_ou, "in_sync_scope": True},
                {"dn": d.staging_ou, "in_sync_scope": False},
            ],
            "credential": None,
            "users": [],
            # No Exchange schema (setup /PrepareSchema never ran): AD has no msExch* attributes. `lab set
            # ad.exchange_schema.present=true` stages a forest that has them (docs/mastering.md).
            "exchange_schema": {"present": False, "version": None},
        },
        "certs": {
            "local_machine_my": [
                {
                    "thumbprint": d.certificate_thumbprint,
                    "subject": d.certificate_subject,
                    "not_after": iso(created + timedelta(days=365)),
                    "has_private_key": True,
                }
            ]
        },
        "cloud": {
            "tenant": {
                "initial_domain": d.tenant_domain,
                "tenant_id": d.tenant_id,
                "app_id": d.app_id,
                "verified_domains": [d.tenant_domain, d.upn_suffix],
            },
            "features": {"block_soft_match": False, "block_hard_match_takeover": False},
            "users": [],
            "deleted_users": [],
            "groups": [],
            "replication_delay_seconds": _seconds_from_env(REPLICATION_SECONDS_ENV) or 0.0,
            "quarantine_release_utc": None,
        },
        "exo": {"mailboxes": [], "soft_deleted_mailboxes": [], "calendar_refusals": {}},
        "sync": {
            "settings": {
                "anchor_attribute": d.anchor_attribute,
                "staging_mode": False,
                "connect_version": d.connect_version,
                "server": d.sync_server,
                "ad_write_back_permitted": True,
            },
            "scheduler": {
                "sync_cycle_enabled": True,
                "suspended": False,
                "sync_cycle_in_progress": False,
                "maintenance_enabled": True,
                "next_sync_cycle_policy_type": "Delta",
                "next_sync_cycle_start_time_utc": iso(created + timedelta(seconds=d.sync_interval_seconds)),
                "interval_seconds": d.sync_interval_seconds,
                "cycle_seconds": d.sync_cycle_seconds,
            },
            "current_cycle": None,
            "runs": [],
            "leases": [],
            "lease_prior": None,
        },
        "faults": [],
        "stats": {"requests": {}},
    }
    env_seconds = _seconds_from_env(SYNC_SECONDS_ENV)
    if env_seconds is not None:
        world["sync"]["scheduler"]["cycle_seconds"] = env_seconds
    return add_default_facts(world)  # the host facts `pswrap doctor` reads (pswrap.lab.facts, issue #7)


def configure(
    world: dict[str, Any], *, sync_seconds: float | None = None, anchor: str | None = None
) -> dict[str, Any]:
    """Apply `pswrap lab serve --sync-seconds S --anchor A` to a world (in place; returned for chaining)."""
    if sync_seconds is not None:
        if not math.isfinite(sync_seconds) or sync_seconds < 0:
            from pswrap.lab.config import LabInputError

            raise LabInputError(f"--sync-seconds {sync_seconds:g}: a finite number of seconds, 0 or more")
        world["sync"]["scheduler"]["cycle_seconds"] = float(sync_seconds)
    if anchor is not None:
        if anchor not in ANCHOR_ATTRIBUTES:
            raise ValueError(f"--anchor must be one of {', '.join(ANCHOR_ATTRIBUTES)}, not {anchor!r}")
        world["sync"]["settings"]["anchor_attribute"] = anchor
    return world


# --- staging scenarios: `pswrap lab set PATH=VALUE` ------------------------------------------------------


class UnknownPath(KeyError):
    """A `lab set` path that names no setting of the world."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown path"


def parse_value(text: str) -> Any:
    """A `lab set` value: JSON when it parses (true, 3, null, ["a"]), else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _walk(world: dict[str, Any], path: str) -> tuple[Any, str | int]:
    parts = [p for p in path.split(".") if p]
    if not parts:
        raise UnknownPath("an empty path names nothing; try e.g. sync.settings.staging_mode")
    node: Any = world
    for depth, part in enumerate(parts[:-1]):
        node = _child(node, part, ".".join(parts[: depth + 1]))
    last = parts[-1]
    key: str | int
    if isinstance(node, list):
        key = _index(node, last, path)
    elif isinstance(node, dict):
        if last not in node:
            known = ", ".join(sorted(node)) or "(none)"
            raise UnknownPath(f"{path!r} names no setting of the lab world; known here: {known}")
        key = last
    else:
        raise UnknownPath(f"{path!r}: {'.'.join(parts[:-1])} is a value, not a section")
    return node, key


def _child(node: Any, part: str, where: str) -> Any:
    if isinstance(node, dict):
        if part not in node:
            known = ", ".join(sorted(node)) or "(none)"
            raise UnknownPath(f"{where!r} names no section of the lab world; known here: {known}")
        return node[part]
    if isinstance(node, list):
        return node[_index(node, part, where)]
    raise UnknownPath(f"{where!r} is a value, not a section")


def _index(node: list[Any], part: str, where: str) -> int:
    try:
        index = int(part)
    except ValueError:
        raise UnknownPath(f"{where!r}: {part!r} is not a list index") from None
    if not -len(node) <= index < len(node):
        raise UnknownPath(f"{where!r}: index {index} is out of range (the list has {len(node)} items)")
    return index


DERIVED_PATHS = ("sync.scheduler.sync_cycle_in_progress", "sync.current_cycle", "stats")


def get_path(world: dict[str, Any], path: str) -> Any:
    node, key = _walk(world, path)
    return node[key]


def set_path(world: dict[str, Any], path: str, value: Any) -> Any:
    """Set an existing setting; returns the old value. The JSON type must stay the same (or be null)."""
    if any(path == p or path.startswith(p + ".") for p in DERIVED_PATHS):
        raise UnknownPath(f"{path!r} is derived from the lab's clock, not a setting; use `lab advance`")
    node, key = _walk(world, path)
    old = node[key]
    if old is not None and value is not None and _json_kind(old) != _json_kind(value):
        raise ValueError(
            f"{path} holds a {_json_kind(old)} ({json.dumps(old)}); "
            f"{json.dumps(value)} is a {_json_kind(value)}"
        )
    if path == "sync.settings.anchor_attribute" and value not in ANCHOR_ATTRIBUTES:
        raise ValueError(f"sync.settings.anchor_attribute must be one of {', '.join(ANCHOR_ATTRIBUTES)}")
    node[key] = value
    return old


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return "null"


# --- small shared helpers -----------------------------------------------------------------------------


def new_guid() -> str:
    return str(uuid.uuid4())


def immutable_id(guid: str) -> str:
    """Base64 of the GUID's .NET ToByteArray() bytes (mixed-endian), the ImmutableId form (docs/sources.md
    §3)."""
    import base64

    return base64.b64encode(uuid.UUID(guid).bytes_le).decode("ascii")


def guid_from_immutable_id(value: str) -> str | None:
    """The GUID an ImmutableId encodes, or None when it is not a 16-byte base64 value."""
    import base64
    import binascii

    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) != 16:
        return None
    return str(uuid.UUID(bytes_le=raw))
