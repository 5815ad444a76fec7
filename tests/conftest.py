"""Settings every test shares.

One terminal width for every test: rich (Typer's help and error boxes) wraps at COLUMNS, or at 80 without
a terminal, so a developer's wide terminal and CI's none would otherwise disagree on whether a message
assertion finds its words on one line. Subprocesses inherit it.
"""

from __future__ import annotations

import os

os.environ["COLUMNS"] = "200"
