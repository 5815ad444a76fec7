"""The ActiveDirectory module's cmdlets against the lab's domain (Get-ADDomain, Get-ADUser, New-ADUser,
Move-ADObject), with the pinned domain controller and the second-hop credential (docs/design.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pswrap.dn import split_rdns
from pswrap.lab.dispatch import Invocation
from pswrap.lab.handlers import records
from pswrap.lab.handlers.pipeline import step
from pswrap.lab.sync_engine import dict_of
from pswrap.lab.world import immutable_id, new_guid

SAM_MAX = 20
"""sAMAccountName holds at most 20 characters (the pre-Windows 2000 logon name)."""


def check_credential(inv: Invocation, world: dict[str, Any], cmdlet: str) -> None:
    """An AD credential, when the step gives one, must be the domain's (the world's `ad.credential`)."""
    user = inv.params.get("CredentialUser")
    if not user:
        return
    expected = world["ad"].get("credential")
    if not expected:
        return
    same_user = str(user).lower() == str(expected.get("user", "")).lower()
    if not same_user or str(inv.params.get("CredentialPassword") or "") != str(expected.get("password", "")):
        raise records.ad_bad_credential(cmdlet)


def check_server(inv: Invocation, world: dict[str, Any], cmdlet: str, param: str = "Server") -> str:
    """-Server must name one of the domain's controllers (FQDN or its host name)."""
    server = str(inv.params.get(param) or "").strip().lower()
    for dc in world["ad"]["domain"]["domain_controllers"]:
        if server in (dc.lower(), dc.lower().split(".", 1)[0]):
            return str(dc)
    raise records.ad_server_down(cmdlet)


def user_document(user: dict[str, Any]) -> dict[str, Any]:
    """The AdUser JSON keys; mS-DS-ConsistencyGuid is a byte array, emitted as base64 (docs/design.md)."""
    consistency = user.get("consistency_guid")
    return {
        "object_guid": user["object_guid"],
        "sam_account_name": user["sam_account_name"],
        "user_principal_name": user.get("user_principal_name"),
        "distinguished_name": user["distinguished_name"],
        "display_name": user.get("display_name"),
        "mail": user.get("mail"),
        "proxy_addresses": list(user.get("proxy_addresses") or []),
        "mail_nickname": user.get("mail_nickname"),
        "consistency_guid": immutable_id(consistency) if consistency else None,
        "enabled": bool(user.get("enabled")),
    }


def container_exists(world: dict[str, Any], dn: str) -> bool:
    """A container accounts can be created in or moved to: a configured OU, the domain root or CN=Users."""
    domain_dn = world["ad"]["domain"]["distinguished_name"]
    known = {ou["dn"].lower() for ou in world["ad"]["ous"]} | {
        domain_dn.lower(),
        f"cn=users,{domain_dn}".lower(),
    }
    return dn.strip().lower() in known


def find_by_guid(world: dict[str, Any], guid: Any) -> dict[str, Any] | None:
    wanted = str(guid).strip("{}").lower()
    for user in world["ad"]["users"]:
        if user["object_guid"].lower() == wanted:
            return dict_of(user)
    return None


def escape_rdn(value: str) -> str:
    """RFC 4514 escaping of an RDN value (what AD does with a Name holding a comma)."""
    out = "".join("\\" + ch if ch in ',+"\\<>;=' else ch for ch in value)
    if out.startswith((" ", "#")):
        out = "\\" + out
    return out


@step("ad/get-domain", need="ad")
def get_domain(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Get-ADDomain without -Server (it finds a DC itself): the PDC emulator to pin, UPN suffixes."""
    check_credential(inv, world, "Get-ADDomain")
    domain = world["ad"]["domain"]
    return {
        "dns_root": domain["dns_root"],
        "netbios_name": domain["netbios_name"],
        "distinguished_name": domain["distinguished_name"],
        "pdc_emulator": domain["pdc_emulator"],
        "upn_suffixes": list(domain.get("upn_suffixes", [])),
    }


@step("ad/find-user", need="ad")
def find_user(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Get-ADUser -Filter / -Identity; the template catches ADIdentityNotFoundException (§7b item 6), so
    not found is `found: false`."""
    check_server(inv, world, "Get-ADUser")
    check_credential(inv, world, "Get-ADUser")
    by = inv.choices.get("by", "sam")
    value = str(inv.params.get("Value") or "")
    for user in world["ad"]["users"]:
        if by == "guid":
            hit = user["object_guid"].lower() == value.strip("{}").lower()
        elif by == "upn":
            hit = str(user.get("user_principal_name") or "").lower() == value.lower()
        else:
            hit = user["sam_account_name"].lower() == value.lower()
        if hit:
            return {"found": True, "user": user_document(user)}
    return {"found": False, "user": None}


@step("ad/new-user", need="ad")
def new_user(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """New-ADUser -Name -Path -SamAccountName ... -OtherAttributes @{proxyAddresses; mailNickname;
    mS-DS-ConsistencyGuid}."""
    cmdlet = "New-ADUser"
    check_server(inv, world, cmdlet)
    check_credential(inv, world, cmdlet)
    p = inv.params
    name = str(p.get("Name") or "")
    path = str(p.get("Path") or "")
    sam = str(p.get("SamAccountName") or "")
    dn = f"CN={escape_rdn(name)},{path}"
    if len(sam) > SAM_MAX or not sam:
        raise records.ad_bad_account_name(cmdlet, dn)
    if any(u["sam_account_name"].lower() == sam.lower() for u in world["ad"]["users"]):
        # §7b item 5: raised when the sAMAccountName is taken.
        raise records.ad_account_exists(cmdlet, dn)
    if names_in(world, path, name):
        raise records.ad_name_in_use(cmdlet, dn)
    if not container_exists(world, path):
        raise records.ad_container_not_found(cmdlet, path)
    consistency = p.get("ConsistencyGuid")
    enabled = bool(p.get("Enabled"))
    if enabled and not p.get("AccountPassword"):
        # AD enables an account only with a password that meets the domain's policy (New-ADUser.md,
        # -Enabled: "an account without a password ... is disabled"); the record is the lab's closest.
        raise records.ad_password_required(cmdlet, dn)
    user = add_account(
        world,
        at,
        sam=sam,
        name=name,
        dn=dn,
        upn=p.get("UserPrincipalName"),
        display_name=p.get("DisplayName"),
        mail=p.get("EmailAddress"),
        proxy_addresses=[str(a) for a in (p.get("ProxyAddresses") or [])],
        mail_nickname=p.get("MailNickname"),
        consistency_guid=str(consistency).strip("{}").lower() if consistency else None,
        enabled=enabled,
    )
    return user_document(user)


def add_account(
    world: dict[str, Any],
    at: datetime,
    *,
    sam: str,
    name: str,
    dn: str,
    upn: Any,
    display_name: Any,
    mail: Any,
    proxy_addresses: list[str],
    mail_nickname: Any,
    consistency_guid: str | None = None,
    remote_mailbox: dict[str, Any] | None = None,
    enabled: bool = False,
) -> dict[str, Any]:
    """A new AD user account with a fresh objectGUID (New-ADUser, or New-RemoteMailbox through the tools)."""
    user: dict[str, Any] = {
        "sam_account_name": sam,
        "name": name,
        "object_guid": new_guid(),
        "user_principal_name": upn or None,
        "distinguished_name": dn,
        "display_name": display_name or None,
        "mail": mail or None,
        "proxy_addresses": proxy_addresses,
        "mail_nickname": mail_nickname or None,
        "consistency_guid": consistency_guid,
        "remote_mailbox": remote_mailbox,
        "enabled": enabled,
        "when_created_utc": at.isoformat(),
    }
    world["ad"]["users"].append(user)
    return user


def account_by_guid(inv: Invocation, world: dict[str, Any], cmdlet: str, target_type: str) -> dict[str, Any]:
    """The account -Identity <objectGUID> names, on the pinned DC with the given credential, or the AD
    module's not-found error (§7b item 6)."""
    check_server(inv, world, cmdlet)
    check_credential(inv, world, cmdlet)
    identity = inv.params.get("Identity")
    user = find_by_guid(world, identity)
    if user is None:
        domain_dn = world["ad"]["domain"]["distinguished_name"]
        raise records.ad_identity_not_found(cmdlet, str(identity), domain_dn, target_type)
    return user


@step("ad/move-user", need="ad")
def move_user(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Move-ADObject -Identity <objectGUID> -TargetPath <OU>."""
    cmdlet = "Move-ADObject"
    user = account_by_guid(inv, world, cmdlet, "ADObject")
    target = str(inv.params.get("TargetPath") or "")
    if not container_exists(world, target):
        raise records.ad_container_not_found(cmdlet, target)
    rdn = split_rdns(user["distinguished_name"])[0]
    user["distinguished_name"] = f"{rdn},{target}"
    return user_document(user)


@step("ad/get-anchor", need="ad")
def get_anchor(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Get-ADUser -Identity <objectGUID> -Properties mS-DS-ConsistencyGuid (docs/sources.md §3)."""
    document = user_document(account_by_guid(inv, world, "Get-ADUser", "ADUser"))
    return {"object_guid": document["object_guid"], "consistency_guid": document["consistency_guid"]}


def ad_equal(a: str, b: str) -> bool:
    """Names as AD compares them: "The German umlaut characters are interpreted to be the same as their
    base characters" — Müller equals Muller, Meißner equals Meissner (Microsoft KB 938447, "You cannot
    add a user name or an object name that only differs by a character with a diacritic mark"); and
    without regard to case."""
    import unicodedata

    def fold(text: str) -> str:
        decomposed = unicodedata.normalize("NFKD", text)
        return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()

    return fold(a) == fold(b)


def names_in(world: dict[str, Any], container: str, name: str) -> list[dict[str, Any]]:
    """The lab's objects directly in `container` whose name AD treats as equal to `name`."""
    from pswrap.dn import parent_of, rdn_value

    return [
        u
        for u in world["ad"]["users"]
        if parent_of(u["distinguished_name"]).casefold() == container.casefold()
        and ad_equal(rdn_value(u["distinguished_name"]), name)
    ]


@step("ad/find-name", need="ad")
def find_name(inv: Invocation, world: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Get-ADObject -Filter 'Name -eq $Value' -SearchBase $Path -SearchScope OneLevel."""
    check_server(inv, world, "Get-ADObject")
    check_credential(inv, world, "Get-ADObject")
    path = str(inv.params.get("Path") or "")
    if not container_exists(world, path):
        raise records.ad_container_not_found("Get-ADObject", path)
    found = names_in(world, path, str(inv.params.get("Value") or ""))
    return {
        "objects": [
            {
                "name": u.get("name") or u["sam_account_name"],
                "distinguished_name": u["distinguished_name"],
                "object_class": "user",
                "object_guid": u["object_guid"],
            }
            for u in found
        ]
    }
