"""Python values as PowerShell literals, for standalone scripts and the renderer's finalize hook.

Follows the PowerShell language specification (§2.3.5.2 string literals): in a verbatim (single-quoted)
string the only special characters are the single-quote characters, and the spec counts four of them
besides the ASCII apostrophe (U+2018, U+2019, U+201A, U+201B); a doubled one stands for one.
"""

from __future__ import annotations

import re

SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"
_QUOTE_RE = re.compile(f"[{SINGLE_QUOTES}]")


def quote_string(text: str) -> str:
    """A verbatim string literal that the tokenizer reads back as exactly `text`."""
    return "'" + _QUOTE_RE.sub(lambda m: m.group(0) * 2, text) + "'"
