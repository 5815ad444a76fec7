"""The mailbox runbook's steps in on-premises AD: the domain, finding, creating and moving the
resource account, its anchor. One declaration each; the contract with its template and lab handler as
in runbook.py.
"""

from __future__ import annotations

from pswrap.results import models as m
from pswrap.steps import readback as rb
from pswrap.steps.model import Choice, Param, Step
from pswrap.steps.shared import AD_CRED, AD_SERVER, AD_SESSION, MODERN, MODERN_HYBRID

AD_STEPS = (
    Step(
        "ad/get-domain",
        "Read the domain: the PDC emulator to pin, UPN suffixes (Get-ADDomain without -Server)",
        needs="ad",
        profiles=MODERN_HYBRID,
        params=AD_CRED,
        result=m.Domain,
        session_params=("CredentialUser", "CredentialPassword"),
    ),
    Step(
        "ad/find-user",
        "Find an AD user by sAMAccountName, UPN or objectGUID (not found is an answer)",
        needs="ad",
        profiles=MODERN_HYBRID,
        choices=(Choice("by", ("sam", "upn", "guid"), default="sam"),),
        params=(
            Param("Value", help="the sAMAccountName, UPN or objectGUID to look for (see the by choice)"),
            AD_SERVER,
            *AD_CRED,
        ),
        result=m.AdUserLookup,
        session_params=AD_SESSION,
    ),
    Step(
        "ad/new-user",
        "Create the resource account (New-ADUser with proxyAddresses, mailNickname, mS-DS-ConsistencyGuid)",
        needs="ad",
        profiles=MODERN,
        params=(
            Param("Name"),
            Param("Path", help="the OU's distinguished name"),
            Param("SamAccountName"),
            Param("UserPrincipalName"),
            Param("DisplayName"),
            Param("EmailAddress"),
            Param("ProxyAddresses", "string[]", help="primary first, as SMTP:addr"),
            Param("MailNickname"),
            Param("ConsistencyGuid", "guid", mandatory=False, help="pre-stamped mS-DS-ConsistencyGuid"),
            Param("Enabled", "bool", mandatory=False, help="without it the account is created disabled"),
            Param(
                "AccountPassword",
                "securestring",
                mandatory=False,
                secret=True,
                help="only for an account that signs in (--allow-sign-in)",
            ),
            AD_SERVER,
            *AD_CRED,
        ),
        result=m.AdUser,
        changes=True,
        read_back=rb.NEW_USER,
        idempotent=False,
        session_params=AD_SESSION,
    ),
    Step(
        "ad/move-user",
        "Move an account into sync scope (Move-ADObject)",
        needs="ad",
        profiles=MODERN,
        params=(Param("Identity", "guid", help="objectGUID"), Param("TargetPath"), AD_SERVER, *AD_CRED),
        result=m.AdUser,
        changes=True,
        read_back=rb.MOVE_USER,
        session_params=AD_SESSION,
    ),
    Step(
        "ad/get-anchor",
        "Read an account's objectGUID and mS-DS-ConsistencyGuid",
        needs="ad",
        profiles=MODERN_HYBRID,
        params=(Param("Identity", "guid", help="objectGUID"), AD_SERVER, *AD_CRED),
        result=m.AdAnchor,
        session_params=AD_SESSION,
    ),
    Step(
        "ad/find-name",
        "Find the objects in a container whose name AD treats as equal (case and diacritics ignored)",
        needs="ad",
        profiles=MODERN_HYBRID,
        params=(
            Param("Value", help="the name (CN) a new object would get"),
            Param("Path", help="the container's distinguished name; only its direct children count"),
            AD_SERVER,
            *AD_CRED,
        ),
        result=m.AdNamedObjects,
        session_params=AD_SESSION,
    ),
)
