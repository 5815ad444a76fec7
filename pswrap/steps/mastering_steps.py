"""Who masters what after the link (issue #11): the steps for addresses, the Exchange attributes'
authority and sign-in. One declaration each; the contract with its template and lab handler as in
runbook.py.
"""

from __future__ import annotations

from pswrap.results import models as m
from pswrap.steps import readback as rb
from pswrap.steps.model import Param, Step
from pswrap.steps.shared import AD_CRED, AD_SERVER, AD_SESSION, MODERN, MODERN_HYBRID

# Who masters what after the link (issue #11): addresses, sign-in, the Exchange attributes' authority.
MASTERING_STEPS = (
    Step(
        "ad/add-addresses",
        "Add the proxyAddresses an account lacks (Set-ADUser -Add), so the link keeps every address",
        needs="ad",
        profiles=MODERN,
        params=(
            Param("Identity", "guid", help="objectGUID"),
            Param("Addresses", "string[]", help="smtp:/X500: addresses; those already present are skipped"),
            AD_SERVER,
            *AD_CRED,
        ),
        result=m.AdUser,
        changes=True,
        read_back=rb.ADD_ADDRESSES,
        session_params=AD_SESSION,
    ),
    Step(
        "ad/get-exchange-schema",
        "Read whether the forest's schema has the Exchange attributes (Get-ADRootDSE, Get-ADObject)",
        needs="ad",
        profiles=MODERN_HYBRID,
        params=(AD_SERVER, *AD_CRED),
        result=m.ExchangeSchema,
        session_params=AD_SESSION,
    ),
    Step(
        "ad/stamp-exchange-attributes",
        "Write the remote-mailbox msExch* values on an account (Set-ADUser -Replace; unsupported route)",
        needs="ad",
        profiles=MODERN,
        params=(
            Param("Identity", "guid", help="objectGUID"),
            Param("RecipientTypeDetails", help="msExchRecipientTypeDetails, a 64-bit integer as text"),
            Param("RemoteRecipientType", help="msExchRemoteRecipientType, as text"),
            Param("RecipientDisplayType", help="msExchRecipientDisplayType, as text"),
            AD_SERVER,
            *AD_CRED,
        ),
        result=m.ExchangeStamp,
        changes=True,
        read_back=rb.STAMP_EXCHANGE,
        session_params=AD_SESSION,
    ),
    Step(
        "exo/get-exchange-authority",
        "Read whether a mailbox's Exchange attributes are cloud-managed (Get-Mailbox IsExchangeCloudManaged)",
        needs="exo",
        profiles=MODERN,
        params=(Param("Identity", help="alias, SMTP address or Entra object id"),),
        result=m.MailboxAuthority,
    ),
    Step(
        "exo/set-exchange-cloud-managed",
        "Move a mailbox's Exchange attributes to Exchange Online (Set-Mailbox -IsExchangeCloudManaged)",
        needs="exo",
        profiles=MODERN,
        params=(Param("Identity", help="alias, SMTP address or Entra object id"),),
        result=m.MailboxAuthority,
        changes=True,
        read_back=rb.SET_CLOUD_MANAGED,
    ),
    Step(
        "exo/set-mailbox",
        "Set mailbox values Exchange Online masters (Set-Mailbox); what AD masters is refused after the link",
        needs="exo",
        profiles=MODERN,
        params=(
            Param("Identity", help="alias, SMTP address or Entra object id"),
            Param("DisplayName", mandatory=False),
            Param("Name", mandatory=False, help="cloud-only: a synced name is AD's cn"),
            Param("EmailAddresses", "string[]", mandatory=False, help="every address, SMTP: for the primary"),
            Param("HiddenFromAddressListsEnabled", "bool", mandatory=False),
            Param("ResourceCapacity", "int", mandatory=False, help="rooms"),
        ),
        result=m.Mailbox,
        changes=True,
        read_back=rb.SET_MAILBOX,
    ),
    Step(
        "graph/set-account-enabled",
        "Block or allow sign-in of a cloud account (Update-MgUser -AccountEnabled)",
        needs="graph",
        profiles=MODERN,
        params=(Param("UserId", help="object id or UPN"), Param("AccountEnabled", "bool")),
        result=m.SignInChange,
        changes=True,
        read_back=rb.SET_ACCOUNT_ENABLED,
    ),
)
