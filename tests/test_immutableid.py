"""ImmutableId conversions agree with pairs published by Microsoft and by admins."""

from __future__ import annotations

import base64
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pswrap.errors import BadInput
from pswrap.immutableid import (
    Anchor,
    connector_space_dn,
    detect,
    guid_for_immutable_id,
    immutable_id_for_guid,
    immutable_id_from_connector_space_dn,
    parse,
    parse_hex,
)

# (guid, hex of Guid.ToByteArray(), ImmutableId, source). Each row states only what its source
# published; the columns the source did not print are left None and checked by the round trip.
PUBLISHED = [
    (
        "35918bc9-196d-40ea-9779-889d79b753f0",
        "c98b91356d19ea409779889d79b753f0",
        None,
        # Microsoft .NET API reference, Guid.ToByteArray example: "C9 8B 91 35 6D 19 EA 40 97 79 88 9D
        # 79 B7 53 F0" https://learn.microsoft.com/dotnet/api/system.guid.tobytearray (docs/sources.md §3)
        "learn.microsoft.com Guid.ToByteArray",
    ),
    (
        "3ab39606-c642-489b-84b6-58c038d3ef39",
        None,
        "BpazOkLGm0iEtljAONPvOQ==",
        # "Convert a GUID into Base64 and vice versa" (AADC admin blog), PowerShell one-liner output:
        # https://scripting.up-in-the.cloud/aadc/convert-a-guid-into-a-base64-encoded-string.html
        "scripting.up-in-the.cloud",
    ),
    (
        "8c4ac332-975f-4717-ad7b-ba4a4e968fff",
        "32c34a8c5f971747ad7bba4a4e968fff",
        "MsNKjF+XF0ete7pKTpaP/w==",
        # "Revisiting GUIDs, Octets and Base64" (ILM/FIM admin blog): canonical form, the octet string
        # as ADSI Edit shows it, and the Base64 as LDIF files carry it:
        # http://blog.ilmbestpractices.com/2012/12/revisiting-guids-octets-and-base64.html
        "blog.ilmbestpractices.com",
    ),
    (
        "f7cc07d7-7c15-447d-876d-c01b0e5a9e38",
        None,
        "1wfM9xV8fUSHbcAbDlqeOA==",
        # "How To Convert ImmutableId To ObjectGuid And Back": Get-ADUser's objectGuid and Get-MsolUser's
        # ImmutableId of the same synced user: https://www.easy365manager.com/how-to-convert-immutableid-to-objectguid-and-back/
        "easy365manager.com",
    ),
    (
        "bcd2e574-8d58-4136-a9df-8a19b145db79",
        "74e5d2bc588d3641a9df8a19b145db79",
        None,
        # "The GUID Conversion Carousel": the GUID and its hex string as ADUC's attribute editor and an
        # LDAP filter show mS-DS-ConsistencyGuid: https://scripting.up-in-the.cloud/aadc/the-guid-conversion-carousel.html
        "scripting.up-in-the.cloud carousel",
    ),
]


@pytest.mark.parametrize(("guid", "hex_", "immutable_id", "source"), PUBLISHED, ids=[p[3] for p in PUBLISHED])
def test_published_pairs(guid: str, hex_: str | None, immutable_id: str | None, source: str) -> None:
    anchor = parse(guid)
    if hex_ is not None:
        assert anchor.hex == hex_
        assert parse(hex_, "hex").guid == uuid.UUID(guid)
    if immutable_id is not None:
        assert anchor.immutable_id == immutable_id
        assert parse(immutable_id).guid == uuid.UUID(guid)
        assert immutable_id_for_guid(guid) == immutable_id
        assert guid_for_immutable_id(immutable_id) == uuid.UUID(guid)


def test_dotnet_doc_bytes_as_ldap_tools_show_them() -> None:
    # The same .NET example, written as its doc prints it (spaced, upper case).
    anchor = parse("C9 8B 91 35 6D 19 EA 40 97 79 88 9D 79 B7 53 F0", "hex")
    assert str(anchor.guid) == "35918bc9-196d-40ea-9779-889d79b753f0"
    assert parse_hex(r"\c9\8b\91\35\6d\19\ea\40\97\79\88\9d\79\b7\53\f0") == anchor.raw
    assert (
        parse_hex("0xC9 0x8B 0x91 0x35 0x6D 0x19 0xEA 0x40 0x97 0x79 0x88 0x9D 0x79 0xB7 0x53 0xF0")
        == anchor.raw
    )


def test_big_endian_base64_is_not_the_immutableid() -> None:
    # The classic mistake (base64 of the GUID's big-endian bytes), quoted by graybrook.io as
    # "NOTImmutableId": https://graybrook.io/2022/08/calculating-immutableid-with-mysql-or-mariadb
    guid = "6701fa1a-fb0f-45a8-9356-d302b2affbb1"
    assert immutable_id_for_guid(guid) != "ZwH6GvsPRaiTVtMCsq/7sQ=="
    assert parse("ZwH6GvsPRaiTVtMCsq/7sQ==").guid != uuid.UUID(guid)


def test_ldap_filter_form_from_the_carousel() -> None:
    # The carousel's LDAP filter value: (mS-DS-ConsistencyGUID=\74\E5\D2\BC...)
    anchor = parse(r"\74\E5\D2\BC\58\8D\36\41\A9\DF\8A\19\B1\45\DB\79", "hex")
    assert str(anchor.guid) == "bcd2e574-8d58-4136-a9df-8a19b145db79"


def test_consistency_guid_byte_array_converts_like_objectguid() -> None:
    raw = list(bytes.fromhex("c98b91356d19ea409779889d79b753f0"))  # as AD returns the attribute
    assert str(Anchor.from_bytes(raw).guid) == "35918bc9-196d-40ea-9779-889d79b753f0"
    with pytest.raises(BadInput):
        Anchor.from_bytes([256])


def test_braces_are_allowed_around_a_guid() -> None:
    assert parse("{35918BC9-196D-40EA-9779-889D79B753F0}").hex == "c98b91356d19ea409779889d79b753f0"
    with pytest.raises(BadInput):
        parse("{35918bc9-196d-40ea-9779-889d79b753f0")


def test_an_immutableid_of_another_length_has_no_guid() -> None:
    anchor = parse("aGVsbG8gd29ybGQ=")  # "hello world", 11 bytes
    assert anchor.guid is None
    assert anchor.as_dict() == {"guid": None, "immutable_id": "aGVsbG8gd29ybGQ=", "hex": b"hello world".hex()}
    with pytest.raises(BadInput, match="11 bytes"):
        guid_for_immutable_id("aGVsbG8gd29ybGQ=")


def test_32_hex_digits_are_ambiguous_without_from() -> None:
    with pytest.raises(BadInput, match="ambiguous") as caught:
        detect("c98b91356d19ea409779889d79b753f0")
    assert caught.value.hint is not None and "--from hex" in caught.value.hint
    # Said explicitly, each reading is taken as said.
    assert (
        str(parse("c98b91356d19ea409779889d79b753f0", "hex").guid) == "35918bc9-196d-40ea-9779-889d79b753f0"
    )
    assert (
        str(parse("c98b91356d19ea409779889d79b753f0", "guid").guid) == "c98b9135-6d19-ea40-9779-889d79b753f0"
    )


@pytest.mark.parametrize(
    ("text", "form"),
    [
        ("", None),
        ("not a guid", None),
        ("yYuRNW0Z6kCXeYidebdT8A=", None),  # padding cut
        ("yYuRNW0Z6kCXeYidebdT8A==", "guid"),
        ("35918bc9-196d-40ea-9779-889d79b753f0", "immutableid"),
        ("c98b9", "hex"),
        ("zz", "hex"),
        ("yYuR NW0Z", "immutableid"),
        ("deadbeef", None),  # hex and base64 at once
    ],
)
def test_bad_text_is_bad_input(text: str, form: str | None) -> None:
    with pytest.raises(BadInput):
        parse(text, form)  # type: ignore[arg-type]


@given(st.uuids())
def test_guid_round_trips_through_every_form(guid: uuid.UUID) -> None:
    anchor = Anchor.from_guid(guid)
    assert anchor.raw == guid.bytes_le
    assert parse(str(guid)).guid == guid
    assert parse(anchor.immutable_id).guid == guid
    assert parse(anchor.hex, "hex").guid == guid
    assert base64.b64decode(anchor.immutable_id) == bytes.fromhex(anchor.hex)


@given(st.binary(min_size=1, max_size=40))
def test_any_bytes_round_trip_through_immutableid_and_hex(raw: bytes) -> None:
    anchor = Anchor(raw)
    assert parse(anchor.immutable_id, "immutableid").raw == raw
    assert parse(anchor.hex, "hex").raw == raw
    assert (anchor.guid is not None) == (len(raw) == 16)


# (ImmutableId, connector-space DN of the Entra ID connector, source).
CONNECTOR_SPACE_DNS = [
    (
        "qNRVh6UKwUWrfogO6u68FA==",
        "CN={714E52566836554B77555772666F674F3675363846413D3D}",
        # community: integrationtrench.com, "Constructing the DN for the Azure AD Connector"
        "integrationtrench.com",
    ),
    (
        "x4V0iaeB60KXxjftcwd7Hw==",
        "CN={783456306961654236304B58786A66746377643748773D3D}",
        # Learn, "Understanding errors during Microsoft Entra synchronization", "Error example": the Dn
        # line printed there; the ImmutableId is the ASCII its hex spells.
        "learn.microsoft.com tshoot-connect-sync-errors",
    ),
]


@pytest.mark.parametrize(("immutable_id", "dn", "source"), CONNECTOR_SPACE_DNS)
def test_connector_space_dn_matches_published_examples(immutable_id: str, dn: str, source: str) -> None:
    assert connector_space_dn(immutable_id) == dn, source
    assert immutable_id_from_connector_space_dn(dn) == immutable_id
    assert immutable_id_from_connector_space_dn(dn.lower().replace("cn=", "CN=")) == immutable_id


@pytest.mark.parametrize(
    "dn", ["CN=Room 7,OU=Resources,DC=lab,DC=example", "CN={}", "CN={ABC}", "CN={ZZ}", "", "CN={FF}"]
)
def test_other_dns_carry_no_immutable_id(dn: str) -> None:
    assert immutable_id_from_connector_space_dn(dn) is None


@given(st.uuids())
def test_connector_space_dn_round_trips(guid: uuid.UUID) -> None:
    value = immutable_id_for_guid(guid)
    assert immutable_id_from_connector_space_dn(connector_space_dn(value)) == value
