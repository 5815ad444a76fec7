"""`pswrap lab set` and `pswrap lab advance`: staging scenarios in the simulated world (registered on
the `lab` group defined in lab_cmd.py)."""

from __future__ import annotations
