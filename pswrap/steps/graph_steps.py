"""The mailbox runbook's steps in Microsoft Graph: connect, the cloud user, the hard-match link, the
tenant's sync features. One declaration each; the contract with its template and lab handler as in
runbook.py.
"""

from __future__ import annotations

from pswrap.results import models as m
from pswrap.steps import readback as rb
from pswrap.steps.model import Choice, Param, Step
from pswrap.steps.shared import MODERN

GRAPH_STEPS = (
    Step(
        "graph/connect",
        "Connect to Microsoft Graph app-only with a certificate from Cert:\\LocalMachine\\My",
        needs="graph",
        profiles=MODERN,
        params=(
            Param("ClientId", help="the app registration's application (client) id"),
            Param("TenantId", help="the tenant id or its onmicrosoft.com domain"),
            Param("CertificateThumbprint", help="40 hex digits, of a certificate in Cert:\\LocalMachine\\My"),
        ),
        result=m.Connection,
        session_params=("ClientId", "TenantId", "CertificateThumbprint"),
    ),
    Step(
        "graph/get-user",
        "Read a cloud user with its ImmutableId, sync state, proxy addresses and directory roles",
        needs="graph",
        profiles=MODERN,
        params=(Param("UserId", help="object id or UPN"),),
        result=m.CloudUserLookup,
    ),
    Step(
        "graph/find-users",
        "Find cloud users by ImmutableId or by proxy address (Get-MgUser -Filter)",
        needs="graph",
        profiles=MODERN,
        choices=(Choice("by", ("immutableid", "proxy-address"), default="immutableid"),),
        params=(Param("Value", help="an ImmutableId (base64), or an SMTP address (smtp: ignored)"),),
        result=m.CloudUsers,
    ),
    Step(
        "graph/set-user",
        "Set a cloud user's ImmutableId and/or UPN (Update-MgUser), the hard-match link",
        needs="graph",
        profiles=MODERN,
        params=(
            Param("UserId", help="object id or UPN"),
            Param("OnPremisesImmutableId", mandatory=False, help="base64 of the AD anchor's bytes"),
            Param("UserPrincipalName", mandatory=False),
        ),
        result=m.CloudUser,
        changes=True,
        read_back=rb.SET_CLOUD_USER,
    ),
    Step(
        "graph/get-sync-features",
        "Read the tenant's BlockSoftMatch and BlockCloudObjectTakeoverThroughHardMatch features",
        needs="graph",
        profiles=MODERN,
        result=m.SyncFeatures,
    ),
)
