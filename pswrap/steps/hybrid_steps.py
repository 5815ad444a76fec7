"""The mailbox runbook's steps with the Exchange management tools (the hybrid-tools profile:
New-RemoteMailbox). One declaration each; the contract with its template and lab handler as in
runbook.py.
"""

from __future__ import annotations

from pswrap.results import models as m
from pswrap.steps import readback as rb
from pswrap.steps.model import Param, Step
from pswrap.steps.shared import HYBRID, MAILBOX_TYPE

HYBRID_STEPS = (
    Step(
        "hybrid/connect",
        "Load the Exchange RecipientManagement snap-in (management tools, no server)",
        needs="hybrid",
        profiles=HYBRID,
        result=m.Connection,
    ),
    Step(
        "hybrid/new-remote-mailbox",
        "Create the AD account and remote mailbox (New-RemoteMailbox); sync creates the cloud mailbox",
        needs="hybrid",
        profiles=HYBRID,
        choices=(MAILBOX_TYPE,),
        params=(
            Param("Name"),
            Param("Alias"),
            Param("DisplayName"),
            Param("PrimarySmtpAddress"),
            Param("UserPrincipalName"),
            Param("SamAccountName"),
            Param("OnPremisesOrganizationalUnit"),
            Param("RemoteRoutingAddress", mandatory=False, help="alias@tenant.mail.onmicrosoft.com"),
            Param("DomainController", mandatory=False),
        ),
        result=m.RemoteMailbox,
        changes=True,
        read_back=rb.NEW_REMOTE_MAILBOX,
        idempotent=False,
    ),
    Step(
        "hybrid/find-remote-mailbox",
        "Find a remote mailbox by alias or address (not found is an answer)",
        needs="hybrid",
        profiles=HYBRID,
        params=(
            Param("Identity", help="alias, SMTP address or name"),
            Param("DomainController", mandatory=False),
        ),
        result=m.RemoteMailboxLookup,
    ),
)
