"""The lab's world in one JSON file: changed under a short lock, written atomically.

Why a sibling lock file and an atomic replace: `pswrap lab show` (another process) must be able to read
the world at any moment, and two labs or a lab and `pswrap lab set` on the same file must never lose or
corrupt a change. Readers need no lock at all: they always see a complete file.

Request counts by WSMan action are kept in memory (counting them must not cost a file write per request)
and merged into `world["stats"]["requests"]` whenever the world is written and at shutdown.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

WORLD_SECTIONS = ("ad", "cloud", "exo", "sync", "host")
"""Sections every world has: a JSON object without one is not a lab world (`{}` is refused)."""


def _fresh_world() -> dict[str, Any]:
    from pswrap.lab.world import fresh_world

    world = fresh_world()
    world.setdefault("stats", {}).setdefault("requests", {})
    return world


class Store:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self._pending: dict[str, int] = {}
        self._pending_lock = threading.Lock()
        self._thread_lock = threading.RLock()

    # --- reading ------------------------------------------------------------------------------

    def read(self) -> dict[str, Any]:
        """A snapshot; creates the fresh world first when the file does not exist."""
        try:
            return self._load()
        except FileNotFoundError:
            with self.transaction() as world:
                return json.loads(json.dumps(world))  # type: ignore[no-any-return]

    def _load(self) -> dict[str, Any]:
        from pswrap.lab.config import LabInputError

        reset = "`pswrap lab reset` writes a fresh world there (or point PSWRAP_LAB_STATE elsewhere)"
        try:
            with open(self.path, encoding="utf-8") as fh:
                data = json.load(fh)
        except FileNotFoundError:
            raise
        except IsADirectoryError:
            raise LabInputError(f"lab state file {self.path} is a directory", hint=reset) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise LabInputError(f"lab state file {self.path} is not valid JSON ({exc})", hint=reset) from None
        except OSError as exc:
            raise LabInputError(f"lab state file {self.path} cannot be read ({exc.strerror})") from None
        if not isinstance(data, dict):
            raise LabInputError(
                f"lab state file {self.path} does not hold a lab world (a JSON object)", hint=reset
            )
        missing = [key for key in WORLD_SECTIONS if not isinstance(data.get(key), dict)]
        if missing:
            raise LabInputError(
                f"lab state file {self.path} does not hold a lab world (no {', '.join(missing)} section)",
                hint=reset,
            )
        return data

    def mtime_ns(self) -> int:
        try:
            return self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return 0

    # --- changing -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        from pswrap.lab.config import LabInputError

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lock_file = open(self.lock_path, "a+")  # noqa: SIM115 (closed by the with below)
        except OSError as exc:
            raise LabInputError(f"lab state file {self.path} cannot be written ({exc.strerror})") from None
        with self._thread_lock, lock_file as lock_fh:
            fcntl.flock(lock_fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_fh.fileno(), fcntl.LOCK_UN)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[dict[str, Any]]:
        """The world as a mutable dict; written back atomically (with pending stats) when the block ends.

        An exception inside the block discards the change.
        """
        with self._locked():
            try:
                world = self._load()
            except FileNotFoundError:
                world = _fresh_world()
            yield world
            self._merge_stats(world)
            self._write(world)

    def replace(self, world: dict[str, Any]) -> None:
        """Write a whole new world (reset); pending stats are dropped with the old one."""
        with self._locked():
            with self._pending_lock:
                self._pending.clear()
            self._write(world)

    def reset(self) -> dict[str, Any]:
        world = _fresh_world()
        self.replace(world)
        return world

    def _write(self, world: dict[str, Any]) -> None:
        from pswrap.lab.config import LabInputError

        text = json.dumps(world, indent=2, sort_keys=True, default=str)
        if self.path.exists() and not os.access(self.path, os.W_OK):
            raise LabInputError(f"lab state file {self.path} is not writable")
        try:
            fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp", dir=self.path.parent)
        except OSError as exc:
            raise LabInputError(f"lab state file {self.path} cannot be written ({exc.strerror})") from None
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.write("\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    # --- request statistics -------------------------------------------------------------------

    def count_request(self, action: str) -> None:
        with self._pending_lock:
            self._pending[action] = self._pending.get(action, 0) + 1

    def pending_requests(self) -> dict[str, int]:
        with self._pending_lock:
            return dict(self._pending)

    def _merge_stats(self, world: dict[str, Any]) -> None:
        with self._pending_lock:
            pending, self._pending = self._pending, {}
        requests = world.setdefault("stats", {}).setdefault("requests", {})
        for action, count in pending.items():
            requests[action] = int(requests.get(action, 0)) + count

    def flush_stats(self) -> None:
        """Write pending request counts now (at shutdown, and periodically while serving)."""
        if not self.pending_requests():
            return
        with self.transaction():
            pass
