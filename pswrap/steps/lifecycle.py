"""The steps of a mailbox's removal, restore and unlink (`pswrap mailbox remove|restore|unlink`, issue #16).

One declaration each; the contract with its template and lab handler as in runbook.py. Every changing
step is check, then act: run twice, it changes nothing the second time.
"""

from __future__ import annotations

from pswrap.results import lifecycle as lc
from pswrap.results import models as m
from pswrap.steps import readback as rb
from pswrap.steps.model import Param, Profile, Step

MODERN: tuple[Profile, ...] = ("modern",)
AD_SERVER = Param("Server", help="the domain controller pinned for the whole run")
AD_CRED = (
    Param("CredentialUser", mandatory=False, help="AD account for the second hop (DOMAIN\\user)"),
    Param("CredentialPassword", "securestring", mandatory=False, secret=True, help="its password"),
)
AD_SESSION = ("Server", "CredentialUser", "CredentialPassword")
GUID = Param("Identity", "guid", help="objectGUID")

STEPS = (
    Step(
        "ad/remove-user",
        "Delete the resource account (Remove-ADUser); an account already gone is not an error",
        needs="ad",
        profiles=MODERN,
        params=(GUID, AD_SERVER, *AD_CRED),
        result=lc.AdRemoval,
        changes=True,
        read_back=rb.REMOVE_USER,
        session_params=AD_SESSION,
    ),
    Step(
        "ad/retire-user",
        "Keep the account out of sync scope: move it to the retired OU and disable it "
        "(Move-ADObject, Disable-ADAccount)",
        needs="ad",
        profiles=MODERN,
        params=(GUID, Param("TargetPath", help="the retired OU"), AD_SERVER, *AD_CRED),
        result=m.AdUser,
        changes=True,
        read_back=rb.RETIRE_USER,
        session_params=AD_SESSION,
    ),
    Step(
        "ad/reinstate-user",
        "Bring a retired account back: move it to its OU and give it back the enabled state it had "
        "(Move-ADObject, Enable-ADAccount / Disable-ADAccount)",
        needs="ad",
        profiles=MODERN,
        params=(
            GUID,
            Param("TargetPath", help="the OU the account was in"),
            Param("Enabled", "bool", help="the enabled state it had before the removal"),
            AD_SERVER,
            *AD_CRED,
        ),
        result=m.AdUser,
        changes=True,
        read_back=rb.REINSTATE_USER,
        session_params=AD_SESSION,
    ),
    Step(
        "ad/get-recycle-bin",
        "Read whether the forest has the AD Recycle Bin enabled (Get-ADOptionalFeature)",
        needs="ad",
        profiles=MODERN,
        params=(AD_SERVER, *AD_CRED),
        result=lc.RecycleBin,
        session_params=AD_SESSION,
    ),
    Step(
        "ad/find-deleted-user",
        "Find a deleted account by objectGUID among the deleted objects (Get-ADObject "
        "-IncludeDeletedObjects)",
        needs="ad",
        profiles=MODERN,
        params=(GUID, AD_SERVER, *AD_CRED),
        result=lc.DeletedAdUser,
        session_params=AD_SESSION,
    ),
    Step(
        "ad/restore-user",
        "Restore the original account from the AD Recycle Bin (Restore-ADObject), same objectGUID",
        needs="ad",
        profiles=MODERN,
        params=(GUID, AD_SERVER, *AD_CRED),
        result=m.AdUser,
        changes=True,
        read_back=rb.RESTORE_USER,
        session_params=AD_SESSION,
    ),
    Step(
        "graph/get-deleted-user",
        "Read a user in Entra ID's deleted items with its deletion date (Get-MgDirectoryDeletedItemAsUser)",
        needs="graph",
        profiles=MODERN,
        params=(Param("DirectoryObjectId", help="the deleted user's object id"),),
        result=lc.DeletedCloudUser,
    ),
    Step(
        "exo/find-deleted-mailbox",
        "Find a soft-deleted or inactive mailbox (Get-EXOMailbox -SoftDeletedMailbox)",
        needs="exo",
        profiles=MODERN,
        params=(Param("Identity", help="alias, SMTP address or Entra object id"),),
        result=lc.DeletedMailbox,
    ),
    Step(
        "graph/get-sync-behavior",
        "Read a user's source of authority (Get-MgBetaUserOnPremiseSyncBehavior isCloudManaged)",
        needs="graph",
        profiles=MODERN,
        params=(Param("UserId", help="object id"),),
        result=lc.SyncBehavior,
    ),
    Step(
        "graph/set-sync-behavior",
        "Switch a user's source of authority to the cloud (Update-MgBetaUserOnPremiseSyncBehavior "
        "-IsCloudManaged; preview)",
        needs="graph",
        profiles=MODERN,
        params=(Param("UserId", help="object id"),),
        result=lc.SyncBehavior,
        changes=True,
        read_back=rb.SET_SYNC_BEHAVIOR,
    ),
)
