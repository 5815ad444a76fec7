"""The mailbox runbook's steps in Exchange Online: connect, find, create. One declaration each; the
contract with its template and lab handler as in runbook.py.
"""

from __future__ import annotations

from pswrap.results import models as m
from pswrap.steps import readback as rb
from pswrap.steps.model import Param, Step
from pswrap.steps.shared import MAILBOX_TYPE, MODERN

EXO_STEPS = (
    Step(
        "exo/connect",
        "Connect to Exchange Online app-only with a certificate from Cert:\\LocalMachine\\My",
        needs="exo",
        profiles=MODERN,
        params=(
            Param("AppId", help="the app registration's application (client) id"),
            Param("Organization", help="the tenant's primary domain, <tenant>.onmicrosoft.com"),
            Param("CertificateThumbprint", help="40 hex digits, of a certificate in Cert:\\LocalMachine\\My"),
        ),
        result=m.Connection,
        session_params=("AppId", "Organization", "CertificateThumbprint"),
    ),
    Step(
        "exo/find-mailbox",
        "Find a mailbox by alias, address or name (not found is an answer)",
        needs="exo",
        profiles=MODERN,
        params=(Param("Identity", help="alias, SMTP address, name or Entra object id"),),
        result=m.MailboxLookup,
    ),
    Step(
        "exo/find-recipients",
        "Find every recipient holding an alias or any of the addresses (Get-Recipient)",
        needs="exo",
        profiles=MODERN,
        params=(
            Param("Alias", mandatory=False, help="recipients whose alias is exactly this"),
            Param("Addresses", "string[]", mandatory=False, help="SMTP addresses (smtp: ignored)"),
        ),
        result=m.RecipientLookup,
    ),
    Step(
        "exo/new-mailbox",
        "Create the cloud room, equipment or shared mailbox (New-Mailbox -Room|-Equipment|-Shared)",
        needs="exo",
        profiles=MODERN,
        choices=(MAILBOX_TYPE,),
        params=(
            Param("Name"),
            Param("Alias"),
            Param("DisplayName"),
            Param("PrimarySmtpAddress"),
            Param("ResourceCapacity", "int", mandatory=False, help="rooms only"),
        ),
        result=m.Mailbox,
        changes=True,
        read_back=rb.NEW_MAILBOX,
        idempotent=False,
    ),
)
