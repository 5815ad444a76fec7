"""Commands of this area register themselves on the root app (see pswrap/cli/__init__.py)."""

from __future__ import annotations

from pswrap.cli.app import app as app
