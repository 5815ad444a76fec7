"""What the step declarations of several systems share: the profile sets, the kind of resource mailbox,
and the domain controller and AD credential every AD step but ad/get-domain carries."""

from __future__ import annotations

from pswrap.steps.model import Choice, Param, Profile

MODERN: tuple[Profile, ...] = ("modern",)
MODERN_HYBRID: tuple[Profile, ...] = ("modern", "hybrid-tools")
HYBRID: tuple[Profile, ...] = ("hybrid-tools",)
LEGACY: tuple[Profile, ...] = ("legacy",)

MAILBOX_TYPE = Choice(
    "type", ("room", "equipment", "shared"), default="room", help="kind of resource mailbox"
)

# Every AD step but ad/get-domain pins one domain controller and may carry an AD credential (a second hop).
AD_SERVER = Param("Server", help="the domain controller pinned for the whole run")
AD_CRED = (
    Param("CredentialUser", mandatory=False, help="AD account for the second hop (DOMAIN\\user)"),
    Param("CredentialPassword", "securestring", mandatory=False, secret=True, help="its password"),
)
AD_SESSION = ("Server", "CredentialUser", "CredentialPassword")
