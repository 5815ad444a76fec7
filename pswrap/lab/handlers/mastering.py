"""Who masters what after the link, as Microsoft's services behave (issue #11): a synced attribute written
in the cloud is refused, the Exchange attributes' source of authority can move to Exchange Online, the
Exchange schema may or may not be in the forest, and an account's sign-in follows AD once linked.

World paths this module adds (all optional, so an older world still loads):
- `ad.exchange_schema`: `{"present": bool, "version": int|null}`; absent means no Exchange schema;
- an AD user's `exchange`: the msExch* values on the account (`recipient_type_details`,
  `remote_recipient_type`, `recipient_display_type`), and `enabled`;
- a mailbox's `is_exchange_cloud_managed` and `legacy_exchange_dn`;
- a cloud user's `account_enabled`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pswrap.lab.dispatch import Invocation, PSError
from pswrap.lab.handlers import records
from pswrap.lab.handlers.ad import account_by_guid, check_credential, check_server, user_document
from pswrap.lab.handlers.graph import graph_user_or_404
from pswrap.lab.handlers.pipeline import step
from pswrap.lab.sync_engine import dict_of

# --- the refusals --------------------------------------------------------------------------------------

SYNCED_FROM_ON_PREMISES = (
    "The action '{cmdlet}','{parameter}', can't be performed on the object '{identity}' because the object "
    "is being synchronized from your on-premises organization. This action should be performed on the "
    "object in your on-premises organization."
)
"""community: https://www.michev.info/blog/post/1228/deprovisioning-on-prem-authored-online-archive-for-synced-user
(verbatim for Disable-Mailbox -Archive; the lab puts the cmdlet and parameter written in their places).
Exchange Online's own check on an Exchange attribute mastered on-premises."""

DUAL_WRITE = (
    "Error executing request. An Azure Active Directory call was made to keep object in sync between Azure "
    "Active Directory and Exchange Online. However, it failed. Detailed error message: Unable to update the "
    "specified properties for on-premises mastered Directory Sync objects or objects currently undergoing "
    "migration. DualWrite (Graph) RequestId: {request} The issue may be transient and please retry a couple "
    "of minutes later. If issue persists, please see exception members for more information."
)
"""community (verbatim): https://learn.microsoft.com/en-us/answers/questions/1616475/azure-active-directory,
https://timmcmic.blog/2023/07/10/office-365-graph-dirsync-and-attribute-modifications/ . Exchange Online
writing through to Entra ID an identity attribute that AD masters (e.g. DisplayName)."""

NO_SUCH_ATTRIBUTE = "The specified directory service attribute or value does not exist"
"""community (widely quoted Set-ADUser -Replace transcripts; Win32 ERROR_DS_NO_ATTRIBUTE_OR_VALUE): what AD
answers for an attribute its schema does not have (msExch* without the Exchange schema)."""

# Set-Mailbox parameters whose value lives in Entra ID (EXO writes it through: the DualWrite form) and those
# that are Exchange attributes (EXO's own on-premises check). ResourceCapacity is neither: msExchResource-
# Capacity is "not consumed by Exchange Online" ("Attributes synchronized to Microsoft Entra ID").
IDENTITY_PARAMETERS = ("DisplayName",)
EXCHANGE_PARAMETERS = ("EmailAddresses", "HiddenFromAddressListsEnabled")


def _synced_refusal(cmdlet: str, parameter: str, identity: str) -> PSError:
    # The Ex-code and the exception type are the lab's own (no transcript gives them for this text).
    return records.exo_v3_error(
        cmdlet,
        "Ex5A1C2E",
        "Microsoft.Exchange.Configuration.Tasks.TaskException",
        SYNCED_FROM_ON_PREMISES.format(cmdlet=cmdlet, parameter=parameter, identity=identity),
    )


def _dual_write_refusal(cmdlet: str) -> PSError:
    import uuid

    return records.exo_v3_error(
        cmdlet,
        "Ex9C7B3D",
        "Microsoft.Exchange.Data.Directory.ADOperationException",
        DUAL_WRITE.format(request=uuid.uuid4()),
    )


def mailbox_by(world: dict[str, Any], identity: str) -> dict[str, Any] | None:
    wanted = identity.strip().lower()
    for mailbox in world["exo"]["mailboxes"]:
        names = {
            str(mailbox.get(k) or "").lower()
            for k in ("alias", "name", "primary_smtp_address", "external_directory_object_id")
        }
        if wanted in names:
            return dict_of(mailbox)  # the world's own object: handlers change it in place
    return None


def _mailbox_or_not_found(world: dict[str, Any], identity: str, cmdlet: str) -> dict[str, Any]:
    mailbox = mailbox_by(world, identity)
    if mailbox is None:
        # §7b item 9 (community, verbatim shape): Ex6F9304|...ManagementObjectNotFoundException|...
        raise records.exo_v3_error(
            cmdlet,
            "Ex6F9304",
            "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
            f"The operation couldn't be performed because object '{identity}' couldn't be found on "
            "'LAB0PR01A001DC01.LABPR01A001.prod.outlook.com'.",
        )
    return mailbox


def cloud_managed(mailbox: dict[str, Any]) -> bool:
    return bool(mailbox.get("is_exchange_cloud_managed"))


def _authority(mailbox: dict[str, Any]) -> dict[str, Any]:
    return {
        "identity": mailbox["alias"],
        "is_dir_synced": bool(mailbox.get("is_dir_synced")),
        "is_exchange_cloud_managed": cloud_managed(mailbox),
    }


# --- Exchange Online ----------------------------------------------------------------------------------


@step("exo/get-exchange-authority", need="exo")
def get_exchange_authority(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Get-Mailbox -Identity: IsDirSynced and IsExchangeCloudManaged (the property Set-Mailbox sets)."""
    mailbox = _mailbox_or_not_found(world, str(inv.params.get("Identity") or ""), "Get-Mailbox")
    return _authority(mailbox)


@step("exo/set-exchange-cloud-managed", need="exo")
def set_exchange_cloud_managed(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Set-Mailbox -IsExchangeCloudManaged $true (Set-Mailbox.md; its description is still a placeholder).
    From then on the sync no longer flows the Exchange attributes from AD for this mailbox; identity
    attributes still flow (community: c7solutions.com, "Understanding IsCloudManaged and
    IsExchangeCloudManaged"). On a mailbox that is not synced the lab accepts it and the flag has no effect
    until a link (Microsoft documents nothing for that case)."""
    mailbox = _mailbox_or_not_found(world, str(inv.params.get("Identity") or ""), "Get-Mailbox")
    mailbox["is_exchange_cloud_managed"] = True
    return _authority(mailbox)


@step("exo/set-mailbox", need="exo")
def set_mailbox(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Set-Mailbox -Identity [-DisplayName] [-Name] [-EmailAddresses] [-HiddenFromAddressListsEnabled]
    [-ResourceCapacity] on a synced mailbox: what AD masters is refused, with the text Exchange Online gives
    (the DualWrite form for identity attributes, the on-premises form for Exchange attributes unless they are
    cloud-managed); the capacity is Exchange Online's in every state."""
    from pswrap.lab.handlers.directory import mailbox_document

    identity = str(inv.params.get("Identity") or "")
    mailbox = _mailbox_or_not_found(world, identity, "Set-Mailbox")
    given = [name for name in inv.params if name != "Identity" and inv.params.get(name) is not None]
    if mailbox.get("is_dir_synced"):
        for name in given:
            if name in IDENTITY_PARAMETERS:
                raise _dual_write_refusal("Set-Mailbox")
            if name in EXCHANGE_PARAMETERS and not cloud_managed(mailbox):
                raise _synced_refusal("Set-Mailbox", name, identity)
            if name == "Name":
                # cn is synced ("Attributes synchronized to Microsoft Entra ID", Exchange Online) and is not
                # an Exchange attribute cloud-managed moves. Microsoft documents no text for this case: the
                # lab refuses it conservatively with the on-premises form Exchange Online gives.
                raise _synced_refusal("Set-Mailbox", name, identity)
    p = inv.params
    if p.get("DisplayName") is not None:
        mailbox["display_name"] = str(p["DisplayName"])
    if p.get("Name") is not None:
        mailbox["name"] = str(p["Name"])
    if p.get("EmailAddresses") is not None:
        addresses = [str(a) for a in p["EmailAddresses"]]
        mailbox["email_addresses"] = addresses
        primary = next((a[5:] for a in addresses if a.startswith("SMTP:")), None)
        if primary:
            mailbox["primary_smtp_address"] = primary
    if p.get("HiddenFromAddressListsEnabled") is not None:
        mailbox["hidden_from_address_lists"] = bool(p["HiddenFromAddressListsEnabled"])
    if p.get("ResourceCapacity") is not None:
        mailbox["resource_capacity"] = int(p["ResourceCapacity"])
    return mailbox_document(mailbox)


# --- Graph -------------------------------------------------------------------------------------------


@step("graph/set-account-enabled", need="graph")
def set_account_enabled(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Update-MgUser -AccountEnabled: refused on a synced user (accountEnabled is synced from AD, "Attributes
    synchronized to Microsoft Entra ID"; §7b item 10's Request_BadRequest text)."""
    identity = str(inv.params.get("UserId") or "")
    user = graph_user_or_404(world, identity, at)
    wanted = bool(inv.params.get("AccountEnabled"))
    before = bool(user.get("account_enabled"))
    if before != wanted:
        if user.get("on_premises_sync_enabled"):
            raise records.graph_rest_error(
                "Update-MgUser",
                "UpdateExpanded",
                records.SYNCED_READ_ONLY,
                status=400,
                reason="BadRequest",
                code="Request_BadRequest",
                at=at,
                target=identity,
            )
        user["account_enabled"] = wanted
    return {
        "id": user["id"],
        "user_principal_name": user["user_principal_name"],
        "account_enabled_before": before,
        "account_enabled": bool(user.get("account_enabled")),
    }


# --- Active Directory --------------------------------------------------------------------------------


def exchange_schema(world: dict[str, Any]) -> dict[str, Any]:
    schema = world["ad"].get("exchange_schema") or {}
    return {"present": bool(schema.get("present")), "version": schema.get("version")}


@step("ad/get-exchange-schema", need="ad")
def get_exchange_schema(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Get-ADRootDSE; Get-ADObject in the schema naming context for msExchRecipientTypeDetails and
    ms-Exch-Schema-Version-Pt (Exchange's /PrepareSchema adds both)."""
    check_server(inv, world, "Get-ADRootDSE")
    check_credential(inv, world, "Get-ADRootDSE")
    return exchange_schema(world)


@step("ad/add-addresses", need="ad")
def add_addresses(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Set-ADUser -Identity <objectGUID> -Add @{proxyAddresses=...}: only the missing ones (the template
    checks first; AD would refuse a value already present)."""
    user = account_by_guid(inv, world, "Set-ADUser", "ADUser")
    have = {str(a).lower() for a in user.get("proxy_addresses") or []}
    for address in inv.params.get("Addresses") or []:
        if str(address).lower() not in have:
            user.setdefault("proxy_addresses", []).append(str(address))
            have.add(str(address).lower())
    return user_document(user)


@step("ad/stamp-exchange-attributes", need="ad")
def stamp_exchange_attributes(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Set-ADUser -Replace @{msExchRecipientTypeDetails; msExchRemoteRecipientType;
    msExchRecipientDisplayType}: refused when the forest has no Exchange schema (NO_SUCH_ATTRIBUTE)."""
    cmdlet = "Set-ADUser"
    user = account_by_guid(inv, world, cmdlet, "ADUser")
    if not exchange_schema(world)["present"]:
        raise PSError(
            f"{NO_SUCH_ATTRIBUTE}\r\nParameter name: msExchRecipientTypeDetails",
            fqid="ActiveDirectoryCmdlet:System.ArgumentException,"
            f"Microsoft.ActiveDirectory.Management.Commands.{cmdlet.replace('-', '')}",
            category="InvalidArgument",
            target=user["object_guid"],
            exception_type="System.ArgumentException",
            activity=cmdlet,
        )
    p = inv.params
    user["exchange"] = {
        "recipient_type_details": int(str(p.get("RecipientTypeDetails"))),
        "remote_recipient_type": int(str(p.get("RemoteRecipientType"))),
        "recipient_display_type": int(str(p.get("RecipientDisplayType"))),
    }
    return {"object_guid": user["object_guid"], **user["exchange"]}
