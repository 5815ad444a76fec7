"""The one parser of distinguished names, wherever pswrap splits one.

A DN is a comma-separated list of RDNs; a comma (or `+ " \\ < > ; =`) inside a value is escaped with a
backslash, or written as a backslash and two hex digits (RFC 4514 "String Representation of
Distinguished Names", section 2.4; Active Directory writes `CN=Lobby\\, East,OU=...`). Splitting on
every comma cuts such a name in two, so every split goes through here.
"""

from __future__ import annotations


def split_rdns(dn: str) -> list[str]:
    """The RDNs of `dn`, escapes kept as written (`CN=Lobby\\, East`, `OU=Resources`, ...)."""
    parts: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(dn):
        ch = dn[i]
        if ch == "\\" and i + 1 < len(dn):
            current.append(dn[i : i + 2])
            i += 2
            continue
        if ch == ",":
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
        i += 1
    if current or parts:
        parts.append("".join(current).strip())
    return parts


def parent_of(dn: str) -> str:
    """The container of `dn` ("" for a DN of one RDN)."""
    return ",".join(split_rdns(dn)[1:])


def unescape(value: str) -> str:
    """An RDN value as text: `\\,` -> `,`, `\\2C` -> `,` (hex pairs are UTF-8 bytes)."""
    out = bytearray()
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            pair = value[i + 1 : i + 3]
            if len(pair) == 2 and all(c in "0123456789abcdefABCDEF" for c in pair):
                out.append(int(pair, 16))
                i += 3
                continue
            out.extend(value[i + 1].encode())
            i += 2
            continue
        out.extend(ch.encode())
        i += 1
    return out.decode("utf-8", errors="replace")


def rdn_value(dn: str) -> str:
    """The value of the first RDN, unescaped (`CN=Lobby\\, East,OU=x` -> `Lobby, East`)."""
    rdns = split_rdns(dn)
    if not rdns:
        return ""
    return unescape(rdns[0].split("=", 1)[-1])


def is_within(dn: str, container: str) -> bool:
    """`dn` is `container` or below it (compared RDN by RDN, case-insensitively, as AD does)."""
    inner = [r.casefold() for r in split_rdns(dn)]
    outer = [r.casefold() for r in split_rdns(container)]
    return len(outer) <= len(inner) and inner[len(inner) - len(outer) :] == outer
