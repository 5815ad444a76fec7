"""Python values as PowerShell literals, for standalone scripts and the renderer's finalize hook.

This is the one place in pswrap where quoting matters: a standalone script (`pswrap render
--standalone`) binds the user's values as literals an admin reads and runs by hand, so a value must
come back out of PowerShell's tokenizer as exactly the value that went in, whatever its characters.

The authority is the PowerShell language specification, chapter 2 (Lexical structure), §2.3.5.2
String literals (https://learn.microsoft.com/powershell/scripting/lang-spec/chapter-02):

    verbatim-string-literal:
        single-quote-character verbatim-string-characters~opt~ single-quote-char
    single-quote-character:
        ' (U+0027)  Left single quotation mark (U+2018)  Right single quotation mark (U+2019)
        Single low-9 quotation mark (U+201A)  Single high-reversed-9 quotation mark (U+201B)
    verbatim-string-part:
        Any Unicode character except single-quote-character
        single-quote-character single-quote-character

So strings are written verbatim (single-quoted): nothing inside is expanded — not `$`, not a backtick,
not a double quote of any kind — and each of the five single-quote characters is doubled *with
itself*, which is how the spec's description puts it ("writing that character twice, in
succession"). Every other character, new lines included, is an ordinary verbatim-string-part.

What is refused (BadInput), and why:
- NUL (U+0000): the grammar admits it, but an admin's editor, terminal or clipboard does not carry it
  reliably, and a standalone script exists to be read and pasted. Nothing in the runbook needs it.
- Lone surrogates: not Unicode scalar values; the script cannot be written as UTF-8 or UTF-16.
- float: no step parameter is a float; a float's text form is a rounding decision (and the spec has
  no literal for infinities or NaN, §2.3.5.1.2), so none is guessed here.
- int outside 64 bits: §2.3.5.1.1 makes a larger decimal literal a double (precision lost).
- dict keys that are not str, or that differ only in case: PowerShell's hashtables compare keys
  case-insensitively and a hash literal with duplicate keys does not parse.
- `Secret`: a secret never becomes script text.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime

from pswrap.errors import BadInput
from pswrap.secrets import Secret

SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"
"""The spec's single-quote-character (§2.3.5.2): each one opens, closes, and must be doubled inside."""

DOUBLE_QUOTES = '"\u201c\u201d\u201e'
"""The spec's double-quote-character (§2.3.5.2); no special meaning inside a verbatim string."""

_QUOTE_RE = re.compile(f"[{SINGLE_QUOTES}]")
_UNWRITABLE_RE = re.compile("[\x00\ud800-\udfff]")

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def quote_string(text: str) -> str:
    """A verbatim string literal that the tokenizer reads back as exactly `text`."""
    bad = _UNWRITABLE_RE.search(text)
    if bad is not None:
        what = "NUL" if bad.group(0) == "\x00" else f"lone surrogate U+{ord(bad.group(0)):04X}"
        raise BadInput(
            f"cannot write a value containing {what} (at index {bad.start()}) into a PowerShell script",
            hint="remove that character from the value; a script an admin reads and pastes cannot carry it",
        )
    return "'" + _QUOTE_RE.sub(lambda m: m.group(0) * 2, text) + "'"


def to_literal(value: object) -> str:
    """`value` as a PowerShell expression that evaluates to the same value.

    Lists become `@(...)` so that a one-element list stays an array (an array subexpression always
    yields an array, spec §7.1.7); dicts become hash literals with quoted keys (§7.1.9).
    """
    if isinstance(value, Secret):
        raise BadInput(
            "refusing to write a secret into a PowerShell script",
            hint="secrets are asked for when the script runs (Read-Host -AsSecureString)",
        )
    if value is None:
        return "$null"
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "$true" if value else "$false"
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise BadInput(
                f"integer {value} does not fit in 64 bits; PowerShell would read it as a rounded double",
                hint="give a value between -9223372036854775808 and 9223372036854775807",
            )
        return str(value)
    if isinstance(value, float):
        raise BadInput(
            f"cannot write the float {value!r} as a PowerShell literal: no pswrap parameter takes one",
            hint="give an integer, or the value as text",
        )
    if isinstance(value, str):
        return quote_string(value)
    if isinstance(value, uuid.UUID):
        # A [guid] parameter converts from its string form.
        return quote_string(str(value))
    if isinstance(value, (datetime, date)):
        # A [datetime] parameter converts an ISO 8601 string culture-invariantly.
        return quote_string(value.isoformat())
    if isinstance(value, Mapping):
        return _hash_literal(value)
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        return _array_literal(value)
    raise BadInput(
        f"cannot write a value of type {type(value).__name__} as a PowerShell literal",
        hint="pass str, int, bool, None, a list or a dict",
    )


def _array_literal(items: Sequence[object]) -> str:
    if not items:
        return "@()"
    if len(items) == 1 and _is_list(items[0]):
        # @(@(1, 2)) flattens to @(1, 2) (§7.1.7); the unary comma keeps the inner array an element.
        return f"@(,{to_literal(items[0])})"
    return "@(" + ", ".join(to_literal(item) for item in items) + ")"


def _is_list(value: object) -> bool:
    return (
        isinstance(value, Sequence)
        and not isinstance(value, (str, bytes, bytearray))
        and not isinstance(value, Mapping)
    )


def _hash_literal(mapping: Mapping[object, object]) -> str:
    if not mapping:
        return "@{}"
    seen: dict[str, str] = {}
    parts = []
    for key, item in mapping.items():
        if not isinstance(key, str):
            raise BadInput(
                f"hashtable key {key!r} is not a string",
                hint="PowerShell hashtables built by pswrap use text keys",
            )
        folded = key.casefold()
        if folded in seen:
            raise BadInput(
                f"hashtable keys {seen[folded]!r} and {key!r} differ only in case; "
                "PowerShell compares hashtable keys case-insensitively",
                hint="keep one of them",
            )
        seen[folded] = key
        parts.append(f"{quote_string(key)} = {to_literal(item)}")
    return "@{ " + "; ".join(parts) + " }"


__all__ = ["DOUBLE_QUOTES", "SINGLE_QUOTES", "quote_string", "to_literal"]
