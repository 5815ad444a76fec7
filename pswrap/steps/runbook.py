"""The steps of the mailbox runbook (the seed, modernised), one declaration each.

Each declaration is the contract between its template (`ps_templates/<id>.ps1.j2`), the lab handler
that imitates the real cmdlets (`pswrap/lab/handlers/`), and the workflow that calls it. Parameter
names are the template's param() names; optional parameters are passed to the cmdlet only when given.

The declarations live in one module per system: `sync_steps`, `ad_steps`, `exo_steps`, `graph_steps`,
`hybrid_steps`, `legacy_steps` and `mastering_steps` (who masters what after the link); what they share
is in `shared`. `STEPS` here is their one aggregate, which the registry (`pswrap.steps`) reads.
"""

from __future__ import annotations

from pswrap.steps.ad_steps import AD_STEPS
from pswrap.steps.exo_steps import EXO_STEPS
from pswrap.steps.graph_steps import GRAPH_STEPS
from pswrap.steps.hybrid_steps import HYBRID_STEPS
from pswrap.steps.legacy_steps import LEGACY_STEPS
from pswrap.steps.mastering_steps import MASTERING_STEPS
from pswrap.steps.model import Step
from pswrap.steps.sync_steps import SYNC_STEPS

STEPS: tuple[Step, ...] = (
    *SYNC_STEPS,
    *AD_STEPS,
    *EXO_STEPS,
    *GRAPH_STEPS,
    *HYBRID_STEPS,
    *LEGACY_STEPS,
    *MASTERING_STEPS,
)
