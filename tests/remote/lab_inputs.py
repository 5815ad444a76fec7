"""Step parameters for objects the remote tests create in the lab (one place, shared by the test files)."""

from __future__ import annotations

from pswrap.lab.world import LAB_DEFAULTS as D


def mailbox_params(alias: str) -> dict[str, object]:
    """exo/new-mailbox's parameters for a mailbox named after `alias`."""
    return {
        "Name": alias.title(),
        "Alias": alias,
        "DisplayName": alias.title(),
        "PrimarySmtpAddress": f"{alias}@{D.upn_suffix}",
    }


def new_user_params(sam: str, **extra: object) -> dict[str, object]:
    """ad/new-user's parameters for an account in the lab's resource OU."""
    return {
        "Name": sam.title(),
        "Path": D.resource_ou,
        "SamAccountName": sam,
        "UserPrincipalName": f"{sam}@{D.upn_suffix}",
        "DisplayName": sam.title(),
        "EmailAddress": f"{sam}@{D.upn_suffix}",
        "ProxyAddresses": [f"SMTP:{sam}@{D.upn_suffix}"],
        "MailNickname": sam,
        **extra,
    }
