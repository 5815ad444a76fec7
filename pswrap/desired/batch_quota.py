"""How many sessions a batch opens by default: as many as the server's default shell quota fits.

Each batch session opens one shell (a runspace pool of one runspace) per need on that need's host. The
needs of `mailbox apply` are Exchange Online, Microsoft Graph, Active Directory and the sync server; a
target maps each to a host, by default all to the sync server. Windows PowerShell's remoting endpoint
allows 25 shells per user by default ([MS-WSMV] 3.1.4.1.34.3.4 "PowerShell Plugin", the
microsoft.powershell plug-in's Quotas: MaxShellsPerUser="25"); beyond it the server refuses a new shell
with a wsman:QuotaLimit fault ([MS-WSMV] 3.1.4.5.2.1). So the default is floor(25 / the shells one session
opens on its busiest host): 6 when all four needs are on one server, 12 when they are spread two by two.

A larger `--parallel` is allowed (admins raise the quota) with one warning naming the quota; and when a
server refuses shells anyway, the batch goes on with the sessions it has (pswrap.desired.batch).
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from pswrap.steps.model import Need

log = logging.getLogger("pswrap")

SHELL_QUOTA = 25
"""MaxShellsPerUser of the microsoft.powershell plug-in by default ([MS-WSMV] 3.1.4.1.34.3.4)."""
BATCH_NEEDS: tuple[Need, ...] = ("exo", "graph", "ad", "adsync")
"""The needs a batch's sessions use (the modern profile's steps)."""
MAX_PARALLEL = 32
RAISE_QUOTA = r"Set-Item WSMan:\localhost\Plugin\microsoft.powershell\Quotas\MaxShellsPerUser <N>"

_warned: set[tuple[str, int]] = set()


def busiest_host(target: Any) -> tuple[str, int]:
    """The host most of a session's shells are on, and how many (one per need mapped to it)."""
    if target is None or not hasattr(target, "host_for"):
        return "the server", len(BATCH_NEEDS)
    hosts = Counter(str(target.host_for(need)) for need in BATCH_NEEDS)
    host, shells = max(hosts.items(), key=lambda item: item[1])
    return host, shells


def default_parallel(target: Any) -> int:
    """floor(25 / shells per session on the busiest host), at least 1, at most MAX_PARALLEL."""
    _host, shells = busiest_host(target)
    return max(1, min(MAX_PARALLEL, SHELL_QUOTA // shells))


def warn_over_quota(parallel: int, target: Any) -> str | None:
    """One warning (once per process for a target and a number) when `parallel` sessions need more
    shells than the default quota allows; the text, or None when they fit."""
    host, shells = busiest_host(target)
    if parallel * shells <= SHELL_QUOTA:
        return None
    text = (
        f"--parallel {parallel} opens {parallel * shells} shells on {host} ({shells} per session), more "
        f"than the {SHELL_QUOTA} per user Windows PowerShell remoting allows by default (MaxShellsPerUser "
        f"of the microsoft.powershell endpoint); unless it was raised on the server ({RAISE_QUOTA}), the "
        f"server refuses the extra shells and the batch works on with the sessions it gets"
    )
    key = (str(getattr(target, "name", host)), parallel)
    if key not in _warned:
        _warned.add(key)
        log.warning("%s", text)
    return text
