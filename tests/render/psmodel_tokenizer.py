"""A model of PowerShell's tokenizer, written from the PowerShell language specification.

No PowerShell engine exists on this machine, so the literal encoder is checked against this model,
written from the specification's lexical grammar (chapter 2, "Lexical structure", of the Windows
PowerShell Language Specification 3.0, https://learn.microsoft.com/powershell/scripting/lang-spec/chapter-02):

- §2.2.2 line terminators: CR, LF, CR LF (nothing else: U+0085, U+2028 and U+2029 are not
  new-line-characters; U+2028/U+2029 are white space by §2.2.4 as classes Zl/Zp).
- §2.2.3 comments (`#...` to the end of the line, `<# ... #>`).
- §2.2.4 white space: Unicode classes Zs, Zl, Zp; tab, vertical tab, form feed; backtick + new line.
- §2.3.5.2 string literals, all four kinds, with their delimiters (five single-quote-characters,
  four double-quote-characters), doubling, and the here-string line rules.
- §2.3.7 escaped characters inside expandable strings (the table lists `v as U+0009, an evident typo
  for vertical tab U+000B, which is what this model uses).
- §2.3.5.1.1 decimal integer literals, `$true`/`$false`/`$null` (§2.3.5.3-4), and just enough of
  array (`@( )`, §7.1.7, unary and binary comma §7.2.1/§7.3) and hash literals (`@{ }`, §7.1.9) to
  evaluate what `to_literal` writes.

Where the specification's grammar admits a form without saying what value it denotes — a doubled
pair of two *different* single-quote characters — the model takes the second character of the pair.
The encoder never writes such a pair (it doubles each quote with itself), so nothing depends on it.

The model deliberately knows nothing about pswrap's encoder: it is the independent reader.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

SINGLE_QUOTES = frozenset("'\u2018\u2019\u201a\u201b")  # §2.3.5.2 single-quote-character
DOUBLE_QUOTES = frozenset('"\u201c\u201d\u201e')  # §2.3.5.2 double-quote-character
BACKTICK = "`"
DASHES = frozenset("-\u2013\u2014\u2015")  # §2.2.3 dash

# §2.3.7: the escaped-characters that mean something else; any other `x is x.
ESCAPES = {
    "a": "\x07",
    "b": "\x08",
    "f": "\x0c",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\x0b",
    "'": "'",
    '"': '"',
    "`": "`",
    "0": "\x00",
}


class ModelError(ValueError):
    """The input is not valid PowerShell as far as the model's subset goes."""


@dataclass(frozen=True)
class Token:
    kind: str
    """verbatim-string, expandable-string, verbatim-here-string, expandable-here-string,
    integer, variable, punct."""
    text: str
    """The token's source text."""
    value: Any
    """A string token's value (None when it would substitute a variable or sub-expression);
    an integer's value; a variable's name; the punctuator itself."""
    start: int
    end: int


def is_newline_at(src: str, i: int) -> int:
    """Length of the new-line-character at i (§2.2.2), 0 when there is none."""
    if src.startswith("\r\n", i):
        return 2
    if i < len(src) and src[i] in "\r\n":
        return 1
    return 0


def is_whitespace_char(c: str) -> bool:
    """§2.2.4 whitespace (without the backtick-newline form)."""
    return c in "\t\x0b\x0c" or unicodedata.category(c) in ("Zs", "Zl", "Zp")


def is_variable_char(c: str) -> bool:
    """§2.3.2 variable-character."""
    return unicodedata.category(c) in ("Lu", "Ll", "Lt", "Lm", "Lo", "Nd") or c in "_?"


# --- string literals (§2.3.5.2) ----------------------------------------------------------------


def scan_verbatim(src: str, i: int) -> Token:
    """A verbatim-string-literal starting at src[i] (a single-quote-character)."""
    assert src[i] in SINGLE_QUOTES
    j = i + 1
    out: list[str] = []
    while True:
        if j >= len(src):
            raise ModelError(f"verbatim string opened at {i} is not terminated")
        c = src[j]
        if c in SINGLE_QUOTES:
            if j + 1 < len(src) and src[j + 1] in SINGLE_QUOTES:
                out.append(src[j + 1])  # single-quote-character single-quote-character
                j += 2
                continue
            return Token("verbatim-string", src[i : j + 1], "".join(out), i, j + 1)
        out.append(c)  # any Unicode character except single-quote-character
        j += 1


def _scan_variable_in_string(src: str, j: int) -> int | None:
    """If a variable or sub-expression starts at src[j] == '$', the index after it; else None."""
    nxt = src[j + 1] if j + 1 < len(src) else ""
    if nxt == "(":
        return _skip_subexpression(src, j + 1)
    if nxt == "{":  # braced-variable: ${ ... } with backtick escapes
        k = j + 2
        while k < len(src) and src[k] != "}":
            k += 2 if src[k] == BACKTICK else 1
        if k >= len(src):
            raise ModelError("unterminated braced variable in expandable string")
        return k + 1
    if nxt and (is_variable_char(nxt) or nxt in "$^"):
        k = j + 1
        if nxt in "$^?":
            return k + 1
        while k < len(src) and (is_variable_char(src[k]) or src[k] == ":"):
            k += 1
        return k
    return None


def _skip_subexpression(src: str, open_paren: int) -> int:
    """Index after the `)` closing the `(` at open_paren, skipping nested strings and parens."""
    depth = 0
    k = open_paren
    while k < len(src):
        c = src[k]
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return k + 1
        elif c in SINGLE_QUOTES:
            k = scan_verbatim(src, k).end
            continue
        elif c in DOUBLE_QUOTES:
            k = scan_expandable(src, k).end
            continue
        elif c == BACKTICK:
            k += 2
            continue
        k += 1
    raise ModelError("unterminated sub-expression in expandable string")


def scan_expandable(src: str, i: int) -> Token:
    """An expandable-string-literal starting at src[i] (a double-quote-character)."""
    assert src[i] in DOUBLE_QUOTES
    j = i + 1
    out: list[str] = []
    expands = False
    while True:
        if j >= len(src):
            raise ModelError(f"expandable string opened at {i} is not terminated")
        c = src[j]
        if c in DOUBLE_QUOTES:
            if j + 1 < len(src) and src[j + 1] in DOUBLE_QUOTES:
                out.append(src[j + 1])
                j += 2
                continue
            value = None if expands else "".join(out)
            return Token("expandable-string", src[i : j + 1], value, i, j + 1)
        if c == BACKTICK:
            if j + 1 >= len(src):
                raise ModelError("backtick at end of input")
            e = src[j + 1]
            out.append(ESCAPES.get(e, e))
            j += 2
            continue
        if c == "$":
            end = _scan_variable_in_string(src, j)
            if end is not None:
                expands = True
                j = end
                continue
        out.append(c)
        j += 1


def _here_string_open(src: str, i: int, quotes: frozenset[str]) -> int | None:
    """Index of the body's start if a here-string opener `@q ws* newline` is at i."""
    if not (src.startswith("@", i) and i + 1 < len(src) and src[i + 1] in quotes):
        return None
    j = i + 2
    while j < len(src) and is_whitespace_char(src[j]):
        j += 1
    n = is_newline_at(src, j)
    if n == 0:
        raise ModelError("characters follow a here-string opener on its line")
    return j + n


def scan_here(src: str, i: int) -> Token:
    """A verbatim- or expandable-here-string-literal starting at src[i] == '@'."""
    verbatim = src[i + 1] in SINGLE_QUOTES
    quotes = SINGLE_QUOTES if verbatim else DOUBLE_QUOTES
    body_start = _here_string_open(src, i, quotes)
    assert body_start is not None
    # The body ends before the first new-line-character followed by quote + '@' (a line that
    # begins with the closing pair); the body may be empty, then the closer starts the body line.
    j = body_start
    if src.startswith("@", j + 1) and j < len(src) and src[j] in quotes:
        body, end = "", j + 2
    else:
        while True:
            if j >= len(src):
                raise ModelError(f"here-string opened at {i} is not terminated")
            n = is_newline_at(src, j)
            if n and j + n + 1 < len(src) and src[j + n] in quotes and src[j + n + 1] == "@":
                body, end = src[body_start:j], j + n + 2
                break
            j += n or 1
    if verbatim:
        return Token("verbatim-here-string", src[i:end], body, i, end)
    out: list[str] = []
    expands = False
    k = 0
    while k < len(body):
        c = body[k]
        if c == BACKTICK and k + 1 < len(body):
            out.append(ESCAPES.get(body[k + 1], body[k + 1]))
            k += 2
            continue
        if c == "$":
            stop = _scan_variable_in_string(body, k)
            if stop is not None:
                expands = True
                k = stop
                continue
        out.append(c)
        k += 1
    return Token("expandable-here-string", src[i:end], None if expands else "".join(out), i, end)


def scan_string(src: str, i: int) -> Token:
    """The string literal of whichever of the four kinds starts at src[i]."""
    c = src[i]
    if c == "@" and i + 1 < len(src) and (src[i + 1] in SINGLE_QUOTES or src[i + 1] in DOUBLE_QUOTES):
        return scan_here(src, i)
    if c in SINGLE_QUOTES:
        return scan_verbatim(src, i)
    if c in DOUBLE_QUOTES:
        return scan_expandable(src, i)
    raise ModelError(f"no string literal starts at {i}: {src[i : i + 10]!r}")


# --- just enough tokens for literal expressions ------------------------------------------------

PUNCTUATORS = ("@(", "@{", "(", ")", "{", "}", ",", ";", "=")


def tokenize(src: str, start: int = 0, *, partial: bool = False) -> list[Token]:
    """Tokens of `src` from `start`, skipping white space and comments (which `to_literal` never
    writes, but a reader must not mistake for part of a literal).

    With `partial`, stop quietly at the first token the model does not know (a command name, say):
    enough to read the literal expression that comes before it.
    """
    tokens: list[Token] = []
    i = start
    while i < len(src):
        c = src[i]
        n = is_newline_at(src, i)
        if n:
            tokens.append(Token("newline", src[i : i + n], None, i, i + n))
            i += n
            continue
        if is_whitespace_char(c):
            i += 1
            continue
        if c == BACKTICK and is_newline_at(src, i + 1):
            i += 1 + is_newline_at(src, i + 1)
            continue
        if src.startswith("<#", i):
            end = src.find("#>", i + 2)
            if end < 0:
                raise ModelError("unterminated delimited comment")
            i = end + 2
            continue
        if c == "#":
            while i < len(src) and not is_newline_at(src, i):
                i += 1
            continue
        if (
            c in SINGLE_QUOTES
            or c in DOUBLE_QUOTES
            or (
                c == "@" and i + 1 < len(src) and (src[i + 1] in SINGLE_QUOTES or src[i + 1] in DOUBLE_QUOTES)
            )
        ):
            tok = scan_string(src, i)
            tokens.append(tok)
            i = tok.end
            continue
        if c == "$":
            j = i + 1
            while j < len(src) and (is_variable_char(src[j]) or src[j] == ":"):
                j += 1
            if j == i + 1:
                raise ModelError(f"bare $ at {i}")
            tokens.append(Token("variable", src[i:j], src[i + 1 : j], i, j))
            i = j
            continue
        if c.isdigit() and c.isascii():
            j = i
            while j < len(src) and src[j].isascii() and src[j].isdigit():
                j += 1
            tokens.append(Token("integer", src[i:j], int(src[i:j]), i, j))
            i = j
            continue
        if c in DASHES:
            tokens.append(Token("punct", c, "-", i, i + 1))
            i += 1
            continue
        for p in PUNCTUATORS:
            if src.startswith(p, i):
                tokens.append(Token("punct", p, p, i, i + len(p)))
                i += len(p)
                break
        else:
            if partial:
                return tokens
            raise ModelError(f"the model does not know the token at {i}: {src[i : i + 10]!r}")
    return tokens


# --- evaluating a literal expression -----------------------------------------------------------

STRING_KINDS = ("verbatim-string", "expandable-string", "verbatim-here-string", "expandable-here-string")
AUTOMATIC = {"true": True, "false": False, "null": None}


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = [t for t in tokens if t.kind != "newline"]
        self.pos = 0

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, value: str | None = None) -> Token:
        tok = self.peek()
        if tok is None:
            raise ModelError("unexpected end of input")
        if value is not None and not (tok.kind == "punct" and tok.value == value):
            raise ModelError(f"expected {value!r}, got {tok.text!r}")
        self.pos += 1
        return tok

    def value(self) -> Any:
        tok = self.take()
        if tok.kind in STRING_KINDS:
            if tok.value is None:
                raise ModelError(f"{tok.text!r} substitutes a variable: not a literal")
            return tok.value
        if tok.kind == "integer":
            return tok.value
        if tok.kind == "variable":
            if tok.value.lower() not in AUTOMATIC:
                raise ModelError(f"${tok.value} is not a literal")
            return AUTOMATIC[tok.value.lower()]
        if tok.kind == "punct" and tok.value == "-":
            operand = self.value()
            if not isinstance(operand, int) or isinstance(operand, bool):
                raise ModelError("unary minus on a non-integer")
            return -operand
        if tok.kind == "punct" and tok.value == "@(":
            items: list[Any] = []
            if self._at(")"):
                self.take(")")
                return items
            items = self.comma_list()
            self.take(")")
            return items
        if tok.kind == "punct" and tok.value == "@{":
            table: dict[str, Any] = {}
            while not self._at("}"):
                key = self.value()
                if not isinstance(key, str):
                    raise ModelError("hash key is not a string")
                self.take("=")
                if any(k.casefold() == key.casefold() for k in table):
                    raise ModelError(f"duplicate key {key!r} in hash literal")
                table[key] = self.value()
                if self._at(";"):
                    self.take(";")
            self.take("}")
            return table
        raise ModelError(f"not a literal: {tok.text!r}")

    def comma_list(self) -> list[Any]:
        """Inside @( ): `a, b, c` (binary comma, §7.3) or `,a` (unary comma, §7.2.1); @() of a lone
        array yields that array's elements (§7.1.7)."""
        if self._at(","):
            self.take(",")
            return [self.value()]
        first = self.value()
        if not self._at(","):
            return list(first) if isinstance(first, list) else [first]
        items = [first]
        while self._at(","):
            self.take(",")
            items.append(self.value())
        return items

    def _at(self, punct: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "punct" and tok.value == punct


def evaluate(src: str) -> Any:
    """The value of `src`, which must be exactly one literal expression."""
    parser = _Parser(tokenize(src))
    result = parser.value()
    if parser.peek() is not None:
        raise ModelError(f"more after the literal: {parser.peek()!r}")
    return result


def evaluate_prefix(src: str, start: int) -> tuple[Any, int]:
    """The value of the literal expression starting at `start`, and the index where it ends."""
    parser = _Parser(tokenize(src, start, partial=True))
    result = parser.value()
    last = parser.tokens[parser.pos - 1]
    return result, last.end


def single_string_token(src: str) -> Token:
    """The one string token `src` consists of; ModelError if it is not exactly one."""
    tokens = tokenize(src)
    if len(tokens) != 1 or tokens[0].kind not in STRING_KINDS:
        raise ModelError(f"{src!r} is {len(tokens)} tokens: {[t.kind for t in tokens]}")
    return tokens[0]
