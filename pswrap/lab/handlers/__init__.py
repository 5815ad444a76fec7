"""The lab's step handlers: importing this package registers every one (pswrap.lab.dispatch.HANDLERS).

One module per area (ad, sync, exo, graph, hybrid, legacy), the connect steps and session rules
(connect, sessions), the documented error records (records) and the rules every step goes through
(pipeline: session, faults, the world caught up to the lab's clock).
"""

from __future__ import annotations

from pswrap.lab.handlers import (  # noqa: F401  (importing a module registers its handlers)
    access,
    ad,
    calendar,
    connect,
    exo,
    graph,
    hybrid,
    legacy,
    lifecycle,
    mastering,
    permissions,
    places,
    preflight,
    sync,
)
