"""ImmutableId conversions: GUID, ImmutableId (base64) and hex, the three ways admins meet one anchor.

The hard match links a cloud user to an AD account when the cloud ImmutableId equals the account's
sourceAnchor, which is the base64 of the anchor attribute's raw bytes (objectGUID or
mS-DS-ConsistencyGuid). Those bytes are in .NET `Guid.ToByteArray()` order — mixed-endian: "The
order of the beginning four-byte group and the next two two-byte groups is reversed, whereas the
order of the last two-byte group and the closing six-byte group is the same"
(https://learn.microsoft.com/dotnet/api/system.guid.tobytearray; docs/sources.md §3) — which is Python's
`uuid.UUID.bytes_le`, and the order LDAP tools show an octet string in. Getting this order wrong is
the classic mistake (base64 of the GUID's big-endian bytes looks right and matches nothing).

An ImmutableId is base64 of any length: cloud-only users may carry one that is not a GUID at all, so
the GUID form exists only when the bytes are 16.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from dataclasses import dataclass
from typing import Literal

from pswrap.errors import BadInput

Form = Literal["guid", "immutableid", "hex", "bytes"]
FORMS: tuple[Form, ...] = ("guid", "immutableid", "hex", "bytes")

_HEX = "[0-9A-Fa-f]"
_GUID_RE = re.compile(rf"^(\{{)?{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}(\}})?$")
_GUID_N_RE = re.compile(rf"^(\{{)?{_HEX}{{32}}(\}})?$")
_ALL_HEX_RE = re.compile(rf"^{_HEX}+$")
_BASE64_RE = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")
# What LDAP and AD tools put between octets: spaces, colons, hyphens, commas, `\` (LDAP filter
# escapes), `0x` prefixes (ADSI Edit).
_HEX_SEPARATORS_RE = re.compile(r"0[xX]|[\s:\-,\\]")


@dataclass(frozen=True)
class Anchor:
    """One sourceAnchor value in its raw bytes (Guid.ToByteArray() order for a GUID)."""

    raw: bytes

    @classmethod
    def from_guid(cls, guid: uuid.UUID | str) -> Anchor:
        value = guid if isinstance(guid, uuid.UUID) else parse_guid(guid)
        return cls(value.bytes_le)

    @classmethod
    def from_bytes(cls, raw: bytes | bytearray | list[int]) -> Anchor:
        """From an attribute's byte array (objectGUID, mS-DS-ConsistencyGuid), as AD returns it."""
        try:
            return cls(bytes(raw))
        except (ValueError, TypeError) as exc:
            raise BadInput(
                f"not a byte array: {exc}", hint="give the attribute's bytes (integers 0-255)"
            ) from None

    @property
    def guid(self) -> uuid.UUID | None:
        """The GUID whose ToByteArray() these bytes are; None unless there are exactly 16."""
        return uuid.UUID(bytes_le=self.raw) if len(self.raw) == 16 else None

    @property
    def immutable_id(self) -> str:
        return base64.b64encode(self.raw).decode("ascii")

    @property
    def hex(self) -> str:
        return self.raw.hex()

    def as_dict(self) -> dict[str, str | None]:
        guid = self.guid
        return {
            "guid": str(guid) if guid is not None else None,
            "immutable_id": self.immutable_id,
            "hex": self.hex,
        }


def parse_guid(text: str) -> uuid.UUID:
    """A GUID written hyphenated (braces allowed) or as 32 digits (.NET's "N" format)."""
    value = text.strip()
    m = _GUID_RE.match(value) or _GUID_N_RE.match(value)
    if m is None or bool(m.group(1)) != bool(m.group(2)):
        raise BadInput(
            f"{text!r} is not a GUID",
            hint="write it as xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx (braces allowed)",
        )
    return uuid.UUID(value.strip("{}"))


def parse_immutable_id(text: str) -> bytes:
    """Standard base64 with its padding, as Entra ID and `[Convert]::ToBase64String` write it."""
    value = text.strip()
    if not value or not _BASE64_RE.match(value):
        raise BadInput(
            f"{text!r} is not an ImmutableId (standard base64: A-Z a-z 0-9 + / and = padding)",
            hint="copy the value exactly, including any trailing '='",
        )
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise BadInput(
            f"{text!r} is not valid base64 ({exc})",
            hint="an ImmutableId's length is a multiple of 4, padded with '='; check it was not cut",
        ) from None


def parse_hex(text: str) -> bytes:
    """Octets as LDAP tools show them: `c98b9135...`, `C9 8B 91 35 ...`, `\\c9\\8b...`, `0xC9 0x8B ...`."""
    digits = _HEX_SEPARATORS_RE.sub("", text.strip())
    if not digits or not _ALL_HEX_RE.match(digits) or len(digits) % 2:
        raise BadInput(
            f"{text!r} is not hex octets (an even number of hex digits, optionally separated)",
            hint="give the bytes as LDAP tools show them, e.g. C9 8B 91 35 6D 19 EA 40 ...",
        )
    return bytes.fromhex(digits)


_BYTES_RE = re.compile(r"^\{\s*\d{1,3}(\s*,\s*\d{1,3})*\s*(,?\s*\.\.\.)?\s*\}$")


def parse_bytes(text: str) -> bytes:
    """A byte array as PowerShell displays it (`Get-ADUser ... | Format-List` shows objectGUID or
    mS-DS-ConsistencyGuid as `{164, 8, 21, ...}`): decimal octets in braces, in the array's order."""
    value = text.strip()
    if not _BYTES_RE.match(value):
        raise BadInput(
            f"{text!r} is not a byte array as PowerShell shows one ({{164, 8, 21, ...}})",
            hint="give every byte as a decimal number 0-255, separated by commas, in braces",
        )
    if "..." in value:
        raise BadInput(
            f"{text!r} is cut short: PowerShell shows only the first few elements of an array",
            hint="run $FormatEnumerationLimit = -1 first (every element is then shown), or use "
            "[guid]$user.'mS-DS-ConsistencyGuid' and pass the GUID",
        )
    numbers = [int(n) for n in value.strip("{}").split(",")]
    if any(n > 255 for n in numbers):
        raise BadInput(f"{text!r} has a number above 255, which is not a byte")
    return bytes(numbers)


def detect(text: str) -> Form:
    """Which form `text` is in, when the user did not say.

    A hyphenated GUID (braces allowed) is a GUID; otherwise strict base64 is an ImmutableId. A string
    of hex digits only is refused as ambiguous: 32 of them may be a GUID without hyphens or 16 raw
    bytes, and any all-hex string whose length is a multiple of 4 is also valid base64.
    """
    value = text.strip()
    if _GUID_RE.match(value):
        return "guid"
    if value.startswith("{") and "," in value:
        return "bytes"
    if _ALL_HEX_RE.match(value):
        if len(value) == 32:
            raise BadInput(
                f"{text!r} is ambiguous: 32 hex digits may be raw bytes or a GUID written without hyphens",
                hint="pass --from hex for raw bytes (as LDAP tools show them), or write the GUID with "
                "hyphens (or pass --from guid)",
            )
        if len(value) % 4 == 0:
            raise BadInput(
                f"{text!r} is ambiguous: it is both hex digits and valid base64",
                hint="pass --from hex or --from immutableid",
            )
    if _BASE64_RE.match(value) and len(value) % 4 == 0:
        return "immutableid"
    raise BadInput(
        f"{text!r} is neither a GUID nor an ImmutableId",
        hint="give a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx), an ImmutableId (base64), or hex "
        "octets with --from hex",
    )


def parse(text: str, form: Form | None = None) -> Anchor:
    """`text` in the given form, or in the form `detect` finds."""
    chosen = form or detect(text)
    if chosen == "guid":
        return Anchor.from_guid(parse_guid(text))
    if chosen == "immutableid":
        return Anchor(parse_immutable_id(text))
    if chosen == "hex":
        return Anchor(parse_hex(text))
    if chosen == "bytes":
        return Anchor(parse_bytes(text))
    raise BadInput(f"unknown form {form!r}", hint="use one of: " + ", ".join(FORMS))


def immutable_id_for_guid(guid: uuid.UUID | str) -> str:
    """The ImmutableId a cloud user needs to hard-match an account anchored on `guid`."""
    return Anchor.from_guid(guid).immutable_id


def guid_for_immutable_id(immutable_id: str) -> uuid.UUID:
    """The anchor GUID of an ImmutableId; BadInput when it is not 16 bytes."""
    anchor = Anchor(parse_immutable_id(immutable_id))
    guid = anchor.guid
    if guid is None:
        raise BadInput(
            f"ImmutableId {immutable_id!r} is {len(anchor.raw)} bytes, not a GUID (16 bytes)",
            hint="a cloud user's ImmutableId need not be a GUID; it cannot match a GUID anchor",
        )
    return guid


_CONNECTOR_SPACE_DN_RE = re.compile(r"^CN=\{((?:[0-9A-Fa-f]{2})+)\}$")


def connector_space_dn(immutable_id: str) -> str:
    """The DN the Entra ID connector gives the object anchored on `immutable_id`.

    `CN={` + the hexadecimal of the ASCII characters of the base64 ImmutableId + `}`, upper case. The
    formula is community knowledge ("Constructing the DN for the Azure AD Connector",
    integrationtrench.com); it fits the only such DN Microsoft prints, in "Understanding errors during
    Microsoft Entra synchronization", section "Error example" (`CN={7834...3D3D}` is
    `x4V0iaeB60KXxjftcwd7Hw==`). An export error of that connector names the object by this DN, never
    by its AD DN, so this is how pswrap recognises its own account in the run results.
    """
    value = immutable_id.strip()
    return "CN={" + value.encode("ascii").hex().upper() + "}"


def immutable_id_from_connector_space_dn(dn: str) -> str | None:
    """The ImmutableId inside an Entra ID connector-space DN; None for any other DN (an AD DN, say)."""
    m = _CONNECTOR_SPACE_DN_RE.match(dn.strip())
    if m is None:
        return None
    try:
        return bytes.fromhex(m.group(1)).decode("ascii")
    except UnicodeDecodeError:
        return None


__all__ = [
    "FORMS",
    "Anchor",
    "Form",
    "connector_space_dn",
    "detect",
    "guid_for_immutable_id",
    "immutable_id_for_guid",
    "immutable_id_from_connector_space_dn",
    "parse",
    "parse_guid",
    "parse_hex",
    "parse_immutable_id",
]
