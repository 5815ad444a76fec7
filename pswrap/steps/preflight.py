"""The read-only steps of `pswrap doctor` that the runbook does not already have.

The doctor reuses the runbook's fact steps (sync/get-settings, sync/get-scheduler, sync/list-leases,
exo/connect, graph/connect, graph/get-sync-features, ad/get-domain) and adds these. Module and
certificate inventories exist once per need because a step runs on the host its need maps to, and the
target may map needs to different hosts: the doctor calls the one of the need that brought it to a
host. They are `before_connect`: listing modules is how the doctor explains a connect that would fail.
"""

from __future__ import annotations

from pswrap.results import preflight as r
from pswrap.steps.model import Need, Param, Profile, Step
from pswrap.steps.shared import AD_CRED, AD_SERVER, AD_SESSION

RUNNABLE: tuple[Profile, ...] = ("modern", "hybrid-tools")

MODULE_STEPS: dict[Need, str] = {
    "ad": "ad/get-modules",
    "adsync": "sync/get-modules",
    "exo": "exo/get-modules",
    "graph": "graph/get-modules",
    "hybrid": "hybrid/get-modules",
}
"""The module inventory step to run on the host a need maps to."""

CERTIFICATE_STEPS: dict[Need, str] = {
    "exo": "exo/get-certificate",
    "graph": "graph/get-certificate",
}
"""The certificate step to run on the host a cloud need maps to (where its connect step reads the store)."""


def _module_step(need: Need, step_id: str) -> Step:
    return Step(
        step_id,
        f"List installed modules matching the names asked for, and registered snap-ins, on the {need} host",
        needs=need,
        profiles=RUNNABLE,
        params=(Param("Name", "string[]", help="module names or wildcard patterns"),),
        result=r.ModuleInventory,
        before_connect=True,
    )


def _certificate_step(need: Need, step_id: str) -> Step:
    return Step(
        step_id,
        f"Read the app-only certificate in Cert:\\LocalMachine\\My on the {need} host: expiry, private key",
        needs=need,
        profiles=("modern",),
        params=(Param("CertificateThumbprint", help="40 hex digits"),),
        result=r.CertificateInfo,
        before_connect=True,
        session_params=("CertificateThumbprint",),
    )


STEPS: tuple[Step, ...] = (
    *(_module_step(need, step_id) for need, step_id in MODULE_STEPS.items()),
    *(_certificate_step(need, step_id) for need, step_id in CERTIFICATE_STEPS.items()),
    Step(
        "ad/get-ous",
        "Ask the pinned domain controller for the domain and the OUs pswrap uses (not found is an answer)",
        needs="ad",
        profiles=RUNNABLE,
        params=(
            Param("Identity", "string[]", mandatory=False, help="distinguished names of the OUs"),
            AD_SERVER,
            *AD_CRED,
        ),
        result=r.OuReport,
        session_params=AD_SESSION,
    ),
    Step(
        "sync/get-scope",
        "Read the OU filtering (inclusions, exclusions) of every AD connector (Get-ADSyncConnector)",
        needs="adsync",
        profiles=RUNNABLE,
        result=r.SyncScope,
    ),
)
